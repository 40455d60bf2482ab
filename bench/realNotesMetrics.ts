/**
 * What a reader of a real note sees, measured the same way for ML Notes and for VS Code's own
 * preview pipeline (markdown-it + @vscode/markdown-it-katex): literal `$` left on screen, prose
 * rendered as math, formulas recognised, formulas KaTeX rejected.
 *
 * Shared by `npm run bench:realnotes` and test/unit/realNotes.test.ts, so the figures in the
 * README and the thresholds the tests hold are one measurement.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import MarkdownIt = require('markdown-it');
import { Parser } from 'htmlparser2';
import { DocumentRenderer, joinChunks } from '../src/core/markdown/documentRenderer';
import { findMathRegions } from '../src/core/formulas/mathRegions';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vscodeKatex = require('@vscode/markdown-it-katex') as { default: (md: MarkdownIt.MarkdownIt, o?: object) => void };

export const CORPUS_DIR = join(__dirname, '..', 'test', 'fixtures', 'real-notes');

/** A formula with a run of this many Han characters outside `\text{…}`-like groups is prose. */
export const PROSE_RUN = 4;

export interface NoteFigures {
  /** `$` characters in visible text (outside code, `<pre>`, KaTeX output and error marks). */
  dollars: number;
  formulas: number;
  /** Formulas whose TeX reads as Chinese prose (see `isProse`). */
  proseAsMath: number;
  katexErrors: number;
  ms: number;
}

export interface CorpusNote {
  readonly name: string;
  readonly text: string;
}

export function loadCorpus(dir = CORPUS_DIR): CorpusNote[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

const HAN_RUN = new RegExp(`[\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff]{${PROSE_RUN}}`);
const TEXTLIKE = /\\(?:text\w*|mbox|mathrm|operatorname\*?|mathbf|mathit|textbf|textrm|hbox|tag\*?|label)\s*\{(?:[^{}]|\{[^{}]*\})*\}/g;

/** Whether a formula's TeX is Chinese prose that a wrong delimiter pairing turned into math. */
export function isProse(tex: string): boolean {
  return HAN_RUN.test(tex.replace(TEXTLIKE, ''));
}

/** Visible text of rendered HTML: outside code, `<pre>`, KaTeX output and error marks. */
export function visibleText(html: string): string {
  let skip = 0;
  let depth = 0;
  const out: string[] = [];
  const voids = new Set(['br', 'hr', 'img', 'input', 'meta', 'link', 'col', 'wbr', 'source', 'area', 'base']);
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (voids.has(name)) return;
        depth++;
        const cls = attrs['class'] ?? '';
        if (skip === 0 && (name === 'pre' || name === 'code' || name === 'script' || name === 'style' || /\b(katex|katex-error|mln-math-error)\b/.test(cls))) skip = depth;
      },
      onclosetag(name) {
        if (voids.has(name)) return;
        if (skip === depth) skip = 0;
        depth--;
      },
      ontext(text) {
        if (skip === 0) out.push(text);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out.join('');
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/** ML Notes: the preview's renderer, and the formulas exactly as its rules find them. */
export function measureMlNotes(text: string): NoteFigures {
  const t0 = performance.now();
  const doc = new DocumentRenderer().render(text);
  const html = joinChunks(doc);
  const ms = performance.now() - t0;
  const regions = findMathRegions(text, { html: true });
  return {
    dollars: count(visibleText(html), '$'),
    formulas: regions.length,
    proseAsMath: regions.filter((r) => isProse(r.tex)).length,
    katexErrors: doc.stats.katexErrors,
    ms,
  };
}

/** VS Code's built-in preview: markdown-it + @vscode/markdown-it-katex as markdown-math configures it. */
export function createVsCodePipeline(): MarkdownIt.MarkdownIt {
  const md = new MarkdownIt({ html: true, linkify: true });
  md.use(vscodeKatex.default, { globalGroup: true, enableBareBlocks: true, enableFencedBlocks: true, strict: 'ignore' });
  return md;
}

export function measureVsCode(text: string, md = createVsCodePipeline()): NoteFigures {
  const t0 = performance.now();
  const env = {};
  const tokens = md.parse(text, env);
  const html = md.renderer.render(tokens, md.options, env);
  const ms = performance.now() - t0;
  const tex: string[] = [];
  const visit = (list: readonly MarkdownIt.Token[]): void => {
    for (const t of list) {
      if (t.type.startsWith('math_') || (t.type === 'fence' && /^math\b/.test(t.info.trim()))) tex.push(t.content);
      if (t.children) visit(t.children);
    }
  };
  visit(tokens);
  return {
    dollars: count(visibleText(html), '$'),
    formulas: tex.length,
    proseAsMath: tex.filter(isProse).length,
    katexErrors: (html.match(/class="[^"]*katex-error/g) ?? []).length,
    ms,
  };
}

export function sum(rows: readonly NoteFigures[]): NoteFigures {
  const t: NoteFigures = { dollars: 0, formulas: 0, proseAsMath: 0, katexErrors: 0, ms: 0 };
  for (const r of rows) {
    t.dollars += r.dollars;
    t.formulas += r.formulas;
    t.proseAsMath += r.proseAsMath;
    t.katexErrors += r.katexErrors;
    t.ms += r.ms;
  }
  return t;
}
