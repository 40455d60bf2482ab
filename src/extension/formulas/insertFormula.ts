import * as vscode from 'vscode';
import { FORMULAS, TOPICS, defaultText, toSnippetBody, type Formula } from '../../core/formulas/library';
import { chooseWrapper } from '../../core/formulas/insertion';
import { formulaSettings } from './settings';

interface FormulaItem extends vscode.QuickPickItem {
  readonly formula: Formula;
}

/**
 * "Insert Formula…": a searchable list of the formula library (labels in the display language,
 * the other language and the prefix beside them, the TeX below, so both languages and TeX
 * search), inserted as a snippet at every cursor.
 */
export async function insertFormula(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Open a Markdown note to insert a formula.'));
    return;
  }
  const zh = vscode.env.language.toLowerCase().startsWith('zh');
  const items: (FormulaItem | vscode.QuickPickItem)[] = [];
  for (const topic of TOPICS) {
    items.push({ label: zh ? topic.zh : topic.en, kind: vscode.QuickPickItemKind.Separator });
    for (const f of FORMULAS.filter((x) => x.topic === topic.id)) {
      items.push({
        label: zh ? f.zh : f.en,
        description: `${zh ? f.en : f.zh} · ${f.prefix}`,
        detail: defaultText(f.body),
        formula: f,
      } satisfies FormulaItem);
    }
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Insert Formula'),
    placeHolder: vscode.l10n.t('Search formulas in English or Chinese, or by TeX'),
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked || !('formula' in picked)) return;
  // The picker may have taken long: insert into the editor active now, if it shows the same note.
  const target = vscode.window.activeTextEditor;
  if (!target || target.document !== editor.document) return;
  await insertIntoEditor(target, toSnippetBody(picked.formula.body));
}

/**
 * Replaces every selection with the formula, each wrapped in the delimiters its place needs.
 * Delimiters go in first as plain text, then the formula as one snippet at all cursors, so the
 * tab stops stay linked across cursors even when their delimiters differ.
 */
export async function insertIntoEditor(editor: vscode.TextEditor, snippet: string): Promise<boolean> {
  const doc = editor.document;
  const text = doc.getText();
  const eol = doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  const settings = formulaSettings();
  const plans = [...editor.selections]
    .sort((a, b) => doc.offsetAt(a.start) - doc.offsetAt(b.start))
    .map((sel) => ({
      start: doc.offsetAt(sel.start),
      length: doc.offsetAt(sel.end) - doc.offsetAt(sel.start),
      range: sel as vscode.Range,
      wrap: chooseWrapper(text, sel.start, sel.end, settings.delimiters, eol, { html: settings.html }),
    }));
  const ok = await editor.edit((b) => {
    for (const p of plans) b.replace(p.range, p.wrap.open + p.wrap.close);
  }, { undoStopBefore: true, undoStopAfter: false });
  if (!ok) return false;
  let shift = 0;
  const locations = plans.map((p) => {
    const at = doc.positionAt(p.start + shift + p.wrap.open.length);
    shift += p.wrap.open.length + p.wrap.close.length - p.length;
    return new vscode.Range(at, at);
  });
  return editor.insertSnippet(new vscode.SnippetString(snippet), locations, { undoStopBefore: false, undoStopAfter: true });
}
