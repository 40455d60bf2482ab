import * as vscode from 'vscode';
import { bundledKnowledgeBase, knowledgeBaseWith } from '../../core/kb/bundled';
import { introspectTorch, torchIndexScriptNear } from '../../core/kb/introspect';
import { TorchIndexLoader } from '../../core/kb/torchIndexLoader';
import type { KnowledgeBase } from '../../core/kb/knowledgeBase';
import type { KbEntry, KbLang } from '../../core/kb/types';
import { HoverEngine, type HoverDocument } from '../../core/hover/hoverEngine';
import { explainMarkdown, hoverMarkdown, type NoteLinkTarget } from '../../core/hover/hoverMarkdown';
import { NoteIndex, type NoteLink } from '../../core/hover/noteIndex';
import { PythonParser } from '../../core/hover/pythonParser';
import { wasmIn } from '../../core/hover/wasmPaths';
import type { Logger } from '../logger';
import { ExplainView } from './explainView';
import { Disposable } from '../util/dispose';

const OPEN_NOTE = 'mlNotes.openNoteAt';
/** How long the first hover waits for the note index before showing without note links. */
const HOVER_INDEX_WAIT_MS = 1500;
const SELECTOR: vscode.DocumentSelector = [{ language: 'python' }, { language: 'markdown', scheme: 'file' }, { language: 'markdown', scheme: 'untitled' }];

