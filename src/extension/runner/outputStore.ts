import * as vscode from 'vscode';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashString } from '../../core/markdown/html';
import type { SnippetOutput } from '../../runner/outputs';
import { OutputStoreCore } from '../../runner/outputStore';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';

/**
 * Snippet outputs per note, kept in the workspace's `.ml-notes/outputs/` folder (never in the
 * note itself), so they survive reopening the note and a window reload. In an untrusted
 * workspace those files are never read (a cloned repository could have planted them); they
 * are loaded once trust is granted. The logic lives in OutputStoreCore; this adapts VS Code.
 */
export class OutputStore extends Disposable {
  private readonly onDidChangeEmitter = this._register(new vscode.EventEmitter<vscode.Uri>());
  /** Fires with the note whose outputs changed. */
  readonly onDidChange = this.onDidChangeEmitter.event;
  private readonly core: OutputStoreCore;

  constructor(private readonly context: vscode.ExtensionContext, logger: Logger) {
    super();
    const fileOf = (note: string): vscode.Uri => this.file(vscode.Uri.parse(note));
    this.core = new OutputStoreCore({
      isTrusted: () => vscode.workspace.isTrusted,
      log: logger,
      onDidChange: (note) => this.onDidChangeEmitter.fire(vscode.Uri.parse(note)),
      files: {
        read: async (note) => {
          try {
            return await vscode.workspace.fs.readFile(fileOf(note));
          } catch (e) {
            if (e instanceof vscode.FileSystemError) return undefined;
            throw e;
          }
        },
        write: async (note, data) => {
          const file = fileOf(note);
          await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(file, '..'));
          await vscode.workspace.fs.writeFile(file, data);
          void this.offerGitignore(vscode.Uri.parse(note));
        },
        // On shutdown an async write may never land; local files are written at once.
        writeSync: (note, data) => {
          const file = fileOf(note);
          if (file.scheme !== 'file') throw new Error(`cannot write ${file.toString()} synchronously`);
          mkdirSync(dirname(file.fsPath), { recursive: true });
          writeFileSync(file.fsPath, data);
        },
        delete: async (note) => {
          await vscode.workspace.fs.delete(fileOf(note)).then(undefined, () => undefined);
        },
        label: (note) => vscode.workspace.asRelativePath(vscode.Uri.parse(note)),
        // Images as PNG/SVG files in a folder beside the JSON (`NOTE-hash/` for `NOTE-hash.json`).
        attachments: {
          read: async (note, name) => {
            try {
              return await vscode.workspace.fs.readFile(vscode.Uri.joinPath(dirOf(note), name));
            } catch (e) {
              if (e instanceof vscode.FileSystemError) return undefined;
              throw e;
            }
          },
          write: async (note, name, data) => {
            const file = vscode.Uri.joinPath(dirOf(note), name);
            // Named by content: an existing file already holds these bytes.
            if (await exists(file)) return;
            await vscode.workspace.fs.createDirectory(dirOf(note));
            await vscode.workspace.fs.writeFile(file, data);
          },
          writeSync: (note, name, data) => {
            const dir = dirOf(note);
            if (dir.scheme !== 'file') throw new Error(`cannot write ${dir.toString()} synchronously`);
            mkdirSync(dir.fsPath, { recursive: true });
            writeFileSync(join(dir.fsPath, name), data);
          },
          list: async (note) => {
            try {
              return (await vscode.workspace.fs.readDirectory(dirOf(note))).filter(([, t]) => t === vscode.FileType.File).map(([n]) => n);
            } catch {
              return [];
            }
          },
          delete: async (note, name) => {
            await vscode.workspace.fs.delete(vscode.Uri.joinPath(dirOf(note), name)).then(undefined, () => undefined);
          },
        },
      },
    });
    const dirOf = (note: string): vscode.Uri => {
      const f = fileOf(note);
      return f.with({ path: f.path.replace(/\.json$/, '') });
    };
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => this.core.reload()));
    this._register({ dispose: () => this.core.dispose() });
  }

  /** Outputs of a note, loading them from disk the first time. */
  get(note: vscode.Uri): Promise<ReadonlyMap<string, SnippetOutput>> {
    return this.core.get(note.toString());
  }

  /** Keys with an output, from memory (empty until the note's outputs were loaded). */
  keysInMemory(note: vscode.Uri): string[] {
    return this.core.keysInMemory(note.toString());
  }

  /** Records (or updates in place) one snippet's output; saving is debounced. */
  set(note: vscode.Uri, output: SnippetOutput): Promise<void> {
    return this.core.set(note.toString(), output);
  }

  clear(note: vscode.Uri, key?: string): Promise<void> {
    return this.core.clear(note.toString(), key);
  }

  /**
   * Outputs are per machine (and images make them large): once per workspace folder that is a
   * git repository, offer to add `.ml-notes/` to its .gitignore.
   */
  private async offerGitignore(note: vscode.Uri): Promise<void> {
    const folder = vscode.workspace.getWorkspaceFolder(note);
    if (!folder || this.gitignoreAsked.has(folder.uri.toString())) return;
    this.gitignoreAsked.add(folder.uri.toString());
    const key = `mlNotes.gitignoreAsked:${folder.uri.toString()}`;
    if (this.context.workspaceState.get<boolean>(key)) return;
    if (!(await exists(vscode.Uri.joinPath(folder.uri, '.git')))) return;
    const gitignore = vscode.Uri.joinPath(folder.uri, '.gitignore');
    const current = (await exists(gitignore)) ? new TextDecoder().decode(await vscode.workspace.fs.readFile(gitignore)) : '';
    if (/^\/?\.ml-notes\/?\s*$/m.test(current)) return;
    await this.context.workspaceState.update(key, true);
    const add = vscode.l10n.t('Add to .gitignore');
    const choice = await vscode.window.showInformationMessage(
      vscode.l10n.t('Snippet outputs are kept in .ml-notes/ of {0}. Add that folder to .gitignore?', folder.name),
      add,
    );
    if (choice !== add) return;
    const text = current + (current && !current.endsWith('\n') ? '\n' : '') + '.ml-notes/\n';
    await vscode.workspace.fs.writeFile(gitignore, new TextEncoder().encode(text));
  }

  private readonly gitignoreAsked = new Set<string>();

  private file(note: vscode.Uri): vscode.Uri {
    const name = `${note.path.split('/').pop()?.replace(/[^\w.-]/g, '_') ?? 'note'}-${hashString(note.toString()).toString(36)}.json`;
    const folder = vscode.workspace.getWorkspaceFolder(note);
    if (folder) return vscode.Uri.joinPath(folder.uri, '.ml-notes', 'outputs', name);
    const base = this.context.storageUri ?? this.context.globalStorageUri;
    return vscode.Uri.joinPath(base, 'outputs', name);
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
