import MarkdownIt = require('markdown-it');
import { blockMathOpen, blockMathCloses, closesEnv, findBlockClose, isChineseProse, MAX_BLOCK_LINES, scanInlineMath, type BlockLines } from './mathSyntax';
import { KatexEngine, labelAnchor, labelsIn, refText, type LabelNumbers, type MacroTable } from './katexEngine';
import { escapeHtml } from './html';
import { numberEquations } from './equationNumbers';

type StateBlock = MarkdownIt.StateBlock;
type StateInline = MarkdownIt.StateInline;
type Token = MarkdownIt.Token;

/**
 * Where rendered math goes. The document renderer supplies one per chunk (with its macro table,
 * cache and error list); without one, the plugin renders with a per-document default, which is
 * what VS Code's built-in preview gets through `extendMarkdownIt`.
 */
export interface MathSink {
  /** HTML for one formula; `line` is 0-based within the text handed to markdown-it. */
  math(tex: string, display: boolean, line: number): string;
  /** Equation number text for `\eqref{label}` / `\ref{label}` in prose. */
  ref(kind: 'eqref' | 'ref', label: string): string;
}

export interface MathPluginOptions {
  /** Add `data-line` (0-based source line) to block elements, for scroll sync. */
  readonly lineAttributes?: boolean;
  /** Builds the fallback sink when the render env carries none. */
  readonly engine?: KatexEngine;
  /** User macros for the fallback sink. */
  readonly macros?: Readonly<Record<string, string>>;
}

export interface MathEnv {
  mlnSink?: MathSink;
  /** Internal: line of the inline token being parsed, and a newline-count cursor into it. */
  mlnInlineLine?: number;
  mlnNl?: { src: string; pos: number; line: number };
}

const REF_IN_PROSE = /^\\(eqref|ref)\{([^{}\n]+)\}/;

