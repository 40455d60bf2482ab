import * as vscode from 'vscode';
import { DocumentRenderer, joinChunks } from '../core/markdown/documentRenderer';
import { COPY_TEX_ASSET, standaloneHtml, type AssetSource } from '../core/export/standaloneHtml';
import { renderOptions } from './config';
import { insertOutputs } from '../runner/outputs';
import type { Logger } from './logger';
import { offerExported, type ExportMessageHost } from './exportMessage';

/**
 * "Export Note to HTML": a standalone file beside the note that renders offline. An existing
 * file is never overwritten without asking.
 */
export async function exportNoteToHtml(
  context: vscode.ExtensionContext,
  logger: Logger,
  uri?: vscode.Uri,
  outputsFor?: (document: vscode.TextDocument) => Promise<Record<string, string>>,
): Promise<vscode.Uri | undefined> {
  const document = uri
    ? await vscode.workspace.openTextDocument(uri)
    : vscode.window.activeTextEditor?.document.languageId === 'markdown' ? vscode.window.activeTextEditor.document : undefined;
  if (!document) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Open a Markdown note to export it.'));
    return undefined;
  }
  let target = document.uri.with({ path: document.uri.path.replace(/\.(md|markdown)$/i, '') + '.html' });
  if (await exists(target)) {
    const overwrite = vscode.l10n.t('Overwrite');
    const other = vscode.l10n.t('Choose Another File…');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('{0} already exists. Overwrite it?', vscode.workspace.asRelativePath(target)),
      { modal: true },
      overwrite,
      other,
    );
    if (choice === other) {
      const picked = await vscode.window.showSaveDialog({ defaultUri: target, filters: { HTML: ['html'] } });
      if (!picked) return undefined;
      target = picked;
    } else if (choice !== overwrite) {
      return undefined;
    }
  }
  const doc = new DocumentRenderer({ ...renderOptions() }).render(document.getText());
  // Snippet outputs (text, charts, images) go under their code blocks, as in the preview.
  const outputs = new Map(Object.entries((await outputsFor?.(document)) ?? {}));
  const body = insertOutputs(joinChunks(doc), outputs);
  const html = standaloneHtml({ title: document.uri.path.split('/').pop() ?? 'note', body, assets: await mediaAssets(context) });
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(html));
  logger.info(`exported ${document.uri.toString()} -> ${target.toString()} (${doc.stats.formulas} formulas, ${doc.stats.katexErrors} errors)`);
  offerExported(exportMessageHost(target), target, vscode.workspace.asRelativePath(target)).then(undefined, (e: unknown) => logger.error('export: could not open the exported file', e));
  return target;
}

function exportMessageHost(target: vscode.Uri): ExportMessageHost<vscode.Uri> {
  return {
    local: target.scheme === 'file' && vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop,
    t: (message, ...args) => vscode.l10n.t(message, ...args),
    showInformationMessage: (message, ...items) => vscode.window.showInformationMessage(message, ...items),
    openExternal: (uri) => vscode.env.openExternal(uri),
    executeCommand: (command, uri) => vscode.commands.executeCommand(command, uri),
  };
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** Reads every file the export embeds up front, so the core can stay synchronous. */
async function mediaAssets(context: vscode.ExtensionContext): Promise<AssetSource> {
  const media = vscode.Uri.joinPath(context.extensionUri, 'dist', 'media');
  const files = new Map<string, Uint8Array>();
  for (const rel of ['katex/katex.min.css', 'preview.css', 'highlight.css', COPY_TEX_ASSET]) files.set(rel, await vscode.workspace.fs.readFile(vscode.Uri.joinPath(media, rel)));
  for (const [name] of await vscode.workspace.fs.readDirectory(vscode.Uri.joinPath(media, 'katex', 'fonts'))) {
    files.set(`katex/fonts/${name}`, await vscode.workspace.fs.readFile(vscode.Uri.joinPath(media, 'katex', 'fonts', name)));
  }
  const get = (p: string): Uint8Array => {
    const f = files.get(p);
    if (!f) throw new Error(`missing asset ${p}`);
    return f;
  };
  return { readBinary: get, readText: (p) => new TextDecoder().decode(get(p)) };
}
