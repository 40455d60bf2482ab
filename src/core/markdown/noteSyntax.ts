import MarkdownIt = require('markdown-it');
import footnotePlugin = require('markdown-it-footnote');
import taskListsPlugin = require('markdown-it-task-lists');
import markPlugin = require('markdown-it-mark');
import { escapeHtml } from './html';
import { headingSlug } from './slug';

type Token = MarkdownIt.Token;
type StateCore = MarkdownIt.StateCore;

/** A heading of the whole note, for `[TOC]` and unique ids. */
export interface HeadingInfo {
  readonly level: number;
  /** Markdown source of the heading text. */
  readonly text: string;
  readonly id: string;
}

/**
 * Document-wide facts a chunk needs to render as it would inside the whole note. The document
 * renderer fills this from a scan of the note; without it (VS Code's built-in preview, one
 * markdown-it pass over the whole note) everything is computed from the pass itself.
 */
export interface NoteEnv {
  /** Headings before this chunk by slug, with their counts (read only). */
  mlnHeadingIdsBefore?: ReadonlyMap<string, number>;
  /** Out: the slugs of this parse's headings, before de-duplication. */
  mlnHeadingSlugs?: string[];
  /** Every heading of the note, for `[TOC]`. */
  mlnHeadings?: readonly HeadingInfo[];
  /** Footnote number by label, in order of first reference in the whole note. */
  mlnFootnoteNumbers?: ReadonlyMap<string, number>;
  /** References to each footnote before this chunk (so back-link ids stay unique). */
  mlnFootnoteRefsBefore?: ReadonlyMap<string, number>;
  /** Footnote definitions of this chunk, pulled out of its token stream (label → tokens). */
  mlnFootnoteDefs?: Map<string, Token[]>;
  /** Set while the table of contents renders heading text, so formulas are not counted twice. */
  mlnInToc?: boolean;
}

export interface NoteSyntaxOptions {
  /**
   * Footnote definitions are moved out of the chunk into `env.mlnFootnoteDefs` (the document
   * renderer draws the footnote list once, at the end of the note), instead of markdown-it-
   * footnote's list at the end of each parse.
   */
  readonly collectFootnotes?: boolean;
  /** Give headings GitHub-style unique ids (off where the host has its own, as VS Code's preview). */
  readonly headingIds?: boolean;
}

/**
 * The Markdown that notes written for GitHub, Obsidian and Typora use, on top of CommonMark:
 * footnotes, task lists, `==mark==`, GitHub alerts and Obsidian callouts, `[TOC]`, mermaid
 * fences, unique heading ids, and Chinese soft line breaks that join without a space.
 * Everything here produces markup from escaped text; the renderer still sanitizes the result.
 */
export function noteSyntaxPlugin(md: MarkdownIt.MarkdownIt, options: NoteSyntaxOptions = {}): void {
  md.use(footnotePlugin);
  // Inline footnotes (`^[text]`) would be numbered per chunk; notes hardly use them.
  md.inline.ruler.disable('footnote_inline');
  md.use(taskListsPlugin);
  md.use(markPlugin);
  md.core.ruler.push('mln_cjk_breaks', cjkBreakRule);
  installFootnoteNumbers(md, options);
  md.core.ruler.after('block', 'mln_callouts', calloutRule);
  md.core.ruler.after('block', 'mln_toc', tocRule);
  if (options.headingIds !== false) md.core.ruler.push('mln_heading_ids', headingIdRule);
  else md.core.ruler.push('mln_toc_headings', (state) => {
    const env = state.env as NoteEnv;
    if (!env.mlnHeadings && state.tokens.some((x) => x.type === 'mln_toc')) env.mlnHeadings = headingsOf(state.tokens);
  });
  md.core.ruler.push('mln_nobr_punct', punctuationRule);
  installRenderers(md);
}

// --- footnotes ------------------------------------------------------------------------------

function footnoteNumber(env: NoteEnv, tok: Token): number {
  const meta = tok.meta as { id: number; label?: string };
  const n = meta.label !== undefined ? env.mlnFootnoteNumbers?.get(meta.label) : undefined;
  return n ?? meta.id + 1;
}

