import MarkdownIt = require('markdown-it');

/** A fenced code block of a note, with how its lines map back to the note. */
export interface CodeBlock {
  /** The code as Python sees it (container prefixes and fence indentation removed). */
  text: string;
  /** Note line (0-based) of the block's first code line. */
  firstLine: number;
  /** For each code line: the note column where it starts, or -1 when it cannot be mapped. */
  columns: number[];
}

export type PythonBlock = CodeBlock;

export interface NoteHeading {
  text: string;
  level: number;
  /** 0-based line in the note. */
  line: number;
}

/** What hovers and the note index need from a note: headings and Python blocks, in order. */
export interface NoteOutline {
  headings: NoteHeading[];
  blocks: PythonBlock[];
  /** TypeScript and JavaScript blocks (TensorFlow.js and `ml-notes` snippets), in order. */
  tsBlocks: CodeBlock[];
  /** Line ranges [start, end) of every code or HTML block, Python or not: not prose. */
  nonProse: [number, number][];
}

const PYTHON_FENCES = new Set(['python', 'py', 'python3', 'py3', 'ipython', 'pycon']);
const TS_FENCES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

// Block-level parsing only: headings and fences are all we need, and inline parsing would
// dominate the cost of indexing a thousand notes.
const md = new MarkdownIt('commonmark');
md.core.ruler.disable(['inline', 'text_join'], true);

/** The language of a fence's info string: ```python, ```py {run}, ```{python}, ```{.python .numberLines}. */
export function fenceLanguage(info: string): string {
  const m = /^\s*\{?\s*\.?([\w+-]+)/.exec(info);
  return m ? m[1]!.toLowerCase() : '';
}

export function isPythonFence(info: string): boolean {
  return PYTHON_FENCES.has(fenceLanguage(info));
}

export function outlineNote(text: string): NoteOutline {
  const tokens = md.parse(text, {});
  const lines = text.split(/\r?\n/);
  const headings: NoteHeading[] = [];
  const blocks: PythonBlock[] = [];
  const tsBlocks: CodeBlock[] = [];
  const nonProse: [number, number][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if ((t.type === 'fence' || t.type === 'code_block' || t.type === 'html_block') && t.map) nonProse.push([t.map[0], t.map[1]]);
    if (t.type === 'heading_open' && t.map) {
      const inline = tokens[i + 1];
      headings.push({ text: (inline?.content ?? '').trim(), level: Number(t.tag.slice(1)), line: t.map[0] });
    } else if (t.type === 'fence' && t.map && (isPythonFence(t.info) || TS_FENCES.has(fenceLanguage(t.info)))) {
      const code = t.content.endsWith('\n') ? t.content.slice(0, -1) : t.content;
      const codeLines = code.split('\n');
      const firstLine = t.map[0] + 1;
      // Each code line is its source line minus a prefix ('> ', list indentation, fence
      // indentation); the suffix test maps columns without re-implementing those rules.
      const columns = codeLines.map((c, k) => {
        const src = lines[firstLine + k];
        if (src === undefined) return -1;
        return src.endsWith(c) ? src.length - c.length : -1;
      });
      (isPythonFence(t.info) ? blocks : tsBlocks).push({ text: code + '\n', firstLine, columns });
    }
  }
  return { headings, blocks, tsBlocks, nonProse };
}

/** Is the note line prose (not inside any code or HTML block)? */
export function isProseLine(outline: NoteOutline, line: number): boolean {
  return !outline.nonProse.some(([a, b]) => line >= a && line < b);
}

/** The block, row and column of Python code at a note position, or undefined outside Python code. */
export function blockAt(outline: NoteOutline, line: number, character: number): { block: number; row: number; column: number } | undefined {
  return codeBlockAt(outline.blocks, line, character);
}

/** The block (an index into `blocks`), row and column at a note position. */
export function codeBlockAt(blocks: readonly CodeBlock[], line: number, character: number): { block: number; row: number; column: number } | undefined {
  for (let b = 0; b < blocks.length; b++) {
    const blk = blocks[b]!;
    const row = line - blk.firstLine;
    if (row < 0 || row >= blk.columns.length) continue;
    const start = blk.columns[row]!;
    if (start < 0 || character < start) return undefined;
    return { block: b, row, column: character - start };
  }
  return undefined;
}

/** Maps a block position back to the note. */
export function noteRange(outline: NoteOutline, block: number, range: { startRow: number; startCol: number; endRow: number; endCol: number }): { startLine: number; startCol: number; endLine: number; endCol: number } {
  return codeRange(outline.blocks[block]!, range);
}

/** Maps a position in a code block back to the note. */
export function codeRange(blk: CodeBlock, range: { startRow: number; startCol: number; endRow: number; endCol: number }): { startLine: number; startCol: number; endLine: number; endCol: number } {
  return {
    startLine: blk.firstLine + range.startRow,
    startCol: (blk.columns[range.startRow] ?? 0) + range.startCol,
    endLine: blk.firstLine + range.endRow,
    endCol: (blk.columns[range.endRow] ?? 0) + range.endCol,
  };
}
