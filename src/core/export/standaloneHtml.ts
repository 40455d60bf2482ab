import { createHash } from 'node:crypto';
import { escapeHtml } from '../markdown/html';

/** Reads the built assets (`dist/media`), so the core never knows where the extension lives. */
export interface AssetSource {
  readText(relativePath: string): string;
  readBinary(relativePath: string): Uint8Array;
}

export interface StandaloneOptions {
  readonly title: string;
  /** Rendered note body (the joined chunks). */
  readonly body: string;
  readonly assets: AssetSource;
  readonly lang?: string;
}

/** KaTeX's copy-tex (copying a formula gives its LaTeX), the one script an export carries. */
export const COPY_TEX_ASSET = 'katex/copy-tex.min.js';

/**
 * A single HTML file that renders offline: KaTeX's CSS with its fonts embedded as data URIs,
 * the preview and highlighting styles inline, and one script, KaTeX's copy-tex, allowed by its
 * hash in the CSP (nothing from the note can run).
 */
export function standaloneHtml(opts: StandaloneOptions): string {
  const katexCss = opts.assets
    .readText('katex/katex.min.css')
    .replace(/url\((fonts\/[^)]+\.woff2)\)/g, (_m, rel: string) => {
      const data = Buffer.from(opts.assets.readBinary('katex/' + rel)).toString('base64');
      return `url(data:font/woff2;base64,${data})`;
    });
  const css = [katexCss, opts.assets.readText('preview.css'), opts.assets.readText('highlight.css'), EXPORT_CSS].join('\n');
  // `</script` cannot occur in the minified library; checked so the file can never be broken by it.
  const copyTex = opts.assets.readText(COPY_TEX_ASSET);
  if (/<\/script/i.test(copyTex)) throw new Error('copy-tex script contains </script');
  const scriptHash = createHash('sha256').update(copyTex, 'utf8').digest('base64');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(opts.lang ?? 'zh-CN')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src https: data: file:; style-src 'unsafe-inline'; font-src data:; script-src 'sha256-${scriptHash}';">
<title>${escapeHtml(opts.title)}</title>
<style>
${css}
</style>
</head>
<body class="mln-export vscode-light">
<main id="mln-root">
${opts.body}
</main>
<script>${copyTex}</script>
</body>
</html>
`;
}

/**
 * Light-theme values for the VS Code variables the preview CSS reads, a dark variant for
 * readers whose system is dark (on screen only), and print rules: code wraps instead of being
 * cut at the page edge, blocks are not split across pages.
 */
const EXPORT_CSS = `
body.mln-export {
  --vscode-editor-foreground: #1f2328;
  --vscode-editor-background: #ffffff;
  --vscode-textLink-foreground: #0969da;
  --vscode-textLink-activeForeground: #0550ae;
  --vscode-textCodeBlock-background: #f6f8fa;
  --vscode-errorForeground: #cf222e;
  padding-top: 24px;
}
@media screen and (prefers-color-scheme: dark) {
  body.mln-export {
    color-scheme: dark;
    --vscode-editor-foreground: #e6edf3;
    --vscode-editor-background: #0d1117;
    --vscode-textLink-foreground: #4493f8;
    --vscode-textLink-activeForeground: #79b8ff;
    --vscode-textCodeBlock-background: #161b22;
    --vscode-errorForeground: #f85149;
    --vscode-textSeparator-foreground: #30363d;
    --vscode-editorGroup-border: #30363d;
    --vscode-descriptionForeground: #8b949e;
  }
  body.mln-export .mln-output-image { background: #fff; }
}
@media print {
  body.mln-export { max-width: none; padding: 0; }
  body.mln-export pre, body.mln-export pre code { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; }
  body.mln-export .katex-display, body.mln-export table { overflow: visible; }
  body.mln-export h1, body.mln-export h2, body.mln-export h3 { break-after: avoid; }
  body.mln-export pre, body.mln-export .katex-display, body.mln-export img, body.mln-export .mln-callout, body.mln-export tr { break-inside: avoid; }
}`;
