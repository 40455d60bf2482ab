import { createHash } from 'node:crypto';
import { forEachLine } from '../markdown/chunker';

/**
 * The cheap first test of "did this note's code or headings change?" for the note index: a
 * digest of the note with every plain prose line reduced to a placeholder. Two texts with the
 * same shape have the same headings and code blocks at the same lines, so re-indexing the second
 * would give what the first gave; typing inside a paragraph (most keystrokes in a note) keeps the
 * shape. A different shape only says "look closer" (see NoteIndex.update).
 *
 * The note index reads a note with markdown-it's CommonMark block rules (noteOutline.ts), and
 * this scan is the chunker's line-level fence scanner (`forEachLine`), not a parse: so a line
 * counts as plain prose only where no rule of CommonMark could make its content matter to a
 * heading or a fence. Every doubt keeps the line (a kept line costs a closer look, a dropped one
 * a stale index), and where the two fence readings can disagree the whole note is kept.
 */
export function noteShape(text: string): string {
  const lines: string[] = [];
  const fenced: boolean[] = [];
  let ambiguous = false;
  forEachLine(text, (line, fence) => {
    lines.push(line);
    fenced.push(fence !== undefined);
    if (!ambiguous && fenceReadingsMayDiffer(line, fence !== undefined)) ambiguous = true;
  });
  const hash = createHash('sha1');
  if (ambiguous) return hash.update('whole\n').update(text).digest('base64');
  // A setext underline (`===`, `---`) turns the paragraph above it into a heading: keep that
  // paragraph's lines. Walk up from each underline to the blank line before its paragraph.
  const keep = new Uint8Array(lines.length);
  for (let i = lines.length - 1, underline = false; i >= 0; i--) {
    const l = lines[i]!;
    if (fenced[i] || isBlank(l)) underline = false;
    else if (SETEXT_UNDERLINE.test(l)) underline = true;
    else if (underline) keep[i] = 1;
  }
  hash.update('lines\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    // Blank and prose lines stay distinguishable: a blank line ends paragraphs and HTML blocks.
    if (fenced[i] || keep[i] || !isPlainProse(l)) hash.update('|').update(l).update('\n');
    else hash.update(isBlank(l) ? '\n' : 'P\n');
  }
  return hash.digest('base64');
}

const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;
const FENCE_MARK = /```|~~~/;

function isBlank(line: string): boolean {
  return !/\S/.test(line);
}

/**
 * A line outside fences whose content CommonMark reads as paragraph text whatever it says, and
 * which cannot start, end or interrupt another block: unindented (indentation decides list
 * content and indented code), not starting with a block marker (heading, quote, list item,
 * thematic break or underline, HTML, fence), and with no `<`/`>` (they end raw HTML blocks)
 * and no fence marks. A blank line is plain too; the shape tells the two apart.
 */
export function isPlainProse(line: string): boolean {
  if (isBlank(line)) return true;
  if (/^[\s#>\-*+_=<`~|]/.test(line) || /^\d+[.)]/.test(line)) return false;
  return !/[<>]/.test(line) && !FENCE_MARK.test(line);
}

/**
 * Where `forEachLine`'s reading of fences can differ from markdown-it's: a fence mark indented
 * four or more columns (indented code for CommonMark, a fence for the scanner), a backtick fence
 * whose info string has a backtick (not a fence for CommonMark), or fence marks after a list or
 * quote marker (a fence inside a container, which the scanner does not see open).
 */
function fenceReadingsMayDiffer(line: string, fenced: boolean): boolean {
  if (!FENCE_MARK.test(line)) return false;
  const open = /^\s*(`{3,}|~{3,})(.*)$/.exec(line);
  if (open) return !/^ {0,3}[`~]/.test(line) || (open[1]![0] === '`' && open[2]!.includes('`'));
  return !fenced;
}
