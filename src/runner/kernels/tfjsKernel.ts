/**
 * The TypeScript / TensorFlow.js kernel: a child process that runs one snippet.
 *
 *   node tfjs-kernel.js CODE_FILE
 *   node tfjs-kernel.js --session      (a note's persistent session: src/runner/tsSession)
 *
 * Environment: MLNOTES_BACKEND (auto | webgpu | tensorflow-gpu | tensorflow | wasm | cpu),
 * MLNOTES_NATIVE_PATHS (node_modules folders to look for @tensorflow/tfjs-node[-gpu], joined
 * with the path delimiter), MLNOTES_LAB (the lab bundle), MLNOTES_WASM_DIR (tfjs-backend-wasm's
 * .wasm files), MLNOTES_DAWN (optional: a dawn.node to use for WebGPU).
 *
 * The snippet's `@tensorflow/tfjs`, `ml-notes/lab` and `ml-notes` imports resolve to the
 * versions shipped with the extension (or to the native tfjs-node the user installed), so
 * exactly one tfjs lives in the process. Errors are reported with the snippet's own line numbers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { transform } from 'sucrase';
import { createReporter, emit } from './report';
import { SESSION_FLAG } from '../tsSession/protocol';
import { startSession } from '../tsSession/sessionMain';
import { findDawn, probeWebGpu, useWebGpu, type AdapterSummary, type WebGpuProbe, type WebGpuStart } from '../webgpu';

type Tf = typeof import('@tensorflow/tfjs');

const SNIPPET_FILE = 'snippet.ts';

/**
 * The backend for a preference. `detail` says what went wrong with a backend that is installed
 * but did not load (worth a line in the output); `notes` hold what is normal and only for a
 * verbose log: optional native backends that are simply not installed, ops borrowed from cpu.
 */
