/**
 * The single place that decides what is math in a note's text.
 *
 * Both the preview (markdown-it rules) and editor features (completion, formula hovers) call
 * these scanners, so "is the cursor inside math?" and "what does the preview render as math?"
 * can never disagree.
 *
 * Rules (see README "Math syntax"), decided on a corpus of real notes (test/fixtures/real-notes):
 * - `$…$` pairs an opening `$` with the next unescaped `$` in the same paragraph, spaces just inside
 *   the delimiters allowed (`$ x $`, `$\theta $`) and a digit allowed after the closing one
 *   (`$-$16`), as Typora, docsify-katex and MathJax do. A pair is refused, and its opening `$`
 *   stays a literal dollar, when it is shaped like money (content starting with a digit, followed
 *   by a digit or ending in a space without any TeX: `$5 and $10`, `价格是$5，数量是$10`) or when its content
 *   is Chinese prose (a Han character next to Chinese sentence punctuation outside `\text{…}`),
 *   which is what a stray `$` pairing with the next formula's opening `$` produces.
 * - `$$…$$` inline is display math inside a paragraph; `` $`…`$ `` is GitLab-style inline math.
 * - `\(…\)` and `\[…\]` are math unless their content looks like prose in escaped brackets:
 *   only digits/commas/dashes/spaces (`参考\[1\]`), CJK text without any TeX command (`\(注\)`),
 *   a bracketed remark holding `$…$` math or Chinese prose, or one bare word of two or more
 *   letters (`\[pæk\]`, `\(II\)`). Those stay literal brackets, as CommonMark escapes.
 */

export interface MathSpan {
  /** Offset of the first delimiter character. */
  readonly start: number;
  /** Offset just past the closing delimiter. */
  readonly end: number;
  /** The TeX source between the delimiters. */
  readonly content: string;
  readonly display: boolean;
  readonly delimiter: '$' | '$$' | '$`' | '\\(' | '\\[';
}

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]/;

/** Groups whose content is text, not math: `\text{…}` and friends, `\label{…}`. */
const TEXT_GROUP = /\\(?:text[a-z]*|mbox|hbox|mathrm|operatorname\*?|label|tag\*?)\s*\{(?:[^{}]|\{[^{}]*\})*\}/g;
/** A Han character next to Chinese sentence punctuation: a clause of prose. */
const CJK_CLAUSE = /[\u3400-\u4dbf\u4e00-\u9fff][，。；：！？、]|[，。；：！？、][\u3400-\u4dbf\u4e00-\u9fff]/;

/**
 * Whether TeX between delimiters is Chinese prose: a clause (Han next to Chinese punctuation)
 * outside any `\text{…}` that reaches one of the delimiters. A stray delimiter pairing with the
 * next formula's produces exactly that (`$，来输出…概率值：$`); a formula with a Chinese remark
 * inside (`\quad （F函数定义：…）\\`) starts and ends with TeX.
 */
export function isChineseProse(tex: string): boolean {
  if (!CJK.test(tex)) return false;
  const t = (tex.includes('\\') ? tex.replace(TEXT_GROUP, '') : tex).trim();
  return CJK_CLAUSE.test(t) && (CJK.test(t[0]!) || CJK.test(t[t.length - 1]!));
}

/**
 * Whether the content of a `\(…\)` / `\[…\]` pair is prose in escaped brackets rather than math.
 * Documented policy: citation-like content (digits, commas, dashes), CJK text with no TeX
 * command, a remark that holds `$…$` math or a Chinese clause, or one bare word of letters.
 */
export function isEscapedBracketProse(content: string): boolean {
  const t = content.trim();
  if (t.length === 0) return true;
  if (/^[\d\s,，、\-–—]+$/.test(t)) return true;
  if (CJK.test(t) && !t.includes('\\')) return true;
  if (/(^|[^\\])\$/.test(t)) return true;
  if (isChineseProse(t)) return true;
  return /^\p{L}{2,}$/u.test(t);
}

