import * as vscode from 'vscode';
import type MarkdownIt from 'markdown-it';
import { noteSyntaxPlugin } from '../core/markdown/noteSyntax';
import { mathPlugin } from '../core/markdown/mathPlugin';
import { KatexEngine } from '../core/markdown/katexEngine';
import { renderOptions } from './config';
import { MathDiagnostics } from './diagnostics';
import { exportNoteToHtml } from './exportHtml';
import { createLogger, type Logger } from './logger';
import { PreviewManager } from './preview/previewManager';
import type { OutputsSource } from './preview/previewPanel';
import { registerRunner } from './runner/registerRunner';
import { registerFormulas } from './formulas/registerFormulas';
import { registerHover } from './hover/hoverFeature';
import { RenderService } from './renderService';

/** Wires the features together; each feature owns its own listeners. */
export function activate(context: vscode.ExtensionContext): { extendMarkdownIt(md: MarkdownIt.MarkdownIt): MarkdownIt.MarkdownIt } {
  const logger = createLogger(context);
  try {
    const renders = new RenderService();
    context.subscriptions.push(renders);
    const runner = registerRunner(context, logger);
    context.subscriptions.push(runner);
    const outputs = { outputsFor: (d: vscode.TextDocument) => runner.outputsFor(d), onDidChange: runner.outputs.onDidChange };
    context.subscriptions.push(registerPreview(context, renders, logger, outputs));
    context.subscriptions.push(new MathDiagnostics(renders, logger));
    context.subscriptions.push(registerFormulas(context, logger));
    context.subscriptions.push(registerHover(context, logger));
    context.subscriptions.push(
      vscode.commands.registerCommand('mlNotes.exportHtml', (uri?: vscode.Uri) =>
        exportNoteToHtml(context, logger, uri instanceof vscode.Uri ? uri : undefined, (d) => runner.outputsFor(d)).catch((e: unknown) => {
          logger.error('export failed', e);
          void vscode.window.showErrorMessage(vscode.l10n.t('Export failed: {0}', e instanceof Error ? e.message : String(e)));
        }),
      ),
      vscode.commands.registerCommand('mlNotes.openSampleNotes', () => openSampleNotes(context)),
    );
    logger.info('ML Notes activated');
  } catch (e) {
    logger.error('activation failed', e);
    void vscode.window.showErrorMessage(vscode.l10n.t('ML Notes failed to start: {0}', e instanceof Error ? e.message : String(e)));
    throw e;
  }
  // VS Code's built-in preview gets the same math rules (markdown.markdownItPlugins).
  return {
    extendMarkdownIt: (md) =>
      md
        .use(mathPlugin, { engine: new KatexEngine(renderOptions().limits), macros: renderOptions().macros })
        // Footnotes, callouts, [TOC], Chinese line breaks…; VS Code gives headings its own ids.
        .use(noteSyntaxPlugin, { headingIds: false }),
  };
}

function registerPreview(context: vscode.ExtensionContext, renders: RenderService, logger: Logger, outputs: OutputsSource): vscode.Disposable {
  const manager = new PreviewManager(context, renders, logger, outputs);
  return vscode.Disposable.from(
    manager,
    vscode.commands.registerCommand('mlNotes.openPreviewToSide', (uri?: vscode.Uri) => manager.open(true, uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('mlNotes.openPreview', (uri?: vscode.Uri) => manager.open(false, uri instanceof vscode.Uri ? uri : undefined)),
    // Its own title in the Explorer, where VS Code's preview also says "Open Preview".
    vscode.commands.registerCommand('mlNotes.openPreviewFromExplorer', (uri?: vscode.Uri) => manager.open(false, uri instanceof vscode.Uri ? uri : undefined)),
  );
}

/** The notes shipped inside the extension: its embedded default collection. */
async function openSampleNotes(context: vscode.ExtensionContext): Promise<void> {
  const index = vscode.Uri.joinPath(context.extensionUri, 'notes', 'README.md');
  const document = await vscode.workspace.openTextDocument(index);
  await vscode.window.showTextDocument(document);
  await vscode.commands.executeCommand('mlNotes.openPreviewToSide');
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