export function mathPlugin(md: MarkdownIt.MarkdownIt, options: MathPluginOptions = {}): void {
  const engine = options.engine ?? new KatexEngine();

  md.block.ruler.before('fence', 'mln_math_block', mathBlockRule, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
  md.inline.ruler.before('escape', 'mln_math_inline', mathInlineRule);

  // markdown-it's own inline pass, but remembering each inline token's source line so a formula's
  // error can be reported at its exact line.
  md.core.ruler.at('inline', (state) => {
    const env = state.env as MathEnv;
    for (const tok of state.tokens) {
      if (tok.type !== 'inline') continue;
      env.mlnInlineLine = tok.map ? tok.map[0] : 0;
      env.mlnNl = undefined;
      state.md.inline.parse(tok.content, state.md, state.env, tok.children ?? (tok.children = []));
    }
  });

  if (options.lineAttributes) {
    md.core.ruler.after('block', 'mln_data_line', (state) => {
      for (const tok of state.tokens) {
        if (tok.map && tok.nesting >= 0 && tok.block && tok.type !== 'inline') tok.attrSet('data-line', String(tok.map[0]));
      }
    });
  }

  // Without a sink from the caller (VS Code's built-in preview), number labels over the whole
  // document before anything renders, exactly as the ML Notes preview does. The numbers ride on
  // the tokens: VS Code renders cached tokens with a fresh env, so the env can't carry them.
  md.core.ruler.push('mln_default_sink', (state) => {
    const env = state.env as MathEnv;
    if (env.mlnSink) return;
    const labels = numberEquations(state.src);
    if (labels.size) markLabels(state.tokens, labels);
    env.mlnSink = defaultSink(engine, labels, options.macros);
  });
  const sinkOf = (rawEnv: unknown, tok: Token): MathSink => {
    const env = (rawEnv ?? {}) as MathEnv;
    const labels = (tok.meta as { mlnLabels?: LabelNumbers } | null)?.mlnLabels ?? new Map<string, number>();
    return env.mlnSink ?? (env.mlnSink = defaultSink(engine, labels, options.macros));
  };

  // Token names of our own: VS Code's markdown-math plugin runs in the same markdown-it and
  // renders `math_inline`/`math_block` with its own KaTeX settings and numbering.
  md.renderer.rules['mln_math_inline'] = (tokens, idx, _o, env) =>
    sinkOf(env, tokens[idx]!).math(tokens[idx]!.content, false, (tokens[idx]!.meta as { line: number }).line);
  md.renderer.rules['mln_math_inline_display'] = (tokens, idx, _o, env) =>
    sinkOf(env, tokens[idx]!).math(tokens[idx]!.content, true, (tokens[idx]!.meta as { line: number }).line);
  md.renderer.rules['mln_math_block'] = (tokens, idx, _o, env, slf) => {
    const tok = tokens[idx]!;
    const line = tok.map ? tok.map[0] : 0;
    return `<div class="mln-math-block"${slf.renderAttrs(tok)}>${sinkOf(env, tok).math(tok.content, true, line)}</div>\n`;
  };
  md.renderer.rules['mln_ref'] = (tokens, idx, _o, env) => {
    const tok = tokens[idx]!;
    const [kind, label] = tok.content.split('\u0000') as ['eqref' | 'ref', string];
    return `<a class="mln-eqref" href="#${escapeHtml(labelAnchor(label))}">${escapeHtml(sinkOf(env, tok).ref(kind, label))}</a>`;
  };

  // ```math fences are display math; everything else keeps its renderer.
  const fence = md.renderer.rules.fence!;
  md.renderer.rules.fence = (tokens, idx, opts, env, slf) => {
    const tok = tokens[idx]!;
    if (tok.info.trim().split(/\s+/)[0] === 'math') {
      const line = tok.map ? tok.map[0] + 1 : 0;
      return `<div class="mln-math-block"${slf.renderAttrs(tok)}>${sinkOf(env, tok).math(tok.content, true, line)}</div>\n`;
    }
    return fence(tokens, idx, opts, env, slf);
  };
}

function mathBlockRule(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  if (state.sCount[startLine]! - state.blkIndent >= 4) return false;
  const pos = state.bMarks[startLine]! + state.tShift[startLine]!;
  const max = state.eMarks[startLine]!;
  const first = state.src.slice(pos, max);
  const open = blockMathOpen(first);
  if (!open) return false;
  // Asked by a blockquote whether a line without `>` ends it: no. Notes write `> $$` and then
  // the formula's lines without `>` (lazy lines), so the quote goes on and the formula with it.
  if (silent && state.parentType === 'blockquote') return false;

  const delimLen = open.kind === 'env' ? 0 : 2;
  const rest = first.slice(delimLen);
  let closeLine = -1;
  let content: string;
  let after = '';
  const sameLineClose = open.kind === 'env' ? closesEnv(open, first) : blockMathCloses(open, rest);
  // `$$a$$ and more` is display math inside a paragraph, handled by the inline rule.
  if (open.kind !== 'env' && sameLineClose < 0 && rest.includes(open.kind === '$$' ? '$$' : '\\]')) return false;
  if (sameLineClose >= 0 && (open.kind === 'env' || rest.trim().length > 2)) {
    closeLine = startLine;
    content = open.kind === 'env' ? first : rest.slice(0, sameLineClose);
  } else {
    const lines: BlockLines = {
      text: (i) => state.src.slice(state.bMarks[i]! + state.tShift[i]!, state.eMarks[i]!),
      // Lazy lines of a blockquote (`> \begin{equation}` then lines without `>`) have a negative
      // sCount: they continue the quote, so they continue the formula too.
      outside: (i) => state.sCount[i]! >= 0 && state.sCount[i]! < state.blkIndent,
    };
    closeLine = findBlockClose(open, first, lines, startLine, endLine);
    // An unclosed block is not math: typing `$$` must not turn the rest of the note into a formula.
    if (closeLine < 0) return false;
    // `计算 $$` ends a paragraph line with an inline `$$` that this bare `$$` line closes.
    if (silent && state.parentType === 'paragraph' && rest.trim() === '' && closesParagraphMath(state, startLine)) return false;
    const body: string[] = [];
    for (let i = startLine + 1; i < closeLine; i++) body.push(blockLine(state, i, state.sCount[startLine]!));
    const lastPos = state.bMarks[closeLine]! + state.tShift[closeLine]!;
    const last = state.src.slice(lastPos, state.eMarks[closeLine]!);
    // Each line keeps its newline: `\cdot` then `c` on the next line is not `\cdotc`, and a `%`
    // comment ends at its line instead of eating `\end{…}`.
    if (open.kind === 'env') {
      content = [first, ...body, last].join('\n');
    } else {
      const head = rest.trim() ? [rest] : [];
      const at = blockMathCloses(open, last);
      // `$$的奇异值分解。`: the closing line goes on with prose, which becomes a paragraph.
      const tail = at >= 0 ? last.slice(0, at) : '';
      if (at < 0) after = last.slice(last.indexOf(open.kind === '$$' ? '$$' : '\\]') + 2).trim();
      content = [...head, ...body, ...(tail.trim() ? [tail] : [])].join('\n');
      // Chinese prose between two stray `$$` lines is not a formula.
      if (isChineseProse(content)) return false;
    }
  }
  if (silent) return true;
  const tok = state.push('mln_math_block', 'math', 0);
  tok.block = true;
  tok.content = content;
  tok.markup = open.kind === 'env' ? '\\begin' : open.kind;
  tok.map = [startLine, closeLine + 1];
  if (after) {
    state.push('paragraph_open', 'p', 1).map = [closeLine, closeLine + 1];
    const inline = state.push('inline', '', 0);
    inline.content = after;
    inline.map = [closeLine, closeLine + 1];
    inline.children = [];
    state.push('paragraph_close', 'p', -1);
  }
  state.line = closeLine + 1;
  return true;
}

/** Whether the paragraph above `line` holds an odd number of `$$`, so a `$$` on `line` closes inline math. */
function closesParagraphMath(state: StateBlock, line: number): boolean {
  let n = 0;
  for (let i = line - 1; i >= 0 && i >= line - MAX_BLOCK_LINES; i--) {
    const text = state.src.slice(state.bMarks[i]! + state.tShift[i]!, state.eMarks[i]!);
    if (text.trim() === '') break;
    n += text.split('$$').length - 1;
  }
  return n % 2 === 1;
}

/** One line of a block's body, without its container markers and up to `indent` columns of indentation. */
function blockLine(state: StateBlock, line: number, indent: number): string {
  // Lazy lines (negative sCount) carry no markers to strip.
  return state.getLines(line, line + 1, state.sCount[line]! < 0 ? 0 : indent, false);
}

function lineOf(state: StateInline, pos: number): number {
  const env = state.env as MathEnv;
  const base = env.mlnInlineLine ?? 0;
  let cur = env.mlnNl;
  if (!cur || cur.src !== state.src || cur.pos > pos) cur = { src: state.src, pos: 0, line: 0 };
  let line = cur.line;
  for (let i = cur.pos; i < pos; i++) if (state.src.charCodeAt(i) === 0x0a) line++;
  env.mlnNl = { src: state.src, pos, line };
  return base + line;
}

function mathInlineRule(state: StateInline, silent: boolean): boolean {
  const c = state.src.charCodeAt(state.pos);
  if (c !== 0x24 && c !== 0x5c) return false;
  if (c === 0x5c) {
    const m = REF_IN_PROSE.exec(state.src.slice(state.pos, state.pos + 200));
    if (m) {
      if (!silent) {
        const tok = state.push('mln_ref', '', 0);
        tok.content = m[1] + '\u0000' + m[2];
      }
      state.pos += m[0].length;
      return true;
    }
  }
  const span = scanInlineMath(state.src, state.pos, state.posMax);
  if (!span) return false;
  if (!silent) {
    const tok = state.push(span.display ? 'mln_math_inline_display' : 'mln_math_inline', 'math', 0);
    tok.content = span.content;
    tok.markup = span.delimiter;
    tok.meta = { line: lineOf(state, span.start) };
  }
  state.pos = span.end;
  return true;
}

/** Gives every formula and reference token the document's equation numbers. */
function markLabels(tokens: readonly Token[], labels: LabelNumbers): void {
  for (const tok of tokens) {
    if (tok.type.startsWith('mln_math_') || tok.type === 'mln_ref' || (tok.type === 'fence' && tok.info.trim().split(/\s+/)[0] === 'math')) tok.meta = { ...(tok.meta as object | null), mlnLabels: labels };
    if (tok.children) markLabels(tok.children, labels);
  }
}

/** The sink used without a document renderer: one macro table and label map per render. */
function defaultSink(engine: KatexEngine, labels: LabelNumbers, userMacros: Readonly<Record<string, string>> = {}): MathSink {
  const macros: MacroTable = { ...userMacros };
  return {
    math: (tex, display) => anchorsFor(tex, display) + engine.render(tex, display, macros, labels).html,
    ref: (kind, label) => refText(kind, label, labels),
  };
}

/** Empty anchors so `#mln-eq-x` links land on the formula that carries `\label{x}`. */
export function anchorsFor(tex: string, display: boolean): string {
  if (!display || !tex.includes('\\label')) return '';
  return labelsIn(tex).map((l) => `<span class="mln-eq-anchor" id="${escapeHtml(labelAnchor(l))}"></span>`).join('');
}
