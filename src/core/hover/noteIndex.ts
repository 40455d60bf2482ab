import { createHash } from 'node:crypto';
import type { KnowledgeBase } from '../kb/knowledgeBase';
import type { KbEntry } from '../kb/types';
import { noteShape } from './noteShape';
import { outlineNote, type NoteHeading, type NoteOutline } from './noteOutline';
import type { PythonParser } from './pythonParser';
import { PythonProgram, programMentions } from './pythonResolver';
import { BlockScopes } from './pythonScopes';
import { TsProgram } from './tsResolver';

/** A place in a note where an API is discussed. */
export interface NoteLink {
  /** The note's key as given to `update` (a URI string in the extension, a path in the CLI). */
  note: string;
  /** The note's title (its first level-1 heading without Markdown, else its file name). */
  title: string;
  /** The section's heading, numbering removed; undefined for the note as a whole. */
  section?: string;
  /** 0-based line of that heading (0 for the whole note). */
  line: number;
}

interface Section {
  text: string;
  line: number;
}

interface Mention {
  /** Section whose heading names the API, if any (-1: the title). */
  heading?: number;
  /** Code mentions per section (-1: before the first section heading). */
  counts: Map<number, number>;
}

interface IndexedNote {
  title: string;
  sections: Section[];
  mentions: Map<string, Mention>;
  /** `noteShape` of the indexed text: equal means nothing to do. */
  shape: string;
  /** Digest of what `mentions` were computed from (see `layout`): equal means only lines moved. */
  code: string;
  fallbackTitle: string;
}

/** What `update` had to do: nothing, renumber titles and sections, or read the code again. */
export type NoteUpdate = 'unchanged' | 'sections' | 'indexed';

/** A note's headings and code blocks as the index reads them, before any code is parsed. */
interface Layout {
  outline: NoteOutline;
  h1: NoteHeading | undefined;
  sectionHeadings: NoteHeading[];
  sections: Section[];
  /** Section (index into `sections`, -1 before the first) of each Python and each TS block. */
  blockSections: number[];
  tsBlockSections: number[];
  /** Digest of everything `mentions` depend on: block texts and sections, headings' code spans. */
  code: string;
}

/** Names readers use for modules without importing them in the prose: `nn.Conv2d`, `F.relu`. */
export const CONVENTIONAL: Record<string, string> = {
  torch: 'torch', nn: 'torch.nn', F: 'torch.nn.functional', tf: 'tensorflow', dist: 'torch.distributed',
  optim: 'torch.optim', functools: 'functools', DDP: 'torch.nn.parallel.DistributedDataParallel',
};

/** Plain text of a heading: no code ticks, emphasis, links or leading section numbers. */
export function headingText(raw: string): string {
  return raw
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/^\d+(\.\d+)*\.?\s+/, '')
    .trim();
}

/**
 * Which notes talk about which APIs: the APIs their Python blocks use (resolved through the
 * blocks' imports, as hovers are) and the ones their headings name in code spans.
 * Updated one note at a time, so a change re-indexes only that note.
 */
export class NoteIndex {
  private readonly notes = new Map<string, IndexedNote>();
  /** entry name → notes mentioning it. */
  private readonly byEntry = new Map<string, Set<string>>();

  constructor(private readonly parser: PythonParser, private readonly kb: KnowledgeBase) {}

  get size(): number {
    return this.notes.size;
  }

  /**
   * Indexes `text` as the note's new content. Parsing a note's code is the expensive part, so it
   * happens only when the code or the headings changed: a note whose shape is unchanged (prose
   * typed inside a paragraph) costs a line scan, and one whose blocks and headings only moved or
   * were renamed gets new section lines and titles without its code being read again.
   */
  update(note: string, text: string, fallbackTitle = note): NoteUpdate {
    const old = this.notes.get(note);
    const shape = noteShape(text);
    if (old && old.shape === shape && old.fallbackTitle === fallbackTitle) return 'unchanged';
    const layout = this.layout(outlineNote(text));
    const title = layout.h1 ? headingText(layout.h1.text) : fallbackTitle;
    if (old && old.code === layout.code) {
      Object.assign(old, { title, sections: layout.sections, shape, fallbackTitle });
      return 'sections';
    }
    this.remove(note);
    const indexed: IndexedNote = { title, sections: layout.sections, mentions: this.mentions(layout), shape, code: layout.code, fallbackTitle };
    this.notes.set(note, indexed);
    for (const name of indexed.mentions.keys()) {
      let set = this.byEntry.get(name);
      if (!set) this.byEntry.set(name, (set = new Set()));
      set.add(note);
    }
    return 'indexed';
  }

  /** What the index holds for a note, as plain data (for tests and diagnostics). */
  entry(note: string): { title: string; sections: Section[]; mentions: [string, number | undefined, [number, number][]][] } | undefined {
    const n = this.notes.get(note);
    if (!n) return undefined;
    const mentions = [...n.mentions].map(([name, m]): [string, number | undefined, [number, number][]] => [name, m.heading, [...m.counts].sort((a, b) => a[0] - b[0])]);
    return { title: n.title, sections: n.sections, mentions: mentions.sort((a, b) => a[0].localeCompare(b[0])) };
  }

