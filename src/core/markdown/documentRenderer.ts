import MarkdownIt = require('markdown-it');
import hljs from 'highlight.js/lib/common';
import { frontMatterRange, splitChunks, referenceDefinitionLines, scanFootnotes, scanHeadings, type Chunk } from './chunker';
import { numberEquations } from './equationNumbers';
import { anchorsFor, mathPlugin, type MathEnv, type MathSink } from './mathPlugin';
import { DEFAULT_LIMITS, KatexEngine, definesMacros, labelsIn, refsIn, refText, type KatexLimits, type LabelNumbers, type MacroTable } from './katexEngine';
import { randomBytes } from 'node:crypto';
import { TRUST_ATTRIBUTE, safeResolve, sanitizerFor } from './sanitize';
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
  /**
   * Stable for identical rendered content at any position while this renderer keeps it cached;
   * unique within one render, and never shared by different content of two renderers.
   */
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
  /** Slugs of the chunk's headings before de-duplication, in order. */
  readonly headingSlugs: readonly string[];
  /** Footnotes the chunk references, in first-reference order, with reference counts. */
  readonly footnoteRefs: ReadonlyArray<readonly [string, number]>;
  /** Heading ids and footnote numbers taken before the chunk, as it was rendered with them. */
  readonly noteSig: string;
  gen: number;
}

interface FormulaEntry {
  readonly html: string;
  readonly error?: string;
}

