import type { KernelMessage } from '@jupyterlab/services';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTERRUPT_GRACE_MS, ProcessRun, type RunResult } from '../processRun';
import { EVENT_MARKER, wireReplacer, type KernelEvent } from '../protocol';
import type { ExecuteResult, IopubSink, KernelSession, KernelState } from '../jupyter/session';
import { ENV_SESSION_SOCKET, ENV_SESSION_TOKEN, parseSessionMessage, SESSION_FLAG, SESSION_MARKER, type HostMessage, type SessionMessage } from './protocol';

export interface TsSessionOptions {
  /** The Node to run the session with (the extension host passes its own, with ELECTRON_RUN_AS_NODE in `env`). */
  readonly node: string;
  /** dist/kernels/tfjs-kernel.js */
  readonly kernel: string;
  /** The note's folder. */
  readonly cwd: string;
  /** The session's environment: kernelEnv() plus the tfjs kernel's variables (tfjsKernelEnv). */
  readonly env: NodeJS.ProcessEnv;
  /** Output the session writes while no block runs (a timer a block left behind). */
  readonly onLog?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** How long loading the backend may take. */
  readonly startTimeoutMs?: number;
  /** How long an interrupted block has to reach an await before the session is ended. */
  readonly interruptGraceMs?: number;
}

interface Running {
  readonly id: number;
  readonly sink: IopubSink;
  done?: 'ok' | 'error' | 'interrupted';
  flushed: boolean;
  /** Set when an interrupt had to end the session (the block never reached an await). */
  killed: boolean;
  readonly finish: (r: ExecuteResult) => void;
  readonly finished: Promise<ExecuteResult>;
}

/**
 * A note's TypeScript blocks share one Node process, the way its Python blocks share a Jupyter
 * kernel: tensors, models and top-level bindings survive between blocks (transform.ts says how).
 * It implements KernelSession, so the registry, the kernel commands and the status bar treat it
 * like a Jupyter kernel; its outputs reach the sink as Jupyter iopub messages (stream text with
 * the runner's event lines, and `error` for an interrupt), so `startInKernel` runs its blocks.
 *
 * The process is a ProcessRun (own process group, run token, parent watchdog): Stop and the
 * host's death leave nothing behind, as for one-block runs. Interrupt stops a block at its next
 * await and keeps the state; a block that reaches no await in time (a synchronous loop) can only
 * be stopped by ending the session: that is reported, and the next block starts a new session.
 */
export class TsSession implements KernelSession {
  private _state: KernelState = 'starting';
  private _executionCount = 0;
  private readonly listeners = new Set<(s: KernelState) => void>();
  private proc: ProcessRun | undefined;
  private exited: Promise<void> | undefined;
  private server: Server | undefined;
  private conn: Socket | undefined;
  private dir: string | undefined;
  private started: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private current: Running | undefined;
  private lastId = 0;
  private stderrBuf = '';
  private stopping: 'restart' | 'shutdown' | undefined;
  private onControl: ((m: SessionMessage) => void) | undefined;
  /** Why the previous session process ended, told to the next block once. */
  private ended: string | undefined;

  constructor(private readonly opts: TsSessionOptions) {}

  get state(): KernelState {
    return this._state;
  }

