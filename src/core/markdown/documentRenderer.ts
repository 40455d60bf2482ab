import MarkdownIt = require('markdown-it');
import hljs from 'highlight.js/lib/common';
import { frontMatterRange, splitChunks, referenceDefinitionLines, scanFootnotes, scanHeadings, scanLabels, type Chunk, type ScannedFootnotes } from './chunker';
import { anchorsFor, mathPlugin, type MathEnv, type MathSink } from './mathPlugin';
import { DEFAULT_LIMITS, KatexEngine, definesMacros, labelsIn, refsIn, refText, type KatexLimits, type LabelNumbers, type MacroTable } from './katexEngine';
import { safeResolve, sanitizerFor } from './sanitize';
import { escapeHtml, hashString } from './html';
import { headingSlug } from './slug';
import { footnoteListHtml, frontMatterHtml, hasTocMarker, noteSyntaxPlugin, uniqueId, type HeadingInfo, type NoteEnv } from './noteSyntax';
import { parseInfo, snippetDomKey } from '../snippets/snippets';

type References = NonNullable<MarkdownIt.Env['references']>;

export interface RenderOptions {
  /** Raw HTML in notes: sanitized (default), or shown as text. */
  readonly html: 'sanitize' | 'text';
  /** User macros, e.g. `{ "\\R": "\\mathbb{R}" }`. */
  readonly macros: Readonly<Record<string, string>>;
  readonly limits: KatexLimits;
  /** Maps a relative image/resource path to a URL the viewer can load; undefined keeps it. */
  readonly resolveResource?: (href: string) => string | undefined;
  /**
   * Render the note as one chunk: the reference the chunked render must equal (tests), and a
   * plain whole-document render where incremental updates don't matter.
   */
  readonly wholeDocument?: boolean;
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = { html: 'sanitize', macros: {}, limits: DEFAULT_LIMITS };

/** A formula KaTeX rejected, at its 0-based document line. */
export interface MathDiagnostic {
  readonly line: number;
  readonly message: string;
  readonly source: string;
}

export interface RenderedChunk {
  /** Stable for identical rendered content at any position; unique within one render. */
  readonly key: string;
  readonly startLine: number;
  readonly lineCount: number;
  /** Block elements carry `data-line` relative to `startLine`. */
  readonly html: string;
}

export interface RenderStats {
  formulas: number;
  katexErrors: number;
  chunks: number;
  chunksRendered: number;
}

export interface RenderedDocument {
  readonly chunks: readonly RenderedChunk[];
  readonly diagnostics: readonly MathDiagnostic[];
  readonly stats: RenderStats;
}

/** Cooperative cancellation, shaped like VS Code's CancellationToken without depending on it. */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
}

export class RenderCancelled extends Error {
  constructor() {
    super('render cancelled');
  }
}

interface ChunkEntry {
  readonly html: string;
  readonly errors: readonly MathDiagnostic[]; // lines relative to the chunk
  readonly formulas: number;
  /** Sources of formulas that define macros, replayed to rebuild macro state. */
  readonly defs: readonly string[];
  /** Labels the chunk defines or references, with the numbers it was rendered with. */
  readonly labelSig: string;
  readonly labelNames: readonly string[];
  /** Footnote definitions in the chunk, rendered (label → HTML), for the list at the end. */
  readonly footnotes?: ReadonlyArray<readonly [string, string]>;
  gen: number;
}

interface FormulaEntry {
  readonly html: string;
  readonly error?: string;
}

const MAX_FORMULA_CACHE = 50_000;
const MAX_MACRO_SNAPSHOTS = 256;
const YIELD_EVERY_MS = 12;

/**
 * Renders a note to chunks of HTML, re-rendering only chunks whose text, macro context,
 * reference definitions or equation numbers changed since the previous call.
 *
 * WARNING: one instance per document. Macro state flows in document order, so a chunk's cache
 * key includes a hash of every macro definition before it.
 */
