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

/**
 * A single HTML file that renders offline: KaTeX's CSS with its fonts embedded as data URIs,
 * the preview and highlighting styles inline, and no script at all.
 */
export function standaloneHtml(opts: StandaloneOptions): string {
  const katexCss = opts.assets
    .readText('katex/katex.min.css')
    .replace(/url\((fonts\/[^)]+\.woff2)\)/g, (_m, rel: string) => {
      const data = Buffer.from(opts.assets.readBinary('katex/' + rel)).toString('base64');
      return `url(data:font/woff2;base64,${data})`;
    });
  const css = [katexCss, opts.assets.readText('preview.css'), opts.assets.readText('highlight.css'), EXPORT_CSS].join('\n');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(opts.lang ?? 'zh-CN')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src https: data: file:; style-src 'unsafe-inline'; font-src data:;">
<title>${escapeHtml(opts.title)}</title>
<style>
${css}
</style>
</head>
<body class="mln-export vscode-light">
<main id="mln-root">
${opts.body}
</main>
</body>
</html>
`;
}

/** Light-theme values for the VS Code variables the preview CSS reads. */
const EXPORT_CSS = `
body.mln-export {
  --vscode-editor-foreground: #1f2328;
  --vscode-editor-background: #ffffff;
  --vscode-textLink-foreground: #0969da;
  --vscode-textLink-activeForeground: #0550ae;
  --vscode-textCodeBlock-background: #f6f8fa;
  --vscode-errorForeground: #cf222e;
  padding-top: 24px;
}`;
