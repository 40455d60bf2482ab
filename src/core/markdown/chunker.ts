import { blockMathCloses, blockMathOpen, closesEnv, findBlockClose } from './mathSyntax';

/**
 * Splits a note into top-level chunks that markdown-it renders the same way alone as in the
 * whole document, so an edit re-renders only the chunk it touches.
 *
 * A chunk boundary is a blank line followed by an unindented line that cannot continue the
 * previous block: not a list item right after another list (a loose list goes on across blank
 * lines), not inside a fenced code block, not inside YAML front matter, not inside raw HTML that
 * spans blank lines (`<pre>`, `<!-- -->`, or a `<details>`/`<div>` whose closing tag is further
 * down: each chunk becomes its own DOM subtree in the preview, so an element must open and
 * close in one chunk), and not between a `$$` or `\begin{…}` line and its closing line (math
 * rules may accept blank lines inside a block). A chunk that is too big is only slower; a cut in
 * the wrong place renders differently, so every doubt keeps the chunk whole. Reference-style
 * link and footnote definitions are document-wide; the renderer collects them separately.
 */
export interface Chunk {
  /** 0-based line of the chunk's first line in the document. */
  readonly startLine: number;
  readonly lineCount: number;
  readonly text: string;
}

const FENCE_OPEN = /^\s*(`{3,}|~{3,})/;
const LIST_ITEM = /^(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;
const COMMENT_END = /-->/;
/**
 * `<!--` left open inside raw HTML goes to the page as is, and the browser hides everything
 * after it up to a `-->` in raw HTML, which only a whole parse can place: keep the rest of the
 * note in one chunk. (A comment that starts its own block ends at its own `-->`, and one in
 * prose is text unless closed in the same paragraph; neither needs this.)
 */
function opensComment(line: string): boolean {
  const i = line.lastIndexOf('<!--');
  return i >= 0 && !line.includes('-->', i + 4);
}
/** CommonMark HTML blocks of kinds 1-5, which end at a marker rather than at a blank line. */
const HTML_RAW_BLOCKS: ReadonlyArray<readonly [RegExp, RegExp]> = [
  [/^ {0,3}<(?:pre|script|style|textarea)(?=[\s>]|$)/i, /<\/(?:pre|script|style|textarea)>/i],
  [/^ {0,3}<!--/, COMMENT_END],
  [/^ {0,3}<\?/, /\?>/],
  [/^ {0,3}<![A-Za-z]/, />/],
  [/^ {0,3}<!\[CDATA\[/, /\]\]>/],
];
/** CommonMark HTML blocks of kind 6 (block-level tags; they may interrupt a paragraph). */
const HTML_BLOCK_TAG = /^ {0,3}<\/?(?:address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul)(?=[\s/>]|$)/i;
/** Kind 7: any other complete tag alone on its line (it cannot interrupt a paragraph). */
const HTML_LONE_TAG = /^ {0,3}(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*\/?>|<\/[A-Za-z][A-Za-z0-9-]*\s*>)\s*$/;
/** Container elements notes open in one paragraph and close several paragraphs later. */
const CONTAINER_TAG = /<(\/?)(details|div|center|section|figure|table|blockquote|article|aside|dl|ul|ol|pre)(?=[\s>/]|$)([^>]*)>?/gi;

/** `[start, end]` line range of YAML front matter at the top of the text, if any. */
export function frontMatterRange(lines: readonly string[]): [number, number] | undefined {
  if (lines[0]?.trimEnd() !== '---') return undefined;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!.trimEnd();
    if (l === '---' || l === '...') return [0, i];
  }
  return undefined;
}

export function splitChunks(text: string): Chunk[] {
  return walkText(text).chunks;
}

/** The last walk, reused: a render splits the note and scans it for headings and footnotes. */
let lastWalk: { text: string; result: { chunks: Chunk[]; markdown: Uint8Array } } | undefined;

function walkText(text: string): { chunks: Chunk[]; markdown: Uint8Array } {
  if (lastWalk?.text !== text) lastWalk = { text, result: walk(text.split('\n')) };
  return lastWalk.result;
}

/**
 * Whether each line is Markdown a block can start on (not inside front matter, fenced code, raw
 * HTML or a formula), as the chunker sees the note: the scans below use it so that a footnote
 * definition or heading the chunker treats as code is code for them too.
 */
function markdownLines(text: string): Uint8Array {
  return walkText(text).markdown;
}

function walk(lines: readonly string[]): { chunks: Chunk[]; markdown: Uint8Array } {
  const markdown = new Uint8Array(lines.length);
  const chunks: Chunk[] = [];
  let start = 0;
  let fence: string | undefined; // the opening run while inside a fenced block
  let prevBlank = false;
  let inList = false; // the last unindented non-blank line belongs to a list item
  let inFootnote = false; // … or to a footnote definition (`[^1]: …`)
  let rawEnd: RegExp | undefined; // inside an HTML block of kinds 1-5
  let htmlBlock = false; // inside an HTML block of kinds 6-7 (raw until a blank line)
  const depth = new Map<string, number>(); // open container elements
  let openContainers = 0;
  let holdUntil = frontMatterRange(lines)?.[1] ?? -1; // no boundary up to this line
  let mathUntil = -1; // inside a math block up to (and with) this line
  let paragraph = false; // the previous line was paragraph text (an HTML tag of kind 7 cannot interrupt it)
  for (let i = holdUntil + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence !== undefined) {
      const m = FENCE_OPEN.exec(line);
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
      prevBlank = false;
      paragraph = false;
      continue;
    }
    const blank = line.trim() === '';
    if (i <= mathUntil) {
      // TeX, not Markdown: no fence or HTML starts here.
      prevBlank = blank;
      paragraph = false;
      continue;
    }
    if (rawEnd) {
      if (rawEnd !== COMMENT_END && opensComment(line)) holdUntil = lines.length;
      if (line.includes('<')) openContainers = countContainers(line, depth, openContainers);
      if (rawEnd.test(line)) rawEnd = undefined;
      prevBlank = false;
      paragraph = false;
      continue;
    }
    if (htmlBlock) {
      if (!blank) {
        if (opensComment(line)) holdUntil = lines.length;
        if (line.includes('<')) openContainers = countContainers(line, depth, openContainers);
        prevBlank = false;
        paragraph = false;
        continue;
      }
      htmlBlock = false;
    }
    markdown[i] = 1;
    const listItem = LIST_ITEM.test(line);
    if (!blank && prevBlank && i > start && i > holdUntil && openContainers === 0 && !/^[ \t]/.test(line) && !(listItem && inList)) {
      chunks.push(makeChunk(lines, start, i));
      start = i;
    }
    // A lazy continuation line (right after an item, no blank between) is still in the list.
    // Footnote definitions are containers too: a formula on their lazy lines is read inside them.
    const lazy = !blank && !listItem && !prevBlank && (inList || inFootnote) && !/^[ \t]/.test(line);
    if (!blank && !/^[ \t]/.test(line)) {
      inList = listItem || (inList && !prevBlank);
      const footnote = FOOTNOTE_DEF.test(line);
      inFootnote = footnote || (inFootnote && !prevBlank);
    }
    const canInterrupt = !paragraph;
    prevBlank = blank;
    paragraph = !blank && !/^ {0,3}(?:#{1,6}(?:[ \t]|$)|(?:[-*_][ \t]*){3,}$)/.test(line);
    const m = FENCE_OPEN.exec(line);
    if (m) {
      fence = m[1]!;
      paragraph = false;
      continue;
    }
    if (line.includes('<')) {
      for (const [open, close] of HTML_RAW_BLOCKS) {
        const o = open.exec(line);
        if (o) {
          if (!close.test(line.slice(o[0].length))) rawEnd = close;
          break;
        }
      }
      if (!rawEnd && (HTML_BLOCK_TAG.test(line) || (canInterrupt && HTML_LONE_TAG.test(line)))) htmlBlock = true;
      if (rawEnd || htmlBlock) paragraph = false;
      if ((htmlBlock || (rawEnd && rawEnd !== COMMENT_END)) && opensComment(line)) holdUntil = lines.length;
      openContainers = countContainers(line, depth, openContainers);
      if (rawEnd || htmlBlock) continue;
    }
    // A math block: its lines are TeX (a ``` or <div> in them starts nothing), and no boundary
    // falls inside it.
    if (!/^ {4}|^\t/.test(line)) {
      const close = mathBlockEnd(lines, i, lazy);
      if (close > i) {
        mathUntil = close;
        holdUntil = Math.max(holdUntil, close);
        paragraph = false;
      }
    }
  }
  chunks.push(makeChunk(lines, start, lines.length));
  return { chunks, markdown };
}