async function loadBackend(preference: string): Promise<{ tf: Tf; backend: string; device: string; detail?: string; notes: string[]; gpu?: WebGpuStart }> {
  const failed: string[] = [];
  const notes: string[] = [];
  // WebGPU first: asked for, any adapter will do (a software one is named as such); for auto,
  // only a hardware adapter. The probe loads no tfjs, so a native tfjs can still come after it.
  let probe: WebGpuProbe | undefined;
  if (preference === 'webgpu' || preference === 'auto') {
    try {
      // Looked at in a child first: Dawn and the Vulkan loader print to the process's stderr
      // while they enumerate adapters (drivers they reject, no Wayland), which would otherwise
      // land in every auto run's output. That goes to the trace notes; Dawn is loaded here only
      // when it will be used.
      findDawn(__dirname); // the universal package has none: no child to start
      const child = probeInChild();
      if (child.stderr) notes.push(`WebGPU probe stderr: ${child.stderr}`);
      if (!child.ok) throw new Error(child.error);
      if (preference === 'auto' && child.summary.software) {
        notes.push(`WebGPU: skipped the software adapter (${[child.summary.vendor, child.summary.architecture].filter(Boolean).join(' · ')}): not a GPU`);
      } else {
        probe = await probeWebGpu(__dirname);
      }
    } catch (e) {
      if (preference === 'webgpu') throw new Error(`the webgpu backend is not available: ${(e as Error).message}`);
      // No GPU (or no WebGPU in this package) is the normal case for auto.
      notes.push(`WebGPU: ${(e as Error).message}`);
    }
  }
  if (probe) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require('@tensorflow/tfjs') as Tf;
    try {
      const gpu = await useWebGpu(tf, probe, { allowSoftware: preference === 'webgpu' });
      const borrowed = borrowCpuKernels(tf, 'webgpu');
      if (borrowed.length) notes.push(`${borrowed.length} ops the webgpu backend lacks run on the cpu backend (${borrowed.slice(0, 5).join(', ')}${borrowed.length > 5 ? ', …' : ''})`);
      return { tf, backend: 'webgpu', device: gpu.device, notes, gpu };
    } catch (e) {
      if (preference === 'webgpu') throw new Error(`the webgpu backend is not available: ${(e as Error).message}`);
      failed.push(`webgpu: ${(e as Error).message}`);
    }
  }
  const natives: Array<[string, string]> =
    preference === 'auto' && !probe
      ? [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'], ['tensorflow', '@tensorflow/tfjs-node']]
      : preference === 'tensorflow-gpu'
        ? [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']]
        : preference === 'tensorflow'
          ? [['tensorflow', '@tensorflow/tfjs-node']]
          : [];
  const paths = (process.env['MLNOTES_NATIVE_PATHS'] ?? '').split(delimiter).filter(Boolean);
  for (const [name, pkg] of natives) {
    for (const dir of paths) {
      try {
        const req = createRequire(join(dir, 'noop.js'));
        const tf = req(pkg) as Tf;
        await tf.ready();
        const gpu = name === 'tensorflow-gpu';
        return { tf, backend: name, device: gpu ? 'GPU (CUDA)' : 'CPU (libtensorflow)', detail: req.resolve(pkg), notes };
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const line = `${pkg} in ${dir}: ${err.message.split('\n')[0]}`;
        // Not installed there is the normal case; installed but broken (no CUDA…) is news.
        if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${pkg}'`)) notes.push(line);
        else failed.push(line);
      }
    }
    if (paths.length === 0) notes.push(`${pkg}: not installed (ML Notes: Install Native TensorFlow Backend)`);
  }
  if (preference === 'tensorflow-gpu' || preference === 'tensorflow') {
    throw new Error(`the ${preference} backend is not available:\n  ${[...failed, ...notes].join('\n  ')}`);
  }
  const detail = (): string | undefined => (failed.length ? failed.join('; ') : undefined);
  // Required lazily, so the bundled tfjs is never loaded next to a native one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as Tf;
  if (preference === 'auto' || preference === 'wasm') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      const dir = process.env['MLNOTES_WASM_DIR'];
      if (dir) wasm.setWasmPaths(dir.endsWith('/') ? dir : dir + '/');
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        const borrowed = borrowCpuKernels(tf, 'wasm');
        if (borrowed.length) notes.push(`${borrowed.length} ops the wasm backend lacks run on the cpu backend (${borrowed.slice(0, 5).join(', ')}${borrowed.length > 5 ? ', …' : ''})`);
        return { tf, backend: 'wasm', device: 'CPU (WebAssembly SIMD)', detail: detail(), notes };
      }
    } catch (e) {
      if (preference === 'wasm') throw e;
      failed.push(`wasm: ${(e as Error).message}`);
    }
  }
  await tf.setBackend('cpu');
  quietCpuBanner(tf.engine().findBackend('cpu'));
  await tf.ready();
  return { tf, backend: 'cpu', device: 'CPU (JavaScript)', detail: detail(), notes };
}

const PROBE_FLAG = '--probe-webgpu';

/** Runs this kernel file with PROBE_FLAG: the adapter Dawn finds, and what it printed meanwhile. */
function probeInChild(): { ok: true; summary: AdapterSummary; stderr: string } | { ok: false; error: string; stderr: string } {
  const r = spawnSync(process.execPath, [__filename, PROBE_FLAG], { encoding: 'utf8', timeout: 30_000, env: process.env });
  const stderr = (r.stderr ?? '').trim().split('\n').slice(0, 6).join(' | ').slice(0, 1000);
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(line) as { ok: true; summary: AdapterSummary } | { ok: false; error: string };
    return { ...parsed, stderr };
  } catch {
    return { ok: false, error: r.error ? r.error.message : `the probe ended without an answer (${r.signal ?? `exit ${r.status}`})`, stderr };
  }
}

interface BackendLike {
  write(values: unknown, shape: number[], dtype: string): object;
  readSync(dataId: object): unknown;
  disposeData(dataId: object, force?: boolean): boolean;
}
interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

/**
 * The wasm and webgpu backends lack some kernels the cpu backend has (e.g. UnsortedSegmentSum,
 * the gradient of `tf.gather`). Register each missing one for `target` as "copy the inputs to the
 * cpu backend, run its kernel there, copy the results back", so snippets work instead of failing.
 */
