import type { KnowledgeBase } from '../kb/knowledgeBase';
import { blockAt, noteRange, outlineNote, type NoteOutline } from './noteOutline';
import type { PythonParser } from './pythonParser';
import { PythonProgram, type Resolved } from './pythonResolver';
import { BlockScopes } from './pythonScopes';

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
}

/**
 * Resolves hovers in Python files and in notes' Python blocks. Each document is parsed once
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
    const where = blockAt(parsed.outline!, line, character);
    if (!where) return undefined;
    const r = parsed.program.resolveAt(where.block, where.row, where.column);
    return r && { ...r, range: noteRange(parsed.outline!, where.block, r.range) };
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
      parsed = { version: doc.version, program: new PythonProgram(blocks, this.kb), outline };
    }
    this.cache.set(doc.key, parsed);
    while (this.cache.size > this.maxDocuments) this.forget(this.cache.keys().next().value!);
    return parsed;
  }
}
