import type { KernelMessage } from '@jupyterlab/services';

/** A kernel's state as the UI shows it (`closed`: shut down on purpose). */
export type KernelState = 'starting' | 'idle' | 'busy' | 'restarting' | 'dead' | 'closed';

/** Receives the iopub messages one execution caused (stream, display_data, error…). */
export type IopubSink = (msg: KernelMessage.IIOPubMessage) => void;

export type ExecuteResult =
  | { readonly status: 'ok' | 'aborted'; readonly executionCount: number }
  | { readonly status: 'error'; readonly executionCount: number; readonly error: { readonly ename: string; readonly evalue: string; readonly traceback: readonly string[] } }
  /** The kernel died (or never started) before the block finished. */
  | { readonly status: 'dead'; readonly executionCount: number; readonly message?: string };

/**
 * One note's kernel: blocks run in it one after another and share its state. Implemented for a
 * local ipykernel over ZeroMQ (LocalKernel) and for a Jupyter Server's kernel (RemoteKernel),
 * both on KernelBase.
 */
export interface KernelSession {
  readonly state: KernelState;
  readonly executionCount: number;
  /** Told when the state or the execution count changes (the UI shows both). */
  onDidChangeState(cb: (s: KernelState) => void): { dispose(): void };
  start(): Promise<void>;
  /** `silent`: the runner's own code (no In [n], no history). */
  execute(code: string, sink: IopubSink, opts?: { silent?: boolean }): Promise<ExecuteResult>;
  /** KeyboardInterrupt in the running block; the kernel and its variables stay. */
  interrupt(): Promise<void>;
  restart(): Promise<void>;
  shutdown(): Promise<void>;
  /** Synchronous kill, for the extension host's shutdown. */
  killNow(): void;
}