function installFootnoteNumbers(md: MarkdownIt.MarkdownIt, options: NoteSyntaxOptions): void {
  const rules = md.renderer.rules;
  rules['footnote_anchor_name'] = (tokens, idx, _o, env) => String(footnoteNumber(env as NoteEnv, tokens[idx]!));
  rules['footnote_ref'] = (tokens, idx, _o, rawEnv) => {
    const env = rawEnv as NoteEnv;
    const tok = tokens[idx]!;
    const meta = tok.meta as { subId: number; label: string };
    const n = footnoteNumber(env, tok);
    const sub = meta.subId + (env.mlnFootnoteRefsBefore?.get(meta.label) ?? 0);
    const refId = sub > 0 ? `${n}:${sub}` : String(n);
    return `<sup class="footnote-ref"><a href="#fn${n}" id="fnref${refId}">[${n}${sub > 0 ? ':' + sub : ''}]</a></sup>`;
  };
  if (!options.collectFootnotes) return;
  md.core.ruler.at('footnote_tail', (state) => {
    const env = state.env as NoteEnv;
    if (!state.tokens.some((t) => t.type === 'footnote_reference_open')) return;
    const defs = (env.mlnFootnoteDefs ??= new Map());
    const kept: Token[] = [];
    let current: Token[] | undefined;
    for (const tok of state.tokens) {
      if (tok.type === 'footnote_reference_open') {
        current = [];
        defs.set((tok.meta as { label: string }).label, current);
      } else if (tok.type === 'footnote_reference_close') {
        current = undefined;
      } else if (current) {
        current.push(tok);
      } else {
        kept.push(tok);
      }
    }
    state.tokens = kept;
  });
}

/**
 * The footnote list at the end of a note, in markdown-it-footnote's markup: one item per
 * referenced footnote in number order, with one back-link per reference.
 */
export function footnoteListHtml(items: ReadonlyArray<{ n: number; html: string; refs: number }>): string {
  if (items.length === 0) return '';
  let out = '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n';
  for (const { n, html, refs } of [...items].sort((a, b) => a.n - b.n)) {
    let back = '';
    for (let j = 0; j < Math.max(1, refs); j++) back += ` <a href="#fnref${j > 0 ? `${n}:${j}` : n}" class="footnote-backref">\u21a9\uFE0E</a>`;
    const body = html.endsWith('</p>\n') ? html.slice(0, -5) + back + '</p>\n' : html + back;
    out += `<li id="fn${n}" class="footnote-item">${body}</li>\n`;
  }
  return out + '</ol>\n</section>\n';
}

// --- callouts -------------------------------------------------------------------------------

const CALLOUT = /^\[!([A-Za-z][\w-]*)\]([+-]?)[ \t]*([^\n]*)/;
const CALLOUT_ALIASES: Record<string, string> = {
  summary: 'abstract', tldr: 'abstract', hint: 'tip', check: 'success', done: 'success', help: 'question',
  faq: 'question', caution: 'caution', attention: 'warning', fail: 'failure', missing: 'failure', error: 'danger', cite: 'quote',
};

/**
 * GitHub alerts (`> [!NOTE]`) and Obsidian callouts (`> [!tip] 标题`, `> [!faq]-` folded): a
 * blockquote whose first line is a marker becomes a titled box. The title is a normal inline
 * token, so math in it renders like anywhere else. Nested quotes are matched by depth.
 */
function calloutRule(state: StateCore): void {
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const open = tokens[i]!;
    if (open.type !== 'blockquote_open') continue;
    const para = tokens[i + 1];
    const inline = tokens[i + 2];
    if (para?.type !== 'paragraph_open' || inline?.type !== 'inline') continue;
    const m = CALLOUT.exec(inline.content);
    if (!m) continue;
    let depth = 0;
    let close = -1;
    for (let j = i; j < tokens.length; j++) {
      if (tokens[j]!.type === 'blockquote_open') depth++;
      else if (tokens[j]!.type === 'blockquote_close' && --depth === 0) {
        close = j;
        break;
      }
    }
    if (close < 0) continue;
    const raw = m[1]!.toLowerCase();
    const kind = CALLOUT_ALIASES[raw] ?? raw;
    open.type = 'mln_callout_open';
    open.tag = 'div';
    open.meta = { kind, fold: m[2] };
    tokens[close]!.type = 'mln_callout_close';
    tokens[close]!.tag = 'div';
    const titleText = m[3]!.trim() || raw.charAt(0).toUpperCase() + raw.slice(1);
    const title = new state.Token('inline', '', 0);
    title.content = titleText;
    title.map = inline.map;
    title.children = [];
    const titleOpen = new state.Token('mln_callout_title_open', 'p', 1);
    titleOpen.block = true;
    const titleClose = new state.Token('mln_callout_title_close', 'p', -1);
    titleClose.block = true;
    const rest = inline.content.slice(m[0].length).replace(/^\n/, '');
    if (rest.trim() === '') {
      // The marker line was the whole paragraph: the title replaces it.
      tokens.splice(i + 1, 3, titleOpen, title, titleClose);
    } else {
      inline.content = rest;
      if (inline.map) inline.map = [inline.map[0] + 1, inline.map[1]];
      if (para.map) para.map = [para.map[0] + 1, para.map[1]];
      tokens.splice(i + 1, 0, titleOpen, title, titleClose);
    }
  }
}

