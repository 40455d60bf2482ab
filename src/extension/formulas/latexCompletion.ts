import * as vscode from 'vscode';
import { latexCompletions, type LatexCompletion } from '../../core/formulas/completion';
import { svgDataUri, type SvgRenderer } from '../../core/formulas/svgRenderer';
import type { Logger } from '../logger';
import { formulaColor, formulaSettings, toPosition } from './settings';

const KINDS: Record<LatexCompletion['kind'], vscode.CompletionItemKind> = {
  command: vscode.CompletionItemKind.Function,
  environment: vscode.CompletionItemKind.Struct,
  noteMacro: vscode.CompletionItemKind.Variable,
  settingMacro: vscode.CompletionItemKind.Constant,
};

/** LaTeX commands, environments and macros inside the math of Markdown notes. */
export class LatexCompletionProvider implements vscode.CompletionItemProvider {
  private readonly examples = new WeakMap<vscode.CompletionItem, string>();

  constructor(
    private readonly svg: SvgRenderer,
    private readonly logger: Logger,
  ) {}

  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): vscode.CompletionList | undefined {
    const settings = formulaSettings();
    if (!settings.completion) return undefined;
    const result = latexCompletions(document.getText(), position, { settingMacros: settings.macros, html: settings.html });
    if (!result || token.isCancellationRequested) return undefined;
    const start = toPosition(result.replaceStart);
    const range = { inserting: new vscode.Range(start, position), replacing: new vscode.Range(start, toPosition(result.replaceEnd)) };
    const items = result.items.map((c) => {
      const item = new vscode.CompletionItem(c.glyph ? { label: c.label, description: c.glyph } : c.label, KINDS[c.kind]);
      item.insertText = new vscode.SnippetString(c.insertText);
      item.range = range;
      item.filterText = c.label;
      item.detail = c.detail;
      if (c.retrigger) item.command = { command: 'editor.action.triggerSuggest', title: 'Re-trigger completions' };
      if (c.example) this.examples.set(item, c.example);
      return item;
    });
    return new vscode.CompletionList(items, false);
  }

  /** The command drawn with sample arguments, as a picture (only for the item being looked at). */
  async resolveCompletionItem(item: vscode.CompletionItem, token: vscode.CancellationToken): Promise<vscode.CompletionItem> {
    const example = this.examples.get(item);
    if (!example) return item;
    try {
      const r = await this.svg.render(example, { display: false, color: formulaColor(), pxPerEx: 10 });
      if (token.isCancellationRequested) return item;
      const md = new vscode.MarkdownString();
      if ('svg' in r) md.appendMarkdown(`![${vscode.l10n.t('rendered')}](${svgDataUri(r.svg)})\n\n`);
      md.appendCodeblock(example, 'latex');
      item.documentation = md;
    } catch (e) {
      this.logger.warn(`could not draw ${example}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return item;
  }
}
