import * as vscode from 'vscode';
import { RenderCancelled, type RenderedDocument } from '../../core/markdown/documentRenderer';
import type { PreviewState, RenderMessage } from '../../shared/previewMessages';
import { previewSettings } from '../config';
import type { Logger } from '../logger';
import type { RenderService } from '../renderService';
import { Disposable } from '../util/dispose';
import { openLink } from './links';
import { PreviewSession, prefixEnd, type RenderedChunks } from './previewSession';
import { previewHtml } from './webviewHtml';

export const PREVIEW_VIEW_TYPE = 'mlNotes.preview';
/** How long a new page waits for the note's first render to be written into it. */
const EMBED_WAIT_MS = 500;

/** Snippet outputs shown under their code blocks. */
export interface OutputsSource {
  outputsFor(document: vscode.TextDocument): Promise<Record<string, string>>;
  readonly onDidChange: vscode.Event<vscode.Uri>;
}

/**
 * One preview webview showing one note at a time (it can be switched to another note).
 * Renders are debounced; a newer edit cancels the render in flight, and a result whose
 * document version is stale is dropped. What is sent and when lives in `PreviewSession`
 * (VS Code-free, unit-tested); this class adapts the webview, editors and settings to it.
 */
export class PreviewPanel extends Disposable {
  private readonly session: PreviewSession<vscode.TextDocument>;
  private timer: NodeJS.Timeout | undefined;
  private cts: vscode.CancellationTokenSource | undefined;
  /** Editor scrolls caused by the preview must not scroll the preview back. */
  private ignoreEditorScrollUntil = 0;
  private readonly onDidDisposeEmitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this.onDidDisposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly renders: RenderService,
    private readonly logger: Logger,
    outputs: OutputsSource | undefined,
    initialLine?: number,
  ) {
    super();
    this.session = new PreviewSession<vscode.TextDocument>({
      post: (message) => void panel.webview.postMessage(message),
      uriOf: (document) => document.uri.toString(),
      outputsFor: outputs ? (document) => outputs.outputsFor(document) : undefined,
      requestRender: (reset) => this.schedule(0, reset),
      scrollSync: () => previewSettings().scrollSync,
      focusLine: () => this.focusLine(),
      revealLine: (line) => this.revealInEditor(line),
      jumpToLine: (line) => void this.jumpToLine(line),
      openLink: (href) => {
        if (this.document) void openLink(href, this.document.uri, this.logger);
      },
      logError: (message, e) => this.logger.error(message, e),
    });
    this._register({ dispose: () => this.session.dispose() });
    if (outputs) {
      this._register(
        outputs.onDidChange((uri) => {
          if (this.document && uri.toString() === this.document.uri.toString()) this.session.outputsChanged();
        }),
      );
    }
    this._register(panel);
    this._register(panel.onDidDispose(() => this.dispose()));
    this._register(panel.webview.onDidReceiveMessage((m: unknown) => {
      if (this.pageWrittenAt !== undefined && (m as { type?: unknown } | null)?.type === 'ready') {
        this.logger.info(`preview: page ready ${Date.now() - this.pageWrittenAt} ms after it was written`);
        this.pageWrittenAt = undefined;
      }
      this.session.onMessage(m);
    }));
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document && e.contentChanges.length > 0) this.schedule(previewSettings().debounceMs);
      }),
    );
    this._register(
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (e.textEditor.document !== this.document || !previewSettings().scrollSync) return;
        if (Date.now() < this.ignoreEditorScrollUntil || e.visibleRanges.length === 0) return;
        this.session.scrollToLine(e.visibleRanges[0]!.start.line);
      }),
    );
    this._register(renders.onDidReset(() => this.refresh(true)));
    // A hidden preview renders nothing; shown again, it catches up with one full render.
    this.session.setVisible(panel.visible);
    this._register(panel.onDidChangeViewState(() => this.session.setVisible(panel.visible)));
    // Type settings live in the page's style: a new page, which renders in full when ready.
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!this.document || !(e.affectsConfiguration('mlNotes.preview.fontSize') || e.affectsConfiguration('mlNotes.preview.lineHeight'))) return;
        this.session.pageLoading(this.document);
        this.show(this.document);
      }),
    );
    this._register({ dispose: () => this.cancelPending() });
    this.initialLine = initialLine;
  }

  private initialLine: number | undefined;

  private get document(): vscode.TextDocument | undefined {
    return this.session.document;
  }

  get documentUri(): vscode.Uri | undefined {
    return this.document?.uri;
  }

  /** Shows `document` (re-creating the page, which restarts the webview's state). */
  show(document: vscode.TextDocument, line?: number): void {
    const changed = this.document?.uri.toString() !== document.uri.toString();
    this.session.document = document;
    if (changed || !this.session.ready) {
      this.panel.title = vscode.l10n.t('Preview {0}', basename(document.uri));
      // No forms: nothing in a note or an output may post anything anywhere.
      this.panel.webview.options = { enableScripts: true, enableForms: false, localResourceRoots: this.resourceRoots(document) };
      this.session.pageLoading(document);
      const state: PreviewState = { uri: document.uri.toString(), line: line ?? this.initialLine };
      void this.loadPage(document, state, ++this.pageLoads);
    }
  }

  /** Counts pages written, so a slower first render cannot write an older page over a newer one. */
  private pageLoads = 0;

  /**
   * Writes the page's HTML with the note's first render in it (`PreviewSession.embed`), so the
   * page shows it without the round trip of `ready`, waiting for that render at most
   * EMBED_WAIT_MS: past that, the page loads empty and asks for it on `ready` (the render goes
   * on, and the renderer keeps its chunks for the next one).
   */
  private async loadPage(document: vscode.TextDocument, state: PreviewState, load: number): Promise<void> {
    const t0 = Date.now();
    let embed: RenderMessage | undefined;
    if (this.panel.visible) {
      const version = document.version;
      const first = this.firstRender(document, this.focusLine() ?? state.line ?? 0).catch((e: unknown) => {
        this.logger.error('preview render failed', e);
        return undefined;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), EMBED_WAIT_MS)));
      const result = await Promise.race([first, waited]);
      clearTimeout(timer);
      if (load !== this.pageLoads || this.isDisposed) return;
      if (result) embed = this.session.embed(document, version, result.lineCount, result.chunks);
    }
    this.panel.webview.html = previewHtml(this.panel.webview, this.extensionUri, state, previewSettings(), embed);
    // Where a slow first view comes from, for the log and bench:ui: this side, or the page's load.
    this.pageWrittenAt = Date.now();
    this.logger.info(`preview: page of ${basename(document.uri)} written in ${this.pageWrittenAt - t0} ms (${embed ? `first render in it, ${embed.chunks.length} chunks` : 'no render yet'})`);
  }

  private pageWrittenAt: number | undefined;

  /** The part of the note on screen (as `update` renders it first), or the whole of a short one. */
  private async firstRender(document: vscode.TextDocument, focus: number): Promise<{ lineCount: number; chunks: RenderedChunks }> {
    const end = prefixEndOf(document, focus);
    const r = end !== undefined ? await this.renders.renderPrefix(document, end) : await this.renders.render(document);
    return { lineCount: r.lineCount, chunks: chunksOf(r.doc) };
  }

  private resourceRoots(document: vscode.TextDocument): vscode.Uri[] {
    const roots = [vscode.Uri.joinPath(this.extensionUri, 'dist')];
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    if (folder) roots.push(folder.uri);
    if (document.uri.scheme === 'file') roots.push(vscode.Uri.joinPath(document.uri, '..'));
    return roots;
  }

  refresh(reset = false): void {
    if (reset) this.session.forgetSent();
    this.schedule(0, reset);
  }

  /**
   * Renders after `delay` ms without edits, but no later than `delay` after the first edit not
   * yet rendered (a fast typist would otherwise postpone it forever). A cold render in flight is
   * cancelled by an edit (the renderer keeps the chunks it finished, so the next one resumes); an
   * incremental one is left to finish and the next render starts right after it, so fast typing
   * cannot keep cancelling every render.
   */
  private schedule(delay: number, reset = false): void {
    if (!this.session.ready || !this.session.visible) return; // 'ready' / being shown triggers the next render
    this.wantReset ||= reset;
    if (this.inFlight) {
      this.dirty = true;
      if (this.inFlight.cold || reset) this.cts?.cancel();
      else return;
    }
    const now = Date.now();
    this.pendingSince ??= now;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), Math.max(0, Math.min(delay, this.pendingSince + delay - now)));
  }

  private wantReset = false;
  private dirty = false;
  private pendingSince: number | undefined;
  private inFlight: { cold: boolean } | undefined;

  private cancelPending(): void {
    clearTimeout(this.timer);
    this.cts?.cancel();
    this.cts?.dispose();
  }

  private async update(): Promise<void> {
    const document = this.document;
    if (!document || this.isDisposed) return;
    let reset = this.wantReset;
    this.wantReset = false;
    this.pendingSince = undefined;
    this.dirty = false;
    this.cts?.dispose();
    const cts = (this.cts = new vscode.CancellationTokenSource());
    const version = document.version;
    const cold = reset || this.session.needsFullRender;
    const flight = (this.inFlight = { cold });
    try {
      // A long note's first render starts with the part on screen: the lines up to a little past
      // the editor's first visible line, rendered alone (the full render then reuses its chunks).
      if (cold) {
        const end = prefixEndOf(document, this.focusLine() ?? 0);
        if (end !== undefined) {
          const prefix = await this.renders.renderPrefix(document, end, cts.token);
          if (cts.token.isCancellationRequested || this.isDisposed) return;
          this.session.renderDone(document, version, prefix.lineCount, chunksOf(prefix.doc), true);
          reset = false;
        }
      }
      const result = await this.renders.render(document, cts.token);
      if (cts.token.isCancellationRequested || this.isDisposed) return;
      this.session.renderDone(document, version, result.lineCount, chunksOf(result.doc), reset);
    } catch (e) {
      if (!(e instanceof RenderCancelled)) this.logger.error('preview render failed', e);
    } finally {
      if (this.inFlight === flight) this.inFlight = undefined;
      // Edits (or a reset) came in while this render ran: the next one starts now.
      if (this.dirty && !this.isDisposed && this.inFlight === undefined) this.schedule(0);
    }
  }

  /** The editor's first visible line (where the reader is), else the line the preview was opened at. */
  private focusLine(): number | undefined {
    return this.editorFor()?.visibleRanges[0]?.start.line ?? this.initialLine;
  }

  private editorFor(): vscode.TextEditor | undefined {
    return vscode.window.visibleTextEditors.find((e) => e.document === this.document);
  }

  private revealInEditor(line: number): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document !== this.document) continue;
      this.ignoreEditorScrollUntil = Date.now() + 300;
      editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.AtTop);
    }
  }

  private async jumpToLine(line: number): Promise<void> {
    if (!this.document) return;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === this.document);
    const editor = await vscode.window.showTextDocument(this.document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One });
    const pos = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.onDidDisposeEmitter.fire();
    super.dispose();
  }
}

function basename(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}

/** Where the quick first render of `document` stops (`prefixEnd`), reading its lines in place. */
function prefixEndOf(document: vscode.TextDocument, focus: number): number | undefined {
  return prefixEnd((l) => document.lineAt(l).text, document.lineCount, focus);
}

function chunksOf(doc: RenderedDocument): RenderedChunks {
  return { chunks: doc.chunks, chunksRendered: doc.stats.chunksRendered };
}
