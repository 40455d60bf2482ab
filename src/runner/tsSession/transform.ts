/**
 * Turns a TypeScript block into code for the note's persistent Node session (tsSession.ts):
 *
 * - types are stripped by sucrase (which keeps line numbers, so errors point at the block's lines);
 * - top-level declarations (const/let/var/function/class/import) become session bindings, as in
 *   Node's REPL: their names are declared with `var` in a script run in the session's realm, so
 *   a later block sees them, and re-running a block that declares `const x` assigns x again
 *   instead of failing with "x has already been declared";
 * - every async function (and the block itself) notes the session's interrupt count when it is
 *   called, and every `await e` becomes `H.c(await e, count)` (each `for await` iteration calls
 *   `H.c(undefined, count)`), which throws when an interrupt came since: an async training loop
 *   stops at its next await, and so does async work an earlier block left running, while
 *   functions called after the interrupt run normally. The session keeps its state.
 *
 * The parsing is acorn's; the edits are magic-string's. Everything the rewrite adds goes on the
 * block's first line or inside a line, so line N of the block stays line N of the script.
 */
import { parse, type Node } from 'acorn';
import { full } from 'acorn-walk';
import MagicString from 'magic-string';
import { transform } from 'sucrase';

/** The session helper's name inside a block (c: interrupt check, n: interrupt count, g: the global object, d: default import). */
export const HELPER = '__mlnSession';
/** The interrupt count an async function was called at. */
const COUNT = '__mlnInterrupts';
/** Names a block never turns into session bindings (they are the wrapper's parameters). */
const WRAPPER_NAMES = new Set([HELPER, 'require', 'module', 'exports']);

export interface CompiledBlock {
  /**
   * A classic script for `vm.runInThisContext`: its `var` line declares the block's bindings on
   * the session's global object; its value is `async function (helper, require, module, exports)`.
   */
  readonly script: string;
  /** The names the block declared at top level, now session bindings. */
  readonly bindings: readonly string[];
}

/** A block that does not parse; `line` is 1-based in the block. */
export class BlockSyntaxError extends Error {
  override readonly name = 'SyntaxError';
  constructor(message: string, readonly line: number | undefined) {
    super(message);
  }
}

export interface CompileOptions {
  /**
   * A name the block declares that must stay local to the block, e.g. an existing global the
   * session itself relies on (`process`, `console`): a block's `const console = …` then shadows
   * it inside the block instead of replacing it for the session.
   */
  readonly keepLocal?: (name: string) => boolean;
}

type AnyNode = Node & Record<string, unknown>;
interface Range {
  start: number;
  end: number;
}

