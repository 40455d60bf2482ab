import type { KernelState } from './session';

/**
 * The In [n] each block got when it last ran in its note's kernel (Jupyter kernel or TypeScript
 * session). A restart or shutdown forgets the note's counts; a run that was still going then
 * (Restart stops it first, and its result arrives after the counts were forgotten) must not
 * bring its old count back, so every run records under the generation it started in.
 */
export class ExecutionCounts {
  private readonly counts = new Map<string, number>();
  private readonly generations = new Map<string, number>();

  /** Call when a block's run starts; pass the result to `record` when it ends. */
  begin(note: string): number {
    return this.generations.get(note) ?? 0;
  }

  /** Records the block's In [n], unless the note's counts were forgotten since the run began. */
  record(note: string, key: string, generation: number, count: number): boolean {
    if ((this.generations.get(note) ?? 0) !== generation) return false;
    this.counts.set(`${note}\u0000${key}`, count);
    return true;
  }

  get(note: string, key: string): number | undefined {
    return this.counts.get(`${note}\u0000${key}`);
  }

  /** Restart / Shut Down: the note's blocks show no In [n] until they run again. */
  forget(note: string): void {
    this.generations.set(note, (this.generations.get(note) ?? 0) + 1);
    const prefix = `${note}\u0000`;
    for (const k of [...this.counts.keys()]) if (k.startsWith(prefix)) this.counts.delete(k);
  }
}

/** What a block's kernel CodeLens says: `[n] state`, clickable (Interrupt) while the kernel is busy. */
export interface BlockKernelLens {
  readonly count?: number;
  readonly state?: KernelState;
  readonly interrupt: boolean;
}

/**
 * The kernel lens of a block, from its note's kernel now (undefined: none) and the block's last
 * In [n]: no lens when there is neither; the state always comes from the kernel as it is now.
 */
export function blockKernelLens(kernel: { readonly state: KernelState } | undefined, count: number | undefined): BlockKernelLens | undefined {
  if (!kernel && count === undefined) return undefined;
  return { count, state: kernel?.state, interrupt: kernel?.state === 'busy' };
}