  get executionCount(): number {
    return this._executionCount;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  onDidChangeState(cb: (s: KernelState) => void): { dispose(): void } {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }

  start(): Promise<void> {
    this.started ??= this.launch();
    return this.started;
  }

  execute(code: string, sink: IopubSink): Promise<ExecuteResult> {
    const run = this.queue.then(() => this.executeNow(code, sink));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops the running block at its next await (async work a finished block left running, when
   * idle). Resolves when the block has ended; if it has not within the grace time, the session is
   * ended (its state is lost) and the block reports so.
   */
  async interrupt(): Promise<void> {
    if (!this.conn || (this._state !== 'busy' && this._state !== 'idle')) return;
    this.send({ type: 'interrupt' });
    const run = this.current;
    if (!run) return;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      run.finished.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.opts.interruptGraceMs ?? INTERRUPT_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (inTime || this.current !== run) return;
    run.killed = true;
    this.proc?.killNow();
    await run.finished;
  }

  /** A new session process: every binding is gone, the execution count starts again. */
  async restart(): Promise<void> {
    this.setState('restarting');
    await this.stopProcess('restart');
    this.setExecutionCount(0);
    this.ended = undefined;
    this.started = this.launch();
    await this.started;
  }

  async shutdown(): Promise<void> {
    if (this._state === 'closed') return;
    await this.stopProcess('shutdown');
    this.setState('closed');
  }

  killNow(): void {
    this.stopping = 'shutdown';
    this.proc?.killNow();
    this.cleanup();
    this.setState('closed');
  }

  /** A new In [n] is told to the listeners too (the UI shows it). */
  private setExecutionCount(n: number): void {
    if (this._executionCount === n) return;
    this._executionCount = n;
    for (const l of this.listeners) l(this._state);
  }

  private setState(s: KernelState): void {
    if (this._state === s) return;
    this._state = s;
    for (const l of this.listeners) l(s);
  }

  private async executeNow(code: string, sink: IopubSink): Promise<ExecuteResult> {
    if (this._state === 'closed') return { status: 'dead', executionCount: this._executionCount, message: 'the TypeScript session was shut down' };
    // A session that ended (killed by an interrupt, crashed) is replaced by a new one on the next run.
    if (this._state === 'dead') {
      this.started = undefined;
      this.setExecutionCount(0);
    }
    try {
      await this.start();
    } catch (e) {
      streamEvent(sink, { type: 'error', message: (e as Error).message });
      return { status: 'error', executionCount: this._executionCount, error: { ename: 'SessionError', evalue: (e as Error).message, traceback: [] } };
    }
    if (this.ended) {
      streamText(sink, 'stderr', `(a new TypeScript session: ${this.ended}, so the bindings of blocks run before are gone)\n`);
      this.ended = undefined;
    }
    const id = ++this.lastId;
    this.setExecutionCount(this._executionCount + 1);
    let finish!: (r: ExecuteResult) => void;
    const finished = new Promise<ExecuteResult>((r) => (finish = r));
    this.current = { id, sink, flushed: false, killed: false, finish, finished };
    this.setState('busy');
    this.send({ type: 'execute', id, code });
    const r = await finished;
    if (this._state === 'busy') this.setState('idle');
    return r;
  }

  private async launch(): Promise<void> {
    this.setState(this._state === 'restarting' ? 'restarting' : 'starting');
    this.stopping = undefined;
    this.stderrBuf = '';
    const dir = mkdtempSync(join(tmpdir(), 'mln-ts-session-'));
    this.dir = dir;
    const token = randomBytes(24).toString('hex');
    // A Unix socket in a folder only this user can read; Windows has named pipes (and the token).
    const path = process.platform === 'win32' ? `\\\\.\\pipe\\mln-ts-session-${randomUUID()}` : join(dir, 'control.sock');
    const server = createServer();
    this.server = server;
    const connected = new Promise<void>((resolve) => {
      server.on('connection', (sock) => {
        let buf = '';
        sock.setEncoding('utf8');
        const onData = (d: string): void => {
          buf += d;
          const nl = buf.indexOf('\n');
          if (nl < 0) {
            if (buf.length > 200) sock.destroy();
            return;
          }
          sock.off('data', onData);
          if (buf.slice(0, nl) !== token || this.conn) {
            sock.destroy();
            return;
          }
          this.conn = sock;
          sock.on('error', () => undefined);
          // Nobody else may connect now.
          server.close();
          resolve();
        };
        sock.on('data', onData);
        sock.on('error', () => undefined);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    const ready = new Promise<void>((resolve, reject) => {
      this.onControl = (m) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(m.error));
      };
    });
    const proc = new ProcessRun(
      {
        command: this.opts.node,
        args: ['--enable-source-maps', this.opts.kernel, SESSION_FLAG],
        cwd: this.opts.cwd,
        env: { ...this.opts.env, [ENV_SESSION_SOCKET]: path, [ENV_SESSION_TOKEN]: token },
      },
      {
        onLog: (s, t) => (s === 'stdout' ? this.onStdout(t) : this.onStderr(t)),
        onEvent: (e) => this.onEvent(e),
      },
    );
    this.proc = proc;
    let exitedEarly!: (why: string) => void;
    const early = new Promise<never>((_, reject) => (exitedEarly = (why) => reject(new Error(why))));
    early.catch(() => undefined);
    this.exited = proc.start().then((r) => {
      const why = exitWhy(r);
      exitedEarly(why);
      this.onExit(proc, why);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the TypeScript session did not start within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)));
    try {
      await Promise.race([Promise.all([connected, ready]), early, timeout]);
      this.setState('idle');
    } catch (e) {
      await this.stopProcess('shutdown');
      this.setState('dead');
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private send(m: HostMessage): void {
    this.conn?.write(JSON.stringify(m) + '\n');
  }

  private async stopProcess(why: 'restart' | 'shutdown'): Promise<void> {
    this.stopping = why;
    this.proc?.killNow();
    await this.exited;
    this.cleanup();
  }

  private cleanup(): void {
    this.conn?.destroy();
    this.conn = undefined;
    this.server?.close();
    this.server = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private onExit(proc: ProcessRun, why: string): void {
    if (proc !== this.proc) return;
    this.proc = undefined;
    this.cleanup();
    const run = this.current;
    this.current = undefined;
    const stopping = this.stopping;
    if (run) {
      const message = run.killed
        ? `the block did not stop at an await within ${((this.opts.interruptGraceMs ?? INTERRUPT_GRACE_MS) / 1000).toFixed(1)} s (a loop without await cannot be interrupted), so the TypeScript session was ended: its variables are lost, and the next run starts a new session`
        : stopping === 'restart'
          ? 'the TypeScript session was restarted'
          : stopping === 'shutdown'
            ? 'the TypeScript session was shut down'
            : `the TypeScript session ended (${why}): its variables are lost, and the next run starts a new session`;
      streamEvent(run.sink, { type: 'error', errorType: 'SessionEnded', message });
      run.finish({ status: 'error', executionCount: this._executionCount, error: { ename: 'SessionEnded', evalue: message, traceback: [] } });
    }
    if (!stopping) {
      this.ended = run?.killed ? 'the previous one was ended to stop a block' : `the previous one ended (${why})`;
      this.setState('dead');
    }
  }

  private onStdout(text: string): void {
    const at = text.indexOf(SESSION_MARKER);
    if (at < 0) return this.output('stdout', text);
    if (at > 0) this.output('stdout', text.slice(0, at));
    this.control(text.slice(at + SESSION_MARKER.length));
  }

  /** stderr comes in chunks: the `flush` line is looked for in whole lines. */
  private onStderr(chunk: string): void {
    let buf = this.stderrBuf + chunk;
    let out = '';
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl + 1);
      buf = buf.slice(nl + 1);
      const at = line.indexOf(SESSION_MARKER);
      if (at < 0) {
        out += line;
        continue;
      }
      out += line.slice(0, at);
      if (out) this.output('stderr', out);
      out = '';
      this.control(line.slice(at + SESSION_MARKER.length));
    }
    // A partial line that may become a control line waits; other text shows now (progress bars).
    if (buf.includes('\u001e')) this.stderrBuf = buf;
    else {
      out += buf;
      this.stderrBuf = '';
    }
    if (out) this.output('stderr', out);
  }

  private control(json: string): void {
    const m = parseSessionMessage(json);
    if (!m) return;
    if (m.type === 'ready' || m.type === 'failed') {
      this.onControl?.(m);
      return;
    }
    const run = this.current;
    if (!run || m.id !== run.id) return;
    if (m.type === 'flush') run.flushed = true;
    else run.done = m.status;
    if (!run.flushed || !run.done) return;
    this.current = undefined;
    if (run.done === 'interrupted') {
      const msg = iopub('error', { ename: 'KeyboardInterrupt', evalue: 'the block was interrupted at an await; the session keeps its variables', traceback: [] });
      run.sink(msg);
    }
    const n = this._executionCount;
    run.finish(
      run.done === 'ok'
        ? { status: 'ok', executionCount: n }
        : { status: 'error', executionCount: n, error: { ename: run.done === 'interrupted' ? 'KeyboardInterrupt' : 'Error', evalue: '', traceback: [] } },
    );
  }

  private output(stream: 'stdout' | 'stderr', text: string): void {
    if (!text) return;
    const run = this.current;
    if (run) streamText(run.sink, stream, text);
    else this.opts.onLog?.(stream, text);
  }

  /** Events were validated by ProcessRun; they travel on as the event lines startInKernel reads from a stream. */
  private onEvent(e: KernelEvent): void {
    const run = this.current;
    if (run) streamEvent(run.sink, e);
    else if (e.type === 'error') this.opts.onLog?.('stderr', `${e.message}\n`);
  }
}

function exitWhy(r: RunResult): string {
  return r.spawnError ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`);
}

/** A minimal iopub message of the Jupyter protocol (what startInKernel reads). */
function iopub(type: 'stream' | 'error', content: Record<string, unknown>): KernelMessage.IIOPubMessage {
  return {
    channel: 'iopub',
    header: { msg_id: randomUUID(), msg_type: type, session: '', username: '', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content,
  } as unknown as KernelMessage.IIOPubMessage;
}

function streamText(sink: IopubSink, name: 'stdout' | 'stderr', text: string): void {
  sink(iopub('stream', { name, text }));
}


function streamEvent(sink: IopubSink, e: KernelEvent): void {
  streamText(sink, 'stdout', EVENT_MARKER + JSON.stringify(e, wireReplacer) + '\n');
}

/** Which way a TypeScript block runs: in the note's session, or in a process of its own. */
export type TsMode = 'session' | 'process';

/**
 * `{run fresh}` asks for a clean process, and a block with its own `backend=` needs one (a
 * session has loaded one backend); everything else follows the setting.
 */
export function tsModeFor(attrs: Readonly<Record<string, string | undefined>>, setting: TsMode): { mode: TsMode; why?: 'fresh' | 'backend' | 'setting' } {
  if (attrs['fresh'] !== undefined && attrs['fresh'] !== 'false') return { mode: 'process', why: 'fresh' };
  if (attrs['backend'] !== undefined) return { mode: 'process', why: 'backend' };
  if (setting === 'process') return { mode: 'process', why: 'setting' };
  return { mode: 'session' };
}
