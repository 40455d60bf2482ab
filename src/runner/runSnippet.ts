import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
  /** The user's time limit; a note's `timeout=` may only shorten it. */
  readonly timeoutMs: number;
  /** Added to the kernel's environment (after the host's own variables were filtered out). */
  readonly env?: NodeJS.ProcessEnv;
  readonly onLog?: (stream: 'stdout' | 'stderr', text: string) => void;
  readonly onEvent?: (event: KernelEvent) => void;
  /** A kernel event that failed validation and was dropped. */
  readonly onInvalidEvent?: (reason: string) => void;
  /** Python kernel settings (issue: the Python kernel). */
  readonly python?: { readonly interpreter: string; readonly device: string; readonly deviceLabel?: string };
}

/** What stops a run: a ProcessRun, or a block in a Jupyter kernel (cancel interrupts it, the kernel stays). */
export interface RunHandle {
  cancel(): Promise<void>;
  killNow(): void;
}

export interface StartedRun {
  readonly process: RunHandle | undefined;
  readonly collector: OutputCollector;
  readonly done: Promise<{ result: RunResult; output: SnippetOutput }>;
}

/** Maps a 1-based line of the code that ran to a 1-based line of the note. */
export function lineMapper(parts: Array<{ snippet: Snippet; offset: number }>): (line: number) => number | undefined {
  return (line) => {
    for (let i = parts.length - 1; i >= 0; i--) {
      const p = parts[i]!;
      if (line - 1 >= p.offset) return p.snippet.codeLine + (line - 1 - p.offset) + 1;
    }
    return undefined;
  };
}

/**
 * The environment a kernel inherits: the host's, less what belongs to the host process itself
 * (NODE_OPTIONS could preload code or a debugger into the kernel; VSCODE_* and ELECTRON_* are
 * the editor's IPC handles and would make a Node kernel behave like part of VS Code).
 */
export function kernelEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (/^(NODE_OPTIONS|NODE_INSPECT|NODE_REPL_EXTERNAL_MODULE|VSCODE_|ELECTRON_|MLNOTES_(PARENT_PID|RUN_TOKEN|OWN_GROUP))/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/** The TypeScript kernel's environment (one-block runs and a note's TypeScript session). */
export function tfjsKernelEnv(opts: Pick<RunOptions, 'env' | 'tfjsBackend' | 'nativeModulePaths' | 'paths'>, backend?: string): NodeJS.ProcessEnv {
  return {
    ...kernelEnv(),
    ...opts.env,
    // The extension host's Node is Electron's: this makes it a plain Node for the kernel.
    ELECTRON_RUN_AS_NODE: '1',
    MLNOTES_BACKEND: backend ?? opts.tfjsBackend,
    MLNOTES_NATIVE_PATHS: opts.nativeModulePaths.join(process.platform === 'win32' ? ';' : ':'),
    MLNOTES_LAB: opts.paths.lab ?? '',
    MLNOTES_WASM_DIR: opts.paths.wasmDir,
  };
}

/** Most ranks a `{run torchrun nproc=N}` block may start. */
export const MAX_NPROC = Math.max(2, availableParallelism());

/** The run's time limit: a note's `timeout=` (seconds) may shorten the user's limit, never lengthen it. */
export function effectiveTimeoutMs(attr: string | undefined, userMs: number): number {
  const note = Number(attr);
  const limit = userMs > 0 ? userMs : Infinity;
  const ms = attr !== undefined && Number.isFinite(note) && note > 0 ? Math.min(note * 1000, limit) : limit;
  return Number.isFinite(ms) ? ms : 0;
}

/** Starts one snippet in its own kernel process. */
export function startSnippet(opts: RunOptions): StartedRun {
  const { snippet } = opts;
  const combined = codeWithSetup(snippet, opts.all);
  const fail = (message: string): StartedRun => {
    const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang, index: snippet.index }, () => undefined);
    collector.onEvent({ type: 'error', message });
    const result: RunResult = { status: 'failed', exitCode: null, signal: null, durationMs: 0 };
    return { process: undefined, collector, done: Promise.resolve({ result, output: collector.finish(result) }) };
  };
  if ('error' in combined) return fail(combined.error);
  const nproc = snippet.kernel === 'python' ? nprocOf(snippet) : undefined;
  if (typeof nproc === 'object') return fail(nproc.error);
  const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang, index: snippet.index }, lineMapper(combined.parts));
  const dir = mkdtempSync(join(tmpdir(), 'mln-run-'));
  let spec: ProcessSpec;
  const cwd = dirname(opts.notePath);
  const timeoutMs = effectiveTimeoutMs(snippet.attrs['timeout'], opts.timeoutMs);
  if (snippet.kernel === 'tfjs') {
    const codeFile = join(dir, 'snippet.ts');
    writeFileSync(codeFile, combined.code);
    spec = {
      command: opts.node,
      args: ['--enable-source-maps', opts.paths.tfjsKernel, codeFile],
      cwd,
      timeoutMs,
      env: tfjsKernelEnv(opts, snippet.attrs['backend']),
    };
  } else if (snippet.kernel === 'python' && opts.python && opts.paths.pythonKernel) {
    spec = pythonSpec(opts, combined.code, dir, cwd, timeoutMs, nproc);
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
    onInvalidEvent: opts.onInvalidEvent,
  });
  const done = run.start().then((result) => {
    rmSync(dir, { recursive: true, force: true });
    return { result, output: collector.finish(result) };
  });
  return { process: run, collector, done };
}

/** Ranks for a torchrun block: undefined without torchrun; an error outside 1..MAX_NPROC. */
function nprocOf(snippet: Snippet): number | undefined | { error: string } {
  const attr = snippet.attrs['nproc'] ?? (snippet.attrs['torchrun'] !== undefined && snippet.attrs['torchrun'] !== 'true' ? snippet.attrs['torchrun'] : undefined);
  if (attr === undefined) return snippet.attrs['torchrun'] !== undefined ? 2 : undefined;
  const n = Number(attr);
  if (!Number.isInteger(n) || n < 1 || n > MAX_NPROC) return { error: `nproc=${attr}: a torchrun block runs 1 to ${MAX_NPROC} processes on this machine` };
  return n;
}

/** `python -u python_kernel.py`, or one kernel per rank under torch's standard launcher. */
function pythonSpec(opts: RunOptions, code: string, dir: string, cwd: string, timeoutMs: number, nproc: number | undefined): ProcessSpec {
  const codeFile = join(dir, 'snippet.py');
  writeFileSync(codeFile, code);
  const python = opts.python!;
  const kernelArgs = [opts.paths.pythonKernel!, codeFile];
  const args =
    nproc !== undefined
      ? ['-u', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(nproc), '--redirects', '1', '--tee', '1', ...kernelArgs]
      : ['-u', ...kernelArgs];
  return {
    command: python.interpreter,
    args,
    cwd,
    timeoutMs,
    env: {
      ...kernelEnv(),
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