/**
 * The closing line of a block formula opened on line `i`, or -1: the extent the math plugin's
 * block rule gives it (`$$` blocks may hold blank lines, an unclosed block is not math), from
 * the same `findBlockClose`.
 */
function mathBlockEnd(lines: readonly string[], i: number, lazyInList: boolean): number {
  const first = lines[i]!.trimStart();
  const open = blockMathOpen(first);
  if (!open) return -1;
  if (open.kind !== 'env') {
    const rest = first.slice(2);
    if (blockMathCloses(open, rest) >= 0 || rest.includes(open.kind === '$$' ? '$$' : '\\]')) return -1;
  } else if (closesEnv(open, first) >= 0) {
    return -1;
  }
  // On a list item's lazy line the block rule runs inside the item, where an unindented line is
  // outside it (markdown-it's `sCount < blkIndent`) and ends the formula unclosed.
  const outside = lazyInList ? (k: number) => !/^[ \t]/.test(lines[k]!) : () => false;
  return findBlockClose(open, first, { text: (k) => lines[k]!.trimStart(), outside }, i, lines.length);
}

function countContainers(line: string, depth: Map<string, number>, open: number): number {
  // Tags written about in a code span are not markup.
  const text = line.includes('`') ? line.replace(/(`+)[^`]*?\1/g, '') : line;
  for (const m of text.matchAll(CONTAINER_TAG)) {
    const tag = m[2]!.toLowerCase();
    const d = depth.get(tag) ?? 0;
    if (m[1]) {
      if (d > 0) {
        depth.set(tag, d - 1);
        open--;
      }
    } else if (!m[3]?.trimEnd().endsWith('/')) {
      depth.set(tag, d + 1);
      open++;
    }
  }
  return open;
}

