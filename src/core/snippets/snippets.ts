import MarkdownIt = require('markdown-it');
import { hashString } from '../markdown/html';

/** A fenced code block marked runnable: ```` ```ts {run id=train timeout=60} ```` or MPE's `{cmd=true}`. */
export interface Snippet {
  /** 0-based ordinal among the runnable blocks of the note. */
  readonly index: number;
  /**
   * The key outputs are stored under: the `id=` attribute, else the code's content and its
   * occurrence among identical blocks (`domKey:n`), so inserting or editing another block
   * moves no output and two identical blocks keep separate outputs.
   */
  readonly key: string;
  readonly id?: string;
  readonly lang: string;
  readonly kernel: KernelName | undefined;
  readonly code: string;
  /** 0-based line of the opening fence; the code starts on the next line. */
  readonly fenceLine: number;
  readonly codeLine: number;
  /** 0-based line of the closing fence (or the last line when unclosed). */
  readonly endLine: number;
  readonly attrs: Readonly<Record<string, string>>;
  /** Identifies the code in the rendered preview (`data-snippet`). */
  readonly domKey: string;
}

export type KernelName = 'tfjs' | 'python';

const KERNELS: Record<string, KernelName> = {
  ts: 'tfjs', typescript: 'tfjs', js: 'tfjs', javascript: 'tfjs',
  python: 'python', py: 'python', python3: 'python',
};

/** Parses a fence info string: language, then `{run key=value …}` attributes. */
export function parseInfo(info: string): { lang: string; runnable: boolean; attrs: Record<string, string> } {
  const m = /^\s*([^\s{]*)\s*(?:\{([^}]*)\})?/.exec(info);
  const lang = (m?.[1] ?? '').toLowerCase();
  const body = m?.[2];
  const attrs: Record<string, string> = {};
  if (body === undefined) return { lang, runnable: false, attrs };
  const re = /([#.]?[\w-]+)(?:\s*=\s*("([^"]*)"|'([^']*)'|[^\s,]+))?/g;
  let runnable = false;
  for (const a of body.matchAll(re)) {
    const key = a[1]!;
    const value = a[3] ?? a[4] ?? a[2] ?? 'true';
    if (key === 'run') runnable = value !== 'false';
    else if (key === 'cmd') runnable = runnable || value !== 'false';
    else if (key.startsWith('#')) attrs['id'] = key.slice(1);
    else attrs[key] = value;
  }
  return { lang, runnable, attrs };
}

/** The DOM key of a runnable block; the preview renderer and the runner compute it the same way. */
export function snippetDomKey(lang: string, code: string, id?: string): string {
  return 'sn' + hashString(lang + '\n' + code).toString(36) + (id ? '-' + id.replace(/[^\w-]/g, '_') : '');
}

// Block structure is all that matters here: skipping inline parsing makes this several times
// faster, which counts because CodeLens and the preview ask on every edit.
const md = new MarkdownIt();
md.core.ruler.disable(['inline', 'linkify', 'replacements', 'smartquotes', 'text_join']);

let memo: { text: string; snippets: Snippet[] } | undefined;

/** All runnable blocks of a note, in order (the same fence rules as the preview). */
export function findSnippets(text: string): Snippet[] {
  if (!text.includes('{run') && !text.includes('{cmd')) return [];
  if (memo && memo.text === text) return memo.snippets;
  const snippets = scanSnippets(text);
  memo = { text, snippets };
  return snippets;
}

function scanSnippets(text: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = text.split('\n');
  const seen = new Map<string, number>();
  for (const tok of md.parse(text, {})) {
    if (tok.type !== 'fence' || !tok.map) continue;
    const { lang, runnable, attrs } = parseInfo(tok.info);
    if (!runnable) continue;
    const index = out.length;
    const id = attrs['id'];
    const endLine = tok.map[1] - 1;
    const closed = /^\s*(`{3,}|~{3,})\s*$/.test(lines[endLine] ?? '') && endLine > tok.map[0];
    const domKey = snippetDomKey(lang, tok.content, id);
    const occurrence = seen.get(domKey) ?? 0;
    seen.set(domKey, occurrence + 1);
    out.push({
      index,
      key: id ?? `${domKey}:${occurrence}`,
      id,
      lang,
      kernel: KERNELS[lang],
      code: tok.content,
      fenceLine: tok.map[0],
      codeLine: tok.map[0] + 1,
      endLine: closed ? endLine : tok.map[1] - 1,
      attrs,
      domKey,
    });
  }
  return out;
}

/** The snippet whose fence contains `line`. */
export function snippetAt(snippets: readonly Snippet[], line: number): Snippet | undefined {
  return snippets.find((s) => line >= s.fenceLine && line <= s.endLine);
}

/**
 * The code to run: blocks named in `with=a,b` (by id) come first, so notes can share setup code
 * without one giant block.
 */
export function codeWithSetup(snippet: Snippet, all: readonly Snippet[]): { code: string; parts: Array<{ snippet: Snippet; offset: number }> } | { error: string } {
  const names = (snippet.attrs['with'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const parts: Array<{ snippet: Snippet; offset: number }> = [];
  let code = '';
  for (const name of names) {
    const dep = all.find((s) => s.id === name);
    if (!dep) return { error: `with=${name}: no block with id=${name} in this note` };
    if (dep.kernel !== snippet.kernel) return { error: `with=${name}: that block is ${dep.lang}, not ${snippet.lang}` };
    parts.push({ snippet: dep, offset: lineCount(code) });
    code += dep.code.endsWith('\n') ? dep.code : dep.code + '\n';
  }
  parts.push({ snippet, offset: lineCount(code) });
  code += snippet.code;
  return { code, parts };
}

function lineCount(s: string): number {
  return s === '' ? 0 : s.split('\n').length - 1;
}
