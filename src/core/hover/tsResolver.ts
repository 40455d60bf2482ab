import type { ApiRef, KnowledgeBase } from '../kb/knowledgeBase';
import type { KbEntry } from '../kb/types';

/**
 * Hovers in a note's TypeScript blocks: TensorFlow.js (`tf.tidy`, `opt.minimize`) and the
 * `ml-notes` snippet API, resolved through the blocks' imports. A small scanner, not a
 * compiler: the TypeScript compiler is a dev dependency only (shipping it would add megabytes to
 * the extension for a hover), and snippets are short. It knows strings and comments, imports,
 * the type annotations and the constructor/factory calls of declared names, and the return
 * types curated entries state, which covers how notes write tfjs code (`const opt =
 * tf.train.adam()`, `function f(x: tf.Tensor)`, `(m.apply(x) as tf.Tensor).sub(y)`).
 */

/** The packages whose names the knowledge base holds, by the prefix of their entries. */
const PACKAGES: Record<string, string> = {
  '@tensorflow/tfjs': 'tfjs',
  '@tensorflow/tfjs-core': 'tfjs',
  '@tensorflow/tfjs-layers': 'tfjs',
  '@tensorflow/tfjs-node': 'tfjs',
  '@tensorflow/tfjs-node-gpu': 'tfjs',
  'ml-notes': 'mlnotes',
};

/** Type names that are one class for the hover (the rank-typed tensors are all `Tensor`). */
const TYPE_ALIASES: Record<string, string> = {
  'tfjs.Scalar': 'tfjs.Tensor',
  'tfjs.Tensor1D': 'tfjs.Tensor',
  'tfjs.Tensor2D': 'tfjs.Tensor',
  'tfjs.Tensor3D': 'tfjs.Tensor',
  'tfjs.Tensor4D': 'tfjs.Tensor',
  'tfjs.Tensor5D': 'tfjs.Tensor',
  'tfjs.Tensor6D': 'tfjs.Tensor',
  'tfjs.Optimizer': 'tfjs.train.Optimizer',
  'tfjs.AdamOptimizer': 'tfjs.train.Optimizer',
  'tfjs.SGDOptimizer': 'tfjs.train.Optimizer',
};

/** Classes whose members a method name alone may pick when the receiver's type is unknown. */
const FAMILIES = ['tfjs.Tensor', 'tfjs.Variable', 'tfjs.Sequential', 'tfjs.LayersModel', 'tfjs.train.Optimizer'];

/** Receivers that are JavaScript's own objects: `Math.sqrt`, `console.log` are never tfjs. */
const JS_GLOBALS = new Set(['Math', 'console', 'JSON', 'Object', 'Array', 'Number', 'String', 'Date', 'Promise', 'Reflect', 'window', 'document', 'process', 'Buffer', 'Symbol', 'Map', 'Set', 'performance']);
/** Member names arrays and numbers have too: on an unknown receiver they are not guessed. */
const JS_MEMBERS = new Set(['concat', 'slice', 'map', 'forEach', 'reduce', 'push', 'pop', 'join', 'sort', 'reverse', 'indexOf', 'includes', 'fill', 'filter', 'find', 'some', 'every', 'flat', 'length', 'toString', 'valueOf', 'add', 'apply', 'min', 'max', 'abs', 'log', 'exp', 'sqrt', 'print']);

export interface TsResolved {
  api: ApiRef;
  entry?: KbEntry;
  /** Only the member name matched: the receiver's type is unknown (`loss.dataSync()`). */
  byName: boolean;
  range: { startRow: number; startCol: number; endRow: number; endCol: number };
}

/** What an expression is: a name of the knowledge base (`tfjs.train`) or an instance of a class. */
type Value = { path: string } | { type: string } | { method: ApiRef };

interface Block {
  text: string;
  /** 1 where the character is code, 0 inside strings and comments. */
  code: Uint8Array;
  lineStarts: number[];
}

const ID = /[A-Za-z0-9_$]/;

export class TsProgram {
  private readonly blocks: Block[];
  /** Per block: the import bindings visible in it (its own and earlier blocks'). */
  private readonly bindings: Map<string, string>[] = [];
  private readonly types: Map<string, string>[] = [];
  private readonly returns: Map<string, string>[] = [];

  constructor(texts: readonly string[], private readonly kb: KnowledgeBase) {
    this.blocks = texts.map(scan);
    let bindings = new Map<string, string>();
    let types = new Map<string, string>();
    let returns = new Map<string, string>();
    for (const b of this.blocks) {
      bindings = new Map([...bindings, ...imports(b)]);
      this.bindings.push(bindings);
      returns = new Map(returns);
      types = new Map(types);
      this.declarations(b, bindings, types, returns);
      this.types.push(types);
      this.returns.push(returns);
    }
  }

