import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_MARKER, type KernelEvent, type RunStatus } from './protocol';
import { parseKernelEvent } from './schema';

export { EVENT_MARKER };

export interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** 0 or undefined: no timeout. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly status: Exclude<RunStatus, 'queued' | 'running'>;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  /** Set when the process could not be started at all (no such interpreter…). */
  readonly spawnError?: string;
}

export interface RunListener {
  onLog(stream: 'stdout' | 'stderr', text: string): void;
  onEvent(event: KernelEvent): void;
  /** An event line that failed validation (dropped); for the log. */
  onInvalidEvent?(reason: string): void;
}

/**
 * Stop escalates: SIGINT first, so Python's KeyboardInterrupt path runs (the kernel's `finally`
 * flushes figures), then SIGTERM, then SIGKILL. Each step waits this long for the process to exit.
 */
export const INTERRUPT_GRACE_MS = 800;
export const TERMINATE_GRACE_MS = 800;
/** After the kernel exited, how long stdout may still deliver what was written before. */
const DRAIN_MS = 300;
/** setTimeout fires at once above 2³¹−1 ms; longer limits are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Environment variables the runner sets on every kernel (read by the kernels' parent watchdog). */
export const ENV_PARENT_PID = 'MLNOTES_PARENT_PID';
export const ENV_RUN_TOKEN = 'MLNOTES_RUN_TOKEN';
export const ENV_OWN_GROUP = 'MLNOTES_OWN_GROUP';

/**
 * One kernel process with a lifecycle: queued → running → succeeded | failed | cancelled | timedOut.
 * The process leads its own process group, and carries a run token in its environment that its
 * descendants inherit, so stopping reaches every process it started: torchrun's ranks, a
 * snippet's children, and those that left the group with setsid. The run has ended when the
 * kernel process has exited (a grandchild holding stdout open does not keep it going), and
 * nothing it started is left then.
 */
