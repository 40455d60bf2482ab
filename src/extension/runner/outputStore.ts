import * as vscode from 'vscode';
import { hashString } from '../../core/markdown/html';
import type { SnippetOutput } from '../../runner/outputs';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';

interface StoredFile {
  readonly version: 1;
  readonly note: string;
  readonly outputs: Record<string, SnippetOutput>;
}

/**
 * Snippet outputs per note, kept in the workspace's `.ml-notes/outputs/` folder (never in the
 * note itself), so they survive reopening the note and a window reload.
 */
export class OutputStore extends Disposable {
  private readonly notes = new Map<string, Map<string, SnippetOutput>>();
  private readonly loading = new Map<string, Promise<Map<string, SnippetOutput>>>();
  private readonly saveTimers = new Map<string, NodeJS.Timeout>();
  private readonly onDidChangeEmitter = this._register(new vscode.EventEmitter<vscode.Uri>());
  /** Fires with the note whose outputs changed. */
  readonly onDidChange = this.onDidChangeEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext, private readonly logger: Logger) {
    super();
    this._register({ dispose: () => this.saveTimers.forEach((t) => clearTimeout(t)) });
  }

  /** Outputs of a note, loading them from disk the first time. */
  async get(note: vscode.Uri): Promise<ReadonlyMap<string, SnippetOutput>> {
    const key = note.toString();
    const mem = this.notes.get(key);
    if (mem) return mem;
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(note);
      this.loading.set(key, p);
    }
    return p;
  }

  /** Keys with an output, from memory (empty until the note's outputs were loaded). */
  keysInMemory(note: vscode.Uri): string[] {
    return [...(this.notes.get(note.toString())?.keys() ?? [])];
  }

  /** Records (or updates in place) one snippet's output; saving is debounced. */
  async set(note: vscode.Uri, output: SnippetOutput): Promise<void> {
    const map = (await this.get(note)) as Map<string, SnippetOutput>;
    map.set(output.key, output);
    this.changed(note);
  }

  async clear(note: vscode.Uri, key?: string): Promise<void> {
    const map = (await this.get(note)) as Map<string, SnippetOutput>;
    if (key === undefined) map.clear();
    else map.delete(key);
    this.changed(note);
  }

  private changed(note: vscode.Uri): void {
    this.onDidChangeEmitter.fire(note);
    const key = note.toString();
    clearTimeout(this.saveTimers.get(key));
    this.saveTimers.set(key, setTimeout(() => void this.save(note), 400));
  }

  private file(note: vscode.Uri): vscode.Uri | undefined {
    const name = `${note.path.split('/').pop()?.replace(/[^\w.-]/g, '_') ?? 'note'}-${hashString(note.toString()).toString(36)}.json`;
    const folder = vscode.workspace.getWorkspaceFolder(note);
    if (folder) return vscode.Uri.joinPath(folder.uri, '.ml-notes', 'outputs', name);
    const base = this.context.storageUri ?? this.context.globalStorageUri;
    return vscode.Uri.joinPath(base, 'outputs', name);
  }

  private async load(note: vscode.Uri): Promise<Map<string, SnippetOutput>> {
    const map = new Map<string, SnippetOutput>();
    const file = this.file(note);
    if (file) {
      try {
        const data = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(file))) as StoredFile;
        for (const [k, v] of Object.entries(data.outputs ?? {})) {
          // A run that was going on when the window closed did not finish.
          if (v.status === 'running' || v.status === 'queued') v.status = 'cancelled';
          map.set(k, v);
        }
      } catch (e) {
        if (!(e instanceof vscode.FileSystemError)) this.logger.warn(`outputs of ${note.toString()} unreadable: ${(e as Error).message}`);
      }
    }
    this.notes.set(note.toString(), map);
    this.loading.delete(note.toString());
    return map;
  }

  private async save(note: vscode.Uri): Promise<void> {
    const file = this.file(note);
    const map = this.notes.get(note.toString());
    if (!file || !map) return;
    try {
      if (map.size === 0) {
        await vscode.workspace.fs.delete(file).then(undefined, () => undefined);
        return;
      }
      const data: StoredFile = { version: 1, note: vscode.workspace.asRelativePath(note), outputs: Object.fromEntries(map) };
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(file, '..'));
      await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(JSON.stringify(data)));
    } catch (e) {
      this.logger.error(`cannot save outputs of ${note.toString()}`, e);
    }
  }
}
