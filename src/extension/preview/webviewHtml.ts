import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { escapeHtml, jsonDataBlock } from '../../core/markdown/html';
import type { PreviewState, RenderMessage } from '../../shared/previewMessages';

/**
 * The only place that builds the preview's HTML: a strict CSP with a fresh nonce per page,
 * resources only through `asWebviewUri`, and the initial state in an escaped data attribute.
 * A note's content is never markup of this document: it arrives by message, or, for the first
 * render (`embed`), as JSON in a data block the page reads and applies as it applies a message
 * (the CSP forbids inline script, and a data block never runs).
 */
/** Reader's type settings; 0 keeps the Markdown preview's own. */
export interface PreviewTypography {
  readonly fontSize: number;
  readonly lineHeight: number;
}

export function previewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, state: PreviewState, type?: PreviewTypography, embed?: RenderMessage): string {
  const nonce = randomBytes(16).toString('base64');
  const media = (p: string): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', ...p.split('/'))).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} https: data:`,
    // KaTeX positions glyphs with inline style attributes.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(vscode.env.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('media/katex/katex.min.css')}">
<link rel="stylesheet" href="${media('media/highlight.css')}">
<link rel="stylesheet" href="${media('media/preview.css')}">
</head>
<body${typographyStyle(type)}>
<main id="mln-root" data-state="${escapeHtml(JSON.stringify(state))}" data-mermaid="${escapeHtml(media('webview/mermaid.js'))}"></main>
${embed ? `<script type="application/json" id="mln-embed">${jsonDataBlock(embed)}</script>\n` : ''}<script nonce="${nonce}" src="${media('webview/preview.js')}"></script>
</body>
</html>`;
}


/** Numbers only (validated here), as CSS variables the stylesheet reads. */
function typographyStyle(type: PreviewTypography | undefined): string {
  const vars: string[] = [];
  if (type && Number.isFinite(type.fontSize) && type.fontSize >= 6 && type.fontSize <= 64) vars.push(`--mln-font-size:${type.fontSize}px`);
  if (type && Number.isFinite(type.lineHeight) && type.lineHeight >= 0.8 && type.lineHeight <= 4) vars.push(`--mln-line-height:${type.lineHeight}`);
  return vars.length ? ` style="${vars.join(';')}"` : '';
}