function borrowCpuKernels(tf: Tf, target: 'wasm' | 'webgpu'): string[] {
  const cpu = tf.engine().findBackend('cpu') as unknown as BackendLike | null;
  if (!cpu) return [];
  quietCpuBanner(cpu);
  const borrowed: string[] = [];
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(k.kernelName, target)) continue;
    const cpuFunc = k.kernelFunc;
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: target,
      kernelFunc: ({ inputs, attrs, backend }) => {
        const own = backend as unknown as BackendLike;
        const temps: object[] = [];
        const cpuInputs: Record<string, TensorInfoLike> = {};
        for (const [name, t] of Object.entries(inputs as Record<string, TensorInfoLike | undefined>)) {
          if (!t) continue;
          const dataId = cpu.write(own.readSync(t.dataId), t.shape, t.dtype);
          temps.push(dataId);
          cpuInputs[name] = { dataId, shape: t.shape, dtype: t.dtype };
        }
        const out = cpuFunc({ inputs: cpuInputs as never, attrs, backend: cpu as never }) as TensorInfoLike | TensorInfoLike[];
        const outs = Array.isArray(out) ? out : [out];
        const results = outs.map((o) => {
          const r = { dataId: own.write(cpu.readSync(o.dataId), o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
          temps.push(o.dataId);
          return r;
        });
        for (const id of temps) cpu.disposeData(id, true);
        return (Array.isArray(out) ? results : results[0]) as never;
      },
    });
    borrowed.push(k.kernelName);
  }
  return borrowed;
}

/**
 * The cpu backend prints an "install tfjs-node" banner on first use; the runner already reports
 * the backend and how to get a native one, so the banner would only clutter the snippet's output.
 */
function quietCpuBanner(cpu: unknown): void {
  if (cpu && typeof cpu === 'object' && 'firstUse' in cpu) (cpu as { firstUse: boolean }).firstUse = false;
}

/** Line of the first stack frame inside the snippet. */
export function snippetLine(stack: string | undefined): number | undefined {
  const m = stack && new RegExp(`${SNIPPET_FILE.replace('.', '\\.')}:(\\d+)(?::\\d+)?`).exec(stack);
  return m ? Number(m[1]) : undefined;
}

function reportError(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = err.stack?.split('\n').filter((l) => !l.includes('tfjs-kernel.js')).join('\n');
  emit({ type: 'error', message: err.message, errorType: err.name, stack, line: snippetLine(err.stack) });
}

async function main(): Promise<void> {
  const codeFile = process.argv[2];
  if (!codeFile) throw new Error('usage: tfjs-kernel CODE_FILE');
  const source = readFileSync(codeFile, 'utf8');
  // Sucrase keeps line numbers, so stack traces point at the snippet's own lines.
  let compiled: string;
  try {
    compiled = transform(source, { transforms: ['typescript', 'imports'], filePath: SNIPPET_FILE, keepUnusedImports: false }).code;
  } catch (e) {
    const m = /\((\d+):(\d+)\)/.exec((e as Error).message);
    emit({ type: 'error', message: `syntax error: ${(e as Error).message}`, errorType: 'SyntaxError', line: m ? Number(m[1]) : undefined });
    process.exitCode = 1;
    return;
  }

  const { tf, backend, device, detail, notes, gpu } = await loadBackend(process.env['MLNOTES_BACKEND'] ?? 'auto');
  emit({ type: 'backend', backend, device, detail, notes: notes.length ? notes : undefined });
  // The GPU device is destroyed when the snippet ends, fails or throws; a stopped run's process
  // is ended by a signal, and the driver frees a dead process's GPU memory.
  try {
    await runSnippet(tf, compiled);
  } finally {
    gpu?.release();
  }
}

async function runSnippet(tf: Tf, compiled: string): Promise<void> {
  const snippetRequire = snippetRequireFor(tf, createReporter(tf));
  // One line: the wrapper shares the snippet's first line, so line numbers stay the same.
  const wrapped = `(async function (require, module, exports) {${compiled}\n})`;
  const fn = vm.runInThisContext(wrapped, { filename: SNIPPET_FILE }) as (r: typeof snippetRequire, m: object, e: object) => Promise<void>;
  const module = { exports: {} };
  await fn(snippetRequire, module, module.exports);
}