  remove(note: string): void {
    const old = this.notes.get(note);
    if (!old) return;
    this.notes.delete(note);
    for (const name of old.mentions.keys()) this.byEntry.get(name)?.delete(note);
  }

  /**
   * Notes about `entry`, best first: those naming it in a heading, then by how often their code
   * uses it. Only curated entries are indexed; a hover without one (undefined) links to none.
   */
  linksFor(entry: KbEntry | undefined, limit = 5): NoteLink[] {
    if (!entry) return [];
    const found: { link: NoteLink; score: number }[] = [];
    for (const key of this.byEntry.get(entry.name) ?? []) {
      const n = this.notes.get(key)!;
      const m = n.mentions.get(entry.name)!;
      let section = m.heading;
      let total = 0;
      if (section === undefined) {
        let best = -1;
        for (const [s, c] of m.counts) {
          total += c;
          if (c > best || (c === best && s < section!)) {
            best = c;
            section = s;
          }
        }
      }
      const sec = section !== undefined && section >= 0 ? n.sections[section] : undefined;
      found.push({
        link: { note: key, title: n.title, ...(sec ? { section: sec.text } : {}), line: sec?.line ?? 0 },
        score: m.heading !== undefined ? 1e6 : total,
      });
    }
    found.sort((a, b) => b.score - a.score || a.link.title.localeCompare(b.link.title));
    return found.slice(0, limit).map((f) => f.link);
  }

  private layout(outline: NoteOutline): Layout {
    const h1 = outline.headings.find((h) => h.level === 1);
    const sectionHeadings = outline.headings.filter((h) => h !== h1);
    const sections = sectionHeadings.map((h) => ({ text: headingText(h.text), line: h.line }));
    const sectionOf = (line: number): number => {
      let s = -1;
      for (let i = 0; i < sections.length && sections[i]!.line <= line; i++) s = i;
      return s;
    };
    const blockSections = outline.blocks.map((b) => sectionOf(b.firstLine));
    const tsBlockSections = outline.tsBlocks.map((b) => sectionOf(b.firstLine));
    const code = createHash('sha1').update(JSON.stringify([
      outline.blocks.map((b, i) => [b.text, blockSections[i]]),
      outline.tsBlocks.map((b, i) => [b.text, tsBlockSections[i]]),
      [h1, ...sectionHeadings].map((h) => (h ? [...h.text.matchAll(/`([^`]+)`/g)].map((m) => m[1]) : [])),
    ])).digest('base64');
    return { outline, h1, sectionHeadings, sections, blockSections, tsBlockSections, code };
  }

  /** Which curated entries the note's code and headings mention, per section. */
  private mentions({ outline, h1, sectionHeadings, blockSections, tsBlockSections }: Layout): Map<string, Mention> {
    const mentions = new Map<string, Mention>();
    const mention = (name: string): Mention => {
      let m = mentions.get(name);
      if (!m) mentions.set(name, (m = { counts: new Map() }));
      return m;
    };

    const blocks: BlockScopes[] = [];
    try {
      outline.blocks.forEach((b, i) => blocks.push(new BlockScopes(this.parser.parse(b.text), i)));
      const program = new PythonProgram(blocks, this.kb);
      for (const { entry, block } of programMentions(program, this.kb)) {
        const m = mention(entry.name);
        const s = blockSections[block]!;
        m.counts.set(s, (m.counts.get(s) ?? 0) + 1);
      }
      // TypeScript blocks count too (a note's tfjs code links to `tf.tidy`'s hover).
      for (const { entry, block } of new TsProgram(outline.tsBlocks.map((b) => b.text), this.kb).mentions()) {
        const m = mention(entry.name);
        const s = tsBlockSections[block]!;
        m.counts.set(s, (m.counts.get(s) ?? 0) + 1);
      }
      const headed = h1 ? [{ h: h1, index: -1 }] : [];
      sectionHeadings.forEach((h, index) => headed.push({ h, index }));
      for (const { h, index } of headed) {
        for (const span of h.text.matchAll(/`([^`]+)`/g)) {
          const entry = this.headingEntry(span[1]!, program);
          if (entry) {
            const m = mention(entry.name);
            if (m.heading === undefined) m.heading = index;
          }
        }
      }
    } finally {
      for (const b of blocks) b.dispose();
    }
    return mentions;
  }

  /** The entry a heading's code span names: `F.conv2d`, `torch.no_grad()`, `@tf_export`, `detach()`. */
  private headingEntry(span: string, program: PythonProgram): KbEntry | undefined {
    const m = /^@?([A-Za-z_][\w.]*)(\(.*\))?$/.exec(span.trim());
    if (!m) return undefined;
    const parts = m[1]!.split('.').filter(Boolean);
    if (parts.length > 1 || m[2] === undefined) {
      const qualified = program.qualifyAtEnd(parts);
      const viaImports = qualified ? this.kb.get(qualified) : undefined;
      if (viaImports) return viaImports;
      const conventional = CONVENTIONAL[parts[0]!];
      if (conventional && parts.length > 1) {
        const e = this.kb.get([conventional, ...parts.slice(1)].join('.'));
        if (e) return e;
      }
    }
    if (parts.length === 1) return this.kb.member(parts[0]!) ?? this.kb.byLastSegment(parts[0]!);
    return undefined;
  }
}
