import * as vscode from 'vscode';
import type MarkdownIt from 'markdown-it';
import { noteSyntaxPlugin } from '../core/markdown/noteSyntax';
import { mathPlugin } from '../core/markdown/mathPlugin';
import { KatexEngine } from '../core/markdown/katexEngine';
import { renderOptions } from './config';
import { exportNoteToHtml } from './exportHtml';
import { createLogger } from './logger';
import { registerMarkdownFeatures } from './markdownFeatures';
import { registerRunner } from './runner/registerRunner';
import { registerFormulas } from './formulas/registerFormulas';
import { registerHover } from './hover/hoverFeature';
import { PythonEnvironment } from './runner/pythonEnvironment';

/** What `activate` returns: the built-in preview's hook, and a read-only view of lazy state for tests. */
export interface MlNotesApi {
  extendMarkdownIt(md: MarkdownIt.MarkdownIt): MarkdownIt.MarkdownIt;
  /** For the integration tests: which lazily started parts have started. */
  readonly started: { readonly markdown: boolean; readonly noteIndex: 'idle' | 'building' | 'ready'; readonly droppedRenders: Readonly<Record<string, number>> };
}

/**
 * Wires the features together; each feature owns its own listeners. Nothing here reads notes:
 * opening a `.py` file activates the extension for hovers only, and the Markdown side and the
 * note index start on first need (see markdownFeatures.ts and the hover feature).
 */
export function activate(context: vscode.ExtensionContext): MlNotesApi {
  const logger = createLogger(context);
  let markdown: ReturnType<typeof registerMarkdownFeatures> | undefined;
  let hover: ReturnType<typeof registerHover> | undefined;
  try {
    const runner = registerRunner(context, logger);
    context.subscriptions.push(runner);
    const outputs = { outputsFor: (d: vscode.TextDocument) => runner.outputsFor(d), onDidChange: runner.outputs.onDidChange };
    context.subscriptions.push((markdown = registerMarkdownFeatures(context, logger, outputs)));
    context.subscriptions.push(registerFormulas(context, logger));
    // Hovers describe the torch of the interpreter snippets run with (the runner's resolution).
    const python = runner.runner.python instanceof PythonEnvironment ? runner.runner.python : undefined;
    context.subscriptions.push((hover = registerHover(context, logger, python && ((uri) => python.interpreter(uri)))));
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
    started: {
      get markdown() { return markdown?.isStarted ?? false; },
      get noteIndex() { return hover?.noteIndexState ?? 'idle'; },
      get droppedRenders() { return markdown?.droppedRenders ?? {}; },
    },
  };
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
