import type { IndexEntry, IndexFile } from './types';

/** A generated index entry with its name and the package version it was read from. */
export interface IndexHit extends IndexEntry {
  name: string;
  /** `torch 1.13.0a0`: signatures and summaries describe this version. */
  version: string;
  /** `introspected`: read from the user's interpreter; `index`: the shipped index. */
  source: 'introspected' | 'index';
}

/**
 * Public names of installed packages, as a script introspected them (kb/index-*.json). It
 * backs hovers for names the curated knowledge base does not explain: only names that exist
 * in the index are answered, so nothing is guessed.
 */
export class ApiIndex {
  private readonly byName = new Map<string, { e: IndexEntry; file: IndexFile }>();
  private readonly alias = new Map<string, string>();

  constructor(readonly files: readonly IndexFile[]) {
    for (const file of files) {
      for (const [name, e] of Object.entries(file.entries)) if (!this.byName.has(name)) this.byName.set(name, { e, file });
      for (const [from, to] of Object.entries(file.aliases ?? {})) if (!this.alias.has(from)) this.alias.set(from, to);
    }
  }

  /** The entry for a public name or a defining-module path (`torch.nn.modules.linear.Linear`). */
  get(name: string): IndexHit | undefined {
    const hit = this.byName.get(name) ?? this.byName.get(this.alias.get(name) ?? '');
    if (!hit) return undefined;
    const canonical = this.byName.has(name) ? name : this.alias.get(name)!;
    return { ...hit.e, name: canonical, version: `${hit.file.package} ${hit.file.version}`, source: hit.file.source ?? 'index' };
  }

  /** The public name a defining-module path stands for, if it is one. */
  canonical(name: string): string | undefined {
    return this.byName.has(name) ? name : this.alias.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}