export function compileBlock(source: string, opts: CompileOptions = {}): CompiledBlock {
  let js: string;
  try {
    // keepUnusedImports: an import in one block is often used only by later blocks.
    js = transform(source, { transforms: ['typescript'], keepUnusedImports: true, filePath: 'snippet.ts' }).code;
  } catch (e) {
    const m = /\((\d+):(\d+)\)/.exec((e as Error).message);
    throw new BlockSyntaxError(`syntax error: ${(e as Error).message}`, m ? Number(m[1]) : undefined);
  }
  let ast: AnyNode;
  try {
    ast = parse(js, { ecmaVersion: 'latest', sourceType: 'module', allowAwaitOutsideFunction: true, allowHashBang: true }) as unknown as AnyNode;
  } catch (e) {
    const loc = (e as { loc?: { line: number } }).loc;
    throw new BlockSyntaxError(`syntax error: ${(e as Error).message}`, loc?.line);
  }
  const ms = new MagicString(js);
  /** Replaces a range, keeping the newlines it had (so later lines keep their numbers). */
  const replace = (r: Range, text: string): void => {
    const lines = js.slice(r.start, r.end).split('\n').length - 1;
    if (r.end > r.start) ms.overwrite(r.start, r.end, text + '\n'.repeat(lines));
    else ms.prependRight(r.start, text);
  };

  // Interrupt checks. acorn-walk's `full` visits children before their parent, so an inner
  // await's opening is inserted first: prependRight puts the outer one before it, appendLeft
  // puts the outer closing after the inner one.
  const check = `${HELPER}.c(undefined, ${COUNT});`;
  full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type === 'AwaitExpression') {
      ms.prependRight(node.start, `${HELPER}.c(`);
      ms.appendLeft(node.end, `, ${COUNT})`);
    } else if (node.type === 'ForOfStatement' && node['await'] === true) {
      const body = node['body'] as AnyNode;
      if (body.type === 'BlockStatement') ms.appendLeft(body.start + 1, check);
      else {
        ms.prependRight(body.start, `{${check}`);
        ms.appendLeft(body.end, '}');
      }
    } else if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') && node['async'] === true) {
      const body = node['body'] as AnyNode;
      const note = `const ${COUNT} = ${HELPER}.n();`;
      if (body.type === 'BlockStatement') ms.appendLeft(body.start + 1, note);
      else {
        // `async (x) => await f(x)`: a body to hold the count (the await's own wrapping goes inside it).
        ms.prependRight(body.start, `{${note}return (`);
        ms.appendLeft(body.end, ');}');
      }
    }
  });

  const hoisted = new Set<string>();
  let prologue = '';
  const local = (names: readonly string[]): boolean => names.some((n) => WRAPPER_NAMES.has(n) || opts.keepLocal?.(n));
  let imports = 0;

  const declaration = (node: AnyNode): void => {
    switch (node.type) {
      case 'VariableDeclaration': {
        const decls = node['declarations'] as AnyNode[];
        const names = decls.flatMap((d) => patternNames(d['id'] as AnyNode));
        if (local(names)) return;
        for (const n of names) hoisted.add(n);
        // `const a = 1, {b} = o;` → `void (a = 1, {b} = o);` (void: no ASI hazard after the line before).
        replace({ start: node.start, end: decls[0]!.start }, 'void (');
        for (const d of decls) if (!d['init'] && node['kind'] !== 'var') ms.appendLeft(d.end, ' = void 0');
        ms.appendLeft(decls[decls.length - 1]!.end, ')');
        return;
      }
      case 'FunctionDeclaration': {
        const name = (node['id'] as AnyNode | null)?.['name'] as string | undefined;
        if (!name || local([name])) return;
        // Kept as a declaration (hoisted within the block, as the user wrote it) and copied to
        // the session binding before the block's first statement runs.
        hoisted.add(name);
        prologue += `${HELPER}.g[${JSON.stringify(name)}] = ${name};`;
        return;
      }
      case 'ClassDeclaration': {
        const name = (node['id'] as AnyNode | null)?.['name'] as string | undefined;
        if (!name || local([name])) return;
        hoisted.add(name);
        ms.prependRight(node.start, `${name} = `);
        ms.appendLeft(node.end, ';');
        return;
      }
      case 'ImportDeclaration': {
        const specs = node['specifiers'] as AnyNode[];
        const src = JSON.stringify((node['source'] as AnyNode)['value']);
        if (specs.length === 0) {
          replace(node, `require(${src});`);
          return;
        }
        const tmp = `${HELPER}$import${imports++}`;
        let out = `var ${tmp} = require(${src});`;
        for (const s of specs) {
          const name = (s['local'] as AnyNode)['name'] as string;
          const value =
            s.type === 'ImportNamespaceSpecifier'
              ? tmp
              : s.type === 'ImportDefaultSpecifier'
                ? `${HELPER}.d(${tmp})`
                : `${tmp}[${JSON.stringify(((s['imported'] as AnyNode)['name'] ?? (s['imported'] as AnyNode)['value']) as string)}]`;
          if (local([name])) out += `var ${name} = ${value};`;
          else {
            hoisted.add(name);
            out += `${name} = ${value};`;
          }
        }
        replace(node, out);
        return;
      }
    }
  };

  for (const stmt of ast['body'] as AnyNode[]) {
    if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') {
      // A block is not a module: `export` only marks what the block defines.
      const decl = stmt['declaration'] as AnyNode | null;
      if (!decl) replace(stmt, '');
      else if (stmt.type === 'ExportDefaultDeclaration' && !(decl['id'] as unknown)) replace({ start: stmt.start, end: decl.start }, 'void ');
      else {
        replace({ start: stmt.start, end: decl.start }, '');
        declaration(decl);
      }
    } else if (stmt.type === 'ExportAllDeclaration') replace(stmt, '');
    else declaration(stmt);
  }

  const bindings = [...hoisted];
  const head = bindings.length ? `var ${bindings.join(', ')};` : '';
  // One line: the head and the wrapper share the block's first line, so line numbers stay the same.
  const script = `${head}(async function (${HELPER}, require, module, exports) {"use strict";const ${COUNT} = ${HELPER}.n();${prologue}${ms.toString()}\n})`;
  return { script, bindings };
}

/** The names a binding pattern declares (`{a, b: [c, ...d]}` → a, c, d). */
function patternNames(p: AnyNode | null): string[] {
  if (!p) return [];
  switch (p.type) {
    case 'Identifier':
      return [p['name'] as string];
    case 'ObjectPattern':
      return (p['properties'] as AnyNode[]).flatMap((q) => patternNames((q.type === 'RestElement' ? q['argument'] : q['value']) as AnyNode));
    case 'ArrayPattern':
      return (p['elements'] as Array<AnyNode | null>).flatMap((e) => patternNames(e));
    case 'AssignmentPattern':
      return patternNames(p['left'] as AnyNode);
    case 'RestElement':
      return patternNames(p['argument'] as AnyNode);
    default:
      return [];
  }
}