export class ProcessRun {
  private child: ChildProcess | undefined;
  private _status: RunStatus = 'queued';
  private stopReason: 'cancelled' | 'timedOut' | undefined;
  private sawError = false;
  private exited: Promise<RunResult> | undefined;
  private readonly token = randomUUID();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly spec: ProcessSpec, private readonly listener: RunListener) {}

  get status(): RunStatus {
    return this._status;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; resolves when it has ended, whatever the reason. Never rejects. */
  start(): Promise<RunResult> {
    if (this.exited) return this.exited;
    const t0 = Date.now();
    this._status = 'running';
    this.exited = new Promise<RunResult>((resolve) => {
      let finished = false;
      const finish = (r: Omit<RunResult, 'durationMs' | 'status'> & { status?: RunResult['status'] }): void => {
        if (finished) return;
        finished = true;
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        const status: RunResult['status'] = r.status ?? this.stopReason ?? (r.exitCode === 0 && !this.sawError && !r.spawnError ? 'succeeded' : 'failed');
        this._status = status;
        resolve({ ...r, status, durationMs: Date.now() - t0 });
      };
      if (!isDirectory(this.spec.cwd)) {
        finish({ status: 'failed', exitCode: null, signal: null, spawnError: `the working directory '${this.spec.cwd}' does not exist` });
        return;
      }
      let child: ChildProcess;
      try {
        child = spawn(this.spec.command, [...this.spec.args], {
          cwd: this.spec.cwd,
          env: {
            ...this.spec.env,
            [ENV_PARENT_PID]: String(process.pid),
            [ENV_RUN_TOKEN]: this.token,
            ...(process.platform !== 'win32' ? { [ENV_OWN_GROUP]: '1' } : {}),
          },
          detached: process.platform !== 'win32',
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        });
      } catch (e) {
        finish({ status: 'failed', exitCode: null, signal: null, spawnError: (e as Error).message });
        return;
      }
      this.child = child;
      if (this.spec.timeoutMs) this.after(this.spec.timeoutMs, () => void this.stop('timedOut'));
      const stdout = new LineSplitter((line) => this.onStdoutLine(line));
      child.stdout!.setEncoding('utf8');
      child.stderr!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => stdout.push(d));
      child.stderr!.on('data', (d: string) => this.listener.onLog('stderr', d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        // Without a pid the process never started, and no 'exit' follows.
        if (child.pid === undefined) {
          finish({
            status: 'failed',
            exitCode: null,
            signal: null,
            spawnError: e.code === 'ENOENT' ? `cannot start '${this.spec.command}': not found` : `cannot start '${this.spec.command}': ${e.message}`,
          });
        }
      });
      child.on('exit', (code, signal) => {
        // The kernel is gone: whatever it left running (in its group, or carrying its token) goes
        // too. Not on Windows: taskkill by a pid that has exited could hit a reused one.
        if (process.platform !== 'win32') this.signalAll('SIGKILL');
        const streamsDone = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise<void>((r) => (s.readableEnded || s.destroyed ? r() : s.once('close', () => r())))));
        const drained = new Promise<void>((r) => this.after(DRAIN_MS, r));
        void Promise.race([streamsDone, drained]).then(() => {
          // A descendant we could not see (another user's setuid helper) may still hold the pipes.
          child.stdout!.destroy();
          child.stderr!.destroy();
          stdout.flush();
          finish({ exitCode: code, signal });
        });
      });
    });
    return this.exited;
  }

  /** Stops the run (and everything it started) and waits until it has ended. */
  async cancel(): Promise<void> {
    await this.stop('cancelled');
  }

  /**
   * Ends the run now, synchronously (SIGKILL to everything it started): for the extension
   * host's shutdown, when there is no time to wait for a polite exit.
   */
  killNow(): void {
    if (!this.child || this._status !== 'running') return;
    this.stopReason ??= 'cancelled';
    this.signalAll('SIGKILL', true);
  }

  /**
   * Ctrl+C for a process that keeps running (a Jupyter kernel): SIGINT to its process group,
   * nothing after it. The kernel turns it into KeyboardInterrupt and goes on.
   */
  interrupt(): void {
    if (this.child && this._status === 'running') this.signalAll('SIGINT');
  }

  private async stop(reason: 'cancelled' | 'timedOut'): Promise<void> {
    if (!this.child || this._status !== 'running') {
      await this.exited;
      return;
    }
    if (this.stopReason) {
      await this.exited;
      return;
    }
    this.stopReason = reason;
    this.signalAll('SIGINT');
    this.after(INTERRUPT_GRACE_MS, () => {
      this.signalAll('SIGTERM');
      this.after(TERMINATE_GRACE_MS, () => this.signalAll('SIGKILL'));
    });
    await this.exited;
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (ms > MAX_TIMER_MS) this.after(ms - MAX_TIMER_MS, fn);
      else fn();
    }, Math.min(ms, MAX_TIMER_MS));
    this.timers.add(t);
  }

  /** Sends `signal` to the kernel's process group and to every process descended from it or carrying its token. */
  private signalAll(signal: NodeJS.Signals, sync = false): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    if (process.platform === 'win32') {
      killWindowsTree(pid, signal === 'SIGKILL' || signal === 'SIGTERM', sync);
      return;
    }
    // Interrupt goes to the group only, like Ctrl+C in a shell; processes that left the group
    // (a setsid server) get the signals that follow.
    const targets = signal === 'SIGINT' ? [] : runProcesses(pid, this.token);
    for (const target of [-pid, ...targets]) {
      try {
        process.kill(target, signal);
      } catch {
        // Already gone.
      }
    }
  }

  private onStdoutLine(line: string): void {
    const at = line.indexOf(EVENT_MARKER);
    if (at >= 0) {
      const parsed = parseKernelEvent(line.slice(at + EVENT_MARKER.length));
      if ('event' in parsed) {
        if (at > 0) this.listener.onLog('stdout', line.slice(0, at));
        if (parsed.event.type === 'error') this.sawError = true;
        this.listener.onEvent(parsed.event);
      } else {
        // Dropped: it is not shown as text either (it may be kilobytes of base64).
        this.listener.onInvalidEvent?.(parsed.error);
      }
      return;
    }
    this.listener.onLog('stdout', line);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * PIDs of the processes a run started, besides its process group: descendants of the kernel by
 * parent link, and (Linux) every process of this user whose environment carries the run's token,
 * which also finds daemons that double-forked away from the tree. Never throws.
 */
export function runProcesses(rootPid: number, token: string): number[] {
  const found = new Set<number>();
  try {
    const table = processTable();
    const children = new Map<number, number[]>();
    for (const p of table) {
      const list = children.get(p.ppid) ?? [];
      list.push(p.pid);
      children.set(p.ppid, list);
    }
    const queue = [rootPid];
    while (queue.length) {
      const pid = queue.pop()!;
      for (const c of children.get(pid) ?? []) {
        if (!found.has(c)) {
          found.add(c);
          queue.push(c);
        }
      }
    }
    if (process.platform === 'linux') {
      const needle = `${ENV_RUN_TOKEN}=${token}`;
      for (const p of table) {
        if (p.pid === process.pid || found.has(p.pid)) continue;
        try {
          if (readFileSync(`/proc/${p.pid}/environ`, 'latin1').includes(needle)) found.add(p.pid);
        } catch {
          // Another user's process, or gone.
        }
      }
    }
  } catch {
    // No process table: the process group is still signalled.
  }
  found.delete(process.pid);
  found.delete(rootPid);
  return [...found];
}

function processTable(): Array<{ pid: number; ppid: number }> {
  if (process.platform === 'linux' && existsSync('/proc/self/stat')) {
    const out: Array<{ pid: number; ppid: number }> = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(join('/proc', name, 'stat'), 'latin1');
        // "pid (comm) state ppid …": comm may contain spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.push({ pid: Number(name), ppid: Number(fields[1]) });
      } catch {
        // Gone meanwhile.
      }
    }
    return out;
  }
  const ps = spawnSync('/bin/ps', ['-A', '-o', 'pid=', '-o', 'ppid='], { encoding: 'utf8', timeout: 2000 });
  return (ps.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 2 && f.every(Number.isInteger))
    .map(([pid, ppid]) => ({ pid: pid!, ppid: ppid! }));
}

