/**
 * Rich outputs (a Jupyter kernel's MIME bundles) as HTML, for the one output renderer in
 * outputs.ts. A bundle is data the block's code controls, and a stored one may be planted by a
 * cloned repository, so it is sanitized here, at render time, never trusted because it was
 * sanitized once: HTML and Markdown go through the preview's own renderer and sanitizer (no
 * script, no event handler, no iframe), LaTeX through its KaTeX, images only as `<img>` data URLs
 * (an SVG shown by `<img>` runs no script).
 */
import { DocumentRenderer } from '../core/markdown/documentRenderer';
import { escapeHtml } from '../core/markdown/html';
import { sanitize } from '../core/markdown/sanitize';

/** MIME types shown, best first (what Jupyter front ends prefer). */
export const DISPLAY_MIMES = [
  'application/vnd.vegalite.v5+json',
  'application/vnd.vegalite.v4+json',
  'text/html',
  'image/svg+xml',
  'image/png',
  'image/jpeg',
  'text/markdown',
  'text/latex',
  'text/plain',
] as const;
export type DisplayMime = (typeof DISPLAY_MIMES)[number];

/** The MIME type and data a bundle is shown as; undefined when it has nothing we show. */
export function pickMime(bundle: Readonly<Record<string, unknown>>): { mime: DisplayMime; data: string } | undefined {
  for (const mime of DISPLAY_MIMES) {
    const v = bundle[mime];
    if (v === undefined || v === null) continue;
    if (mime.startsWith('application/vnd.vegalite')) return { mime, data: typeof v === 'string' ? v : JSON.stringify(v) };
    const text = Array.isArray(v) ? v.join('') : v;
    if (typeof text === 'string') return { mime, data: text };
  }
  return undefined;
}

let renderer: DocumentRenderer | undefined;

/** Markdown (with math) through the preview's renderer; runnable-fence keys are dropped (outputs are not blocks). */
export function markdownHtml(text: string): string {
  renderer ??= new DocumentRenderer();
  const doc = renderer.render(text);
  return doc.chunks
    .map((c) => c.html)
    .join('\n')
    .replace(/\sdata-(snippet|line|run)[\w-]*="[^"]*"/g, '');
}

/** `text/latex` is usually `$$…$$` or an environment; bare TeX is shown as display math. */
export function latexHtml(tex: string): string {
  const t = tex.trim();
  const delimited = /^(\$\$[\s\S]*\$\$|\$[\s\S]*\$|\\\[[\s\S]*\\\]|\\\([\s\S]*\\\)|\\begin\{)/.test(t);
  return markdownHtml(delimited ? (t.startsWith('\\begin{') ? `$$\n${t}\n$$` : t) : `$$\n${t}\n$$`);
}

/** One displayed item as HTML. `svg` draws Vega-Lite (undefined: shown as its JSON source). */
export function displayHtml(mime: string, data: string, svg?: string): string {
  switch (mime) {
    case 'text/html':
      return `<div class="mln-output-html">${sanitize(data)}</div>`;
    case 'text/markdown':
      return `<div class="mln-output-markdown">${markdownHtml(data)}</div>`;
    case 'text/latex':
      return `<div class="mln-output-latex">${latexHtml(data)}</div>`;
    case 'image/svg+xml':
      return `<img class="mln-output-image" alt="svg" src="data:image/svg+xml;base64,${Buffer.from(data).toString('base64')}">`;
    case 'image/png':
    case 'image/jpeg':
      return `<img class="mln-output-image" alt="${escapeHtml(mime)}" src="data:${mime};base64,${data.replace(/[^A-Za-z0-9+/=]/g, '')}">`;
    case 'application/vnd.vegalite.v5+json':
    case 'application/vnd.vegalite.v4+json':
      if (typeof svg === 'string' && svg.startsWith('<svg')) return `<img class="mln-plot" alt="chart" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`;
      return `<pre class="mln-output-text">${escapeHtml(data)}</pre>`;
    default:
      return `<pre class="mln-output-text">${escapeHtml(data)}</pre>`;
  }
}

/**
 * A terminal's carriage return: text after a `\r` overwrites the current line (tqdm bars, Keras
 * progress), so a progress bar is one line that updates, not thousands of lines.
 */
export function applyCarriageReturns(text: string): string {
  if (!text.includes('\r')) return text;
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => {
      const at = line.lastIndexOf('\r');
      if (at < 0) return line;
      // A "\r" at the very end stays (the next chunk of output overwrites the line).
      const after = line.slice(at + 1);
      return after === '' ? line.slice(line.lastIndexOf('\r', at - 1) + 1, at) + '\r' : after;
    })
    .join('\n');
}

/** Jupyter tracebacks carry ANSI colours. */
export function stripAnsi(s: string): string {
  return s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}
