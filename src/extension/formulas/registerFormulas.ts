import * as vscode from 'vscode';
import type { createMathJaxSvg } from '../../core/formulas/mathjaxSvg';
import { SvgRenderer } from '../../core/formulas/svgRenderer';
import type { Logger } from '../logger';
import { FormulaHoverProvider } from './formulaHover';
import { insertFormula } from './insertFormula';
import { LatexCompletionProvider } from './latexCompletion';

const MARKDOWN: vscode.DocumentSelector = [{ language: 'markdown' }];

/** The companions of the formula snippets: the Insert Formula palette, LaTeX completion and formula hovers. */
export function registerFormulas(context: vscode.ExtensionContext, logger: Logger): vscode.Disposable {
  // MathJax is its own bundle (scripts/build.mjs), required on the first picture.
  const svg = new SvgRenderer(async () => {
    const mod = require(context.asAbsolutePath('dist/mathjax-svg.js')) as { createMathJaxSvg: typeof createMathJaxSvg };
    return mod.createMathJaxSvg();
  });
  return vscode.Disposable.from(
    vscode.commands.registerCommand('mlNotes.insertFormula', () =>
      insertFormula().catch((e: unknown) => {
        logger.error('insert formula failed', e);
        void vscode.window.showErrorMessage(vscode.l10n.t('Could not insert the formula: {0}', e instanceof Error ? e.message : String(e)));
      }),
    ),
    // `\` starts a command, `{` an environment name after `\begin`.
    vscode.languages.registerCompletionItemProvider(MARKDOWN, new LatexCompletionProvider(svg, logger), '\\', '{'),
    vscode.languages.registerHoverProvider(MARKDOWN, new FormulaHoverProvider(svg, logger)),
  );
}
