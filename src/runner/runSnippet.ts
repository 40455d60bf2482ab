import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { codeWithSetup, type Snippet } from '../core/snippets/snippets';
import { OutputCollector, type SnippetOutput } from './outputs';
import { ProcessRun, type ProcessSpec, type RunResult } from './processRun';
import type { KernelEvent } from './protocol';

/** Where the kernels and their companions live (dist/ of the extension or the CLI). */
export interface KernelPaths {
  /** dist/kernels/tfjs-kernel.js */
  readonly tfjsKernel: string;
  /** dist/lab.js (optional: snippets importing ml-notes/lab fail clearly without it). */
  readonly lab?: string;
  /** Folder with tfjs-backend-wasm's .wasm files. */
  readonly wasmDir: string;
  /** dist/kernels/python_kernel.py */
  readonly pythonKernel?: string;
}

export interface RunOptions {
  readonly notePath: string;
  readonly snippet: Snippet;
  /** All snippets of the note (for `with=` setup blocks). */
  readonly all: readonly Snippet[];
  readonly paths: KernelPaths;
  /** Node executable for the TypeScript kernel (the extension host passes its own). */
  readonly node: string;
  readonly tfjsBackend: string;
  readonly nativeModulePaths: readonly string[];
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly onLog?: (stream: 'stdout' | 'stderr', text: string) => void;
  readonly onEvent?: (event: KernelEvent) => void;
  /** Python kernel settings (issue: the Python kernel). */
  readonly python?: { readonly interpreter: string; readonly device: string; readonly deviceLabel?: string };
}

export interface StartedRun {
  readonly process: ProcessRun | undefined;
  readonly collector: OutputCollector;
  readonly done: Promise<{ result: RunResult; output: SnippetOutput }>;
}

/** Maps a 1-based line of the code that ran to a 1-based line of the note. */
function lineMapper(parts: Array<{ snippet: Snippet; offset: number }>): (line: number) => number | undefined {
  return (line) => {
    for (let i = parts.length - 1; i >= 0; i--) {
      const p = parts[i]!;
      if (line - 1 >= p.offset) return p.snippet.codeLine + (line - 1 - p.offset) + 1;
    }
    return undefined;
  };
}

/** Starts one snippet in its own kernel process. */
export function startSnippet(opts: RunOptions): StartedRun {
  const { snippet } = opts;
  const combined = codeWithSetup(snippet, opts.all);
  const fail = (message: string): StartedRun => {
    const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang }, () => undefined);
    collector.onEvent({ type: 'error', message });
    const result: RunResult = { status: 'failed', exitCode: null, signal: null, durationMs: 0 };
    return { process: undefined, collector, done: Promise.resolve({ result, output: collector.finish(result) }) };
  };
  if ('error' in combined) return fail(combined.error);
  const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang }, lineMapper(combined.parts));
  const dir = mkdtempSync(join(tmpdir(), 'mln-run-'));
  let spec: ProcessSpec;
  const cwd = dirname(opts.notePath);
  const timeoutMs = Number(snippet.attrs['timeout']) > 0 ? Number(snippet.attrs['timeout']) * 1000 : opts.timeoutMs;
  if (snippet.kernel === 'tfjs') {
    const codeFile = join(dir, 'snippet.ts');
    writeFileSync(codeFile, combined.code);
    spec = {
      command: opts.node,
      args: ['--enable-source-maps', opts.paths.tfjsKernel, codeFile],
      cwd,
      timeoutMs,
      env: {
        ...process.env,
        ...opts.env,
        ELECTRON_RUN_AS_NODE: '1',
        MLNOTES_BACKEND: snippet.attrs['backend'] ?? opts.tfjsBackend,
        MLNOTES_NATIVE_PATHS: opts.nativeModulePaths.join(process.platform === 'win32' ? ';' : ':'),
        MLNOTES_LAB: opts.paths.lab ?? '',
        MLNOTES_WASM_DIR: opts.paths.wasmDir,
      },
    };
  } else if (snippet.kernel === 'python' && opts.python && opts.paths.pythonKernel) {
    spec = pythonSpec(opts, combined.code, dir, cwd, timeoutMs);
  } else {
    rmSync(dir, { recursive: true, force: true });
    return fail(`no kernel runs '${snippet.lang}' blocks (TypeScript/JavaScript${opts.python ? ' and Python' : ''} can run)`);
  }
  const run = new ProcessRun(spec, {
    onLog: (stream, text) => {
      collector.onLog(stream, text);
      opts.onLog?.(stream, text);
    },
    onEvent: (event) => {
      collector.onEvent(event);
      opts.onEvent?.(event);
    },
  });
  const done = run.start().then((result) => {
    rmSync(dir, { recursive: true, force: true });
    return { result, output: collector.finish(result) };
  });
  return { process: run, collector, done };
}

/** `python -u python_kernel.py`, or one kernel per rank under torch's standard launcher. */
function pythonSpec(opts: RunOptions, code: string, dir: string, cwd: string, timeoutMs: number): ProcessSpec {
  const codeFile = join(dir, 'snippet.py');
  writeFileSync(codeFile, code);
  const python = opts.python!;
  const nproc = opts.snippet.attrs['nproc'] ?? (opts.snippet.attrs['torchrun'] ? opts.snippet.attrs['torchrun'] : undefined);
  const torchrun = opts.snippet.attrs['torchrun'] !== undefined || nproc !== undefined;
  const kernelArgs = [opts.paths.pythonKernel!, codeFile];
  const args = torchrun
    ? ['-u', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(Number(nproc) > 0 ? nproc : 2), '--redirects', '1', '--tee', '1', ...kernelArgs]
    : ['-u', ...kernelArgs];
  return {
    command: python.interpreter,
    args,
    cwd,
    timeoutMs,
    env: {
      ...process.env,
      ...opts.env,
      PYTHONUNBUFFERED: '1',
      MPLBACKEND: 'Agg',
      MLNOTES_DEVICE: python.device,
      MLNOTES_DEVICE_LABEL: python.deviceLabel ?? python.device,
      // gloo is the backend DDP examples pick without GPUs; keep its threads from oversubscribing small machines.
      OMP_NUM_THREADS: process.env['OMP_NUM_THREADS'] ?? '1',
    },
  };
}
