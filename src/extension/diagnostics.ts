import * as vscode from 'vscode';
import { DiagnosticsPolicy, errorsUnderCursors } from '../core/formulas/diagnosticsPolicy';
import { RenderCancelled } from '../core/markdown/documentRenderer';
import { previewSettings } from './config';
import type { Logger } from './logger';
import type { RenderResult, RenderService } from './renderService';
import { Disposable } from './util/dispose';

/**
 * Formulas KaTeX rejects, as Problems entries at their lines. Kept up to date for every open
 * Markdown note, whether or not a preview shows it; when errors appear while the user types is
 * decided by `DiagnosticsPolicy` (after a pause, never under an open completion).
 */
export class MathDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('ml-notes-math'));
  private readonly policy = new DiagnosticsPolicy(
    { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    (key) => this.check(key),
  );

  constructor(private readonly renders: RenderService, private readonly logger: Logger) {
    super();
    this._register({ dispose: () => this.policy.dispose() });
    // Every render counts, the preview's included: the policy filters what reaches Problems.
    this._register(renders.onDidRender((r) => this.apply(r)));
    this._register(renders.onDidReset(() => vscode.workspace.textDocuments.forEach((d) => this.whenNote(d, (k) => this.policy.opened(k)))));
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.whenNote(d, (k) => this.policy.opened(k))));
    this._register(vscode.workspace.onDidSaveTextDocument((d) => this.whenNote(d, (k) => this.policy.saved(k))));
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) this.whenNote(e.document, (k) => this.policy.edited(k));
      }),
    );
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.policy.closed(d.uri.toString());
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.whenNote(d, (k) => this.policy.opened(k));
  }

  private whenNote(document: vscode.TextDocument, f: (key: string) => void): void {
    if (document.languageId === 'markdown' && document.uri.scheme !== 'output') f(document.uri.toString());
  }

  private check(key: string): void {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    if (!document || this.isDisposed) return;
    if (!previewSettings().diagnostics) {
      this.collection.delete(document.uri);
      return;
    }
    const version = document.version;
    const token = { get isCancellationRequested() { return document.isClosed || document.version !== version; } };
    this.renders.render(document, token).catch((e: unknown) => {
      if (!(e instanceof RenderCancelled)) this.logger.error('math diagnostics failed', e);
    });
  }

  private apply(result: RenderResult): void {
    if (!previewSettings().diagnostics) return;
    const key = result.uri.toString();
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    if (!document || document.version !== result.version) return;
    const cursors = vscode.window.visibleTextEditors
      .filter((e) => e.document === document)
      .flatMap((e) => e.selections.map((s) => ({ line: s.active.line, character: s.active.character })));
    const shown = this.policy.select(key, result.doc.diagnostics, errorsUnderCursors(document.getText(), cursors));
    const diagnostics = shown.map((d) => {
      const line = Math.min(d.line, document.lineCount - 1);
      const text = document.lineAt(line).text;
      const first = d.source.split('\n')[0]!.trim();
      const col = first ? text.indexOf(first) : -1;
      const range = col >= 0 ? new vscode.Range(line, col, line, col + first.length) : document.lineAt(line).range;
      const diag = new vscode.Diagnostic(range, d.message, vscode.DiagnosticSeverity.Error);
      diag.source = 'ML Notes';
      return diag;
    });
    this.collection.set(document.uri, diagnostics);
  }
}
