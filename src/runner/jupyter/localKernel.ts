import type { KernelMessage } from '@jupyterlab/services';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRun } from '../processRun';
import { deserialize, request, serialize, type JupyterMessage } from './wire';
import { KernelBase } from './kernelBase';
import type { ExecuteResult, IopubSink } from './session';

/** What a local kernel needs: the one interpreter the runner resolved, and where ours lives. */
export interface LocalKernelOptions {
  readonly interpreter: string;
  /** A kernelspec's interpreter flags and ipykernel arguments (kernelSpecs.ts), around our launcher. */
  readonly pythonArgs?: readonly string[];
  readonly kernelArgs?: readonly string[];
  /** dist/kernels/jupyter_launcher.py (next to python_kernel.py and matplotlibrc). */
  readonly launcher: string;
  /** dist/kernels/matplotlibrc; used unless the user has a MATPLOTLIBRC of their own. */
  readonly matplotlibrc?: string;
  /** The note's folder. */
  readonly cwd: string;
  /** The kernel's environment (kernelEnv() plus the runner's own variables). */
  readonly env: NodeJS.ProcessEnv;
  /** The kernel process's own stdout/stderr (ipykernel's log; the blocks' output comes over iopub). */
  readonly onLog?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** How long the kernel may take to answer its first kernel_info_request. */
  readonly startTimeoutMs?: number;
}

/** How long a polite shutdown_request may take before the process group is killed. */
const SHUTDOWN_GRACE_MS = 1500;
const INFO_RETRY_MS = 300;

type ZmqModule = typeof import('zeromq');
let zmq: ZmqModule | undefined;
/** zeromq is a native module: loaded on first use, so a missing binding fails one run, not activation. */
function loadZmq(): ZmqModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  zmq ??= require('zeromq') as ZmqModule;
  return zmq;
}

interface Pending {
  readonly sink: IopubSink;
  reply?: KernelMessage.IExecuteReplyMsg['content'];
  idle: boolean;
  readonly resolve: (r: ExecuteResult) => void;
}

/**
 * An ipykernel on this machine, driven over ZeroMQ: one process for the kernel's whole life,
 * in its own process group with the runner's watchdog (ProcessRun, jupyter_launcher.py), so it
 * obeys the same lifetime rules as a process-per-run block. Restart replaces the process.
 */
export class LocalKernel extends KernelBase {
  private proc: ProcessRun | undefined;
  private sockets: { shell: import('zeromq').Dealer; control: import('zeromq').Dealer; iopub: import('zeromq').Subscriber } | undefined;
  private key = '';
  private readonly session = randomUUID();
  private dir: string | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly replies = new Map<string, (m: JupyterMessage) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private closing = false;
  private readonly onIopubAny = new Set<() => void>();

