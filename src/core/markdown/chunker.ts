/**
 * Splits a note into top-level chunks that markdown-it renders the same way alone as in the
 * whole document, so an edit re-renders only the chunk it touches.
 *
 * A chunk boundary is a blank line followed by an unindented line that cannot continue the
 * previous block: not a list item right after another list (a loose list goes on across blank
 * lines), not inside a fenced code block, not inside a `$$` formula that holds a blank line
 * (found by the math rules' own `displayBlockEnd`). Reference-style link definitions are document-wide; the renderer collects them
 * separately.
 */
import { displayBlockEnd } from './mathSyntax';

export interface Chunk {
  /** 0-based line of the chunk's first line in the document. */
  readonly startLine: number;
  readonly lineCount: number;
  readonly text: string;
}

const FENCE_OPEN = /^\s*(`{3,}|~{3,})/;
const LIST_ITEM = /^(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;

export function splitChunks(text: string): Chunk[] {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  let start = 0;
  let fence: string | undefined; // the opening run while inside a fenced block
  let prevBlank = false;
  let inList = false; // the last unindented non-blank line was a list item
  let mathEnd = -1; // last line of the top-level display formula being crossed
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i <= mathEnd) {
      prevBlank = false;
      continue;
    }
    if (fence !== undefined) {
      const m = FENCE_OPEN.exec(line);
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
      prevBlank = false;
      continue;
    }
    const blank = line.trim() === '';
    const listItem = LIST_ITEM.test(line);
    if (!blank && prevBlank && i > start && !/^[ \t]/.test(line) && !(listItem && inList)) {
      chunks.push(makeChunk(lines, start, i));
      start = i;
    }
    if (!blank && !/^[ \t]/.test(line)) inList = listItem;
    if (!blank && !/^[ \t]/.test(line) && line.startsWith('$$')) mathEnd = displayBlockEnd(lines, i);
    const m = FENCE_OPEN.exec(line);
    if (m) fence = m[1]!;
    prevBlank = blank;
  }
  chunks.push(makeChunk(lines, start, lines.length));
  return chunks;
}

function makeChunk(lines: string[], from: number, to: number): Chunk {
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