function makeChunk(lines: readonly string[], from: number, to: number): Chunk {
  return { startLine: from, lineCount: to - from, text: lines.slice(from, to).join('\n') };
}

/**
 * Calls `visit` for each line with the info word of the fenced block it is in (`''` for a fence
 * without one), or undefined outside fences. Fence lines themselves are reported as inside.
 */
export function forEachLine(text: string, visit: (line: string, fenceLang: string | undefined) => void): void {
  let run: string | undefined;
  let lang = '';
  for (const line of text.split('\n')) {
    const m = FENCE_OPEN.exec(line);
    if (run !== undefined) {
      if (m && m[1]![0] === run[0] && m[1]!.length >= run.length && line.trim() === m[1]) {
        visit(line, lang);
        run = undefined;
        continue;
      }
      visit(line, lang);
      continue;
    }
    if (m) {
      run = m[1]!;
      lang = line.trim().slice(run.length).trim().split(/\s+/)[0] ?? '';
      visit(line, lang);
      continue;
    }
    visit(line, undefined);
  }
}

/** Lines that are reference-style link definitions (`[id]: url "title"`), outside fenced code. */
export function referenceDefinitionLines(text: string): string[] {
  if (!/^ {0,3}\[[^\]\n]+\]:/m.test(text)) return [];
  const out: string[] = [];
  forEachLine(text, (line, fence) => {
    if (fence === undefined && /^ {0,3}\[[^\]\n^][^\]\n]*\]:\s*\S/.test(line)) out.push(line);
  });
  return out;
}

/** An ATX heading outside fenced code and front matter. */
export interface ScannedHeading {
  readonly line: number;
  readonly level: number;
  readonly text: string;
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;

/** Top-level ATX headings in document order (for `[TOC]` and document-wide unique ids). */
export function scanHeadings(text: string): ScannedHeading[] {
  if (!text.includes('#') && !SETEXT_ANY.test(text)) return [];
  const out: ScannedHeading[] = [];
  const lines = text.split('\n');
  const md = markdownLines(text);
  for (let line = 0; line < lines.length; line++) {
    const l = lines[line]!;
    if (!md[line]) continue;
    const m = l.includes('#') ? ATX_HEADING.exec(l) : null;
    if (m) {
      out.push({ line, level: m[1]!.length, text: (m[2] ?? '').trim() });
      continue;
    }
    // Setext (`标题` then `===` or `---`): the underline turns the paragraph above it into a
    // heading, so the heading starts at the paragraph's first line.
    const u = SETEXT_UNDERLINE.exec(l);
    if (!u || line === 0) continue;
    let first = line;
    while (first > 0 && md[first - 1] && isParagraphText(lines[first - 1]!) && !ATX_HEADING.test(lines[first - 1]!)) first--;
    if (first === line) continue;
    out.push({ line: first, level: u[1]![0] === '=' ? 1 : 2, text: lines.slice(first, line).map((t) => t.trim()).join(' ') });
  }
  return out;
}

const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const SETEXT_ANY = /\n {0,3}(?:=+|-+)[ \t]*(?:\n|$)/;

/** A line that can be (part of) a paragraph: not blank, not a list item, quote, fence, table rule or HTML. */
function isParagraphText(line: string): boolean {
  if (line.trim() === '' || /^ {4}|^\t/.test(line)) return false;
  return !/^ {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|`{3,}|~{3,}|<|(?:[-*_][ \t]*){3,}$|=+[ \t]*$)/.test(line);
}

export interface ScannedFootnotes {
  /** Labels that have a definition (`[^label]: …`) somewhere in the note. */
  readonly defined: ReadonlySet<string>;
  /** References to defined labels, in document order. */
  readonly refs: ReadonlyArray<{ readonly line: number; readonly label: string }>;
}

const FOOTNOTE_DEF = /^ {0,3}\[\^([^\]\s]+)\]:/;

/** Footnote definitions and references outside fenced code and code spans. */
export function scanFootnotes(text: string): ScannedFootnotes {
  const defined = new Set<string>();
  const refs: Array<{ line: number; label: string }> = [];
  if (!text.includes('[^')) return { defined, refs };
  const candidates: Array<{ line: number; label: string }> = [];
  const lines = text.split('\n');
  const md = markdownLines(text);
  for (let line = 0; line < lines.length; line++) {
    const l = lines[line]!;
    if (!md[line] || !l.includes('[^')) continue;
    let body = l;
    const d = FOOTNOTE_DEF.exec(l);
    if (d) {
      defined.add(d[1]!);
      body = l.slice(d[0].length);
    }
    if (body.includes('`')) body = body.replace(/(`+)[^`]*?\1/g, '');
    for (const m of body.matchAll(/\[\^([^\]\s]+)\]/g)) candidates.push({ line, label: m[1]! });
  }
  for (const c of candidates) if (defined.has(c.label)) refs.push(c);
  return { defined, refs };
}
