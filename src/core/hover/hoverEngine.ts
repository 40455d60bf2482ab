import type { KnowledgeBase } from '../kb/knowledgeBase';
import { CONVENTIONAL } from './noteIndex';
import { blockAt, codeBlockAt, codeRange, isProseLine, noteRange, outlineNote, type NoteOutline } from './noteOutline';
import type { PythonParser } from './pythonParser';
import { PythonProgram, type Resolved } from './pythonResolver';
import { BlockScopes } from './pythonScopes';
import { TsProgram } from './tsResolver';

/** A document as the engine sees it; `version` changes whenever `text` does. */
export interface HoverDocument {
  /** Stable identity (a URI string). */
  key: string;
  version: number;
  text: string;
  kind: 'python' | 'markdown';
}

/** A resolved hover, with the hovered name's range in document coordinates (0-based, UTF-16). */
export interface HoverHit extends Omit<Resolved, 'range'> {
  range: { startLine: number; startCol: number; endLine: number; endCol: number };
}

interface Parsed {
  version: number;
  program: PythonProgram;
  /** For notes: where the Python blocks sit in the note. */
  outline?: NoteOutline;
  /** For notes: the lines, for inline code in prose. */
  lines?: string[];
  /** For notes: the TypeScript blocks (TensorFlow.js, `ml-notes`). */
  ts?: TsProgram;
}

/**
 * Resolves hovers in Python files and in notes' Python and TypeScript blocks. Each document is parsed once
 * per version and kept (a few documents, least recently used first out), so hovering over an
 * unchanged file only walks from the hovered node up to its scopes.
 */
export class HoverEngine {
  private readonly cache = new Map<string, Parsed>();

  constructor(private readonly parser: PythonParser, private readonly kb: KnowledgeBase, private readonly maxDocuments = 16) {}

  hoverAt(doc: HoverDocument, line: number, character: number): HoverHit | undefined {
    const parsed = this.parsed(doc);
    if (doc.kind === 'python') {
      const r = parsed.program.resolveAt(0, line, character);
      return r && { ...r, range: { startLine: r.range.startRow, startCol: r.range.startCol, endLine: r.range.endRow, endCol: r.range.endCol } };
    }
    const inTs = codeBlockAt(parsed.outline!.tsBlocks, line, character);
    if (inTs) {
      const r = parsed.ts!.resolveAt(inTs.block, inTs.row, inTs.column);
      return r && { ...r, range: codeRange(parsed.outline!.tsBlocks[inTs.block]!, r.range) };
    }
    const where = blockAt(parsed.outline!, line, character);
    if (!where) return isProseLine(parsed.outline!, line) ? this.inlineCodeAt(parsed, line, character) : undefined;
    const r = parsed.program.resolveAt(where.block, where.row, where.column);
    return r && { ...r, range: noteRange(parsed.outline!, where.block, r.range) };
  }

  /**
   * A dotted name in an inline code span of a note's prose (`` `nn.Conv2d` ``), resolved with
   * the note's imports, else with the names readers use without importing (`nn`, `F`, `torch`).
   */
  private inlineCodeAt(parsed: Parsed, line: number, character: number): HoverHit | undefined {
    const text = parsed.lines?.[line];
    if (!text) return undefined;
    for (const span of text.matchAll(/(`+)([^`]+?)\1(?!`)/g)) {
      const start = span.index! + span[1]!.length;
      const end = start + span[2]!.length;
      if (character < start || character > end) continue;
      for (const m of span[2]!.matchAll(/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*/g)) {
        const from = start + m.index!;
        if (character < from || character > from + m[0].length) continue;
        // The segments up to the hovered one: on `nn` of `nn.Conv2d` that is the module.
        const parts: string[] = [];
        let col = from;
        let segStart = from;
        for (const seg of m[0].split('.')) {
          parts.push(seg);
          segStart = col;
          if (character <= col + seg.length) break;
          col += seg.length + 1;
        }
        const qualified = parsed.program.qualifyAtEnd(parts) ?? (CONVENTIONAL[parts[0]!] ? [CONVENTIONAL[parts[0]!], ...parts.slice(1)].join('.') : undefined);
        const api = qualified ? this.kb.find(qualified) : undefined;
        if (!api) return undefined;
        const seg = parts[parts.length - 1]!;
        return { api, ...(api.entry ? { entry: api.entry } : {}), byName: false, range: { startLine: line, startCol: segStart, endLine: line, endCol: segStart + seg.length } };
      }
      return undefined;
    }
    return undefined;
  }

  /** Parses now (e.g. when a document opens) so the first hover is fast. */
  prepare(doc: HoverDocument): void {
    this.parsed(doc);
  }

  forget(key: string): void {
    const p = this.cache.get(key);
    if (!p) return;
    this.cache.delete(key);
    for (const b of p.program.blocks) b.dispose();
  }

  dispose(): void {
    for (const key of [...this.cache.keys()]) this.forget(key);
  }

  private parsed(doc: HoverDocument): Parsed {
    const hit = this.cache.get(doc.key);
    if (hit && hit.version === doc.version) {
      // Re-insert: Map order is the LRU order.
      this.cache.delete(doc.key);
      this.cache.set(doc.key, hit);
      return hit;
    }
    this.forget(doc.key);
    let parsed: Parsed;
    if (doc.kind === 'python') {
      parsed = { version: doc.version, program: new PythonProgram([new BlockScopes(this.parser.parse(doc.text), 0)], this.kb) };
    } else {
      const outline = outlineNote(doc.text);
      const blocks = outline.blocks.map((b, i) => new BlockScopes(this.parser.parse(b.text), i));
      parsed = { version: doc.version, program: new PythonProgram(blocks, this.kb), outline, lines: doc.text.split(/\r?\n/), ts: new TsProgram(outline.tsBlocks.map((b) => b.text), this.kb) };
    }
    this.cache.set(doc.key, parsed);
    while (this.cache.size > this.maxDocuments) this.forget(this.cache.keys().next().value!);
    return parsed;
  }
}
