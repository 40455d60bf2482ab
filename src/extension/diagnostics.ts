import * as vscode from 'vscode';
import { previewSettings } from './config';
import type { Logger } from './logger';
import type { RenderResult, RenderService } from './renderService';
import { Disposable } from './util/dispose';
import { RenderCancelled } from '../core/markdown/documentRenderer';

const DEBOUNCE_MS = 300;

/**
 * Formulas KaTeX rejects, as Problems entries at their lines. Kept up to date for every open
 * Markdown note, whether or not a preview shows it.
 */
export class MathDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('ml-notes-math'));
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly renders: RenderService, private readonly logger: Logger) {
    super();
    this._register(renders.onDidRender((r) => this.apply(r)));
    this._register(renders.onDidReset(() => vscode.workspace.textDocuments.forEach((d) => this.schedule(d, 0))));
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, DEBOUNCE_MS)));
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        clearTimeout(this.timers.get(d.uri.toString()));
      }),
    );
    this._register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  private schedule(document: vscode.TextDocument, delay: number): void {
    if (document.languageId !== 'markdown' || document.uri.scheme === 'output') return;
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!previewSettings().diagnostics) {
          this.collection.delete(document.uri);
          return;
        }
        const version = document.version;
        const token = { get isCancellationRequested() { return document.isClosed || document.version !== version; } };
        this.renders.render(document, token).catch((e: unknown) => {
          if (!(e instanceof RenderCancelled)) this.logger.error('math diagnostics failed', e);
        });
      }, delay),
    );
  }

  private apply(result: RenderResult): void {
    if (!previewSettings().diagnostics) return;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === result.uri.toString());
    if (!document || document.version !== result.version) return;
    const diagnostics = result.doc.diagnostics.map((d) => {
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