const MAX_FORMULA_CACHE = 50_000;
const MAX_MACRO_SNAPSHOTS = 256;
const YIELD_EVERY_MS = 12;
let nextTextId = 0;

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
  /** Per chunk text: the headings and footnote references its last parse found. */
  private readonly shapes = new Map<string, ChunkEntry>();
  private readonly textIds = new Map<string, { id: string; gen: number }>();
  private readonly formulaCache = new Map<string, FormulaEntry>();
  private readonly macroSnapshots = new Map<string, MacroTable>();
  private readonly baseMacroKey: string;
  private readonly clean: (html: string) => string;
  /** Marks this renderer's own runnable blocks through the sanitizer; a note cannot guess it. */
  private readonly trustMark = randomBytes(16).toString('hex');
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
    this.clean = sanitizerFor({ resolveResource: resolve ? (href) => resolve(href) : undefined, trustMark: this.trustMark });
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
    const labels = numberEquations(text);
    const context = new DocumentContext(text);

    const out: RenderedChunk[] = [];
    const diagnostics: MathDiagnostic[] = [];
    const stats: RenderStats = { formulas: 0, katexErrors: 0, chunks: chunks.length, chunksRendered: 0 };
    const seen = new Map<string, number>();
    let macroKey = this.baseMacroKey;

    const footnotes = new Map<string, string>();
    for (const chunk of chunks) {
      const cacheKey = this.textId(chunk.text, gen) + '\u0000' + macroKey + refsKey + context.keyFor(chunk);
      // The same text can render differently at two places (a repeated heading gets `-1`): the
      // cache is keyed by what the chunk takes from before too, known from its last parse.
      const shape = this.shapes.get(cacheKey);
      let entry = shape ? this.chunkCache.get(cacheKey + '\u0001' + context.signature(shape.headingSlugs, shape.footnoteRefs)) : undefined;
      if (entry && entry.labelSig !== labelSignature(entry.labelNames, labels)) entry = undefined;
      if (!entry) {
        const macros = { ...this.snapshot(macroKey) };
        entry = this.renderChunk(chunk, macros, labels, references, macroKey, context);
        this.chunkCache.set(cacheKey + '\u0001' + entry.noteSig, entry);
        this.shapes.set(cacheKey, entry);
        stats.chunksRendered++;
        if (entry.defs.length) this.rememberSnapshot(nextMacroKey(macroKey, entry.defs), macros);
      }
      entry.gen = gen;
      if (entry.defs.length) {
        const next = nextMacroKey(macroKey, entry.defs);
        if (!this.macroSnapshots.has(next)) this.rememberSnapshot(next, this.replay(this.snapshot(macroKey), entry.defs));
        macroKey = next;
      }
      context.advance(entry.headingSlugs, entry.footnoteRefs);
      const sig = entry.labelSig + '\u0000' + entry.noteSig;
      const base = 'c' + hashString(cacheKey).toString(36) + sig.length.toString(36) + hashString(sig).toString(36);
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

  private renderChunk(chunk: Chunk, macros: MacroTable, labels: LabelNumbers, references: References | undefined, macroKey: string, context: DocumentContext): ChunkEntry {
    const errors: MathDiagnostic[] = [];
    const defs: string[] = [];
    const labelNames = new Set<string>();
    let formulas = 0;
    // Every chunk goes through the sanitizer (plugins' markup too), with math as placeholders.
    const placeholders: string[] = [];
    // Macro state moves on inside the chunk too: a formula after a definition is cached under
    // the key that includes it.
    let formulaKey = macroKey;

    const env: MathEnv & NoteEnv & MarkdownIt.Env = context.envFor(chunk);
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
    const finish = (html: string): string => this.clean(html).replace(/<mln-math data-i="(\d+)"><\/mln-math>/g, (_m, i: string) => placeholders[Number(i)] ?? '');
    const tokens = this.md.parse(text, env);
    // What the chunk takes from the rest of the note is known once it is parsed: its headings'
    // slugs and its footnote references (markdown-it-footnote's list, in reference order).
    const headingSlugs = env.mlnHeadingSlugs ?? [];
    const fnList = ((env as MarkdownIt.Env)['footnotes'] as { list?: Array<{ label?: string; count: number }> } | undefined)?.list ?? [];
    const footnoteRefs = fnList.filter((f) => f.label !== undefined).map((f) => [f.label!, f.count] as const);
    context.numberFootnotes(env, footnoteRefs);
    const noteSig = context.signature(headingSlugs, footnoteRefs);
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
    return { html, errors, formulas, defs, labelNames: names, labelSig: labelSignature(names, labels), footnotes, headingSlugs, footnoteRefs, noteSig, gen: this.gen };
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
      this.shapes.clear();
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

  /**
   * A short id for a chunk's text, so cache keys and chunk keys are built and hashed from a few
   * characters instead of the text (every chunk, on every keystroke). Ids come from one counter
   * shared by every renderer and are never reused: two texts never share an id, in this renderer
   * or another one feeding the same preview; a text evicted and seen again gets a new one (its
   * chunk is re-rendered anyway, its cache entries having gone with it).
   */
  private textId(text: string, gen: number): string {
    let e = this.textIds.get(text);
    if (!e) this.textIds.set(text, (e = { id: (nextTextId++).toString(36), gen }));
    e.gen = gen;
    return e.id;
  }

  private evict(gen: number): void {
    for (const [k, v] of this.textIds) if (v.gen < gen - 1) this.textIds.delete(k);
    for (const [k, v] of this.chunkCache) if (v.gen < gen - 1) this.chunkCache.delete(k);
    for (const [k, v] of this.shapes) if (v.gen < gen - 1) this.shapes.delete(k);
  }

  /**
   * Runnable blocks carry `data-snippet`, so the preview can put their outputs under them. The
   * trust mark lets it through the sanitizer, which strips it from a note's raw HTML.
   */
  private installRunnableFences(): void {
    const fence = this.md.renderer.rules.fence!;
    this.md.renderer.rules.fence = (tokens, idx, opts, env, slf) => {
      const tok = tokens[idx]!;
      const info = parseInfo(tok.info);
      if (!info.runnable) return fence(tokens, idx, opts, env, slf);
      const body = highlight(tok.content, info.lang) || escapeHtml(tok.content);
      const key = snippetDomKey(info.lang, tok.content, info.attrs['id']);
      return `<pre class="mln-runnable" ${TRUST_ATTRIBUTE}="${this.trustMark}" data-snippet="${escapeHtml(key)}"${slf.renderAttrs(tok)}><code class="hljs language-${escapeHtml(info.lang)}">${body}</code></pre>\n`;
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

function labelSignature(names: readonly string[], labels: LabelNumbers): string {
  if (names.length === 0) return '';
  return names.map((n) => `${n}=${labels.get(n) ?? '?'}`).join(',');
}

/**
 * What a chunk needs from the rest of the note, walked in chunk order: the headings for
 * `[TOC]` and which footnotes are defined (both scanned from the text, since the chunk may come
 * first), and heading ids and footnote numbers taken by earlier chunks (from their parses, so
 * they match a single markdown-it pass exactly). Like equation labels, a cached chunk is reused
 * only if what it took from before is unchanged (`signature`).
 */
class DocumentContext {
  readonly lineCount: number;
  private readonly headings: HeadingInfo[] = [];
  private readonly tocKey: string;
  private readonly defined: ReadonlySet<string>;
  private readonly definedKey: string;
  /** Headings so far, by slug (the next duplicate's suffix). */
  private readonly slugCounts = new Map<string, number>();
  /** Footnote numbers so far, and references so far, by label. */
  private readonly fnNumbers = new Map<string, number>();
  private readonly fnCounts = new Map<string, number>();

  constructor(text: string) {
    this.lineCount = text.split('\n').length;
    const taken = new Map<string, number>();
    for (const h of scanHeadings(text)) this.headings.push({ level: h.level, text: h.text, id: uniqueId(headingSlug(h.text), taken) });
    this.tocKey = 't' + hashString(JSON.stringify(this.headings.map((h) => [h.level, h.text]))).toString(36);
    this.defined = scanFootnotes(text).defined;
    this.definedKey = this.defined.size ? 'f' + hashString([...this.defined].sort().join('\u0000')).toString(36) : '';
  }

  /** Cache-key part for what the chunk's text alone cannot tell: the TOC, the defined footnotes. */
  keyFor(chunk: Chunk): string {
    return (hasTocMarker(chunk.text) ? this.tocKey : '') + (this.definedKey && chunk.text.includes('[^') ? this.definedKey : '');
  }

  envFor(chunk: Chunk): NoteEnv & MarkdownIt.Env {
    const env: NoteEnv & MarkdownIt.Env = { mlnHeadingIdsBefore: this.slugCounts };
    if (hasTocMarker(chunk.text)) env.mlnHeadings = this.headings;
    if (this.defined.size && chunk.text.includes('[^')) env['footnotes'] = { refs: Object.fromEntries([...this.defined].map((l) => [':' + l, -1])) };
    return env;
  }

  /** Global numbers for the chunk's footnotes: earlier ones keep theirs, new ones follow. */
  numberFootnotes(env: NoteEnv, refs: ReadonlyArray<readonly [string, number]>): void {
    if (refs.length === 0) return;
    const numbers = new Map<string, number>();
    const before = new Map<string, number>();
    let next = this.fnNumbers.size + 1;
    for (const [label] of refs) {
      numbers.set(label, this.fnNumbers.get(label) ?? next++);
      before.set(label, this.fnCounts.get(label) ?? 0);
    }
    env.mlnFootnoteNumbers = numbers;
    env.mlnFootnoteRefsBefore = before;
  }

  signature(slugs: readonly string[], refs: ReadonlyArray<readonly [string, number]>): string {
    let sig = '';
    for (const slug of new Set(slugs)) {
      const n = this.slugCounts.get(slug);
      if (n) sig += `#${slug}=${n}`;
    }
    if (refs.length) sig += '^' + this.fnNumbers.size + JSON.stringify(refs.map(([l]) => [l, this.fnNumbers.get(l) ?? 0, this.fnCounts.get(l) ?? 0]));
    return sig;
  }

  advance(slugs: readonly string[], refs: ReadonlyArray<readonly [string, number]>): void {
    for (const slug of slugs) this.slugCounts.set(slug, (this.slugCounts.get(slug) ?? 0) + 1);
    for (const [label, count] of refs) {
      if (!this.fnNumbers.has(label)) this.fnNumbers.set(label, this.fnNumbers.size + 1);
      this.fnCounts.set(label, (this.fnCounts.get(label) ?? 0) + count);
    }
  }

  /** The footnote list's items: referenced footnotes whose definition was rendered. */
  footnoteItems(defs: ReadonlyMap<string, string>): Array<{ n: number; html: string; refs: number }> {
    const items: Array<{ n: number; html: string; refs: number }> = [];
    for (const [label, n] of this.fnNumbers) {
      const html = defs.get(label);
      if (html !== undefined) items.push({ n, html, refs: this.fnCounts.get(label) ?? 1 });
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
