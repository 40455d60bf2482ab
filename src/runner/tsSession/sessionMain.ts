/**
 * The session side of a note's persistent TypeScript session: `node tfjs-kernel.js --session`.
 * It loads the tfjs backend once, then runs blocks as the host sends them (protocol.ts), all in
 * this one realm, so tensors, models and the blocks' top-level bindings survive between blocks.
 *
 * The kernel entry (tfjsKernel.ts) passes in what it shares with one-block runs (backend choice,
 * module resolution, the parent watchdog), so both modes load tfjs the same way.
 */
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { emit } from '../kernels/report';
import { ENV_SESSION_SOCKET, ENV_SESSION_TOKEN, SESSION_MARKER, type HostMessage, type SessionMessage } from './protocol';
import { BlockSyntaxError, compileBlock } from './transform';

type Tf = typeof import('@tensorflow/tfjs');

export interface SessionDeps {
  loadBackend(preference: string): Promise<{ tf: Tf; backend: string; device: string; detail?: string; notes: string[] }>;
  /** The `require` a block sees (tfjs, `ml-notes` with this reporter, `ml-notes/lab`, the note folder's modules). */
  snippetRequire(tf: Tf, reporter: object): (id: string) => unknown;
  createReporter(tf: Tf): object;
  watchParent(): void;
}

/** Thrown at a block's next await after an interrupt. */
class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

// Captured now: a block may declare a global of the same name for itself (kept local, see keepLocal).
const stdout = process.stdout;
const stderr = process.stderr;

function send(m: SessionMessage, stream: NodeJS.WriteStream = stdout): void {
  stream.write(SESSION_MARKER + JSON.stringify(m) + '\n');
}

