import { Parser } from 'htmlparser2';
import { DocumentRenderer, joinChunks, type RenderOptions, DEFAULT_RENDER_OPTIONS } from '../../src/core/markdown/documentRenderer';

export function renderHtml(src: string, options: Partial<RenderOptions> = {}): string {
  return joinChunks(new DocumentRenderer({ ...DEFAULT_RENDER_OPTIONS, ...options }).render(src));
}

export function render(src: string, options: Partial<RenderOptions> = {}) {
  const doc = new DocumentRenderer({ ...DEFAULT_RENDER_OPTIONS, ...options }).render(src);
  return { doc, html: joinChunks(doc) };
}

/** Number of KaTeX formulas (inline and display) in rendered HTML. */
export function katexCount(html: string): number {
  return (html.match(/<span class="katex">/g) ?? []).length;
}

export function displayCount(html: string): number {
  return (html.match(/<span class="katex-display">/g) ?? []).length;
}

export function errorCount(html: string): number {
  return (html.match(/class="mln-math-error/g) ?? []).length;
}

/**
 * Visible prose: text outside KaTeX output, math errors, code and `<pre>`, read with a real HTML
 * parser (nested KaTeX spans defeat regexes).
 */
export function proseText(html: string): string {
  let skipDepth = 0;
  let depth = 0;
  const out: string[] = [];
  const voids = new Set(['br', 'hr', 'img', 'input', 'meta', 'link', 'col', 'wbr', 'source']);
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (voids.has(name)) return;
        depth++;
        const cls = attrs['class'] ?? '';
        if (skipDepth === 0 && (name === 'pre' || name === 'code' || /\b(katex|mln-math-error)\b/.test(cls))) skipDepth = depth;
      },
      onclosetag(name) {
        if (voids.has(name)) return;
        if (skipDepth === depth) skipDepth = 0;
        depth--;
      },
      ontext(text) {
        if (skipDepth === 0) out.push(text);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out.join('');
}

/** Deterministic PRNG for fuzz tests (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
