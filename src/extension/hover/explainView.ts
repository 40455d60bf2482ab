import * as vscode from 'vscode';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';

const EXPLAIN_SCHEME = 'ml-notes-explain';

/**
 * Where "Explain Symbol" and the knowledge-base search show an entry: a read-only virtual
 * Markdown document per entry, in a *locked* Markdown preview beside the editor. A dynamic
 * preview (`markdown.showPreviewToSide`) follows the active editor, so the explanation used to
 * turn into a preview of the next note the user opened; a locked one stays on its document.
 * Explaining the same entry again reveals its preview and refreshes it.
 */
export class ExplainView extends Disposable {
  // Kept after the document closes: VS Code closes virtual documents no editor shows, and the
  // preview reads its document again when it refreshes. At most one text per entry.
  private readonly docs = new Map<string, string>();
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());

  constructor(private readonly logger: Logger) {
    super();
    this._register(
      vscode.workspace.registerTextDocumentContentProvider(EXPLAIN_SCHEME, {
        onDidChange: this.changed.event,
        provideTextDocumentContent: (uri) => this.docs.get(uri.toString()) ?? '',
      }),
    );
  }

  /** Shows `markdown` (the entry's explanation) titled by the entry's name. */
  async show(name: string, markdown: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: EXPLAIN_SCHEME, path: `/${name}.md` });
    this.docs.set(uri.toString(), markdown);
    this.changed.fire(uri);
    try {
      await vscode.commands.executeCommand('markdown.showLockedPreviewToSide', uri);
    } catch (e) {
      // Without the built-in Markdown extension, the Markdown source still reads well.
      this.logger.warn(`hover: markdown preview unavailable: ${e instanceof Error ? e.message : String(e)}`);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
    }
  }
}