/**
 * The control connection lives in a worker thread: a block's loop that only awaits settled
 * promises (`await loss.data()` on the cpu/wasm backends) never yields to the main event loop,
 * so a message there would never be read. The worker counts interrupts in shared memory, which
 * the block's checks read synchronously after every await (transform.ts).
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData.flag);
const sock = net.connect(workerData.socket, () => sock.write(workerData.token + '\\n'));
let buf = '';
sock.setEncoding('utf8');
sock.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.type === 'interrupt') Atomics.add(flag, 0, 1);
    else parentPort.postMessage(m);
  }
});
// The host closed the connection (shutdown) or is gone: the session has no one to run for.
const end = () => process.kill(process.pid, 'SIGKILL');
sock.on('close', end);
sock.on('error', end);
`;

export function startSession(deps: SessionDeps): void {
  deps.watchParent();
  const socket = process.env[ENV_SESSION_SOCKET];
  const token = process.env[ENV_SESSION_TOKEN];
  // Not passed on to what blocks start.
  delete process.env[ENV_SESSION_SOCKET];
  delete process.env[ENV_SESSION_TOKEN];
  if (!socket || !token) {
    send({ type: 'failed', error: 'the session was started without its control socket' });
    process.exit(1);
  }
  void run(deps, socket, token);
}

async function run(deps: SessionDeps, socket: string, token: string): Promise<void> {
  let backend: Awaited<ReturnType<SessionDeps['loadBackend']>>;
  try {
    backend = await deps.loadBackend(process.env['MLNOTES_BACKEND'] ?? 'auto');
  } catch (e) {
    send({ type: 'failed', error: (e as Error).message });
    stdout.write('', () => process.exit(1));
    return;
  }
  const { tf } = backend;
  /** How many interrupts the host sent. */
  const flag = new Int32Array(new SharedArrayBuffer(4));
  /** The block that runs now (or ran last). */
  let current = 0;
  let running = false;
  let reporter = deps.createReporter(tf);
  // Blocks import `ml-notes` once and keep the binding; its functions report to the block that runs now.
  const require = deps.snippetRequire(tf, delegating(reporter, () => reporter));
  const sessionNames = new Set<string>();
  const keepLocal = (name: string): boolean => !sessionNames.has(name) && name in globalThis;
  const helper = {
    /** After an await: throws when an interrupt came since the async function was called (`count`). */
    c<T>(value: T, count: number): T {
      if (Atomics.load(flag, 0) !== count) throw new Interrupted('interrupted');
      return value;
    },
    n: (): number => Atomics.load(flag, 0),
    g: globalThis as Record<string, unknown>,
    d: (m: unknown): unknown => (m && typeof m === 'object' && (m as { __esModule?: boolean }).__esModule ? (m as { default: unknown }).default : m),
  };

  const reportError = (e: unknown, id: number): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    const file = blockFile(id);
    const stack = err.stack
      ?.split('\n')
      .filter((l) => !l.includes('tfjs-kernel.js') && !l.includes('node:vm') && !l.includes('node:internal'))
      .join('\n');
    const line = err instanceof BlockSyntaxError ? err.line : lineIn(err.stack, file);
    emit({ type: 'error', message: err.message, errorType: err.name, stack, line });
  };

  // Errors outside the running block's promise chain (a timer's callback, an un-awaited
  // promise) are reported where the user looks, and the session goes on, as Node's REPL does.
  const stray = (e: unknown): void => {
    if (e instanceof Interrupted) return; // async work an interrupt stopped
    if (running) reportError(e, current);
    else stderr.write(`Uncaught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  };
  // WARNING: tfjs-backend-wasm's Emscripten module adds handlers that rethrow (ending the
  // process on any unhandled rejection, e.g. a block's forgotten await); the session's replace them.
  process.removeAllListeners('uncaughtException');
  process.removeAllListeners('unhandledRejection');
  process.on('uncaughtException', stray);
  process.on('unhandledRejection', stray);

  const execute = async (id: number, code: string): Promise<'ok' | 'error' | 'interrupted'> => {
    current = id;
    running = true;
    reporter = deps.createReporter(tf);
    emit({ type: 'backend', backend: backend.backend, device: backend.device, detail: backend.detail });
    try {
      const block = compileBlock(code, { keepLocal });
      const fn = vm.runInThisContext(block.script, { filename: blockFile(id) }) as (h: typeof helper, r: typeof require, m: object, e: object) => Promise<unknown>;
      for (const n of block.bindings) sessionNames.add(n);
      const module = { exports: {} };
      await fn(helper, require, module, module.exports);
      return 'ok';
    } catch (e) {
      if (e instanceof Interrupted) return 'interrupted';
      reportError(e, id);
      return 'error';
    } finally {
      running = false;
    }
  };

  let queue: Promise<void> = Promise.resolve();
  const worker = new Worker(WORKER, { eval: true, workerData: { flag: flag.buffer, socket, token } });
  worker.on('message', (m: HostMessage) => {
    if (m.type !== 'execute') return;
    queue = queue.then(async () => {
      const status = await execute(m.id, m.code);
      // stderr first: when the host has both lines, it has all the block's output.
      send({ type: 'flush', id: m.id }, stderr);
      send({ type: 'done', id: m.id, status });
    });
  });
  worker.on('error', (e) => {
    stderr.write(`session control thread failed: ${e.message}\n`);
    process.exit(1);
  });
  send({ type: 'ready' });
}

function blockFile(id: number): string {
  return `block-${id}.ts`;
}

/** Line of the first stack frame in the given block's code. */
function lineIn(stack: string | undefined, file: string): number | undefined {
  const m = stack && new RegExp(`${file.replace(/[.-]/g, '\\$&')}:(\\d+)`).exec(stack);
  return m ? Number(m[1]) : undefined;
}

/** An object shaped like `target` whose functions call the same function of `get()` (recursively for nested objects). */
function delegating(target: object, get: () => object): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(target)) {
    if (typeof v === 'function') out[k] = (...args: unknown[]) => ((get() as Record<string, (...a: unknown[]) => unknown>)[k]!)(...args);
    else if (v && typeof v === 'object') out[k] = delegating(v, () => (get() as Record<string, object>)[k]!);
    else out[k] = v;
  }
  return out;
}
