import type { KernelSession, KernelState } from './session';

/**
 * One kernel per note, apart from VS Code (the extension and the CLI both use it). A kernel is
 * created on the note's first Jupyter run and lives until the note closes, it is shut down, or
 * the host ends (`killAll`, synchronous).
 */
export class KernelRegistry<K extends KernelSession = KernelSession> {
  private readonly kernels = new Map<string, K>();
  private readonly subs = new Map<string, { dispose(): void }>();

  /** `onDidChange(note, state)`: a kernel's state or execution count may have changed. */
  constructor(private readonly onDidChange: (note: string, state: KernelState | undefined) => void = () => undefined) {}

  get(note: string): K | undefined {
    return this.kernels.get(note);
  }

  notes(): string[] {
    return [...this.kernels.keys()];
  }

  /** The note's kernel; `create` makes one when it has none (or its last one was shut down). */
  getOrCreate(note: string, create: () => K): K {
    const existing = this.kernels.get(note);
    if (existing && existing.state !== 'closed') return existing;
    const k = create();
    this.kernels.set(note, k);
    this.subs.get(note)?.dispose();
    this.subs.set(note, k.onDidChangeState((s) => this.onDidChange(note, s)));
    this.onDidChange(note, k.state);
    return k;
  }

  async shutdown(note: string): Promise<void> {
    const k = this.kernels.get(note);
    if (!k) return;
    this.kernels.delete(note);
    await k.shutdown();
    this.subs.get(note)?.dispose();
    this.subs.delete(note);
    this.onDidChange(note, undefined);
  }

  async shutdownAll(): Promise<void> {
    await Promise.all(this.notes().map((n) => this.shutdown(n)));
  }

  /** Host shutdown: every kernel is killed now. */
  killAll(): void {
    for (const k of this.kernels.values()) k.killNow();
    this.kernels.clear();
    for (const s of this.subs.values()) s.dispose();
    this.subs.clear();
  }
}
