import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../../core/markdown/html';
import type { PreviewState } from '../../shared/previewMessages';

/**
 * The only place that builds the preview's HTML: a strict CSP with a fresh nonce per page,
 * resources only through `asWebviewUri`, and the initial state in an escaped data attribute.
 * Notes' content arrives later by message and is never a script (the CSP forbids inline script).
 */
/** Reader's type settings; 0 keeps the Markdown preview's own. */
export interface PreviewTypography {
  readonly fontSize: number;
  readonly lineHeight: number;
}

export function previewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, state: PreviewState, type?: PreviewTypography): string {
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
<script nonce="${nonce}" src="${media('webview/preview.js')}"></script>
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