// --- table of contents ----------------------------------------------------------------------

const TOC_MARKER = /^\[(?:\[toc\]|toc)\]$/i;

/** Whether a chunk's text holds a `[TOC]` line (its render depends on every heading). */
export function hasTocMarker(text: string): boolean {
  return /^ {0,3}\[(?:\[toc\]|toc)\][ \t]*$/im.test(text);
}

function tocRule(state: StateCore): void {
  const tokens = state.tokens;
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (tokens[i]!.type === 'paragraph_open' && tokens[i + 1]!.type === 'inline' && TOC_MARKER.test(tokens[i + 1]!.content.trim()) && tokens[i + 2]!.type === 'paragraph_close') {
      const toc = new state.Token('mln_toc', 'nav', 0);
      toc.block = true;
      toc.map = tokens[i]!.map;
      tokens.splice(i, 3, toc);
    }
  }
}

/** Headings of a whole parse (the built-in preview's case, where there is no scan). */
function headingsOf(tokens: readonly Token[]): HeadingInfo[] {
  const out: HeadingInfo[] = [];
  const taken = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.type === 'heading_open' && tokens[i]!.level === 0) {
      const text = tokens[i + 1]?.content ?? '';
      out.push({ level: Number(tokens[i]!.tag.slice(1)), text, id: uniqueId(headingSlug(text), taken) });
    }
  }
  return out;
}

// --- heading ids ----------------------------------------------------------------------------

/** GitHub's scheme: the second `a` heading is `a-1`, the third `a-2`. */
export function uniqueId(slug: string, taken: Map<string, number>): string {
  const n = taken.get(slug) ?? 0;
  taken.set(slug, n + 1);
  return n === 0 ? slug : `${slug}-${n}`;
}

function headingIdRule(state: StateCore): void {
  const env = state.env as NoteEnv;
  const before = env.mlnHeadingIdsBefore;
  const local = new Map<string, number>();
  const slugs: string[] = [];
  const t = state.tokens;
  for (let i = 0; i < t.length; i++) {
    if (t[i]!.type !== 'heading_open' || !t[i + 1]) continue;
    const slug = headingSlug(t[i + 1]!.content);
    slugs.push(slug);
    const n = (before?.get(slug) ?? 0) + (local.get(slug) ?? 0);
    local.set(slug, (local.get(slug) ?? 0) + 1);
    t[i]!.attrSet('id', n === 0 ? slug : `${slug}-${n}`);
  }
  if (!state.inlineMode) env.mlnHeadingSlugs = slugs;
  if (!env.mlnHeadings && t.some((x) => x.type === 'mln_toc')) env.mlnHeadings = headingsOf(t);
}

// --- Chinese soft line breaks ---------------------------------------------------------------

/** Han, kana and CJK/full-width punctuation: wide characters that join without a space. */
const WIDE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303f\uff00-\uffef\u2e80-\u2eff\u31c0-\u31ef]/u;

/**
 * A source line break between two Chinese characters renders as nothing instead of a space
 * (as in Typora, Obsidian and markdown-it-cjk-breaks, whose rule this follows; that plugin
 * throws on the empty text tokens other rules leave, so this is its rule over adjacent tokens).
 * Hangul is left alone: Korean puts spaces between words.
 */
function cjkBreakRule(state: StateCore): void {
  for (const block of state.tokens) {
    const ch = block.children;
    if (block.type !== 'inline' || !ch) continue;
    for (let i = 1; i + 1 < ch.length; i++) {
      if (ch[i]!.type !== 'softbreak') continue;
      const before = ch[i - 1]!;
      const after = ch[i + 1]!;
      if (before.type !== 'text' || after.type !== 'text' || !before.content || !after.content) continue;
      const last = String.fromCodePoint(before.content.codePointAt(before.content.length - 1)!);
      const lastChar = /[\udc00-\udfff]/.test(last) ? before.content.slice(-2) : last;
      const first = String.fromCodePoint(after.content.codePointAt(0)!);
      if (WIDE.test(lastChar) && WIDE.test(first)) {
        ch[i]!.type = 'text';
        ch[i]!.content = '';
      }
    }
  }
}

// --- CJK punctuation after inline math -------------------------------------------------------

/** Closing punctuation that must not start a line: kept with the formula before it. */
const CLOSING_PUNCT = /^[，。、；：！？）》」』】〉”’…,.;:!?)\]]+/;

