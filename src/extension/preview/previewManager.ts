import * as vscode from 'vscode';
import type { PreviewState } from '../../shared/previewMessages';
import type { Logger } from '../logger';
import type { RenderService } from '../renderService';
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

  /** Opens (or reveals) the preview of the active Markdown editor, beside it or in its column. */
  open(toSide: boolean, uri?: vscode.Uri): void {
    const editor = vscode.window.activeTextEditor;
    const document = uri
      ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())
      : editor && isMarkdown(editor.document) ? editor.document : undefined;
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
    this.renders.setResourceMapper((_doc, href) => resourceUrl(panel.webview, _doc, href));
    const preview = new PreviewPanel(panel, this.context.extensionUri, this.renders, this.logger, this.outputs, line);
    this.panels.add(preview);
    this.active = preview;
    preview.onDidDispose(() => {
      this.panels.delete(preview);
      if (this.active === preview) this.active = undefined;
    });
    preview.show(document, line);
  }
}

function isMarkdown(document: vscode.TextDocument): boolean {
  return document.languageId === 'markdown';
}

/** Relative image paths of a note, as URLs the webview may load (absolute and web URLs stay). */
function resourceUrl(webview: vscode.Webview, document: vscode.Uri, href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) return undefined;
  const path = decodeURIComponent(href.split(/[?#]/)[0]!);
  const target = path.startsWith('/') ? document.with({ path }) : vscode.Uri.joinPath(document, '..', path);
  return webview.asWebviewUri(target).toString();
}