/** Whether the line starting at `from` is blank (only spaces/tabs before its end). */
function isBlankLineAfter(src: string, from: number, max: number): boolean {
  for (let i = from; i < max; i++) {
    const c = src[i];
    if (c === '\n') return true;
    if (c !== ' ' && c !== '\t' && c !== '\r') return false;
  }
  return true;
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** True when the character at `pos` is escaped by an odd number of backslashes. */
export function isEscaped(src: string, pos: number): boolean {
  let n = 0;
  for (let i = pos - 1; i >= 0 && src.charCodeAt(i) === 0x5c; i--) n++;
  return n % 2 === 1;
}

/**
 * Scan for inline math starting exactly at `pos`. Returns undefined when the text at `pos` does
 * not open math that closes within `src` (callers pass one paragraph's inline content).
 */
export function scanInlineMath(src: string, pos: number, max = src.length): MathSpan | undefined {
  const ch = src[pos];
  if (ch === '$') {
    if (isEscaped(src, pos)) return undefined;
    if (src[pos + 1] === '$') return scanDoubleDollar(src, pos, max);
    if (src[pos + 1] === '`') return scanDollarBacktick(src, pos, max);
    return scanSingleDollar(src, pos, max);
  }
  if (ch === '\\' && !isEscaped(src, pos)) {
    const next = src[pos + 1];
    if (next === '(' || next === '[') return scanBackslashPair(src, pos, max, next);
  }
  return undefined;
}

function scanSingleDollar(src: string, pos: number, max: number): MathSpan | undefined {
  const first = src[pos + 1];
  if (first === undefined || pos + 1 >= max || first === '\n' || first === '\r') return undefined;
  // `100$ 和 200$`: a dollar written after the amount.
  if (isDigit(src[pos - 1]) && isSpace(first)) return undefined;
  let i = pos + 1;
  while (i < max) {
    const c = src.charCodeAt(i);
    if (c === 0x5c /* \ */) {
      i += 2; // skip the escaped character, including `\$`
      continue;
    }
    // A backtick means a code span began: `$10 and `$x$`` is money then code, not math.
    if (c === 0x60 /* ` */) return undefined;
    if (c === 0x24 /* $ */) {
      // The first `$` decides: in `costs $5 and $x$` the first `$` must not swallow the second
      // one and pair with the third.
      const content = src.slice(pos + 1, i);
      if (content.trim() === '') return undefined;
      // Money: `$5 and $10`, `$5，数量是$10`, `$5 and $x$`; but `$1 - \epsilon $` is math.
      if (isDigit(first) && (isDigit(src[i + 1]) || (isSpace(src[i - 1]) && !/[\\^_{}=<>]/.test(content)))) return undefined;
      if (isChineseProse(content)) return undefined;
      return { start: pos, end: i + 1, content, display: false, delimiter: '$' };
    }
    if (c === 0x0a && isBlankLineAfter(src, i + 1, max)) return undefined; // never across paragraphs
    i++;
  }
  return undefined;
}

function scanDoubleDollar(src: string, pos: number, max: number): MathSpan | undefined {
  const close = findUnescaped(src, '$$', pos + 2, max);
  if (close < 0) return undefined;
  const content = src.slice(pos + 2, close);
  if (content.trim().length === 0 || isChineseProse(content)) return undefined;
  return { start: pos, end: close + 2, content, display: true, delimiter: '$$' };
}

function scanDollarBacktick(src: string, pos: number, max: number): MathSpan | undefined {
  const close = src.indexOf('`$', pos + 2);
  if (close < 0 || close + 2 > max) return undefined;
  const content = src.slice(pos + 2, close);
  if (content.trim().length === 0) return undefined;
  return { start: pos, end: close + 2, content, display: false, delimiter: '$`' };
}

function scanBackslashPair(src: string, pos: number, max: number, open: '(' | '['): MathSpan | undefined {
  const closer = open === '(' ? '\\)' : '\\]';
  let i = pos + 2;
  while (i < max) {
    const j = src.indexOf(closer, i);
    if (j < 0 || j + 2 > max) return undefined;
    if (!isEscaped(src, j)) {
      const content = src.slice(pos + 2, j);
      if (isEscapedBracketProse(content)) return undefined;
      return { start: pos, end: j + 2, content, display: open === '[', delimiter: open === '(' ? '\\(' : '\\[' };
    }
    i = j + 1;
  }
  return undefined;
}

function findUnescaped(src: string, needle: string, from: number, max: number): number {
  let i = from;
  while (i < max) {
    const j = src.indexOf(needle, i);
    if (j < 0 || j + needle.length > max) return -1;
    if (!isEscaped(src, j)) return j;
    i = j + 1;
  }
  return -1;
}

/** Environments that make a bare `\begin{…}` line a display-math block. */
export const DISPLAY_ENVIRONMENTS: ReadonlySet<string> = new Set([
  'equation', 'equation*', 'align', 'align*', 'aligned', 'alignat', 'alignat*', 'gather', 'gather*',
  'gathered', 'multline', 'multline*', 'flalign', 'flalign*', 'split', 'eqnarray', 'eqnarray*', 'CD', 'darray', 'dcases', 'rcases',
  'cases', 'matrix', 'pmatrix', 'bmatrix', 'Bmatrix', 'vmatrix', 'Vmatrix', 'array', 'subarray',
]);

/** The kind of display block that an (unindented-content) line opens, if any. */
export interface BlockOpen {
  readonly kind: '$$' | '\\[' | 'env';
  /** For `env`: the environment name to close with `\end{name}`. */
  readonly env?: string;
}

export function blockMathOpen(line: string): BlockOpen | undefined {
  const t = line.trimStart();
  if (t.startsWith('$$')) return { kind: '$$' };
  if (t.startsWith('\\[')) {
    // `\[1\]` at the start of a line is a citation, not math.
    const close = t.indexOf('\\]', 2);
    if (close >= 0 && t.slice(close + 2).trim() === '' && isEscapedBracketProse(t.slice(2, close))) return undefined;
    return { kind: '\\[' };
  }
  const m = /^\\begin\{([a-zA-Z*]+)\}/.exec(t);
  if (m && DISPLAY_ENVIRONMENTS.has(m[1]!)) return { kind: 'env', env: m[1]! };
  return undefined;
}

/**
 * Given the opener, whether `line` closes the block. For the opening line itself pass
 * `afterOpen` = the text after the opening delimiter.
 */
export function blockMathCloses(open: BlockOpen, text: string): number {
  if (open.kind === '$$') return text.trimEnd().endsWith('$$') ? text.lastIndexOf('$$') : -1;
  if (open.kind === '\\[') {
    const t = text.trimEnd();
    return t.endsWith('\\]') && !isEscaped(t, t.length - 2) ? text.lastIndexOf('\\]') : -1;
  }
  const end = `\\end{${open.env}}`;
  const i = text.lastIndexOf(end);
  return i >= 0 && text.slice(i + end.length).trim() === '' ? i : -1;
}

/** How a display block's lines look to the scanner, inside whatever container holds them. */
export interface BlockLines {
  /** The line's text after container markers and the block's indentation. */
  text(line: number): string;
  /** True when the line is outside the block's container (a list item or quote ended before it). */
  outside(line: number): boolean;
}

/**
 * Whether a line after a blank line inside an open display block can still be math. A formula
 * may hold blank lines (KaTeX, MathJax and VS Code accept them), but an unclosed `$$` must not
 * swallow the note: Markdown structure or prose after a blank line ends the search.
 */
export function continuesMathAfterBlank(text: string): boolean {
  const t = text.trim();
  if (/^(?:#{1,6}\s|>|\||[-*+]\s|\d{1,9}[.)]\s|`{3}|~{3}|<[a-zA-Z!/])/.test(t)) return false;
  if (/[\u3400-\u4dbf\u4e00-\u9fff]{2}/.test(t.replace(TEXT_GROUP, ''))) return false;
  // Inline `$` math means a paragraph of prose; only a closing `$$` may end the line.
  const dollars = t.replace(/\\\$/g, '').replace(/\$\$\s*$/, '');
  return !dollars.includes('$');
}

/** The longest display block, in lines: far beyond any real formula. */
export const MAX_BLOCK_LINES = 2000;

/**
 * The line that closes the display block opened at `start` (which did not close on its own line),
 * or -1 when it never closes. Shared by the markdown-it rule and the chunker, so a formula that
 * spans a blank line is one block to both.
 */
export function findBlockClose(open: BlockOpen, first: string, lines: BlockLines, start: number, end: number): number {
  let depth = open.kind === 'env' ? envDepthDelta(open, first) : 0;
  let afterBlank = false;
  // Bounded, so that a note full of unclosed `$$` costs linear time, not quadratic.
  const last = Math.min(end, start + 1 + MAX_BLOCK_LINES);
  for (let next = start + 1; next < last; next++) {
    const text = lines.text(next);
    const blank = text.trim() === '';
    if (!blank && lines.outside(next)) return -1;
    if (blank) {
      // Only `$$` blocks may hold blank lines (what notes do and KaTeX/MathJax/VS Code accept);
      // LaTeX itself rejects them in `\[…\]` and environments, so those end there as before.
      if (open.kind !== '$$') return -1;
      afterBlank = true;
      continue;
    }
    if (afterBlank && !continuesMathAfterBlank(text)) return -1;
    afterBlank = false;
    if (open.kind === 'env') {
      depth += envDepthDelta(open, text);
      if (depth <= 0 && closesEnv(open, text) >= 0) return next;
    } else if (blockMathCloses(open, text) >= 0 || closesBeforeProse(open, text)) {
      return next;
    }
  }
  return -1;
}

/** `$$的奇异值分解。`: a line that starts with the closing delimiter and goes on with prose. */
function closesBeforeProse(open: BlockOpen, text: string): boolean {
  const t = text.trimStart();
  if (open.kind === '$$') return t.startsWith('$$') && !t.slice(2).includes('$$');
  return open.kind === '\\[' && t.startsWith('\\]');
}

export function envDepthDelta(open: BlockOpen, text: string): number {
  const b = text.split(`\\begin{${open.env}}`).length - 1;
  const e = text.split(`\\end{${open.env}}`).length - 1;
  return b - e;
}

/** Where `\end{env}` closes the block on this line, -1 if it doesn't (nested ones don't count). */
export function closesEnv(open: BlockOpen, text: string): number {
  if (envDepthDelta(open, text) > 0) return -1;
  return blockMathCloses(open, text);
}

/** Every math span in a piece of inline text (one paragraph), in order. */
export function findInlineMath(src: string): MathSpan[] {
  const out: MathSpan[] = [];
  let i = 0;
  let inCode = 0; // length of the backtick run that opened a code span, 0 outside
  while (i < src.length) {
    const c = src[i];
    if (c === '`') {
      let n = 1;
      while (src[i + n] === '`') n++;
      if (inCode === 0) {
        // Only a code span if a matching run closes it.
        const run = '`'.repeat(n);
        const close = src.indexOf(run, i + n);
        if (close >= 0 && !(src[i - 1] === '$' && n === 1)) inCode = n;
      } else if (n === inCode) {
        inCode = 0;
      }
      i += n;
      continue;
    }
    if (inCode === 0 && (c === '$' || c === '\\')) {
      const span = scanInlineMath(src, i);
      if (span) {
        out.push(span);
        i = span.end;
        continue;
      }
      if (c === '\\') {
        i += 2;
        continue;
      }
    }
    i++;
  }
  return out;
}