/** The `require` a snippet sees: the kernel's tfjs, `ml-notes` as `reporter`, the lab, then the note folder's modules. */
function snippetRequireFor(tf: Tf, reporter: object): (id: string) => unknown {
  const labPath = process.env['MLNOTES_LAB'];
  let lab: Record<string, unknown> | undefined;
  const userRequire = createRequire(join(process.cwd(), 'snippet.js'));
  const snippetRequire = (id: string): unknown => {
    if (id === '@tensorflow/tfjs' || id === '@tensorflow/tfjs-core') return tf;
    if (id === 'ml-notes') return reporter;
    if (id === 'ml-notes/lab') {
      if (!lab) {
        if (!labPath) throw new Error('ml-notes/lab is not available in this build');
        lab = { ...(requireWithTf(labPath, tf) as Record<string, unknown>), ...reporter };
      }
      return lab;
    }
    return userRequire(id);
  };
  return snippetRequire;
}

/** Loads a CommonJS bundle whose `@tensorflow/tfjs` import must be the kernel's `tf`. */
function requireWithTf(path: string, tf: Tf): unknown {
  const code = readFileSync(path, 'utf8');
  const req = createRequire(path);
  const module = { exports: {} as unknown };
  const fn = vm.runInThisContext(`(function (require, module, exports, __filename, __dirname) {${code}\n})`, { filename: path }) as (
    r: (id: string) => unknown,
    m: { exports: unknown },
    e: unknown,
    f: string,
    d: string,
  ) => void;
  const shared = (id: string): unknown => {
    if (id === '@tensorflow/tfjs' || id === '@tensorflow/tfjs-core') return tf;
    // The backend packages bundled here, never a second copy: dist/ has no node_modules, and in a
    // checkout a second tfjs-backend-wasm would re-register the wasm kernels with functions of a
    // module that never initialised ("wasmFusedMatMul is not a function").
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (id === '@tensorflow/tfjs-backend-wasm') return require('@tensorflow/tfjs-backend-wasm');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (id === '@tensorflow/tfjs-backend-webgpu') return require('@tensorflow/tfjs-backend-webgpu');
    return req(id);
  };
  fn(shared, module, module.exports, path, dirname(path));
  return module.exports;
}

/**
 * Ends the run when the runner that started it dies (an editor crash must not leave a training
 * run going). It lives in a worker thread because a snippet's synchronous training loop blocks
 * the main thread's timers; the worker's keep running and `process.kill` works from there.
 */
function watchParent(): void {
  const host = Number(process.env['MLNOTES_PARENT_PID']);
  if (!Number.isInteger(host) || host <= 0) return;
  const ownGroup = process.env['MLNOTES_OWN_GROUP'] === '1';
  const source = `
    const host = ${host}, ownGroup = ${ownGroup}, start = process.ppid;
    setInterval(() => {
      let gone = process.ppid !== start;
      if (!gone) { try { process.kill(host, 0); } catch (e) { gone = e.code === 'ESRCH'; } }
      if (!gone) return;
      if (ownGroup) { try { process.kill(0, 'SIGKILL'); } catch {} }
      process.kill(process.pid, 'SIGKILL');
    }, 500);`;
  new Worker(source, { eval: true }).unref();
}

if (process.argv[2] === PROBE_FLAG) {
  // The WebGPU probe child (see probeInChild): one JSON line out, Dawn's stderr goes to the parent.
  probeWebGpu(__dirname).then(
    (p) => process.stdout.write(JSON.stringify({ ok: true, summary: p.summary }) + '\n', () => process.exit(0)),
    (e: unknown) => process.stdout.write(JSON.stringify({ ok: false, error: (e as Error).message }) + '\n', () => process.exit(0)),
  );
} else if (process.argv[2] === SESSION_FLAG) {
  // A note's persistent TypeScript session (src/runner/tsSession).
  startSession({ loadBackend, snippetRequire: snippetRequireFor, createReporter, watchParent });
} else {
  startKernel();
}

function startKernel(): void {
watchParent();

process.on('unhandledRejection', (e) => {
  reportError(e);
  process.exit(1);
});
process.on('uncaughtException', (e) => {
  reportError(e);
  process.exit(1);
});

main().then(
  () => {
    // Timers a snippet leaves behind (tfjs keeps some) must not keep the run alive.
    process.stdout.write('', () => process.exit(process.exitCode ?? 0));
  },
  (e: unknown) => {
    reportError(e);
    process.stdout.write('', () => process.exit(1));
  },
);
}
