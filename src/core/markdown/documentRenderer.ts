import MarkdownIt = require('markdown-it');
import hljs from 'highlight.js/lib/common';
import { splitChunks, referenceDefinitionLines, type Chunk } from './chunker';
import { numberEquations } from './equationNumbers';
import { anchorsFor, mathPlugin, type MathEnv, type MathSink } from './mathPlugin';
import { DEFAULT_LIMITS, KatexEngine, definesMacros, labelsIn, refsIn, refText, type KatexLimits, type LabelNumbers, type MacroTable } from './katexEngine';
import { sanitize } from './sanitize';
import { escapeHtml, hashString } from './html';
import { headingSlug } from './slug';
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
  private gen = 0;

  constructor(readonly options: RenderOptions = DEFAULT_RENDER_OPTIONS) {
    this.engine = new KatexEngine(options.limits);
    this.md = new MarkdownIt({
      html: options.html === 'sanitize',
      linkify: true,
      typographer: false,
      highlight: (code, lang) => highlight(code, lang),
    }).use(mathPlugin, { lineAttributes: true, engine: this.engine });
    this.installResourceRules();
    this.installRunnableFences();
    // GitHub-style ids on headings so `#anchor` links between notes land.
    this.md.core.ruler.push('mln_heading_ids', (state) => {
      const t = state.tokens;
      for (let i = 0; i < t.length; i++) if (t[i]!.type === 'heading_open' && t[i + 1]) t[i]!.attrSet('id', headingSlug(t[i + 1]!.content));
    });
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
    const chunks = splitChunks(text.replace(/\r\n?/g, '\n'));
    const refLines = referenceDefinitionLines(text);
    const refsKey = refLines.length ? 'r' + hashString(refLines.join('\n')).toString(36) : '';
    const references = refLines.length ? this.parseReferences(refLines) : undefined;
    const labels = numberEquations(text);

    const out: RenderedChunk[] = [];
    const diagnostics: MathDiagnostic[] = [];
    const stats: RenderStats = { formulas: 0, katexErrors: 0, chunks: chunks.length, chunksRendered: 0 };
    const seen = new Map<string, number>();
    let macroKey = this.baseMacroKey;

    for (const chunk of chunks) {
      const cacheKey = chunk.text + '\u0000' + macroKey + refsKey;
      let entry = this.chunkCache.get(cacheKey);
      if (entry && entry.labelSig !== labelSignature(entry.labelNames, labels)) entry = undefined;
      if (!entry) {
        const macros = { ...this.snapshot(macroKey) };
        entry = this.renderChunk(chunk, macros, labels, references, macroKey);
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
      stats.formulas += entry.formulas;
      stats.katexErrors += entry.errors.length;
      yield;
    }
    this.evict(gen);
    return { chunks: out, diagnostics, stats };
  }

  private renderChunk(chunk: Chunk, macros: MacroTable, labels: LabelNumbers, references: References | undefined, macroKey: string): ChunkEntry {
    const errors: MathDiagnostic[] = [];
    const defs: string[] = [];
    const labelNames = new Set<string>();
    let formulas = 0;
    let placeholders: string[] | undefined;
    // Macro state moves on inside the chunk too: a formula after a definition is cached under
    // the key that includes it.
    let formulaKey = macroKey;

    const sink: MathSink = {
      math: (tex, display, line) => {
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
    const env: MathEnv & MarkdownIt.Env = { mlnSink: sink };
    if (references) env.references = { ...references };
    const tokens = this.md.parse(chunk.text, env);
    if (this.options.html === 'sanitize' && hasRawHtml(tokens)) placeholders = [];
    let html = this.md.renderer.render(tokens, this.md.options, env);
    if (placeholders) {
      const ph = placeholders;
      html = sanitize(html).replace(/<mln-math data-i="(\d+)"><\/mln-math>/g, (_m, i: string) => ph[Number(i)] ?? '');
    }
    const names = [...labelNames];
    return { html, errors, formulas, defs, labelNames: names, labelSig: labelSignature(names, labels), gen: this.gen };
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
      const resolved = typeof src === 'string' ? this.options.resolveResource?.(src) : undefined;
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

function hasRawHtml(tokens: readonly MarkdownIt.Token[]): boolean {
  for (const t of tokens) {
    if (t.type === 'html_block' || t.type === 'html_inline') return true;
    if (t.children && hasRawHtml(t.children)) return true;
  }
  return false;
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
