import type { ExecuteResult, IopubSink, KernelSession, KernelState } from './session';

/**
 * What every kernel session keeps the same way, local or remote: its state and the listeners
 * told when it changes, the last In [n], the one start (later calls share it) and the last
 * failure a dead kernel reports.
 */
export abstract class KernelBase implements KernelSession {
  protected _state: KernelState = 'starting';
  protected _executionCount = 0;
  private readonly listeners = new Set<(s: KernelState) => void>();
  protected started: Promise<void> | undefined;
  /** The last start's (or death's) reason, for the message a dead kernel shows. */
  lastError: string | undefined;

  get state(): KernelState {
    return this._state;
  }

  get executionCount(): number {
    return this._executionCount;
  }

  onDidChangeState(cb: (s: KernelState) => void): { dispose(): void } {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }

  /** Starts the kernel (once); resolves when it answers, rejects when it cannot start. */
  start(): Promise<void> {
    this.started ??= this.launch();
    return this.started;
  }

  protected setState(s: KernelState): void {
    if (this._state === s) return;
    this._state = s;
    for (const l of this.listeners) l(s);
  }

  /** A new In [n] is a change the listeners hear of too (a Jupyter kernel's busy status comes before it). */
  protected setExecutionCount(n: number): void {
    if (this._executionCount === n) return;
    this._executionCount = n;
    for (const l of this.listeners) l(this._state);
  }

  protected abstract launch(): Promise<void>;
  abstract execute(code: string, sink: IopubSink, opts?: { silent?: boolean }): Promise<ExecuteResult>;
  abstract interrupt(): Promise<void>;
  abstract restart(): Promise<void>;
  abstract shutdown(): Promise<void>;
  abstract killNow(): void;
}