  constructor(private readonly opts: LocalKernelOptions) {
    super();
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  override execute(code: string, sink: IopubSink, opts: { silent?: boolean } = {}): Promise<ExecuteResult> {
    // One block at a time: the kernel queues too, but an interrupt must reach the block that runs.
    const run = this.queue.then(() => this.executeNow(code, sink, opts.silent ?? false));
    this.queue = run.catch(() => undefined);
    return run;
  }

  override async interrupt(): Promise<void> {
    if (!this.proc || this._state === 'dead' || this._state === 'closed') return;
    if (process.platform === 'win32') await this.controlRequest('interrupt_request', {}, 2000);
    else this.proc.interrupt();
  }

  /** A fresh kernel process: every variable is gone, the execution count starts again. */
  override async restart(): Promise<void> {
    this.setState('restarting');
    await this.stopProcess();
    this.closing = false;
    this.setExecutionCount(0);
    this.started = this.launch();
    await this.started;
  }

  override async shutdown(): Promise<void> {
    if (this._state === 'closed') return;
    await this.stopProcess();
    this.setState('closed');
  }

  /** Deactivation: SIGKILL to the kernel's processes now, synchronously. */
  override killNow(): void {
    this.closing = true;
    this.proc?.killNow();
    this.closeSockets();
    this.setState('closed');
  }

  protected override async launch(): Promise<void> {
    this.setState(this._state === 'restarting' ? 'restarting' : 'starting');
    this.dir = mkdtempSync(join(tmpdir(), 'mln-kernel-'));
    this.key = randomBytes(32).toString('hex');
    const ports = await freePorts(5);
    const [shell, iopub, stdin, control, hb] = ports as [number, number, number, number, number];
    const conn = { shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, ip: '127.0.0.1', key: this.key, transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: 'python3' };
    const connFile = join(this.dir, 'kernel.json');
    writeFileSync(connFile, JSON.stringify(conn), { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...this.opts.env, PYTHONUNBUFFERED: '1', PYDEVD_DISABLE_FILE_VALIDATION: '1' };
    if (this.opts.matplotlibrc && !env['MATPLOTLIBRC']) env['MATPLOTLIBRC'] = this.opts.matplotlibrc;
    const proc = new ProcessRun(
      { command: this.opts.interpreter, args: [...(this.opts.pythonArgs ?? []), '-u', this.opts.launcher, '-f', connFile, ...(this.opts.kernelArgs ?? [])], cwd: this.opts.cwd, env },
      { onLog: (stream, text) => this.opts.onLog?.(stream, text), onEvent: () => undefined },
    );
    this.proc = proc;
    const z = loadZmq();
    const url = (p: number): string => `tcp://127.0.0.1:${p}`;
    const sockets = {
      shell: new z.Dealer({ routingId: this.session, linger: 0 }),
      control: new z.Dealer({ routingId: this.session, linger: 0 }),
      iopub: new z.Subscriber({ linger: 0 }),
    };
    sockets.shell.connect(url(shell));
    sockets.control.connect(url(control));
    sockets.iopub.connect(url(iopub));
    sockets.iopub.subscribe();
    this.sockets = sockets;
    void this.readLoop(sockets.shell, 'shell');
    void this.readLoop(sockets.control, 'control');
    void this.readLoop(sockets.iopub, 'iopub');
    let exitedEarly: ((why: string) => void) | undefined;
    const exited = new Promise<never>((_, reject) => (exitedEarly = (why) => reject(new Error(why))));
    exited.catch(() => undefined);
    void proc.start().then((r) => {
      const why = r.spawnError ?? `the kernel process ended (${r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`})`;
      exitedEarly?.(why);
      this.onExit(proc, why);
    });
    try {
      await Promise.race([this.handshake(this.opts.startTimeoutMs ?? 60_000), exited]);
      exitedEarly = undefined;
      this.setState('idle');
    } catch (e) {
      this.lastError = (e as Error).message;
      await this.stopProcess();
      this.setState('dead');
      throw e;
    }
  }

  /**
   * Until the kernel answers kernel_info_request on shell *and* its status reaches us on iopub,
   * outputs of a first block could be lost (ZeroMQ's subscriber joins late), so both are awaited.
   */
  private async handshake(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let sawIopub = false;
    const onAny = (): void => void (sawIopub = true);
    this.onIopubAny.add(onAny);
    try {
      while (Date.now() < deadline) {
        const reply = await this.shellRequest('kernel_info_request', {}, INFO_RETRY_MS * 3).catch(() => undefined);
        if (reply && sawIopub) return;
        if (reply) await delay(INFO_RETRY_MS);
      }
      throw new Error(`the kernel did not answer within ${Math.round(timeoutMs / 1000)} s`);
    } finally {
      this.onIopubAny.delete(onAny);
    }
  }

  private shellRequest(type: KernelMessage.MessageType, content: object, timeoutMs: number): Promise<JupyterMessage> {
    return this.requestOn('shell', type, content, timeoutMs);
  }

  private controlRequest(type: KernelMessage.MessageType, content: object, timeoutMs: number): Promise<JupyterMessage | undefined> {
    return this.requestOn('control', type, content, timeoutMs).catch(() => undefined);
  }

  private async requestOn(channel: 'shell' | 'control', type: KernelMessage.MessageType, content: object, timeoutMs: number): Promise<JupyterMessage> {
    const sockets = this.sockets;
    if (!sockets) throw new Error('the kernel is not running');
    const msg = request(this.session, type, content);
    const id = msg.header.msg_id;
    const reply = new Promise<JupyterMessage>((resolve, reject) => {
      const t = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`${type}: no reply`));
      }, timeoutMs);
      this.replies.set(id, (m) => {
        clearTimeout(t);
        this.replies.delete(id);
        resolve(m);
      });
    });
    await sockets[channel].send(serialize(this.key, msg));
    return reply;
  }

  private async executeNow(code: string, sink: IopubSink, silent: boolean): Promise<ExecuteResult> {
    await this.start();
    if (this._state === 'dead' || this._state === 'closed' || !this.sockets) return { status: 'dead', executionCount: this._executionCount, message: this.lastError };
    // silent: the runner's own code (the variables view); no In [n], nothing in the history.
    // stop_on_error off: blocks go one at a time and the runner stops a Run All itself; the kernel's
    // own abort would also cancel the next block when its request wins a race with the abort's end.
    const msg = request(this.session, 'execute_request', { code, silent, store_history: !silent, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    const id = msg.header.msg_id;
    const done = new Promise<ExecuteResult>((resolve) => this.pending.set(id, { sink, idle: false, resolve }));
    await this.sockets.shell.send(serialize(this.key, msg));
    return done;
  }

  private async readLoop(socket: AsyncIterable<Buffer[]>, channel: 'shell' | 'control' | 'iopub'): Promise<void> {
    try {
      for await (const frames of socket) {
        const msg = deserialize(this.key, frames, channel);
        if (msg) this.onMessage(msg, channel);
      }
    } catch {
      // The socket was closed.
    }
  }

  private onMessage(msg: JupyterMessage, channel: 'shell' | 'control' | 'iopub'): void {
    const parentId = (msg.parent_header as Partial<KernelMessage.IHeader>).msg_id;
    if (channel !== 'iopub') {
      if (parentId) this.replies.get(parentId)?.(msg);
      const p = parentId ? this.pending.get(parentId) : undefined;
      if (p && msg.header.msg_type === 'execute_reply') {
        p.reply = msg.content as KernelMessage.IExecuteReplyMsg['content'];
        const n = (p.reply as { execution_count?: number }).execution_count;
        if (typeof n === 'number' && n > 0) this.setExecutionCount(n);
        this.settle(parentId!, p);
      }
      return;
    }
    for (const f of this.onIopubAny) f();
    const type = msg.header.msg_type;
    if (type === 'status') {
      const s = (msg.content as KernelMessage.IStatusMsg['content']).execution_state;
      if ((s === 'busy' || s === 'idle') && this._state !== 'starting' && this._state !== 'restarting' && this._state !== 'closed') this.setState(s);
      const p = parentId ? this.pending.get(parentId) : undefined;
      if (p && s === 'idle') {
        p.idle = true;
        this.settle(parentId!, p);
      }
      return;
    }
    const p = parentId ? this.pending.get(parentId) : undefined;
    if (p) {
      if (type === 'execute_input') {
        const n = (msg.content as KernelMessage.IExecuteInputMsg['content']).execution_count;
        if (typeof n === 'number') this.setExecutionCount(n);
      }
      p.sink(msg as KernelMessage.IIOPubMessage);
    } else if (type === 'update_display_data') {
      // A display made by an earlier block, updated from a thread or a later block: every sink
      // that may hold it hears of it.
      for (const q of this.pending.values()) q.sink(msg as KernelMessage.IIOPubMessage);
    }
  }

  /** An execution ends when its reply arrived and the kernel went idle for it (all its output is in). */
  private settle(id: string, p: Pending): void {
    if (!p.reply || !p.idle) return;
    this.pending.delete(id);
    const c = p.reply as { status: string; ename?: string; evalue?: string; traceback?: string[] };
    p.resolve(
      c.status === 'ok'
        ? { status: 'ok', executionCount: this._executionCount }
        : c.status === 'error'
          ? { status: 'error', executionCount: this._executionCount, error: { ename: c.ename ?? '', evalue: c.evalue ?? '', traceback: c.traceback ?? [] } }
          : { status: 'aborted', executionCount: this._executionCount },
    );
  }

  private onExit(proc: ProcessRun, why: string): void {
    if (proc !== this.proc) return;
    this.closeSockets();
    if (!this.closing) {
      this.lastError = why;
      this.setState('dead');
    }
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve({ status: 'dead', executionCount: this._executionCount, message: why });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** shutdown_request first (the kernel's own cleanup runs), then the process group is ended. */
  private async stopProcess(): Promise<void> {
    const proc = this.proc;
    this.closing = true;
    if (!proc) return;
    if (proc.status === 'running') {
      const exited = proc.start();
      if (this.sockets) void this.controlRequest('shutdown_request', { restart: false }, SHUTDOWN_GRACE_MS);
      const polite = await Promise.race([exited.then(() => true), delay(SHUTDOWN_GRACE_MS).then(() => false)]);
      if (!polite) await proc.cancel();
      await exited;
    }
    this.closeSockets();
  }

  private closeSockets(): void {
    const s = this.sockets;
    this.sockets = undefined;
    if (!s) return;
    for (const sock of [s.shell, s.control, s.iopub]) {
      try {
        sock.close();
      } catch {
        // Already closed.
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Ports free on 127.0.0.1 now (the kernel binds them a moment later, as jupyter_client does). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
