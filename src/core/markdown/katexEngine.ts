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
    const source = rewriteNumbering(tex, display, labels);
    try {
      const html = katex.renderToString(source, {
        displayMode: display,
        throwOnError: true,
        strict: 'ignore',
        output: 'htmlAndMathml',
        globalGroup: true,
        macros: macros as Record<string, string | object>,
        maxExpand: this.limits.maxExpand,
        maxSize: this.limits.maxSize,
        trust: (ctx) => ctx.command === '\\href' && 'url' in ctx && ctx.url.startsWith('#mln-eq-'),
      });
      return { html };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { html: errorHtml(tex, display, message), error: message };
    }
  }
}

/** A rejected formula: its source, visibly marked, with KaTeX's message on hover. */
export function errorHtml(tex: string, display: boolean, message: string): string {
  const tag = display ? 'div' : 'span';
  const cls = display ? 'mln-math-error mln-math-error-display' : 'mln-math-error';
  return `<${tag} class="${cls}" title="${escapeHtml(message)}">${escapeHtml(tex)}</${tag}>`;
}
