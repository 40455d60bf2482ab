import * as vscode from 'vscode';
import type { PreviewState } from '../../shared/previewMessages';
import type { Logger } from '../logger';
import type { RenderService } from '../renderService';
import { notePath } from '../../core/markdown/links';
import { Disposable } from '../util/dispose';
import { PREVIEW_VIEW_TYPE, PreviewPanel, type OutputsSource } from './previewPanel';

/**
 * Owns the preview panels. The most recent preview follows the active Markdown editor, as
 * VS Code's own preview does; panels come back after a window reload through the serializer.
 */
export class PreviewManager extends Disposable implements vscode.WebviewPanelSerializer<PreviewState> {
  private readonly panels = new Set<PreviewPanel>();
  private active: PreviewPanel | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly renders: RenderService,
    private readonly logger: Logger,
    private readonly outputs?: OutputsSource,
  ) {
    super();
    // The serializer is registered by the caller at activation (markdownFeatures.ts), before
    // this manager exists: VS Code restores panels only through serializers known by then.
    this._register(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && isMarkdown(editor.document) && this.active) this.active.show(editor.document);
      }),
    );
    this._register({ dispose: () => [...this.panels].forEach((p) => p.dispose()) });
  }

  /**
   * Opens (or reveals) the preview of the active Markdown editor, beside it or in its column;
   * with `uri` (the Explorer's context menu), of that note even when no editor has it open.
   */
  async open(toSide: boolean, uri?: vscode.Uri): Promise<void> {
    // With the panel's "page written" line, tells a slow first view's parts apart (bench:ui).
    this.logger.info('preview: command received');
    const editor = vscode.window.activeTextEditor;
    let document = uri
      ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())
      : editor && isMarkdown(editor.document) ? editor.document : undefined;
    if (!document && uri) {
      try {
        document = await vscode.workspace.openTextDocument(uri);
      } catch (e) {
        this.logger.warn(`preview: cannot open ${uri.toString()} (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    if (!document) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Open a Markdown note to preview it.'));
      return;
    }
    const column = toSide ? vscode.ViewColumn.Beside : (editor?.viewColumn ?? vscode.ViewColumn.Active);
    if (this.active) {
      this.active.show(document, editor?.visibleRanges[0]?.start.line);
      this.active.panel.reveal(column, toSide);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      PREVIEW_VIEW_TYPE,
      vscode.l10n.t('Preview'),
      { viewColumn: column, preserveFocus: toSide },
      { enableScripts: true, enableFindWidget: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist')] },
    );
    this.adopt(panel, document, editor?.visibleRanges[0]?.start.line);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PreviewState | undefined): Promise<void> {
    try {
      if (!state?.uri) throw new Error('no saved state');
      const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(state.uri));
      this.adopt(panel, document, state.line);
    } catch (e) {
      this.logger.warn(`preview: could not restore (${e instanceof Error ? e.message : String(e)})`);
      panel.dispose();
    }
  }

  private adopt(panel: vscode.WebviewPanel, document: vscode.TextDocument, line: number | undefined): void {
    const preview = new PreviewPanel(panel, this.context.extensionUri, this.renders, this.logger, this.outputs, line);
    this.panels.add(preview);
    this.active = preview;
    this.bindResources(preview);
    preview.onDidDispose(() => {
      this.panels.delete(preview);
      if (this.active === preview) this.active = undefined;
      // WARNING: image URLs must come from a live webview; a closed one's mapper would leave
      // the next preview blank. Rebind to a preview still open (or to the next one adopted).
      if (this.resourcesFrom === preview) {
        this.resourcesFrom = undefined;
        const other = this.active ?? [...this.panels][0];
        if (other) this.bindResources(other);
      }
    });
    preview.show(document, line);
  }

  private resourcesFrom: PreviewPanel | undefined;

  private bindResources(preview: PreviewPanel): void {
    this.resourcesFrom = preview;
    const webview = preview.panel.webview;
    this.renders.setResourceMapper((doc, href) => resourceUrl(webview, doc, href));
  }
}

function isMarkdown(document: vscode.TextDocument): boolean {
  return document.languageId === 'markdown';
}

/** Relative image paths of a note, as URLs the webview may load (absolute and web URLs stay). */
function resourceUrl(webview: vscode.Webview, document: vscode.Uri, href: string): string | undefined {
  const path = notePath(href);
  if (path === undefined) return undefined;
  const target = path.startsWith('/') ? document.with({ path }) : vscode.Uri.joinPath(document, '..', path);
  return webview.asWebviewUri(target).toString();
}
