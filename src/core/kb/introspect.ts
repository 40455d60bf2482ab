import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IndexFile } from './types';

/** The file name the build copies next to the Python kernel (scripts/build.mjs). */
export const TORCH_INDEX_SCRIPT = 'torch_index.py';

/** dist/kernels/torch_index.py next to a bundle when it exists, else the source (tests, tsx). */
export function torchIndexScriptNear(dir: string): string {
  const built = join(dir, 'kernels', TORCH_INDEX_SCRIPT);
  return existsSync(built) ? built : join(__dirname, TORCH_INDEX_SCRIPT);
}

export interface PythonResult {
  stdout: string;
  stderr: string;
  /** The exit code; null when killed or not started. */
  status: number | null;
  /** Why it did not run to the end: could not start, or ran past the timeout. */
  error?: string;
}

/**
 * Runs `interpreter -I script args…` from a neutral folder: `-I` keeps the workspace, PYTHON*
 * variables and user site-packages out of sys.path, so a note folder's own `torch.py` is never
 * imported. Never rejects.
 */
export function runPython(interpreter: string, script: string, args: readonly string[], timeoutMs: number): Promise<PythonResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(interpreter, ['-I', script, ...args], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      resolve({ stdout, stderr, status: null, error: `cannot start '${interpreter}': ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status: null, error: e.code === 'ENOENT' ? `no Python interpreter at '${interpreter}'` : `cannot start '${interpreter}': ${e.message}` });
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status, ...(timedOut ? { error: `'${interpreter}' took longer than ${timeoutMs} ms` } : {}) });
    });
  });
}

export interface IntrospectOptions {
  /** The user's Python (a path or a name on PATH). */
  interpreter: string;
  /** torch_index.py (see torchIndexScriptNear). */
  script: string;
  /** Where indexes are kept between sessions (the extension's globalStorage, ~/.cache/ml-notes). */
  cacheDir: string;
  /** For the whole introspection; importing torch alone takes seconds. */
  timeoutMs?: number;
}

export type IntrospectResult =
  | { ok: true; index: IndexFile; cached: boolean; file: string }
  | { ok: false; reason: string };

/**
 * The torch index of the user's own interpreter: its exact installed version, read once and
 * kept in `cacheDir` under the interpreter's path and that version (a `pip install -U torch`
 * makes a new one). Asking only for the version costs a fraction of a second; the full
 * introspection (a few seconds) runs only on a cache miss. Never rejects.
 */
export async function introspectTorch(opts: IntrospectOptions): Promise<IntrospectResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const probe = await runPython(opts.interpreter, opts.script, ['--version'], Math.min(timeoutMs, 15_000));
  if (probe.error || probe.status !== 0) return { ok: false, reason: probe.error ?? `'${opts.interpreter}' failed: ${lastLine(probe.stderr)}` };
  let torch: string | null;
  try {
    torch = (JSON.parse(lastLine(probe.stdout)) as { torch: string | null }).torch;
  } catch {
    return { ok: false, reason: `'${opts.interpreter}' did not answer like Python` };
  }
  if (!torch) return { ok: false, reason: `torch is not installed for '${opts.interpreter}'` };

  const key = createHash('sha256').update(opts.interpreter).digest('hex').slice(0, 16);
  const file = join(opts.cacheDir, `torch-index-${key}-${torch.replace(/[^\w.-]/g, '_')}.json`);
  const cached = readIndex(file);
  if (cached) return { ok: true, index: cached, cached: true, file };

  const run = await runPython(opts.interpreter, opts.script, [], timeoutMs);
  if (run.error || run.status !== 0) return { ok: false, reason: run.error ?? `introspecting torch failed: ${lastLine(run.stderr)}` };
  let index: IndexFile;
  try {
    index = JSON.parse(run.stdout) as IndexFile;
    if (!index.entries || typeof index.version !== 'string') throw new Error('no entries');
  } catch (e) {
    return { ok: false, reason: `introspecting torch gave no index: ${(e as Error).message}` };
  }
  try {
    mkdirSync(opts.cacheDir, { recursive: true });
    // Older versions of this interpreter's index are of no further use.
    for (const f of readdirSync(opts.cacheDir)) if (f.startsWith(`torch-index-${key}-`) && join(opts.cacheDir, f) !== file) unlinkSync(join(opts.cacheDir, f));
    // Written whole, then renamed: a second window reading it never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, run.stdout);
    renameSync(tmp, file);
  } catch {
    // No cache this time; the index itself is still good.
  }
  return { ok: true, index: { ...index, source: 'introspected' }, cached: false, file };
}

function readIndex(file: string): IndexFile | undefined {
  try {
    const index = JSON.parse(readFileSync(file, 'utf8')) as IndexFile;
    return index.entries ? { ...index, source: 'introspected' } : undefined;
  } catch {
    return undefined;
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}