function punctuationRule(state: StateCore): void {
  for (const block of state.tokens) {
    const ch = block.children;
    if (block.type !== 'inline' || !ch) continue;
    for (let i = 0; i + 1 < ch.length; i++) {
      if (ch[i]!.type !== 'mln_math_inline') continue;
      const next = ch[i + 1]!;
      if (next.type !== 'text') continue;
      const m = CLOSING_PUNCT.exec(next.content);
      if (!m) continue;
      const open = new state.Token('mln_nobr_open', 'span', 1);
      const punct = new state.Token('text', '', 0);
      punct.content = m[0];
      const close = new state.Token('mln_nobr_close', 'span', -1);
      next.content = next.content.slice(m[0].length);
      ch.splice(i, 1, open, ch[i]!, punct, close);
      i += 3;
    }
  }
}

// --- renderers ------------------------------------------------------------------------------

function installRenderers(md: MarkdownIt.MarkdownIt): void {
  const rules = md.renderer.rules;
  rules['mln_callout_open'] = (tokens, idx, _o, _env, slf) => {
    const tok = tokens[idx]!;
    const { kind, fold } = tok.meta as { kind: string; fold: string };
    const cls = `mln-callout mln-callout-${escapeHtml(kind)}${fold ? ' mln-callout-foldable' : ''}`;
    return `<div class="${cls}"${slf.renderAttrs(tok)}>\n`;
  };
  rules['mln_callout_close'] = () => '</div>\n';
  rules['mln_callout_title_open'] = () => '<p class="mln-callout-title">';
  rules['mln_callout_title_close'] = () => '</p>\n';
  rules['mln_nobr_open'] = () => '<span class="mln-nobr">';
  rules['mln_nobr_close'] = () => '</span>';
  rules['mln_toc'] = (tokens, idx, _o, rawEnv) => {
    const env = rawEnv as NoteEnv;
    const headings = env.mlnHeadings ?? [];
    const line = tokens[idx]!.attrGet('data-line');
    const lineAttr = line !== null ? ` data-line="${escapeHtml(String(line))}"` : '';
    if (headings.length === 0) return `<nav class="mln-toc"${lineAttr}></nav>\n`;
    const min = Math.min(...headings.map((h) => h.level));
    let out = `<nav class="mln-toc"${lineAttr}>\n<ul>\n`;
    let depth = 0;
    env.mlnInToc = true;
    // Heading text is parsed again here; without footnotes in its env, markdown-it-footnote's
    // tail rule (which runs on every parse) does not append the footnote list to each entry.
    const inlineEnv = { ...env, footnotes: undefined };
    try {
      for (const h of headings) {
        const level = h.level - min;
        while (depth < level) {
          out += '<ul>\n';
          depth++;
        }
        while (depth > level) {
          out += '</ul>\n';
          depth--;
        }
        out += `<li><a href="#${escapeHtml(encodeURIComponent(h.id))}">${md.renderInline(h.text, inlineEnv)}</a></li>\n`;
      }
    } finally {
      env.mlnInToc = false;
    }
    while (depth-- > 0) out += '</ul>\n';
    return out + '</ul>\n</nav>\n';
  };
  // Mermaid diagrams: the source, escaped, for the preview's mermaid to draw (export shows it).
  const fence = rules.fence!;
  rules.fence = (tokens, idx, opts, env, slf) => {
    const tok = tokens[idx]!;
    if (tok.info.trim().split(/\s+/)[0]?.toLowerCase() !== 'mermaid') return fence(tokens, idx, opts, env, slf);
    return `<pre class="mermaid"${slf.renderAttrs(tok)}>${escapeHtml(tok.content)}</pre>\n`;
  };
}

/** Front matter as a small table of its top-level `key: value` lines (nested values as text). */
export function frontMatterHtml(yaml: string): string {
  const rows: string[] = [];
  let last: { key: string; value: string[] } | undefined;
  const entries: Array<{ key: string; value: string[] }> = [];
  for (const line of yaml.split('\n')) {
    const m = /^([^\s#:][^:]*):(?:\s+(.*))?$/.exec(line);
    if (m) {
      last = { key: m[1]!.trim(), value: m[2] !== undefined && m[2].trim() ? [m[2].trim()] : [] };
      entries.push(last);
    } else if (last && line.trim() && !line.trimStart().startsWith('#')) {
      last.value.push(line.trim());
    }
  }
  for (const e of entries) rows.push(`<tr><th>${escapeHtml(e.key)}</th><td>${escapeHtml(e.value.join(' ').replace(/^["']|["']$/g, ''))}</td></tr>`);
  if (rows.length === 0) return '';
  return `<table class="mln-front-matter" data-line="0">\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>\n`;
}
