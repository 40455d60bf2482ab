import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { codeWithSetup, findSnippets, type Snippet } from '../../core/snippets/snippets';
import { effectiveTimeoutMs, kernelEnv, startSnippet, tfjsKernelEnv, type KernelPaths, type StartedRun } from '../../runner/runSnippet';
import { TsSession, tsModeFor } from '../../runner/tsSession/tsSession';
import { LocalKernel } from '../../runner/jupyter/localKernel';
import { parseServerUrl, RemoteKernel } from '../../runner/jupyter/remoteKernel';
import type { KernelSession } from '../../runner/jupyter/session';
import { ipykernelInstallHint, pythonModeFor, startInKernel, type PythonMode } from '../../runner/jupyter/kernelRun';
import { chooseDevice, describePython, probePython, torchMissing, type ProbeResult } from '../../runner/pythonProbe';
import { wireReplacer, type KernelEvent } from '../../runner/protocol';
import { fail, type CliCommand } from '../cliUtil';

export const runCommand: CliCommand = {
  name: 'run',
  usage: `ml-notes run NOTE.md [--id NAME]... [--index N] [--backend auto|webgpu|tensorflow-gpu|tensorflow|wasm|cpu]
               [--python PATH] [--device auto|cuda|mps|cpu] [--kernel jupyter|process] [--server URL] [--timeout SECONDS] [--json]
      Run the note's {run} blocks (all, or the ones named, in the order named) headless, with the
      same runner as the extension. Python blocks share one Jupyter kernel and TypeScript blocks
      one TypeScript session (--kernel jupyter, the default; Python falls back to a process per
      block when the interpreter has no ipykernel), or every block runs in a process of its own
      (--kernel process); torchrun, {run fresh} and TypeScript blocks with their own backend=
      always get a process of their own. --server runs
      the kernel on a Jupyter Server (its URL; the token from ?token= or $MLNOTES_JUPYTER_TOKEN). --json prints
      one JSON line per event (log, metric, plot, display, backend, error, done; NaN and ±Infinity
      as the strings "NaN", "Infinity", "-Infinity"). Exit code 1 when a block fails, 2 when the
      note, a block or the asked-for kernel is missing (a kernel that cannot start, a --server
      that cannot be reached or refuses the token, a TypeScript session whose backend cannot load);
      130 / 143 after SIGINT / SIGTERM (the running block is stopped, the kernels are shut down).`,
  run,
};

/** Where the built kernels live, next to dist/cli.js. */
export function distKernelPaths(distDir: string): KernelPaths {
  const lab = join(distDir, 'lab.js');
  return {
    tfjsKernel: join(distDir, 'kernels', 'tfjs-kernel.js'),
    lab: existsSync(lab) ? lab : undefined,
    wasmDir: join(distDir, 'tfjs-wasm'),
    pythonKernel: join(distDir, 'kernels', 'python_kernel.py'),
  };
}

