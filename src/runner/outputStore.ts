import { createHash } from 'node:crypto';
import type { OutputItem, SnippetOutput } from './outputs';
import { wireReplacer } from './protocol';
import { parseStoredOutput } from './schema';

/** Where a note's outputs file lives; the extension maps notes to `.ml-notes/outputs/…json`. */
export interface OutputFiles {
  /** The file's bytes, or undefined when there is none. */
  read(note: string): Promise<Uint8Array | undefined>;
  write(note: string, data: Uint8Array): Promise<void>;
  /** For shutdown, when an async write may never complete; optional. */
  writeSync?(note: string, data: Uint8Array): void;
  delete(note: string): Promise<void>;
  /** How the file names its note (a workspace-relative path, not the user's home folder). */
  label?(note: string): string;
  /**
   * Images are kept as files of their own next to the note's outputs file (PNG bytes, not
   * base64 inside JSON); without these the images stay inside the JSON.
   */
  readonly attachments?: {
    read(note: string, name: string): Promise<Uint8Array | undefined>;
    write(note: string, name: string, data: Uint8Array): Promise<void>;
    writeSync?(note: string, name: string, data: Uint8Array): void;
    /** Names of the note's attachment files (to remove those no output refers to any more). */
    list(note: string): Promise<string[]>;
    delete(note: string, name: string): Promise<void>;
  };
}

export interface OutputStoreHost {
  readonly files: OutputFiles;
  /**
   * Stored outputs come from the workspace, which an untrusted one (a cloned repository) can
   * plant: they are read only while this says yes.
   */
  isTrusted(): boolean;
  readonly log: { warn(message: string): void; error(message: string, e?: unknown): void };
  /** A note's outputs changed (in memory). */
  onDidChange(note: string): void;
  readonly saveDelayMs?: number;
}

interface StoredFile {
  readonly version: 1;
  readonly note: string;
  readonly outputs: Record<string, SnippetOutput | (Omit<SnippetOutput, 'items'> & { items: Array<OutputItem | StoredImage> })>;
}

/**
 * Snippet outputs per note: in memory, loaded from and saved (debounced) to one file per note.
 * Every stored output is validated before use; what does not match the schema is dropped with
 * a log line. Knows nothing of VS Code (the extension passes files, trust and a logger).
 */
export class OutputStoreCore {
  private notes = new Map<string, Map<string, SnippetOutput>>();
  private loading = new Map<string, Promise<Map<string, SnippetOutput>>>();
  private readonly saveTimers = new Map<string, NodeJS.Timeout>();
  private generation = 0;

  constructor(private readonly host: OutputStoreHost) {}

  /** Outputs of a note, loading them the first time (nothing from disk while untrusted). */
  get(note: string): Promise<ReadonlyMap<string, SnippetOutput>> {
    const mem = this.notes.get(note);
    if (mem) return Promise.resolve(mem);
    let p = this.loading.get(note);
    if (!p) {
      p = this.load(note, this.generation);
      this.loading.set(note, p);
    }
    return p;
  }

  keysInMemory(note: string): string[] {
    return [...(this.notes.get(note)?.keys() ?? [])];
  }

  async set(note: string, output: SnippetOutput): Promise<void> {
    const map = (await this.get(note)) as Map<string, SnippetOutput>;
    map.set(output.key, output);
    this.changed(note);
  }

  async clear(note: string, key?: string): Promise<void> {
    const map = (await this.get(note)) as Map<string, SnippetOutput>;
    if (key === undefined) map.clear();
    else map.delete(key);
    this.changed(note);
  }

  /** Forgets what is in memory (trust was granted: the files may be read now). */
  reload(): void {
    const notes = [...this.notes.keys()];
    this.generation++;
    this.notes = new Map();
    this.loading = new Map();
    for (const n of notes) this.host.onDidChange(n);
  }

  /** Saves every pending change now. */
  async flush(): Promise<void> {
    const pending = [...this.saveTimers.keys()];
    for (const t of this.saveTimers.values()) clearTimeout(t);
    this.saveTimers.clear();
    await Promise.all(pending.map((n) => this.save(n)));
  }

  /** Saves pending changes synchronously where the files allow it (shutdown), else starts them. */
  dispose(): void {
    const pending = [...this.saveTimers.keys()];
    for (const t of this.saveTimers.values()) clearTimeout(t);
    this.saveTimers.clear();
    for (const note of pending) {
      const data = this.serialize(note);
      if (data === undefined) continue;
      const att = this.host.files.attachments;
      try {
        if (data.json.length > 0 && this.host.files.writeSync && (!att || att.writeSync)) {
          for (const [name, bytes] of data.attachments) att!.writeSync!(note, name, bytes);
          this.host.files.writeSync(note, data.json);
        } else void this.save(note);
      } catch (e) {
        this.host.log.error(`cannot save outputs of ${note}`, e);
      }
    }
  }

