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
/** CommonMark HTML blocks of kinds 1-5, which end at a marker rather than at a blank line. */
const HTML_RAW_BLOCKS: ReadonlyArray<readonly [RegExp, RegExp]> = [
  [/^ {0,3}<(?:pre|script|style|textarea)(?=[\s>]|$)/i, /<\/(?:pre|script|style|textarea)>/i],
  [/^ {0,3}<!--/, /-->/],
  [/^ {0,3}<\?/, /\?>/],
  [/^ {0,3}<![A-Za-z]/, />/],
  [/^ {0,3}<!\[CDATA\[/, /\]\]>/],
];
/** Container elements notes open in one paragraph and close several paragraphs later. */
const CONTAINER_TAG = /<(\/?)(details|div|center|section|figure|table|blockquote|article|aside|dl|ul|ol)(?=[\s>/]|$)([^>]*)>?/gi;

/** `[start, end]` line range of YAML front matter at the top of the text, if any. */
export function frontMatterRange(lines: readonly string[]): [number, number] | undefined {
  if (lines[0]?.trimEnd() !== '---') return undefined;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!.trimEnd();
    if (l === '---' || l === '...') return [0, i];
  }
  return undefined;
}

/** For each line, the index of the next line at or after it that contains `needle` (or -1). */
function nextLineWith(lines: readonly string[], test: (line: string) => boolean): Int32Array {
  const next = new Int32Array(lines.length + 1).fill(-1);
  for (let i = lines.length - 1; i >= 0; i--) next[i] = test(lines[i]!) ? i : next[i + 1]!;
  return next;
}

export function splitChunks(text: string): Chunk[] {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  let start = 0;
  let fence: string | undefined; // the opening run while inside a fenced block
  let prevBlank = false;
  let inList = false; // the last unindented non-blank line was a list item
  let rawEnd: RegExp | undefined; // inside an HTML block of kinds 1-5
  const depth = new Map<string, number>(); // open container elements
  let openContainers = 0;
  let holdUntil = frontMatterRange(lines)?.[1] ?? -1; // no boundary up to this line
  let nextDollars: Int32Array | undefined;
  let dollarsClose = -1; // the line that closes the last `$$` block opened
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence !== undefined) {
      const m = FENCE_OPEN.exec(line);
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
      prevBlank = false;
      continue;
    }
    if (rawEnd) {
      if (rawEnd.test(line)) rawEnd = undefined;
      prevBlank = false;
      continue;
    }
    const blank = line.trim() === '';
    const listItem = LIST_ITEM.test(line);
    if (!blank && prevBlank && i > start && i > holdUntil && openContainers === 0 && !/^[ \t]/.test(line) && !(listItem && inList)) {
      chunks.push(makeChunk(lines, start, i));
      start = i;
    }
    if (!blank && !/^[ \t]/.test(line)) inList = listItem;
    prevBlank = blank;
    const m = FENCE_OPEN.exec(line);
    if (m) {
      fence = m[1]!;
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
      if (!rawEnd) openContainers = countContainers(line, depth, openContainers);
    }
    // A math block that may hold blank lines: no boundary before the line that closes it.
    const trimmed = line.trimStart();
    if (trimmed.startsWith('$$') && !trimmed.slice(2).includes('$$') && i !== dollarsClose) {
      nextDollars ??= nextLineWith(lines, (l) => l.includes('$$'));
      dollarsClose = nextDollars[i + 1]!;
      holdUntil = Math.max(holdUntil, dollarsClose);
    } else if (trimmed.startsWith('\\begin{')) {
      const env = /^\\begin\{([^{}]+)\}/.exec(trimmed)?.[1];
      if (env && !trimmed.includes(`\\end{${env}}`)) holdUntil = Math.max(holdUntil, findLine(lines, i + 1, `\\end{${env}}`));
    }
  }
  chunks.push(makeChunk(lines, start, lines.length));
  return chunks;
}

/** First line at or after `from` containing `needle`, scanning at most 2 000 lines; -1 if none. */
function findLine(lines: readonly string[], from: number, needle: string): number {
  for (let i = from; i < lines.length && i < from + 2000; i++) if (lines[i]!.includes(needle)) return i;
  return -1;
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

function makeChunk(lines: string[], from: number, to: number): Chunk {
  return { startLine: from, lineCount: to - from, text: lines.slice(from, to).join('\n') };
}

/**
 * Calls `visit` for each line with the info word of the fenced block it is in (`''` for a fence
 * without one), or undefined outside fences. Fence lines themselves are reported as inside.
 */
function forEachLine(text: string, visit: (line: string, fenceLang: string | undefined) => void): void {
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

/** `\label{…}` names in document order, outside fenced code other than ```math. */
export function scanLabels(text: string): string[] {
  if (!text.includes('\\label{')) return [];
  const out: string[] = [];
  forEachLine(text, (line, fence) => {
    if ((fence === undefined || fence === 'math') && line.includes('\\label{')) {
      // `\label{…}` written about in a code span is not a label.
      const text = fence === 'math' ? line : line.replace(/(`+)[^`]*?\1/g, '');
      for (const l of text.matchAll(/\\label\{([^{}]*)\}/g)) out.push(l[1]!);
    }
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
  if (!text.includes('#')) return [];
  const out: ScannedHeading[] = [];
  const skip = frontMatterRange(text.split('\n', 2000))?.[1] ?? -1;
  let line = 0;
  forEachLine(text, (l, fence) => {
    if (fence === undefined && line > skip && l.includes('#')) {
      const m = ATX_HEADING.exec(l);
      if (m) out.push({ line, level: m[1]!.length, text: (m[2] ?? '').trim() });
    }
    line++;
  });
  return out;
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
  let line = 0;
  forEachLine(text, (l, fence) => {
    if (fence === undefined && l.includes('[^')) {
      let body = l;
      const d = FOOTNOTE_DEF.exec(l);
      if (d) {
        defined.add(d[1]!);
        body = l.slice(d[0].length);
      }
      if (body.includes('`')) body = body.replace(/(`+)[^`]*?\1/g, '');
      for (const m of body.matchAll(/\[\^([^\]\s]+)\]/g)) candidates.push({ line, label: m[1]! });
    }
    line++;
  });
  for (const c of candidates) if (defined.has(c.label)) refs.push(c);
  return { defined, refs };
}