  resolveAt(block: number, row: number, column: number): TsResolved | undefined {
    const b = this.blocks[block];
    if (!b) return undefined;
    const at = (b.lineStarts[row] ?? Infinity) + column;
    if (at > b.text.length) return undefined;
    let start = at;
    let end = at;
    while (start > 0 && ID.test(b.text[start - 1]!)) start--;
    while (end < b.text.length && ID.test(b.text[end]!)) end++;
    if (start === end || !b.code[start] || /[0-9]/.test(b.text[start]!)) return undefined;
    const name = b.text.slice(start, end);
    const range = { startRow: row, startCol: start - b.lineStarts[row]!, endRow: row, endCol: end - b.lineStarts[row]! };
    const ctx = { b, bindings: this.bindings[block]!, types: this.types[block]!, returns: this.returns[block]! };
    if (!ctx.bindings.size) return undefined;

    const dot = before(b, start);
    if (dot >= 0 && b.text[dot] === '.') {
      const owner = this.valueEndingAt(ctx, dot);
      if (owner && 'path' in owner) {
        const api = this.findPath(`${owner.path}.${name}`);
        return api && { api, ...(api.entry ? { entry: api.entry } : {}), byName: false, range };
      }
      if (owner && 'type' in owner) {
        const api = this.kb.memberOf(owner.type, name);
        return api && { api, ...(api.entry ? { entry: api.entry } : {}), byName: false, range };
      }
      if (owner || JS_MEMBERS.has(name) || ![...ctx.bindings.values()].includes('tfjs')) return undefined;
      const root = rootIdentifier(b, dot);
      if (root && (JS_GLOBALS.has(root) || ctx.bindings.has(root))) return undefined;
      const found = new Set<KbEntry>();
      for (const cls of FAMILIES) {
        const e = this.kb.memberOf(cls, name)?.entry;
        if (e) found.add(e);
      }
      if (found.size !== 1) return undefined;
      const entry = [...found][0]!;
      return { api: { name: entry.name, kind: entry.kind, signature: entry.signature, source: 'kb', entry }, entry, byName: true, range };
    }
    const bound = ctx.bindings.get(name);
    if (bound === undefined) return undefined;
    const api = this.findPath(bound);
    return api && { api, ...(api.entry ? { entry: api.entry } : {}), byName: false, range };
  }

  /** The curated entries the blocks use by name (not guesses), once per occurrence: for note links. */
  *mentions(): Generator<{ entry: KbEntry; block: number }> {
    for (let block = 0; block < this.blocks.length; block++) {
      const b = this.blocks[block]!;
      if (!this.bindings[block]!.size) continue;
      for (const m of b.text.matchAll(/[A-Za-z_$][\w$]*/g)) {
        if (!b.code[m.index!]) continue;
        const row = upperBound(b.lineStarts, m.index!) - 1;
        const r = this.resolveAt(block, row, m.index! - b.lineStarts[row]!);
        if (r?.entry && !r.byName) yield { entry: r.entry, block };
      }
    }
  }

  private findPath(path: string): ApiRef | undefined {
    return this.kb.find(path) ?? (TYPE_ALIASES[path] ? this.kb.find(TYPE_ALIASES[path]) : undefined);
  }

  /** A type written in the code (`tf.Tensor2D`, `tf.Sequential`) as a class of the knowledge base. */
  private typeName(written: string, bindings: Map<string, string>): string | undefined {
    const [root, ...rest] = written.split('.');
    const bound = bindings.get(root!);
    if (bound === undefined) return undefined;
    const path = [bound, ...rest].join('.');
    const cls = TYPE_ALIASES[path] ?? path;
    return this.kb.find(cls)?.kind === 'class' ? cls : undefined;
  }

