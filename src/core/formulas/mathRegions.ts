import MarkdownIt = require('markdown-it');
import { splitChunks, type Chunk } from '../markdown/chunker';
import { mathPlugin } from '../markdown/mathPlugin';
import type { MathSpan } from '../markdown/mathSyntax';

type Token = MarkdownIt.Token;
type StateInline = MarkdownIt.StateInline;

/** A 0-based line/character position, as in an editor (no dependency on VS Code). */
export interface TextPosition {
  readonly line: number;
  readonly character: number;
}

/**
 * One formula of a note, exactly as the preview renders it.
 *
 * `inner` is the text between the delimiters (where the cursor is "in math"); `outer` adds the
 * delimiters. For `\begin{…}` blocks the environment lines are the formula, so both agree.
 */
export interface MathRegion {
  readonly tex: string;
  readonly display: boolean;
  readonly kind: 'inline' | 'block' | 'fence';
  /** The delimiter: `$`, `$$`, `` $` ``, `\(`, `\[`, `\begin` or `` ```math ``. */
  readonly delimiter: string;
  readonly outerStart: TextPosition;
  readonly outerEnd: TextPosition;
  readonly innerStart: TextPosition;
  readonly innerEnd: TextPosition;
}

/**
 * markdown-it configured like the preview (DocumentRenderer): same options that change how
 * blocks parse (`html`, `linkify`), same math plugin. Only parsing happens here: the math
 * rules never render.
 */
function createParser(html: boolean): MarkdownIt.MarkdownIt {
  const md = new MarkdownIt({ html, linkify: true, typographer: false }).use(mathPlugin);
  // WARNING: the preview's own inline rule decides what is math; the wrapper only remembers
  // where in the inline source each formula it accepted starts and ends.
  const rules = (md.inline.ruler as unknown as { __rules__: { name: string; fn: (s: StateInline, silent: boolean) => boolean }[] }).__rules__;
  const original = rules.find((r) => r.name === 'mln_math_inline')!.fn;
  md.inline.ruler.at('mln_math_inline', (state, silent) => {
    const start = state.pos;
    const before = state.tokens.length;
    const ok = original(state, silent);
    if (ok && !silent && state.tokens.length > before) {
      const tok = state.tokens[state.tokens.length - 1]!;
      if (tok.type === 'mln_math_inline' || tok.type === 'mln_math_inline_display') {
        tok.meta = { ...(tok.meta as object), mlnStart: start, mlnEnd: state.pos };
      }
    }
    return ok;
  });
  return md;
}

const parsers = new Map<boolean, MarkdownIt.MarkdownIt>();
function parser(html: boolean): MarkdownIt.MarkdownIt {
  let md = parsers.get(html);
  if (!md) parsers.set(html, (md = createParser(html)));
  return md;
}

export interface RegionOptions {
  /** Raw HTML allowed (the preview's default `sanitize` mode); changes how HTML blocks parse. */
  readonly html?: boolean;
}

/** Every formula of a note, in document order. */
export function findMathRegions(text: string, options: RegionOptions = {}): MathRegion[] {
  const out: MathRegion[] = [];
  for (const chunk of splitChunks(normalize(text))) out.push(...chunkRegions(chunk, options));
  return out;
}

/**
 * The formulas of the chunk holding `line` (the preview renders a note chunk by chunk, so only
 * that chunk decides; cheap enough for every keystroke on long notes).
 */
export function mathRegionsNear(text: string, line: number, options: RegionOptions = {}): MathRegion[] {
  const chunk = splitChunks(normalize(text)).find((c) => line >= c.startLine && line < c.startLine + c.lineCount);
  return chunk ? chunkRegions(chunk, options) : [];
}

/** The formula whose inner text (delimiters excluded, ends included) contains `pos`. */
export function mathRegionAt(text: string, pos: TextPosition, options: RegionOptions = {}): MathRegion | undefined {
  return mathRegionsNear(text, pos.line, options).find((r) => within(pos, r.innerStart, r.innerEnd));
}

/** The formula whose text, delimiters included, contains `pos` (for hovers). */
export function mathRegionCovering(text: string, pos: TextPosition, options: RegionOptions = {}): MathRegion | undefined {
  return mathRegionsNear(text, pos.line, options).find((r) => within(pos, r.outerStart, r.outerEnd));
}

/**
 * Whether the cursor is in math for completion. While a command is typed right before the
 * closing delimiter the text is not math yet (`$x+\$` escapes the closing `$`), so the partly
 * typed command at the cursor is read as a complete one: the question is "will this be math".
 */
export function isInMathForCompletion(text: string, pos: TextPosition, options: RegionOptions = {}): boolean {
  const lines = normalize(text).split('\n');
  const lineText = lines[pos.line] ?? '';
  const m = /\\[a-zA-Z]*$/.exec(lineText.slice(0, pos.character));
  if (!m) return mathRegionAt(text, pos, options) !== undefined;
  const start = pos.character - m[0].length;
  lines[pos.line] = lineText.slice(0, start) + '\\mlnCursor' + lineText.slice(pos.character);
  return mathRegionAt(lines.join('\n'), { line: pos.line, character: start + 1 }, options) !== undefined;
}

export function comparePositions(a: TextPosition, b: TextPosition): number {
  return a.line - b.line || a.character - b.character;
}