async function run(args: readonly string[]): Promise<number> {
  let note: string | undefined;
  const ids: string[] = [];
  let kernelMode: PythonMode | undefined;
  let server: string | undefined;
  let index: number | undefined;
  let backend = 'auto';
  let json = false;
  let python = process.env['MLNOTES_PYTHON'] ?? 'python3';
  let device = 'auto';
  let timeout = 600;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const valued = ['--id', '--index', '--backend', '--python', '--device', '--timeout', '--kernel', '--server'];
    if (valued.includes(a)) {
      // `--id` at the end (or followed by another option) must not silently mean "run everything".
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) return fail(`${a} needs a value`);
      i++;
      if (a === '--id') ids.push(v);
      else if (a === '--server') server = v;
      else if (a === '--kernel') {
        if (v !== 'jupyter' && v !== 'process') return fail(`--kernel takes jupyter or process, not '${v}'`);
        kernelMode = v;
      }
      else if (a === '--index') index = Number(v);
      else if (a === '--backend') backend = v;
      else if (a === '--python') python = v;
      else if (a === '--device') device = v;
      else timeout = Number(v);
    } else if (a === '--json') json = true;
    else if (a.startsWith('-')) return fail(`unknown option '${a}'`);
    else if (note === undefined) note = a;
    else return fail(`unexpected argument '${a}'`);
  }
  if (!note) return fail('missing NOTE.md');
  if (index !== undefined && !Number.isInteger(index)) return fail('--index takes a whole number');
  if (!Number.isFinite(timeout) || timeout <= 0) return fail('--timeout takes a positive number of seconds');
  let text: string;
  try {
    text = readFileSync(note, 'utf8');
  } catch (e) {
    return fail(`cannot read '${note}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const all = findSnippets(text);
  let chosen: Snippet[];
  if (ids.length) {
    chosen = [];
    for (const id of ids) {
      const s = all.find((x) => x.id === id);
      if (!s) return fail(`no runnable block with id=${id} in '${note}' (it has ${all.length})`);
      chosen.push(s);
    }
  } else if (index !== undefined) chosen = all.filter((s) => s.index === index);
  else chosen = all;
  if (chosen.length === 0) {
    const which = index !== undefined ? `number ${index}` : 'marked {run}';
    return fail(`no runnable block ${which} in '${note}' (it has ${all.length})`);
  }

  // NaN/±Infinity metrics are printed as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
  const out = (obj: object): void => void process.stdout.write(JSON.stringify(obj, wireReplacer) + '\n');
  let failed = false;
  let probe: ProbeResult | undefined;
  let kernel: KernelSession | undefined;
  let remote: { baseUrl: string; token: string } | undefined;
  if (server !== undefined) {
    try {
      remote = parseServerUrl(server);
    } catch {
      return fail(`--server: '${server.replace(/token=[^&]*/, 'token=…')}' is not a URL`);
    }
    if (!remote.token) remote = { ...remote, token: process.env['MLNOTES_JUPYTER_TOKEN'] ?? '' };
    // @jupyterlab/services reports its connection on the console: stdout is for the blocks (and --json).
    const toStderr = (...a: unknown[]): void => void process.stderr.write(a.map(String).join(' ') + '\n');
    console.log = console.info = console.debug = toStderr;
  }
  let saidFallback = false;
  const paths = distKernelPaths(__dirname);
  const nativeModulePaths = (process.env['MLNOTES_NATIVE_PATHS'] ?? '').split(':').filter(Boolean);
  // The TypeScript blocks' shared session, started at the first block that runs in it.
  let tsSession: TsSession | undefined;
  let current: StartedRun | undefined;
  let signalled: NodeJS.Signals | undefined;
  // SIGINT stops the running block as Stop does (a kernel is interrupted), SIGTERM ends it at
  // once; either way no further block runs and the kernels are shut down before the CLI exits.
  // A second signal does not wait for that.
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      tsSession?.killNow();
      kernel?.killNow();
      process.exit(signalExit(sig));
    }
    signalled = sig;
    if (sig === 'SIGINT') void current?.process?.cancel();
    else current?.process?.killNow();
  };
  // Whatever way the CLI ends (an uncaught error included), the session processes end with it.
  const onExit = (): void => {
    tsSession?.killNow();
    kernel?.killNow();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
  for (const snippet of chosen) {
    if (signalled) break;
    const label = snippet.id ?? `#${snippet.index}`;
    let pythonOpts: { interpreter: string; device: string; deviceLabel: string } | undefined;
    if (snippet.kernel === 'python') {
      probe ??= await probePython(python);
      const combined = codeWithSetup(snippet, all);
      const problem = !probe.ok
        ? `${probe.error}. Install Python 3 with PyTorch, or pass --python PATH (or set MLNOTES_PYTHON).`
        : (torchMissing(probe.info, 'code' in combined ? combined.code : snippet.code) ??
          (() => {
            const d = chooseDevice(device, probe.info);
            if ('error' in d) return d.error;
            pythonOpts = { interpreter: python, device: d.device, deviceLabel: `${d.label} · ${describePython(probe.info)}` };
            return undefined;
          })());
      if (problem) {
        failed = true;
        if (json) out({ type: 'done', snippet: label, status: 'failed', exitCode: null, durationMs: 0, errors: [{ kind: 'error', message: problem }] });
        else process.stderr.write(`── ${label}: failed: ${problem}\n`);
        continue;
      }
    }
    const onLog = (stream: 'stdout' | 'stderr', t: string): void => void (json ? out({ type: 'log', snippet: label, stream, text: t }) : (stream === 'stdout' ? process.stdout : process.stderr).write(t));
    const onEvent = (e: KernelEvent): void => (json ? out({ ...e, snippet: label }) : printEvent(e));
    const onInvalidEvent = (why: string): void => void process.stderr.write(`ml-notes: dropped an invalid kernel event (${why})\n`);
    let started: StartedRun | undefined;
    const timeoutMs = effectiveTimeoutMs(snippet.attrs['timeout'], timeout * 1000);
    if (snippet.kernel === 'tfjs' && tsModeFor(snippet.attrs, kernelMode === 'process' ? 'process' : 'session').mode === 'session') {
      if (!tsSession) {
        tsSession = new TsSession({
          node: process.execPath,
          kernel: paths.tfjsKernel,
          cwd: resolve(note, '..'),
          env: tfjsKernelEnv({ paths, tfjsBackend: backend, nativeModulePaths }),
          // Output of async work a finished block left running: not any block's (stdout stays --json's).
          onLog: (_s, t) => void process.stderr.write(t),
        });
        // A backend that cannot load is a missing kernel (exit 2), not a failing block.
        try {
          await tsSession.start();
        } catch (e) {
          return fail(`the TypeScript session did not start: ${(e as Error).message}`);
        }
      }
      if (!json) process.stderr.write(`── ${label} (${snippet.lang}, line ${snippet.fenceLine + 1}, TypeScript session)\n`);
      started = startInKernel({ snippet, all, kernel: tsSession, label: 'TypeScript session', timeoutMs, onLog, onEvent, onInvalidEvent });
    }
    if (snippet.kernel === 'python' && pythonOpts && probe?.ok) {
      // With --server the kernel's Python is the server's: the local one needs no ipykernel.
      const mode = pythonModeFor(snippet, kernelMode ?? 'jupyter', remote !== undefined || probe.info.ipykernel !== undefined);
      if (mode.why === 'noIpykernel') {
        if (kernelMode === 'jupyter') return fail(`--kernel jupyter: ipykernel is not installed for ${python}. Install it: ${ipykernelInstallHint(python)}`);
        if (!saidFallback) process.stderr.write(`ml-notes: ipykernel is not installed for ${python}; each block runs in its own process (install: ${ipykernelInstallHint(python)})\n`);
        saidFallback = true;
      }
      if (mode.mode === 'jupyter') {
        if (!kernel) {
          kernel = remote ? new RemoteKernel(remote) : new LocalKernel({
            interpreter: python,
            launcher: join(__dirname, 'kernels', 'jupyter_launcher.py'),
            matplotlibrc: join(__dirname, 'kernels', 'matplotlibrc'),
            cwd: resolve(note, '..'),
            env: { ...kernelEnv(), MLNOTES_DEVICE: pythonOpts.device, MLNOTES_DEVICE_LABEL: pythonOpts.deviceLabel },
            onLog: () => undefined,
          });
          // A kernel that cannot start (a server that does not answer, a broken ipykernel) is a
          // missing kernel (exit 2), not a failing block; the messages carry no token.
          try {
            await kernel.start();
          } catch (e) {
            return fail(`${remote ? '--server' : 'the Jupyter kernel did not start'}: ${(e as Error).message}`);
          }
        }
        if (!json) process.stderr.write(`── ${label} (${snippet.lang}, line ${snippet.fenceLine + 1}, Jupyter kernel)\n`);
        started = startInKernel({
          snippet,
          all,
          kernel,
          label: pythonOpts.deviceLabel,
          timeoutMs,
          onLog,
          onEvent,
          onInvalidEvent,
          onDisplay: (item) => (json ? out({ type: 'display', snippet: label, ...item }) : process.stdout.write(`[display] ${'mime' in item ? item.mime : item.kind}\n`)),
        });
      }
    }
    if (!started && !json) process.stderr.write(`── ${label} (${snippet.lang}, line ${snippet.fenceLine + 1})\n`);
    started ??= startSnippet({
      notePath: resolve(note),
      snippet,
      all,
      paths,
      node: process.execPath,
      tfjsBackend: backend,
      nativeModulePaths,
      timeoutMs: timeout * 1000,
      python: pythonOpts,
      onLog,
      onEvent,
      onInvalidEvent,
    });
    current = started;
    const { result, output } = await started.done;
    current = undefined;
    const errors = output.items.filter((i) => i.kind === 'error');
    if (result.status !== 'succeeded') failed = true;
    if (json) {
      out({ type: 'done', snippet: label, status: result.status, exitCode: result.exitCode, durationMs: result.durationMs, errors });
    } else {
      if (!output.items.some((i) => i.kind === 'error' && i.line !== undefined)) for (const e of errors) process.stderr.write(`error: ${(e as { message: string }).message}\n`);
      process.stderr.write(`── ${label}: ${result.status} in ${(result.durationMs / 1000).toFixed(1)} s${output.backend ? ` (${output.backend}, ${output.device})` : ''}\n`);
    }
    // Later blocks usually build on earlier ones (as Run All in the editor does).
    if (result.status !== 'succeeded' && (kernel || tsSession)) break;
  }
  } finally {
    await Promise.all([kernel?.shutdown(), tsSession?.shutdown()]);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', onExit);
  }
  if (signalled) return signalExit(signalled);
  return failed ? 1 : 0;
}

/** The shell's convention: 128 + the signal's number. */
function signalExit(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : 143;
}

function printEvent(e: KernelEvent): void {
  switch (e.type) {
    case 'metric':
      process.stdout.write(`[metric] ${e.name} = ${e.value}${e.step !== undefined ? ` (step ${e.step})` : ''}\n`);
      break;
    case 'plot':
      process.stdout.write(`[plot] ${e.spec.title ?? e.spec.kind}\n`);
      break;
    case 'image':
      process.stdout.write(`[image] ${e.title ?? e.mime}\n`);
      break;
    case 'table':
      process.stdout.write(`[table] ${e.title ?? ''}\n${e.columns.join('\t')}\n${e.rows.map((r) => r.join('\t')).join('\n')}\n`);
      break;
    case 'error':
      process.stderr.write(`error${e.line !== undefined ? ` at snippet line ${e.line}` : ''}: ${e.message}\n${e.stack ?? ''}\n`);
      break;
    case 'backend':
    case 'progress':
      break;
  }
}
