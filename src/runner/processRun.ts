import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { KernelEvent, RunStatus } from './protocol';

/** Kernel events travel on stdout as lines starting with this marker (it survives process trees such as torchrun's). */
export const EVENT_MARKER = '\u001eMLN ';

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
}

/** Grace period between SIGTERM and SIGKILL when stopping; keeps Stop under a second. */
const KILL_AFTER_MS = 500;

/**
 * One kernel process with a lifecycle: queued → running → succeeded | failed | cancelled | timedOut.
 * The process gets its own process group, so `cancel()` ends every process it started
 * (torchrun's ranks, a snippet's children), first politely, then with SIGKILL.
 */
export class ProcessRun {
  private child: ChildProcess | undefined;
  private _status: RunStatus = 'queued';
  private stopReason: 'cancelled' | 'timedOut' | undefined;
  private sawError = false;
  private exited: Promise<RunResult> | undefined;

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
      let child: ChildProcess;
      try {
        child = spawn(this.spec.command, [...this.spec.args], {
          cwd: this.spec.cwd,
          env: this.spec.env,
          detached: process.platform !== 'win32',
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        });
      } catch (e) {
        this._status = 'failed';
        resolve({ status: 'failed', exitCode: null, signal: null, durationMs: 0, spawnError: (e as Error).message });
        return;
      }
      this.child = child;
      const timer = this.spec.timeoutMs ? setTimeout(() => void this.stop('timedOut'), this.spec.timeoutMs) : undefined;
      const stdout = new LineSplitter((line) => this.onStdoutLine(line));
      child.stdout!.setEncoding('utf8');
      child.stderr!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => stdout.push(d));
      child.stderr!.on('data', (d: string) => this.listener.onLog('stderr', d));
      let spawnError: string | undefined;
      child.on('error', (e: NodeJS.ErrnoException) => {
        spawnError = e.code === 'ENOENT' ? `cannot start '${this.spec.command}': not found` : e.message;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        stdout.flush();
        const status: RunResult['status'] = this.stopReason ?? (code === 0 && !this.sawError && !spawnError ? 'succeeded' : 'failed');
        this._status = status;
        resolve({ status, exitCode: code, signal, durationMs: Date.now() - t0, spawnError });
      });
    });
    return this.exited;
  }

  /** Stops the run (and everything it started) and waits until it has ended. */
  async cancel(): Promise<void> {
    await this.stop('cancelled');
  }

  private async stop(reason: 'cancelled' | 'timedOut'): Promise<void> {
    const child = this.child;
    if (!child || this._status !== 'running') return;
    this.stopReason ??= reason;
    killTree(child, 'SIGTERM');
    const hard = setTimeout(() => killTree(child, 'SIGKILL'), KILL_AFTER_MS);
    await this.exited;
    clearTimeout(hard);
    // Grandchildren that ignored SIGTERM and outlived the leader still share its group.
    killTree(child, 'SIGKILL');
  }

  private onStdoutLine(line: string): void {
    const at = line.indexOf(EVENT_MARKER);
    if (at >= 0) {
      try {
        const event = JSON.parse(line.slice(at + EVENT_MARKER.length)) as KernelEvent;
        if (event.type === 'error') this.sawError = true;
        this.listener.onEvent(event);
        return;
      } catch {
        // Not ours after all: show it as text.
      }
    }
    this.listener.onLog('stdout', line);
  }
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') {
      spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'], { windowsHide: true });
    } else {
      process.kill(-child.pid, signal);
    }
  } catch {
    // Already gone.
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