function within(p: TextPosition, start: TextPosition, end: TextPosition): boolean {
  return comparePositions(p, start) >= 0 && comparePositions(p, end) <= 0;
}

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function chunkRegions(chunk: Chunk, options: RegionOptions): MathRegion[] {
  if (!/[$\\`~]/.test(chunk.text)) return [];
  const lines = chunk.text.split('\n');
  const tokens = parser(options.html ?? true).parse(chunk.text, {});
  const out: MathRegion[] = [];
  const at = (line: number, character: number): TextPosition => ({ line: line + chunk.startLine, character });
  // Per line, the column up to which inline content was already matched (table rows hold
  // several cells, each its own inline token).
  const consumed = new Map<number, number>();

  // Table cells' inline tokens carry no line map; their row's does.
  let rowMap: [number, number] | null = null;
  for (const tok of tokens) {
    if (tok.type === 'tr_open') rowMap = tok.map;
    if (tok.type === 'mln_math_block' && tok.map) {
      const [first, end] = tok.map;
      const last = end - 1;
      const firstText = lines[first]!;
      const lastText = lines[last]!;
      if (tok.markup === '\\begin') {
        const s = firstText.indexOf('\\begin');
        const e = lastText.length;
        out.push(region(tok.content, true, 'block', '\\begin', at(first, s), at(last, e), at(first, s), at(last, e)));
      } else {
        const open = tok.markup; // `$$` or `\[`
        const close = open === '$$' ? '$$' : '\\]';
        const s = firstText.indexOf(open);
        const c = lastText.lastIndexOf(close);
        out.push(region(tok.content, true, 'block', open, at(first, s), at(last, c + 2), at(first, s + 2), at(last, c)));
      }
    } else if (tok.type === 'fence' && tok.map && tok.info.trim().split(/\s+/)[0] === 'math') {
      const [first] = tok.map;
      const contentLines = tok.content.split('\n').length - 1;
      const lastContent = first + contentLines; // == first when the fence is empty
      const closeLine = Math.min(tok.map[1] - 1, lines.length - 1);
      out.push(region(
        tok.content, true, 'fence', '```math',
        at(first, lines[first]!.search(/\S/)), at(closeLine, lines[closeLine]!.length),
        at(first + 1, 0), at(lastContent, contentLines ? lines[lastContent]!.length : 0),
      ));
    } else if (tok.type === 'inline' && (tok.map ?? rowMap) && tok.children?.some(isInlineMath)) {
      const locate = inlineLocator(tok, (tok.map ?? rowMap)![0], lines, consumed);
      for (const child of tok.children) {
        if (!isInlineMath(child)) continue;
        const meta = child.meta as { mlnStart?: number; mlnEnd?: number };
        if (meta.mlnStart === undefined || meta.mlnEnd === undefined) continue;
        const s = locate(meta.mlnStart);
        const e = locate(meta.mlnEnd);
        if (!s || !e) continue;
        const open = child.markup as MathSpan['delimiter'];
        const closeLen = open === '$' ? 1 : 2;
        out.push(region(
          child.content, child.type === 'mln_math_inline_display', 'inline', open,
          at(s.line, s.character), at(e.line, e.character),
          at(s.line, s.character + open.length), at(e.line, e.character - closeLen),
        ));
      }
    }
  }
  return out;
}

function isInlineMath(t: Token): boolean {
  return t.type === 'mln_math_inline' || t.type === 'mln_math_inline_display';
}

/**
 * Maps an offset in an inline token's source to a chunk line/column. markdown-it builds that
 * source from the token's lines with indentation and container markers (`> `, list bullets)
 * stripped and the ends trimmed, so each of its lines is found at the end (or, for headings and
 * table cells, somewhere) of the matching chunk line.
 */
function inlineLocator(tok: Token, base: number, lines: readonly string[], consumed: Map<number, number>): (offset: number) => TextPosition | undefined {
  const contentLines = tok.content.split('\n');
  const starts: (number | undefined)[] = [];
  const offsets: number[] = [];
  let acc = 0;
  for (let k = 0; k < contentLines.length; k++) {
    const line = base + k;
    const src = lines[line] ?? '';
    const piece = contentLines[k]!;
    const from = consumed.get(line) ?? 0;
    const trimmed = src.trimEnd();
    let col: number;
    if (trimmed.endsWith(piece) && trimmed.length - piece.length >= from) col = trimmed.length - piece.length;
    else col = src.indexOf(piece, from);
    starts.push(col >= 0 ? col : undefined);
    if (col >= 0) consumed.set(line, col + piece.length);
    offsets.push(acc);
    acc += piece.length + 1;
  }
  return (offset) => {
    let k = contentLines.length - 1;
    while (k > 0 && offsets[k]! > offset) k--;
    const col = starts[k];
    return col === undefined ? undefined : { line: base + k, character: col + offset - offsets[k]! };
  };
}

function region(
  tex: string, display: boolean, kind: MathRegion['kind'], delimiter: string,
  outerStart: TextPosition, outerEnd: TextPosition, innerStart: TextPosition, innerEnd: TextPosition,
): MathRegion {
  return { tex, display, kind, delimiter, outerStart, outerEnd, innerStart, innerEnd };
}
