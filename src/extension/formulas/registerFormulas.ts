import * as vscode from 'vscode';
import type { Logger } from '../logger';
import { FormulaHoverProvider } from './formulaHover';
import { insertFormula } from './insertFormula';
import { LatexCompletionProvider } from './latexCompletion';

const MARKDOWN: vscode.DocumentSelector = [{ language: 'markdown' }];

/** Formula snippets' companions: the Insert Formula palette, LaTeX completion and formula hovers. */
export function registerFormulas(logger: Logger): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('mlNotes.insertFormula', () =>
      insertFormula().catch((e: unknown) => {
        logger.error('insert formula failed', e);
        void vscode.window.showErrorMessage(vscode.l10n.t('Could not insert the formula: {0}', e instanceof Error ? e.message : String(e)));
      }),
    ),
    // `\` starts a command, `{` an environment name after `\begin`.
    vscode.languages.registerCompletionItemProvider(MARKDOWN, new LatexCompletionProvider(logger), '\\', '{'),
    vscode.languages.registerHoverProvider(MARKDOWN, new FormulaHoverProvider(logger)),
  );
}