  /** Names declared with a type (`x: tf.Tensor`, `function f(): tf.Sequential`) or from a known call. */
  private declarations(b: Block, bindings: Map<string, string>, types: Map<string, string>, returns: Map<string, string>): void {
    const t = b.text;
    for (const m of t.matchAll(/\bfunction\s+([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\([^)]*\)\s*:\s*([A-Za-z_$][\w$.]*)/g)) {
      if (!b.code[m.index!]) continue;
      const cls = this.typeName(m[2]!, bindings);
      if (cls) returns.set(m[1]!, cls);
    }
    for (const m of t.matchAll(/([A-Za-z_$][\w$]*)\s*\??:\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)/g)) {
      if (!b.code[m.index!]) continue;
      const cls = this.typeName(m[2]!, bindings);
      if (cls) types.set(m[1]!, cls);
    }
    const ctx = { b, bindings, types, returns };
    for (const m of t.matchAll(/([A-Za-z_$][\w$]*)\s*=(?![=>])\s*(?:await\s+)?/g)) {
      if (!b.code[m.index!] || (m.index! > 0 && /[\w$.]/.test(t[m.index! - 1]!))) continue;
      // The value is a call: find its closing parenthesis and type the call as a whole.
      const open = m.index! + m[0].length;
      const callee = /^[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*\s*\(/.exec(t.slice(open));
      if (!callee) continue;
      const close = matching(b, open + callee[0].length - 1);
      if (close < 0) continue;
      // `tf.tidy(() => …) as tf.Tensor2D`: the cast says it; else what the call returns.
      const cast = /^\s*as\s+([A-Za-z_$][\w$.]*)/.exec(t.slice(close + 1));
      const v = cast ? { type: this.typeName(cast[1]!, bindings) } : this.valueEndingAt(ctx, close + 1);
      if (v && 'type' in v && v.type && !types.has(m[1]!)) types.set(m[1]!, v.type);
    }
  }

  /** The value of the expression that ends just before offset `end` (exclusive), if known. */
  private valueEndingAt(ctx: { b: Block; bindings: Map<string, string>; types: Map<string, string>; returns: Map<string, string> }, end: number, depth = 0): Value | undefined {
    if (depth > 20) return undefined;
    const { b } = ctx;
    let i = end - 1;
    while (i >= 0 && (/\s/.test(b.text[i]!) || b.text[i] === '!' || b.text[i] === '?')) i--;
    if (i < 0 || !b.code[i]) return undefined;
    const c = b.text[i]!;
    if (c === ')') {
      const open = matchingBack(b, i);
      if (open < 0) return undefined;
      const calleeEnd = before(b, open) + 1;
      const isCall = calleeEnd > 0 && ID.test(b.text[calleeEnd - 1]!) && !/\b(if|while|for|switch|return|typeof|await)$/.test(b.text.slice(0, calleeEnd));
      if (!isCall) {
        // A parenthesised expression: `(m.apply(x) as tf.Tensor)` says its own type.
        const inner = b.text.slice(open + 1, i);
        const cast = /\bas\s+([A-Za-z_$][\w$.]*)\s*$/.exec(inner);
        if (cast) {
          const cls = this.typeName(cast[1]!, ctx.bindings);
          return cls ? { type: cls } : undefined;
        }
        return this.valueEndingAt(ctx, i, depth + 1);
      }
      const callee = this.valueEndingAt(ctx, calleeEnd, depth + 1);
      let returned: string | undefined;
      if (callee && 'path' in callee) returned = this.findPath(callee.path)?.entry?.returns;
      else if (callee && 'method' in callee) returned = callee.method.entry?.returns;
      else if (!callee) {
        // A function of the snippet's own, declared with a return type (`function makeActor(): tf.Sequential`).
        const fn = identifierEndingAt(b, calleeEnd);
        const prev = fn ? before(b, calleeEnd - fn.length) : -1;
        if (fn && (prev < 0 || b.text[prev] !== '.')) returned = ctx.returns.get(fn);
      }
      return returned ? { type: returned } : undefined;
    }
    if (!ID.test(c)) return undefined;
    const name = identifierEndingAt(b, i + 1)!;
    const start = i + 1 - name.length;
    const dot = before(b, start);
    if (dot >= 0 && b.text[dot] === '.') {
      const owner = this.valueEndingAt(ctx, dot, depth + 1);
      if (!owner) return undefined;
      if ('path' in owner) return { path: `${owner.path}.${name}` };
      if ('type' in owner) {
        const api = this.kb.memberOf(owner.type, name);
        return api ? (api.kind === 'property' && api.entry?.returns ? { type: api.entry.returns } : { method: api }) : undefined;
      }
      return undefined;
    }
    const bound = ctx.bindings.get(name);
    if (bound !== undefined) return { path: bound };
    const type = ctx.types.get(name);
    return type ? { type } : undefined;
  }
}

/** Marks strings, template literals (their `${…}` parts stay code) and comments. */
function scan(text: string): Block {
  const code = new Uint8Array(text.length + 1).fill(1);
  const templates: number[] = []; // brace depth at each open `${`
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const n = text[i + 1];
    if (c === '/' && n === '/') {
      while (i < text.length && text[i] !== '\n') code[i++] = 0;
    } else if (c === '/' && n === '*') {
      const close = text.indexOf('*/', i + 2);
      const stop = close < 0 ? text.length : close + 2;
      for (; i < stop; i++) code[i] = 0;
      i--;
    } else if (c === '"' || c === "'") {
      code[i++] = 0;
      while (i < text.length && text[i] !== c && text[i] !== '\n') {
        if (text[i] === '\\') code[i++] = 0;
        code[i++] = 0;
      }
      code[i] = 0;
    } else if (c === '`' || (c === '}' && templates.length && templates[templates.length - 1] === depth)) {
      if (c === '}') templates.pop();
      code[i++] = 0;
      while (i < text.length && text[i] !== '`' && !(text[i] === '$' && text[i + 1] === '{')) {
        if (text[i] === '\\') code[i++] = 0;
        code[i++] = 0;
      }
      if (text[i] === '$') {
        code[i] = code[i + 1] = 0;
        i++;
        templates.push(depth);
      } else code[i] = 0;
    } else if (c === '{') depth++;
    else if (c === '}') depth--;
  }
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  return { text, code, lineStarts };
}

/** The import bindings of a block, as knowledge-base names (`tf` → `tfjs`, `plot` → `mlnotes.plot`). */
function imports(b: Block): Map<string, string> {
  const out = new Map<string, string>();
  const pkg = (spec: string) => PACKAGES[spec];
  const named = (list: string, root: string) => {
    for (const part of list.split(',')) {
      const m = /^\s*(?:type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?\s*$/.exec(part);
      if (m) out.set(m[2] ?? m[1]!, `${root}.${m[1]}`);
    }
  };
  for (const m of b.text.matchAll(/\bimport\s+(?:type\s+)?([^'"]*?)\s*from\s*(['"])([^'"]+)\2/g)) {
    if (!b.code[m.index!]) continue;
    const root = pkg(m[3]!);
    if (!root) continue;
    const clause = m[1]!;
    const star = /\*\s*as\s+([A-Za-z_$][\w$]*)/.exec(clause);
    if (star) out.set(star[1]!, root);
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) named(braces[1]!, root);
    const def = /^([A-Za-z_$][\w$]*)\s*(?:,|$)/.exec(clause);
    if (def) out.set(def[1]!, root);
  }
  for (const m of b.text.matchAll(/\b(?:const|let|var)\s+(\{[^}]*\}|[A-Za-z_$][\w$]*)\s*=\s*require\(\s*(['"])([^'"]+)\2\s*\)/g)) {
    if (!b.code[m.index!]) continue;
    const root = pkg(m[3]!);
    if (!root) continue;
    if (m[1]!.startsWith('{')) named(m[1]!.slice(1, -1).replace(/:\s*/g, ' as '), root);
    else out.set(m[1]!, root);
  }
  return out;
}

/** The index of the first element greater than `x` in a sorted array. */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The offset of the last code character before `at`, skipping whitespace; -1 when none. */
function before(b: Block, at: number): number {
  let i = at - 1;
  while (i >= 0 && (/\s/.test(b.text[i]!) || !b.code[i])) i--;
  // `?.` is a member access too.
  if (i > 0 && b.text[i] === '.' && b.text[i - 1] === '?') return i;
  return i;
}

function identifierEndingAt(b: Block, end: number): string | undefined {
  let s = end;
  while (s > 0 && ID.test(b.text[s - 1]!)) s--;
  return s < end ? b.text.slice(s, end) : undefined;
}

/** The first identifier of the member chain whose `.` is at `dot` (`env` of `env.step`). */
function rootIdentifier(b: Block, dot: number): string | undefined {
  let i = dot;
  for (;;) {
    const end = before(b, i) + 1;
    const id = identifierEndingAt(b, end);
    if (!id) return undefined;
    const prev = before(b, end - id.length);
    if (prev < 0 || b.text[prev] !== '.') return id;
    i = prev;
  }
}

/** The `)` matching the `(` at `open`, counting only code; -1 when unbalanced. */
function matching(b: Block, open: number): number {
  let depth = 0;
  for (let i = open; i < b.text.length; i++) {
    if (!b.code[i]) continue;
    const c = b.text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The `(` matching the `)` at `close`. */
function matchingBack(b: Block, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (!b.code[i]) continue;
    const c = b.text[i];
    if (c === ')') depth++;
    else if (c === '(' && --depth === 0) return i;
  }
  return -1;
}
