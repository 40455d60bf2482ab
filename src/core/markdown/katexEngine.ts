import katex from 'katex';
import { escapeHtml } from './html';

/** Macros as KaTeX keeps them; with `globalGroup` KaTeX writes `\newcommand`/`\def` into it. */
export type MacroTable = Record<string, unknown>;

export interface MathResult {
  readonly html: string;
  /** KaTeX's message when the formula was rejected (the html then shows the source, marked). */
  readonly error?: string;
}

export interface KatexLimits {
  /** KaTeX `maxExpand`: stops `\def\a{\a\a}\a` with an error instead of hanging. */
  readonly maxExpand: number;
  /** KaTeX `maxSize` in em: caps `\rule` and friends. */
  readonly maxSize: number;
}

export const DEFAULT_LIMITS: KatexLimits = { maxExpand: 1000, maxSize: 50 };

const MACRO_DEFINITION = /\\(?:def|gdef|edef|xdef|let|futurelet|newcommand|renewcommand|providecommand|DeclareMathOperator)\b/;
const LABEL = /\\label\{([^{}]*)\}/g;
const REF = /\\(eqref|ref)\{([^{}]*)\}/g;
/** Numbered environments whose automatic numbers would clash with ours (KaTeX numbers them with a CSS counter). */
const NUMBERED_ENV = /\\(begin|end)\{(equation|align|gather|alignat|multline)\}/g;

/**
 * Environments KaTeX lacks but notes use, mapped to ones it renders: `multline` (a long formula
 * over several rows) becomes `gather`, `flalign` becomes `align`, and `eqnarray` (`a &=& b`, three
 * columns) becomes `align` with its relation column joined to the right-hand side (`a &= b`).
 * Starred and unstarred forms keep their star, so numbering works as for the KaTeX ones.
 */
export function rewriteEnvironments(tex: string): string {
  if (!/\\begin\{(?:multline|flalign|eqnarray)\*?\}/.test(tex)) return tex;
  let out = tex.replace(/\\(begin|end)\{(multline|flalign)(\*?)\}/g, (_m, be: string, env: string, star: string) =>
    `\\${be}{${env === 'multline' ? 'gather' : 'align'}${star}}`);
  out = out.replace(/\\begin\{eqnarray(\*?)\}([\s\S]*?)\\end\{eqnarray\1\}/g, (_m, star: string, body: string) =>
    `\\begin{align${star}}${body.split(/(\\\\)/).map(joinRelationColumn).join('')}\\end{align${star}}`);
  return out;
}

/** `a &=& b` → `a &= b`: drops the second top-level `&` of an eqnarray row. */
function joinRelationColumn(row: string): string {
  let depth = 0;
  let seen = 0;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === '&' && depth === 0 && ++seen === 2) return row.slice(0, i) + row.slice(i + 1);
  }
  return row;
}

/** Whether rendering this formula may change the macro table (so it must never come from a cache). */
export function definesMacros(tex: string): boolean {
  return MACRO_DEFINITION.test(tex);
}

/** Anchor id of an equation label, shared by the formula and every reference to it. */
export function labelAnchor(label: string): string {
  return 'mln-eq-' + label.replace(/[^\w\-:.]/g, '_');
}

export function labelsIn(tex: string): string[] {
  return [...tex.matchAll(LABEL)].map((m) => m[1]!);
}

export function refsIn(tex: string): string[] {
  return [...tex.matchAll(REF)].map((m) => m[2]!);
}

/** Equation numbers by label, assigned in document order. */
export type LabelNumbers = ReadonlyMap<string, number>;

/** What a reference to `label` shows: `(n)` for \eqref, `n` for \ref, `??` like LaTeX when unknown. */
export function refText(kind: 'eqref' | 'ref', label: string, labels: LabelNumbers): string {
  const n = labels.get(label);
  const body = n === undefined ? '??' : String(n);
  return kind === 'eqref' ? `(${body})` : body;
}

/**
 * Rewrites a formula so that KaTeX can render our equation numbering: `\label{x}` becomes
 * `\tag{n}` (per row in multi-row environments), unstarred numbered environments become starred
 * (numbers only come from labels and explicit tags), and `\eqref`/`\ref` become in-page links.
 */
export function rewriteNumbering(tex: string, display: boolean, labels: LabelNumbers): string {
  let out = tex;
  if (display) out = out.replace(NUMBERED_ENV, (_m, be: string, env: string) => `\\${be}{${env}*}`);
  if (out.includes('\\label')) {
    out = out
      .split(/(\\\\)/)
      .map((row) => {
        let tagged = /\\tag\*?\{/.test(row) || !display;
        return row.replace(LABEL, (_m, label: string) => {
          if (tagged) return '';
          tagged = true;
          return `\\tag{${labels.get(label) ?? '??'}}`;
        });
      })
      .join('');
  }
  if (out.includes('ref{')) {
    out = out.replace(REF, (_m, kind: 'eqref' | 'ref', label: string) =>
      `\\href{#${labelAnchor(label)}}{\\text{${refText(kind, label, labels)}}}`,
    );
  }
  return out;
}

/**
 * KaTeX with this project's safety settings. `trust` admits nothing but the in-page equation
 * links that `rewriteNumbering` creates, so a note can't produce `javascript:` links, `\url`s,
 * `\includegraphics` or HTML attributes.
 */
export class KatexEngine {
  constructor(private readonly limits: KatexLimits = DEFAULT_LIMITS) {}

  render(tex: string, display: boolean, macros: MacroTable, labels: LabelNumbers): MathResult {
    const source = rewriteNumbering(rewriteEnvironments(tex), display, labels);
    try {
      const html = this.katex(source, display, macros);
      // The annotation is the formula's TeX as the note wrote it, not our rewrite of it.
      return { html: source === tex ? html : html.replace(ANNOTATION, (_m, open: string) => `${open}${escapeHtml(tex)}</annotation>`) };
    } catch (e) {
      let message = e instanceof Error ? e.message : String(e);
      if (source !== tex) {
        // KaTeX quotes what it parsed; when that was our rewrite, quote the note's own TeX if it
        // fails too (`\begin{equation}` is reported as written, not as `equation*`).
        try {
          this.katex(tex, display, { ...macros });
        } catch (e2) {
          message = e2 instanceof Error ? e2.message : String(e2);
        }
      }
      return { html: errorHtml(tex, display, message), error: message };
    }
  }

  private katex(source: string, display: boolean, macros: MacroTable): string {
    return katex.renderToString(source, {
      displayMode: display,
      throwOnError: true,
      strict: 'ignore',
      // MathML beside the HTML: screen readers read it, and its TeX annotation is what copying
      // a formula gives (the preview's copy handler and exported HTML).
      output: 'htmlAndMathml',
      globalGroup: true,
      macros: macros as Record<string, string | object>,
      maxExpand: this.limits.maxExpand,
      maxSize: this.limits.maxSize,
      trust: (ctx) => ctx.command === '\\href' && 'url' in ctx && ctx.url.startsWith('#mln-eq-'),
    });
  }
}

const ANNOTATION = /(<annotation encoding="application\/x-tex">)[\s\S]*?<\/annotation>/;

/** A rejected formula: its source, visibly marked, with KaTeX's message on hover. */
export function errorHtml(tex: string, display: boolean, message: string): string {
  const tag = display ? 'div' : 'span';
  const cls = display ? 'mln-math-error mln-math-error-display' : 'mln-math-error';
  return `<${tag} class="${cls}" title="${escapeHtml(message)}">${escapeHtml(tex)}</${tag}>`;
}