/**
 * Windows has no process groups or signals: taskkill ends the tree. It is run by its full path
 * (not whatever `taskkill` comes first on PATH) and without blocking the extension host, except
 * when the host itself is shutting down.
 */
function killWindowsTree(pid: number, force: boolean, sync: boolean): void {
  const exe = join(process.env['SystemRoot'] ?? 'C:\\Windows', 'System32', 'taskkill.exe');
  const args = ['/pid', String(pid), '/T', ...(force ? ['/F'] : [])];
  try {
    if (sync) spawnSync(exe, args, { windowsHide: true, stdio: 'ignore', timeout: 3000 });
    else spawn(exe, args, { windowsHide: true, stdio: 'ignore' }).on('error', () => undefined).unref();
  } catch {
    // Nothing left to end.
  }
}

/** Splits a text stream into lines, keeping their newline; a partial line is passed on when no more data follows soon. */
class LineSplitter {
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: (line: string) => void) {}

  push(data: string): void {
    this.buffer += data;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.emit(this.buffer.slice(0, nl + 1));
      this.buffer = this.buffer.slice(nl + 1);
    }
    clearTimeout(this.timer);
    // Progress output without a newline (`\r` bars, prompts) still shows, unless it may be the
    // start of an event line.
    if (this.buffer && !this.buffer.startsWith('\u001e')) this.timer = setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    clearTimeout(this.timer);
    if (this.buffer) this.emit(this.buffer);
    this.buffer = '';
  }
}