export class DocumentRenderer {
  private readonly md: MarkdownIt.MarkdownIt;
  private readonly engine: KatexEngine;
  private readonly chunkCache = new Map<string, ChunkEntry>();
  private readonly formulaCache = new Map<string, FormulaEntry>();
  private readonly macroSnapshots = new Map<string, MacroTable>();
  private readonly baseMacroKey: string;
  private readonly clean: (html: string) => string;
  private gen = 0;

  constructor(readonly options: RenderOptions = DEFAULT_RENDER_OPTIONS) {
    this.engine = new KatexEngine(options.limits);
    this.md = new MarkdownIt({
      html: options.html === 'sanitize',
      linkify: true,
      typographer: false,
      highlight: (code, lang) => highlight(code, lang),
    })
      .use(mathPlugin, { lineAttributes: true, engine: this.engine })
      .use(noteSyntaxPlugin, { collectFootnotes: true });
    this.installResourceRules();
    this.installRunnableFences();
    const resolve = options.resolveResource;
    this.clean = sanitizerFor({ resolveResource: resolve ? (href) => resolve(href) : undefined });
    this.baseMacroKey = 'm' + hashString(JSON.stringify(options.macros)).toString(36);
    this.macroSnapshots.set(this.baseMacroKey, { ...options.macros });
  }

  /** Synchronous render (CLI, export, benchmarks). */
  render(text: string): RenderedDocument {
    const it = this.renderSteps(text);
    let r = it.next();
    while (!r.done) r = it.next();
    return r.value;
  }

