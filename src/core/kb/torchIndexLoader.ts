import type { IntrospectResult } from './introspect';
import type { IndexFile } from './types';

/** What the loader needs from its host (the extension adapts VS Code to it; tests use fakes). */
export interface TorchIndexHost {
  /** May a process be started now? (VS Code: the workspace is trusted.) */
  mayRun(): boolean;
  /** The Python whose torch hovers should describe. */
  interpreter(): Promise<string>;
  /** Reads (or loads from the cache) that interpreter's torch index; see introspectTorch. */
  introspect(interpreter: string): Promise<IntrospectResult>;
  /** Hovers answer from `index` from now on; undefined: from the shipped index again. */
  use(index: IndexFile | undefined): void;
  log(message: string): void;
}

/**
 * When the user's torch is read: once, in the background, on the first request (a hover),
 * never while the host may not run processes (it waits for `allowed()`), and again after
 * `reset()` (another interpreter). A result that arrives after a reset is dropped.
 */
export class TorchIndexLoader {
  private requested = false;
  private running: Promise<void> | undefined;
  private generation = 0;

  constructor(private readonly host: TorchIndexHost) {}

  /** A hover wants generated entries: start reading the user's torch if not done yet. */
  request(): void {
    this.requested = true;
    this.start();
  }

  /** The host may run processes now (trust was granted): start if a hover asked before. */
  allowed(): void {
    if (this.requested) this.start();
  }

  /** The interpreter changed: back to the shipped index until the next request reads the new one. */
  reset(): void {
    this.generation++;
    this.running = undefined;
    this.requested = false;
    this.host.use(undefined);
  }

  /** Settles when the current read is done (for tests and shutdown). */
  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private start(): void {
    if (this.running || !this.host.mayRun()) return;
    const generation = this.generation;
    this.running = (async () => {
      const interpreter = await this.host.interpreter();
      if (generation !== this.generation) return;
      const t0 = Date.now();
      const r = await this.host.introspect(interpreter);
      if (generation !== this.generation) return;
      if (!r.ok) {
        this.host.log(`${r.reason}; torch names without a curated entry use the shipped torch 1.13 index`);
        return;
      }
      this.host.log(`torch ${r.index.version} of ${interpreter} ${r.cached ? 'read from the cache' : 'introspected'} in ${Date.now() - t0} ms`);
      this.host.use(r.index);
    })().catch((e: unknown) => this.host.log(`reading the interpreter's torch failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}