/** `mlNotes.hover.language`: auto follows VS Code's display language. */
export function hoverLanguage(): KbLang {
  const setting = vscode.workspace.getConfiguration('mlNotes').get<string>('hover.language', 'auto');
  if (setting === 'zh-cn') return 'zh';
  if (setting === 'en') return 'en';
  return vscode.env.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** Python language servers whose own hover already shows a name's signature and docstring. */
const PYTHON_SERVERS = ['ms-python.vscode-pylance', 'ms-python.python', 'ms-pyright.pyright', 'detachhead.basedpyright'];

function pythonServerActive(): boolean {
  return PYTHON_SERVERS.some((id) => vscode.extensions.getExtension(id)?.isActive);
}

const noteTarget: NoteLinkTarget = (link) =>
  `command:${OPEN_NOTE}?${encodeURIComponent(JSON.stringify([link.note, link.line]))}`;

function asHoverDocument(doc: vscode.TextDocument): HoverDocument {
  return { key: doc.uri.toString(), version: doc.version, text: doc.getText(), kind: doc.languageId === 'python' ? 'python' : 'markdown' };
}

/**
 * Hovers in Python files and notes' Python blocks, the note index behind their links,
 * "Explain Symbol" and the knowledge-base search. The parser loads asynchronously; hovers
 * before it is ready return nothing rather than wait. The note index is built on first need
 * (the first hover or explanation of a known API), not at startup: a user who only edits Python
 * does not pay for reading every note of the workspace until a hover could link to one.
 */
class HoverFeature extends Disposable {
  private engine: HoverEngine | undefined;
  private notes: NoteIndex | undefined;
  private notesBuilt: Promise<void> | undefined;
  private kb: KnowledgeBase = bundledKnowledgeBase();
  private parser: PythonParser | undefined;
  /** Reads the torch of the snippets' interpreter in the background, once (see introspect()). */
  private readonly torchIndex: TorchIndexLoader;
  private readonly explainView: ExplainView;
  private readonly pendingNotes = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly logger: Logger,
    private readonly interpreter?: (resource?: vscode.Uri) => Promise<string>,
  ) {
    super();
    this._register(vscode.languages.registerHoverProvider(SELECTOR, { provideHover: (d, p, t) => this.provideHover(d, p, t) }));
    this.explainView = this._register(new ExplainView(logger));
    this._register(vscode.commands.registerCommand(OPEN_NOTE, (uri: string, line: number) => this.openNote(uri, line)));
    this._register(vscode.commands.registerCommand('mlNotes.explainSymbol', (name?: unknown) => this.explainSymbol(typeof name === 'string' ? name : undefined)));
    this._register(vscode.commands.registerCommand('mlNotes.searchKnowledgeBase', () => this.search()));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.engine?.forget(d.uri.toString())));
    this._register({ dispose: () => { for (const t of this.pendingNotes.values()) clearTimeout(t); } });
    this.torchIndex = this.introspect();
    void this.start();
  }

  private async start(): Promise<void> {
    try {
      const parser = await PythonParser.load(wasmIn(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'wasm').fsPath));
      if (this.isDisposed) return parser.dispose();
      this.parser = parser;
      this.engine = new HoverEngine(parser, this.kb);
      this.notes = new NoteIndex(parser, this.kb);
      this._register({ dispose: () => { this.engine?.dispose(); parser.dispose(); } });
    } catch (e) {
      this.logger.error('hover: the Python parser failed to load', e);
    }
  }

  /**
   * Reads the torch of the interpreter snippets run with (its exact version) off the hot path,
   * then answers generated hovers from it instead of the shipped 1.13 index. Spawns nothing in
   * an untrusted workspace: it waits for trust to be granted. The index is cached in
   * globalStorage per interpreter and torch version, so later sessions only ask for the version.
   */
  private introspect(): TorchIndexLoader {
    const loader = new TorchIndexLoader({
      mayRun: () => !!this.interpreter && vscode.workspace.isTrusted && !this.isDisposed,
      interpreter: () => this.interpreter!(vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri),
      introspect: (interpreter) =>
        introspectTorch({
          interpreter,
          script: torchIndexScriptNear(vscode.Uri.joinPath(this.context.extensionUri, 'dist').fsPath),
          cacheDir: this.context.globalStorageUri.fsPath,
        }),
      use: (index) => {
        if (!this.isDisposed) this.useKnowledgeBase(knowledgeBaseWith(index));
      },
      log: (m) => this.logger.info(`hover: ${m}`),
    });
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => loader.allowed()));
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      // Another interpreter: the next hover reads its torch (the shipped index until then).
      if (e.affectsConfiguration('mlNotes.python.interpreter') || e.affectsConfiguration('python.defaultInterpreterPath')) loader.reset();
    }));
    return loader;
  }

  private useKnowledgeBase(kb: KnowledgeBase): void {
    if (kb === this.kb) return;
    this.kb = kb;
    if (!this.parser) return;
    this.engine?.dispose();
    this.engine = new HoverEngine(this.parser, kb);
  }

  /** Whether the workspace's notes were indexed, are being indexed, or were not needed yet. */
  noteIndexState: 'idle' | 'building' | 'ready' = 'idle';

  /** The note index, built the first time it is asked for. */
  private async noteIndex(): Promise<NoteIndex | undefined> {
    if (!this.notes) return undefined;
    if (!this.notesBuilt) {
      this.noteIndexState = 'building';
      this.notesBuilt = this.indexWorkspace().then(
        () => { this.noteIndexState = 'ready'; },
        (e: unknown) => this.logger.error('hover: indexing notes failed', e),
      );
    }
    await this.notesBuilt;
    return this.notes;
  }

  private async indexWorkspace(): Promise<void> {
    // Each change updates its own note's entry; NoteIndex.update re-reads the code only when the
    // note's code or headings changed, so a save or a keystroke in prose costs a line scan.
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/*.md'));
    this._register(watcher.onDidCreate((u) => this.scheduleNote(u)));
    this._register(watcher.onDidChange((u) => this.scheduleNote(u)));
    this._register(watcher.onDidDelete((u) => this.notes?.remove(u.toString())));
    // Unsaved edits re-index the open note too, so links follow what the reader sees.
    this._register(vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.languageId === 'markdown' && e.document.uri.scheme === 'file' && e.contentChanges.length) this.scheduleNote(e.document.uri, e.document);
    }));
    const t0 = Date.now();
    const files = await vscode.workspace.findFiles('**/*.md', '**/{node_modules,.git,dist,out}/**', 5000);
    let busyMs = 0;
    for (const uri of files) {
      // One note at a time, each in its own macrotask: a preview render or a keystroke waiting
      // in the extension host runs between two notes instead of after the whole workspace.
      await new Promise((r) => setImmediate(r));
      if (this.isDisposed) return;
      const t = Date.now();
      await this.indexNote(uri);
      busyMs += Date.now() - t;
    }
    this.logger.info(`hover: indexed ${files.length} notes in ${Date.now() - t0} ms (${busyMs} ms reading and indexing)`);
  }

  private scheduleNote(uri: vscode.Uri, doc?: vscode.TextDocument): void {
    const key = uri.toString();
    clearTimeout(this.pendingNotes.get(key));
    this.pendingNotes.set(key, setTimeout(() => {
      this.pendingNotes.delete(key);
      void this.indexNote(uri, doc);
    }, 300));
  }

  private async indexNote(uri: vscode.Uri, doc?: vscode.TextDocument): Promise<void> {
    try {
      // An open note is read from its document (unsaved edits included), not from disk.
      doc ??= vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const text = doc ? doc.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const t = Date.now();
      const done = this.notes?.update(uri.toString(), text, uri.path.slice(uri.path.lastIndexOf('/') + 1));
      this.logger.trace(`hover: note index ${done ?? 'not ready'} for ${uri.toString()} in ${Date.now() - t} ms`);
    } catch (e) {
      this.logger.warn(`hover: could not index ${uri.toString()}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    if (!this.engine || token.isCancellationRequested) return undefined;
    if (!vscode.workspace.getConfiguration('mlNotes').get<boolean>('hover.enabled', true)) return undefined;
    this.torchIndex.request();
    try {
      const hit = this.engine.hoverAt(asHoverDocument(doc), pos.line, pos.character);
      if (!hit) return undefined;
      // A generated-index hover is a signature and a docstring sentence: in a .py file a Python
      // language server already shows those, so only curated explanations are added there.
      if (!hit.entry && doc.languageId === 'python' && pythonServerActive()) return undefined;
      const links = await this.linksFor(hit.entry, undefined, HOVER_INDEX_WAIT_MS);
      if (token.isCancellationRequested) return undefined;
      const md = new vscode.MarkdownString(hoverMarkdown(hit, this.kb, hoverLanguage(), links, noteTarget));
      md.isTrusted = { enabledCommands: [OPEN_NOTE] };
      md.supportThemeIcons = false;
      const r = hit.range;
      return new vscode.Hover(md, new vscode.Range(r.startLine, r.startCol, r.endLine, r.endCol));
    } catch (e) {
      this.logger.error('hover failed', e);
      return undefined;
    }
  }

  /**
   * Notes discussing `entry`. The first call builds the note index; with `waitMs` a hover stops
   * waiting for a large workspace's index after that long and shows no links this time (the
   * build goes on, and the next hover has them).
   */
  private async linksFor(entry: KbEntry | undefined, limit?: number, waitMs?: number): Promise<NoteLink[]> {
    const index = this.noteIndex();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const notes = waitMs === undefined ? await index : await Promise.race([index, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), waitMs); })]);
    clearTimeout(timer);
    return notes?.linksFor(entry, limit) ?? [];
  }

  private async openNote(uri: string, line: number): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    const pos = new vscode.Position(Math.max(0, line), 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
  }

  /** The entry at the active editor's cursor, or one picked from the search. */
  private async explainSymbol(name?: string): Promise<void> {
    let entry = name ? this.kb.get(name) : undefined;
    const editor = vscode.window.activeTextEditor;
    if (!entry && !name && editor && this.engine && (editor.document.languageId === 'python' || editor.document.languageId === 'markdown')) {
      entry = this.engine.hoverAt(asHoverDocument(editor.document), editor.selection.active.line, editor.selection.active.character)?.entry;
    }
    entry ??= await this.pick();
    if (entry) await this.showEntry(entry);
  }

  private async search(): Promise<void> {
    const entry = await this.pick();
    if (entry) await this.showEntry(entry);
  }

  private async pick(): Promise<KbEntry | undefined> {
    const lang = hoverLanguage();
    type Item = vscode.QuickPickItem & { entry: KbEntry };
    const items: Item[] = this.kb.entries.map((e) => ({ label: e.name, description: e[lang].summary, detail: e.signature, entry: e }));
    const picked = await vscode.window.showQuickPick(items, {
      placeHolder: vscode.l10n.t('Search the ML knowledge base (name, signature or summary)'),
      matchOnDescription: true,
      matchOnDetail: true,
    });
    return picked?.entry;
  }

  private async showEntry(entry: KbEntry): Promise<void> {
    await this.explainView.show(entry.name, explainMarkdown(entry, this.kb, hoverLanguage(), await this.linksFor(entry, 1000), noteTarget));
  }
}

/**
 * Registers hovers, the note index, "Explain Symbol" and the knowledge-base search.
 * `interpreter`: the Python snippets run with, whose torch generated hovers describe.
 */
export function registerHover(
  context: vscode.ExtensionContext,
  logger: Logger,
  interpreter?: (resource?: vscode.Uri) => Promise<string>,
): vscode.Disposable & { readonly noteIndexState: 'idle' | 'building' | 'ready' } {
  return new HoverFeature(context, logger, interpreter);
}