  /** Render that yields to the event loop every few milliseconds and stops when cancelled. */
  async renderAsync(text: string, token?: CancellationLike): Promise<RenderedDocument> {
    const it = this.renderSteps(text);
    let last = Date.now();
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
      if (Date.now() - last >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        last = Date.now();
        if (token?.isCancellationRequested) throw new RenderCancelled();
      }
    }
  }

  private *renderSteps(text: string): Generator<void, RenderedDocument, void> {
    const gen = ++this.gen;
    text = text.replace(/\r\n?/g, '\n');
    const chunks = this.options.wholeDocument ? [{ startLine: 0, lineCount: text.split('\n').length, text }] : splitChunks(text);
    const refLines = referenceDefinitionLines(text);
    const refsKey = refLines.length ? 'r' + hashString(refLines.join('\n')).toString(36) : '';
    const references = refLines.length ? this.parseReferences(refLines) : undefined;
    const labels = numberLabels(scanLabels(text));
    const context = new DocumentContext(text);

    const out: RenderedChunk[] = [];
    const diagnostics: MathDiagnostic[] = [];
    const stats: RenderStats = { formulas: 0, katexErrors: 0, chunks: chunks.length, chunksRendered: 0 };
    const seen = new Map<string, number>();
    let macroKey = this.baseMacroKey;

    const footnotes = new Map<string, string>();
    for (const chunk of chunks) {
      const note = context.next(chunk);
      const cacheKey = chunk.text + '\u0000' + macroKey + refsKey + note.signature;
      let entry = this.chunkCache.get(cacheKey);
      if (entry && entry.labelSig !== labelSignature(entry.labelNames, labels)) entry = undefined;
      if (!entry) {
        const macros = { ...this.snapshot(macroKey) };
        entry = this.renderChunk(chunk, macros, labels, references, macroKey, note.env);
        this.chunkCache.set(cacheKey, entry);
        stats.chunksRendered++;
        if (entry.defs.length) this.rememberSnapshot(nextMacroKey(macroKey, entry.defs), macros);
      }
      entry.gen = gen;
      if (entry.defs.length) {
        const next = nextMacroKey(macroKey, entry.defs);
        if (!this.macroSnapshots.has(next)) this.rememberSnapshot(next, this.replay(this.snapshot(macroKey), entry.defs));
        macroKey = next;
      }
      const base = 'c' + hashString(cacheKey).toString(36) + entry.labelSig.length.toString(36) + hashString(entry.labelSig).toString(36);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.push({ key: n ? `${base}.${n}` : base, startLine: chunk.startLine, lineCount: chunk.lineCount, html: entry.html });
      for (const e of entry.errors) diagnostics.push({ ...e, line: e.line + chunk.startLine });
      for (const [label, html] of entry.footnotes ?? []) footnotes.set(label, html);
      stats.formulas += entry.formulas;
      stats.katexErrors += entry.errors.length;
      yield;
    }
    // Footnotes are listed once, at the end of the note, as markdown-it-footnote does.
    const list = footnoteListHtml(context.footnoteItems(footnotes));
    if (list) out.push({ key: 'fn' + hashString(list).toString(36), startLine: context.lineCount, lineCount: 0, html: list });
    this.evict(gen);
    return { chunks: out, diagnostics, stats };
  }

  private renderChunk(chunk: Chunk, macros: MacroTable, labels: LabelNumbers, references: References | undefined, macroKey: string, note: NoteEnv): ChunkEntry {
    const errors: MathDiagnostic[] = [];
    const defs: string[] = [];
    const labelNames = new Set<string>();
    let formulas = 0;
    let placeholders: string[] | undefined;
    // Macro state moves on inside the chunk too: a formula after a definition is cached under
    // the key that includes it.
    let formulaKey = macroKey;

    const env: MathEnv & NoteEnv & MarkdownIt.Env = { ...note };
    const sink: MathSink = {
      math: (tex, display, line) => {
        // The table of contents repeats heading formulas: drawn again, counted once.
        if (env.mlnInToc) return this.renderFormula(tex, display, macros, labels, formulaKey, []).html;
        formulas++;
        for (const l of labelsIn(tex)) labelNames.add(l);
        for (const l of refsIn(tex)) labelNames.add(l);
        const r = this.renderFormula(tex, display, macros, labels, formulaKey, defs);
        if (definesMacros(tex)) formulaKey = nextMacroKey(formulaKey, [tex]);
        if (r.error) errors.push({ line, message: r.error, source: tex });
        const html = anchorsFor(tex, display) + r.html;
        if (!placeholders) return html;
        placeholders.push(html);
        return `<mln-math data-i="${placeholders.length - 1}"></mln-math>`;
      },
      ref: (kind, label) => {
        labelNames.add(label);
        return refText(kind, label, labels);
      },
    };
    env.mlnSink = sink;
    if (references) env.references = { ...references };
    let text = chunk.text;
    let front = '';
    const fm = chunk.startLine === 0 ? frontMatterRange(text.split('\n', 2000)) : undefined;
    if (fm) {
      // Front matter is metadata, not a heading: a small table, and blank lines in its place so
      // the lines after it keep their numbers.
      const lines = text.split('\n');
      front = frontMatterHtml(lines.slice(1, fm[1]).join('\n'));
      text = lines.map((l, i) => (i <= fm[1] ? '' : l)).join('\n');
    }
    // Every chunk goes through the sanitizer (plugins' markup too), with math as placeholders.
    placeholders = [];
    const ph = placeholders;
    const finish = (html: string): string => this.clean(html).replace(/<mln-math data-i="(\d+)"><\/mln-math>/g, (_m, i: string) => ph[Number(i)] ?? '');
    const tokens = this.md.parse(text, env);
    const html = front + finish(this.md.renderer.render(tokens, this.md.options, env));
    let footnotes: Array<readonly [string, string]> | undefined;
    if (env.mlnFootnoteDefs?.size) {
      footnotes = [];
      for (const [label, body] of env.mlnFootnoteDefs) {
        // The list sits at the end of the note, far from these lines: no scroll-sync lines.
        footnotes.push([label, finish(this.md.renderer.render(body, this.md.options, env)).replace(/ data-line="\d+"/g, '')]);
      }
    }
    const names = [...labelNames];
    return { html, errors, formulas, defs, labelNames: names, labelSig: labelSignature(names, labels), footnotes, gen: this.gen };
  }

  private renderFormula(tex: string, display: boolean, macros: MacroTable, labels: LabelNumbers, macroKey: string, defs: string[]): FormulaEntry {
    if (definesMacros(tex)) {
      // Must run for its side effect on the macro table, so it never comes from the cache.
      defs.push(tex);
      return this.engine.render(tex, display, macros, labels);
    }
    const refs = tex.includes('ref{') || tex.includes('\\label') ? labelSignature([...labelsIn(tex), ...refsIn(tex)], labels) : '';
    const key = (display ? 'D' : 'I') + macroKey + refs + '\u0000' + tex;
    let r = this.formulaCache.get(key);
    if (!r) {
      r = this.engine.render(tex, display, macros, labels);
      if (this.formulaCache.size >= MAX_FORMULA_CACHE) this.formulaCache.clear();
      this.formulaCache.set(key, r);
    }
    return r;
  }

  private snapshot(key: string): MacroTable {
    const s = this.macroSnapshots.get(key);
    if (!s) throw new Error(`internal: no macro snapshot for ${key}`);
    return s;
  }

  private rememberSnapshot(key: string, table: MacroTable): void {
    if (this.macroSnapshots.size >= MAX_MACRO_SNAPSHOTS) {
      // Chunks keyed by dropped snapshots must re-render: clear both together.
      const base = this.macroSnapshots.get(this.baseMacroKey)!;
      this.macroSnapshots.clear();
      this.macroSnapshots.set(this.baseMacroKey, base);
      this.chunkCache.clear();
    }
    this.macroSnapshots.set(key, { ...table });
  }

  private replay(from: MacroTable, defs: readonly string[]): MacroTable {
    const macros = { ...from };
    for (const d of defs) this.engine.render(d, false, macros, new Map());
    return macros;
  }

  private parseReferences(lines: string[]): References | undefined {
    const env: MarkdownIt.Env = {};
    this.md.parse(lines.join('\n\n'), env);
    return env.references;
  }

  private evict(gen: number): void {
    for (const [k, v] of this.chunkCache) if (v.gen < gen - 1) this.chunkCache.delete(k);
  }

  /** Runnable blocks carry `data-snippet`, so the preview can put their outputs under them. */
  private installRunnableFences(): void {
    const fence = this.md.renderer.rules.fence!;
    this.md.renderer.rules.fence = (tokens, idx, opts, env, slf) => {
      const tok = tokens[idx]!;
      const info = parseInfo(tok.info);
      if (!info.runnable) return fence(tokens, idx, opts, env, slf);
      const body = highlight(tok.content, info.lang) || escapeHtml(tok.content);
      const key = snippetDomKey(info.lang, tok.content, info.attrs['id']);
      return `<pre class="mln-runnable" data-snippet="${escapeHtml(key)}"${slf.renderAttrs(tok)}><code class="hljs language-${escapeHtml(info.lang)}">${body}</code></pre>\n`;
    };
  }

  private installResourceRules(): void {
    const image = this.md.renderer.rules.image!;
    this.md.renderer.rules.image = (tokens, idx, opts, env, slf) => {
      const tok = tokens[idx]!;
      const src = tok.attrGet('src');
      const resolve = this.options.resolveResource;
      const resolved = typeof src === 'string' && resolve ? safeResolve(resolve, src) : undefined;
      if (resolved && typeof src === 'string') {
        tok.attrSet('data-src', src);
        tok.attrSet('src', resolved);
      }
      return image(tokens, idx, opts, env, slf);
    };
  }
}

