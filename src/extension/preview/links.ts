import * as vscode from 'vscode';
import { notePath, safeDecode } from '../../core/markdown/links';
import { headingSlug } from '../../core/markdown/slug';
import type { Logger } from '../logger';

/**
 * A link clicked in the preview: web and mail links open outside; links to other notes (with an
 * optional `#heading`) open in the editor.
 */
export async function openLink(href: string, from: vscode.Uri, logger: Logger): Promise<void> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href)?.[1]?.toLowerCase();
  if (scheme) {
    if (scheme === 'http' || scheme === 'https' || scheme === 'mailto') await vscode.env.openExternal(vscode.Uri.parse(href));
    else logger.warn(`preview: ignored link with scheme '${scheme}'`);
    return;
  }
  const [pathPart, fragment] = splitOnce(href, '#');
  const path = pathPart ? notePath(pathPart) : '';
  if (path === undefined) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Cannot open link: {0}', href));
    return;
  }
  const target = path ? vscode.Uri.joinPath(from, '..', path) : from;
  try {
    const document = await vscode.workspace.openTextDocument(target);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One });
    if (fragment) {
      const slug = safeDecode(fragment).toLowerCase();
      for (let i = 0; i < document.lineCount; i++) {
        const m = /^#{1,6}\s+(.*)$/.exec(document.lineAt(i).text);
        if (m && headingSlug(m[1]!) === slug) {
          const pos = new vscode.Position(i, 0);
          editor.selection = new vscode.Selection(pos, pos);
          editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.AtTop);
          break;
        }
      }
    }
  } catch (e) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Cannot open link: {0}', href));
    logger.error(`preview: cannot open ${target.toString()}`, e);
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