  private changed(note: string): void {
    this.host.onDidChange(note);
    if (!this.host.isTrusted()) return; // nothing ran; nothing of an untrusted workspace is written
    clearTimeout(this.saveTimers.get(note));
    this.saveTimers.set(
      note,
      setTimeout(() => {
        this.saveTimers.delete(note);
        void this.save(note);
      }, this.host.saveDelayMs ?? 400),
    );
  }

  private async load(note: string, generation: number): Promise<Map<string, SnippetOutput>> {
    const map = new Map<string, SnippetOutput>();
    if (this.host.isTrusted()) {
      try {
        const bytes = await this.host.files.read(note);
        if (bytes) this.parse(note, new TextDecoder().decode(bytes), map);
        for (const o of map.values()) await this.attach(note, o);
      } catch (e) {
        this.host.log.warn(`outputs of ${note} unreadable: ${(e as Error).message}`);
      }
    }
    if (generation === this.generation) {
      this.notes.set(note, map);
      this.loading.delete(note);
    }
    return map;
  }

  private parse(note: string, text: string, into: Map<string, SnippetOutput>): void {
    const data = JSON.parse(text) as Partial<StoredFile> | null;
    const outputs = data && typeof data === 'object' && data.outputs && typeof data.outputs === 'object' ? data.outputs : {};
    for (const [k, raw] of Object.entries(outputs)) {
      const r = parseStoredOutput(raw);
      if ('error' in r) {
        this.host.log.warn(`dropped a stored output of ${note} (${k}): ${r.error}`);
        continue;
      }
      const v = r.output;
      // A run that was going on when the window closed did not finish.
      if (v.status === 'running' || v.status === 'queued') v.status = 'cancelled';
      into.set(v.key, v);
    }
  }

  /**
   * The file's new bytes (empty when the note has no outputs: the file goes) and the image
   * files it refers to, named by content; undefined when the note was never loaded.
   */
  private serialize(note: string): { json: Uint8Array; attachments: Map<string, Uint8Array> } | undefined {
    const map = this.notes.get(note);
    if (!map) return undefined;
    const attachments = new Map<string, Uint8Array>();
    if (map.size === 0) return { json: new Uint8Array(), attachments };
    const stored: StoredFile['outputs'] = {};
    for (const [k, o] of map) {
      stored[k] = this.host.files.attachments ? { ...o, items: o.items.map((i) => this.detach(i, attachments)) } : o;
    }
    const data: StoredFile = { version: 1, note: this.host.files.label?.(note) ?? note, outputs: stored };
    return { json: new TextEncoder().encode(JSON.stringify(data, wireReplacer)), attachments };
  }

  /** An image item as stored: its bytes go to a file named by their hash. */
  private detach(item: OutputItem, into: Map<string, Uint8Array>): OutputItem | StoredImage {
    if (item.kind !== 'image' || !item.data) return item;
    const bytes = Buffer.from(item.data, 'base64');
    const name = `${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}.${item.mime === 'image/svg+xml' ? 'svg' : item.mime === 'image/jpeg' ? 'jpg' : 'png'}`;
    into.set(name, bytes);
    return { kind: 'image', mime: item.mime, file: name, title: item.title, ...(item.displayId ? { displayId: item.displayId } : {}) };
  }

  /** Loads the image files stored items refer to; an item whose file is gone is dropped. */
  private async attach(note: string, output: SnippetOutput): Promise<void> {
    const items = output.items as Array<OutputItem | StoredImage>;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.kind !== 'image' || !('file' in item) || item.data) continue;
      const bytes = await this.host.files.attachments?.read(note, item.file).catch(() => undefined);
      if (bytes) items[i] = { kind: 'image', mime: item.mime, title: item.title, ...(item.displayId ? { displayId: item.displayId } : {}), data: Buffer.from(bytes).toString('base64') };
      else items.splice(i, 1);
    }
  }

  private async save(note: string): Promise<void> {
    if (!this.host.isTrusted()) return;
    const data = this.serialize(note);
    if (data === undefined) return;
    const att = this.host.files.attachments;
    try {
      if (att) for (const [name, bytes] of data.attachments) await att.write(note, name, bytes);
      if (data.json.length === 0) await this.host.files.delete(note);
      else await this.host.files.write(note, data.json);
      if (att) for (const name of await att.list(note)) if (!data.attachments.has(name)) await att.delete(note, name);
    } catch (e) {
      this.host.log.error(`cannot save outputs of ${note}`, e);
    }
  }
}

/** How an image item is stored when images are files. */
interface StoredImage {
  readonly kind: 'image';
  readonly mime: string;
  readonly file: string;
  readonly title?: string;
  readonly displayId?: string;
  readonly data?: undefined;
}