function nextMacroKey(key: string, defs: readonly string[]): string {
  return 'm' + hashString(defs.join('\u0001'), hashString(key)).toString(36);
}

function numberLabels(names: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) if (!m.has(n)) m.set(n, m.size + 1);
  return m;
}

function labelSignature(names: readonly string[], labels: LabelNumbers): string {
  if (names.length === 0) return '';
  return names.map((n) => `${n}=${labels.get(n) ?? '?'}`).join(',');
}

/**
 * What a chunk needs to know about the rest of the note (heading ids taken before it, the
 * headings for `[TOC]`, footnote numbers), walked in chunk order. `signature` is part of the
 * chunk's cache key and is empty for chunks that depend on none of it.
 */
class DocumentContext {
  readonly lineCount: number;
  private readonly headings: Array<HeadingInfo & { line: number }> = [];
  private readonly tocKey: string;
  private readonly footnotes: ScannedFootnotes;
  private readonly numbers = new Map<string, number>();
  private readonly refsBefore = new Map<string, number>();
  private readonly totalRefs = new Map<string, number>();
  private readonly definedKey: string;
  private hi = 0;
  private fi = 0;
  private readonly slugCounts = new Map<string, number>();

  constructor(text: string) {
    this.lineCount = text.split('\n').length;
    const taken = new Map<string, number>();
    for (const h of scanHeadings(text)) this.headings.push({ ...h, id: uniqueId(headingSlug(h.text), taken) });
    this.tocKey = this.headings.length ? 't' + hashString(JSON.stringify(this.headings.map((h) => [h.level, h.text]))).toString(36) : 't';
    this.footnotes = scanFootnotes(text);
    for (const r of this.footnotes.refs) {
      if (!this.numbers.has(r.label)) this.numbers.set(r.label, this.numbers.size + 1);
      this.totalRefs.set(r.label, (this.totalRefs.get(r.label) ?? 0) + 1);
    }
    this.definedKey = this.footnotes.defined.size ? hashString([...this.footnotes.defined].sort().join('\u0000')).toString(36) : '';
  }

