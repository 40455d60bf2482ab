import { maxParam } from './katexCommandList';
import { findMathRegions, type MathRegion, type RegionOptions, type TextPosition, comparePositions } from './mathRegions';

/** A macro a note defines in one of its formulas (`\newcommand`, `\def`, …). */
export interface MacroDefinition {
  /** Without the backslash. */
  readonly name: string;
  readonly args: number;
  readonly body: string;
  /** The definition's TeX, e.g. `\newcommand{\E}{\mathbb{E}}`: replayed before a formula to give it the note's macros. */
  readonly source: string;
  /** Where the formula holding it starts. */
  readonly at: TextPosition;
}

const DEFINER = /\\(newcommand|renewcommand|providecommand|def|gdef|edef|xdef|DeclareMathOperator)(?![a-zA-Z])(\*?)/g;

/**
 * The macro definitions in a note's formulas, in document order (only formulas the preview
 * renders count: a `\newcommand` in a code block defines nothing). With `before`, only those
 * in formulas that start before that position, which is what the preview applies to a formula there.
 */
export function noteMacros(text: string, before?: TextPosition, options: RegionOptions = {}): MacroDefinition[] {
  if (!/\\(?:newcommand|renewcommand|providecommand|[gex]?def|DeclareMathOperator)/.test(text)) return [];
  const out: MacroDefinition[] = [];
  for (const region of findMathRegions(text, options)) {
    if (before && comparePositions(region.outerStart, before) >= 0) break;
    out.push(...definitionsIn(region));
  }
  return out;
}

function definitionsIn(region: MathRegion): MacroDefinition[] {
  const tex = region.tex;
  const out: MacroDefinition[] = [];
  for (const m of tex.matchAll(DEFINER)) {
    const parsed = parseDefinition(tex, m.index! + m[0].length, m[1]!);
    if (!parsed) continue;
    out.push({ ...parsed, source: tex.slice(m.index!, parsed.end), at: region.outerStart });
  }
  return out;
}

function parseDefinition(tex: string, pos: number, kind: string): { name: string; args: number; body: string; end: number } | undefined {
  let i = skipSpace(tex, pos);
  let name: string | undefined;
  if (kind.endsWith('def')) {
    const m = /^\\([a-zA-Z]+)/.exec(tex.slice(i));
    if (!m) return undefined;
    name = m[1]!;
    i += m[0].length;
    const params = /^(?:#\d)*/.exec(tex.slice(i))![0];
    i += params.length;
  } else {
    const m = /^(?:\{\s*\\([a-zA-Z]+)\s*\}|\\([a-zA-Z]+))/.exec(tex.slice(i));
    if (!m) return undefined;
    name = m[1] ?? m[2]!;
    i += m[0].length;
    i = skipSpace(tex, i);
    if (kind !== 'DeclareMathOperator') {
      // `[n]` then an optional `[default]` for the first argument.
      for (let k = 0; k < 2 && tex[i] === '['; k++) {
        const close = tex.indexOf(']', i);
        if (close < 0) return undefined;
        i = skipSpace(tex, close + 1);
      }
    }
  }
  i = skipSpace(tex, i);
  if (tex[i] !== '{') return undefined;
  const end = matchBrace(tex, i);
  if (end < 0) return undefined;
  const body = tex.slice(i + 1, end);
  const declared = /\[(\d)\]/.exec(tex.slice(pos, i));
  const args = kind === 'DeclareMathOperator' ? 0 : declared ? Number(declared[1]) : maxParam(body);
  return { name, args, body, end: end + 1 };
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

/** Index of the `}` closing the `{` at `open`, skipping escaped braces; -1 if unbalanced. */
function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/**
 * TeX that defines the user's macro setting (`{ "\\RR": "\\mathbb{R}" }`) for a renderer that
 * understands `\def` (MathJax), arguments counted from the `#n` in each body.
 */
export function settingMacroSource(macros: Readonly<Record<string, string>>): string {
  return Object.entries(macros)
    .filter(([name]) => /^\\[a-zA-Z]+$/.test(name))
    .map(([name, body]) => {
      const params = Array.from({ length: maxParam(body) }, (_v, k) => `#${k + 1}`).join('');
      return `\\def${name}${params}{${body}}`;
    })
    .join('');
}
