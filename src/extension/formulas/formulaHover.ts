import * as vscode from 'vscode';
import { formulaPicture } from '../../core/formulas/formulaHover';
import type { SvgRenderer } from '../../core/formulas/svgRenderer';
import { renderOptions } from '../config';
import type { Logger } from '../logger';
import { formulaColor, formulaSettings, toPosition } from './settings';

/** Hovering a formula in a note shows it drawn, with the note's macros; a broken one shows KaTeX's message. */
export class FormulaHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly svg: SvgRenderer,
    private readonly logger: Logger,
  ) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const settings = formulaSettings();
    if (!settings.hover) return undefined;
    const version = document.version;
    let picture;
    try {
      picture = await formulaPicture(document.getText(), position, {
        settingMacros: settings.macros, html: settings.html, limits: renderOptions().limits, color: formulaColor(),
      }, this.svg);
    } catch (e) {
      this.logger.error('formula hover failed', e);
      return undefined;
    }
    if (!picture || token.isCancellationRequested || document.version !== version) return undefined;
    const md = new vscode.MarkdownString();
    if ('image' in picture) {
      md.appendMarkdown(`![${vscode.l10n.t('Formula')}](${picture.image})`);
    } else {
      // Only KaTeX's refusal is the preview's error; MathJax failing means only the picture did.
      const title = picture.by === 'katex' ? vscode.l10n.t('KaTeX cannot render this formula') : vscode.l10n.t('MathJax cannot draw this formula (the preview may still render it)');
      md.appendMarkdown(`**${title}**\n\n`);
      md.appendCodeblock(picture.error, 'text');
    }
    return new vscode.Hover(md, new vscode.Range(toPosition(picture.region.outerStart), toPosition(picture.region.outerEnd)));
  }
}