  /** The env and cache-key part for the next chunk (chunks must come in document order). */
  next(chunk: Chunk): { env: NoteEnv; signature: string } {
    const end = chunk.startLine + chunk.lineCount;
    const env: NoteEnv = {};
    let signature = '';
    // Headings in this chunk whose slug an earlier heading already took.
    let before: Map<string, number> | undefined;
    const inChunk = new Set<string>();
    for (; this.hi < this.headings.length && this.headings[this.hi]!.line < end; this.hi++) {
      const slug = headingSlug(this.headings[this.hi]!.text);
      const n = this.slugCounts.get(slug) ?? 0;
      if (n > 0 && !inChunk.has(slug)) (before ??= new Map()).set(slug, n);
      inChunk.add(slug);
      this.slugCounts.set(slug, n + 1);
    }
    if (before) {
      env.mlnHeadingIdsBefore = before;
      signature += '#' + [...before].join(',');
    }
    if (hasTocMarker(chunk.text)) {
      env.mlnHeadings = this.headings;
      signature += this.tocKey;
    }
    if (this.footnotes.defined.size && chunk.text.includes('[^')) {
      const refs = new Map<string, number>();
      for (; this.fi < this.footnotes.refs.length && this.footnotes.refs[this.fi]!.line < end; this.fi++) {
        const label = this.footnotes.refs[this.fi]!.label;
        if (!refs.has(label)) refs.set(label, this.refsBefore.get(label) ?? 0);
        this.refsBefore.set(label, (this.refsBefore.get(label) ?? 0) + 1);
      }
      const nums = new Map([...refs.keys()].map((l) => [l, this.numbers.get(l)!]));
      env.mlnFootnoteNumbers = nums;
      env.mlnFootnoteRefsBefore = refs;
      (env as MarkdownIt.Env)['footnotes'] = { refs: Object.fromEntries([...this.footnotes.defined].map((l) => [':' + l, -1])) };
      signature += 'f' + this.definedKey + JSON.stringify([...refs].map(([l, b]) => [l, nums.get(l), b]));
    }
    return { env, signature };
  }

  /** The footnote list's items: referenced footnotes whose definition was rendered. */
  footnoteItems(defs: ReadonlyMap<string, string>): Array<{ n: number; html: string; refs: number }> {
    const items: Array<{ n: number; html: string; refs: number }> = [];
    for (const [label, n] of this.numbers) {
      const html = defs.get(label);
      if (html !== undefined) items.push({ n, html, refs: this.totalRefs.get(label) ?? 1 });
    }
    return items;
  }
}

function highlight(code: string, lang: string): string {
  if (!lang || !hljs.getLanguage(lang)) return '';
  try {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}

/** The whole document as one HTML string (export, CLI). */
export function joinChunks(doc: RenderedDocument): string {
  return doc.chunks.map((c) => `<div class="mln-chunk" data-line-start="${c.startLine}">${c.html}</div>`).join('\n');
}
