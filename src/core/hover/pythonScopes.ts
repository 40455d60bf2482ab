import type { Node, Tree } from 'web-tree-sitter';

/**
 * What one name is bound to at one place. Only imports resolve to a qualified name; a plain
 * alias assignment (`F = torch.nn.functional`) is followed lazily; everything else (a def, a
 * parameter, `x = model(y)`) is opaque: it shadows imports and names no API itself, but keeps
 * what the type inference needs (the assigned value, the iterated value, the parameter).
 *
 * WARNING: the nodes belong to the block's tree and are valid only while it lives.
 */
export interface Binding {
  /** Qualified name bound by an import (`torch.nn` for `import torch.nn as nn`). */
  target?: string;
  /** `x = a.b.c`: the dotted parts of the right-hand side, resolved where the assignment is. */
  aliasOf?: string[];
  /** `x = value` with one name on the left: the right side, for the type inference. */
  value?: Node;
  /** A name bound by unpacking or iterating `node` (`for x, y in loader`): where in the element it sits. */
  from?: { node: Node; path: number[]; iter: boolean };
  /** A function parameter: its function and position. */
  param?: { fn: Node; index: number };
  /** The annotation of a parameter or an annotated assignment (`x: torch.Tensor`). */
  annotation?: Node;
  /** A `def` or `class` statement. */
  def?: Node;
  /** Which parsed block (code block of a note; 0 for a .py file) it is in. */
  block: number;
  /** Offset in its block from which the binding is in effect (the end of its statement). */
  at: number;
}

/** The names one Python scope binds, in source order per name. */
export interface Scope {
  readonly bindings: Map<string, Binding[]>;
  /** `from m import *`, in source order; `target` is m. */
  readonly stars: Binding[];
}

/** Node types that open a new scope for the names bound inside them. */
export const FUNCTION_SCOPES = new Set(['function_definition', 'lambda']);
export const COMPREHENSIONS = new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']);

/** Statement containers we descend into while collecting one scope's bindings. */
const CONTAINERS = new Set([
  'module', 'block', 'if_statement', 'elif_clause', 'else_clause', 'for_statement', 'while_statement',
  'try_statement', 'except_clause', 'except_group_clause', 'finally_clause', 'with_statement',
  'match_statement', 'case_clause', 'expression_statement',
]);

/** The dotted parts of `a.b.c` (identifiers and attributes only), else undefined. */
export function dottedParts(node: Node): string[] | undefined {
  const parts: string[] = [];
  let n: Node | null = node;
  while (n && n.type === 'attribute') {
    const attr = n.childForFieldName('attribute');
    if (!attr) return undefined;
    parts.push(attr.text);
    n = n.childForFieldName('object');
  }
  if (!n || n.type !== 'identifier') return undefined;
  parts.push(n.text);
  return parts.reverse();
}

/** `a . b` as written in an import, without whitespace or comments. */
function dottedText(node: Node): string {
  return node.namedChildren.filter((c): c is Node => !!c && c.type === 'identifier').map((c) => c.text).join('.');
}

class ScopeBuilder {
  readonly scope: Scope = { bindings: new Map(), stars: [] };
  /** Names bound by any import, in any scope: the note index only follows chains rooted at one. */
  constructor(private readonly block: number, private readonly importNames: Set<string>) {}

  add(name: string, b: Omit<Binding, 'block'>): void {
    const list = this.scope.bindings.get(name) ?? [];
    list.push({ ...b, block: this.block });
    this.scope.bindings.set(name, list);
    if (b.target !== undefined) this.importNames.add(name);
  }

  statements(node: Node): void {
    for (const c of node.namedChildren) if (c) this.statement(c);
  }

  statement(n: Node): void {
    const at = n.endIndex;
    switch (n.type) {
      case 'import_statement':
        for (const name of n.childrenForFieldName('name')) {
          if (!name) continue;
          if (name.type === 'dotted_name') {
            const first = name.namedChildren[0];
            if (first) this.add(first.text, { target: first.text, at });
          } else if (name.type === 'aliased_import') {
            const dotted = name.childForFieldName('name');
            const alias = name.childForFieldName('alias');
            if (dotted && alias) this.add(alias.text, { target: dottedText(dotted), at });
          }
        }
        return;
      case 'import_from_statement': {
        const mod = n.childForFieldName('module_name');
        // Relative imports name the user's own package: bound, but to nothing we know.
        const base = mod && mod.type === 'dotted_name' ? dottedText(mod) : undefined;
        if (n.namedChildren.some((c) => c?.type === 'wildcard_import')) {
          if (base) this.scope.stars.push({ target: base, block: this.block, at });
          return;
        }
        for (const name of n.childrenForFieldName('name')) {
          if (!name) continue;
          if (name.type === 'dotted_name') {
            const t = dottedText(name);
            this.add(t, base ? { target: `${base}.${t}`, at } : { at });
          } else if (name.type === 'aliased_import') {
            const dotted = name.childForFieldName('name');
            const alias = name.childForFieldName('alias');
            if (dotted && alias) this.add(alias.text, base ? { target: `${base}.${dottedText(dotted)}`, at } : { at });
          }
        }
        return;
      }
      case 'assignment': {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (right?.type === 'assignment') this.statement(right); // a = b = c
        if (left) this.targets(left, at, right && right.type !== 'assignment' ? right : null, n.childForFieldName('type'));
        return;
      }
      case 'augmented_assignment': {
        const left = n.childForFieldName('left');
        if (left) this.targets(left, at, null);
        return;
      }
      case 'named_expression': {
        const name = n.childForFieldName('name');
        if (name) this.add(name.text, { at });
        return;
      }
      case 'function_definition':
      case 'class_definition': {
        const name = n.childForFieldName('name');
        if (name) this.add(name.text, { at, def: n });
        return;
      }
      case 'decorated_definition': {
        const def = n.childForFieldName('definition');
        if (def) this.add(def.childForFieldName('name')?.text ?? '', { at, def });
        return;
      }
      case 'for_statement': {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (left) this.targets(left, n.startIndex, null, null, right ? { node: right, path: [], iter: true } : undefined);
        break;
      }
      case 'with_item': {
        const value = n.childForFieldName('value');
        if (value?.type === 'as_pattern') {
          const alias = value.childForFieldName('alias');
          // `with tf.GradientTape() as tape`: most context managers give themselves.
          const cm = value.namedChildren[0];
          if (alias) this.targets(alias, at, cm && cm.id !== alias.id ? cm : null);
        }
        return;
      }
      case 'as_pattern': {
        // except E as e
        const alias = n.childForFieldName('alias');
        if (alias) this.targets(alias, at, null);
        return;
      }
      case 'with_clause':
        this.statements(n);
        return;
      default:
        break;
    }
    if (CONTAINERS.has(n.type) || n.type === 'with_statement') this.statements(n);
  }

  /**
   * Binds every name in an assignment target; `value` is the right side of a single-name
   * target, `from` what a name inside a pattern is unpacked from.
   */
  targets(t: Node, at: number, value: Node | null, annotation: Node | null = null, from?: Binding['from']): void {
    switch (t.type) {
      case 'identifier': {
        const parts = value ? dottedParts(value) : undefined;
        this.add(t.text, {
          at,
          ...(parts ? { aliasOf: parts } : {}),
          ...(value ? { value } : {}),
          ...(from ? { from } : {}),
          ...(annotation ? { annotation } : {}),
        });
        return;
      }
      case 'pattern_list':
      case 'tuple_pattern':
      case 'list_pattern':
      case 'tuple':
      case 'list': {
        const items = t.namedChildren.filter((c): c is Node => !!c);
        // `a, b = x.to(d), y.to(d)`: pair the names with the values when both sides line up.
        const values = value && (value.type === 'expression_list' || value.type === 'tuple') ? value.namedChildren.filter((c): c is Node => !!c) : undefined;
        items.forEach((c, i) => {
          if (values && values.length === items.length) this.targets(c, at, values[i]!);
          else if (value) this.targets(c, at, null, null, { node: value, path: [i], iter: false });
          else this.targets(c, at, null, null, from ? { ...from, path: [...from.path, i] } : undefined);
        });
        return;
      }
      case 'as_pattern_target':
      case 'list_splat_pattern':
      case 'list_splat':
      case 'parenthesized_expression':
        for (const c of t.namedChildren) if (c) this.targets(c, at, null);
        return;
      default:
        return; // attributes and subscripts bind no name
    }
  }

  parameters(params: Node | null, at: number, fn: Node): void {
    if (!params) return;
    let index = 0;
    for (const p of params.namedChildren) {
      if (!p) continue;
      const name = p.type === 'identifier' ? p : p.childForFieldName('name') ?? p.namedChildren.find((c) => c?.type === 'identifier') ?? null;
      const annotation = p.type === 'typed_parameter' || p.type === 'typed_default_parameter' ? p.childForFieldName('type') : null;
      if (name?.type === 'identifier') this.add(name.text, { at, param: { fn, index }, ...(annotation ? { annotation } : {}) });
      index++;
    }
  }
}

/** The scopes of one parsed block: its module scope up front, inner scopes on demand. */
export class BlockScopes {
  readonly module: Scope;
  /** Names bound by imports anywhere in this block. */
  readonly importNames = new Set<string>();
  private readonly inner = new Map<number, Scope>();

  constructor(readonly tree: Tree, readonly block: number) {
    const b = new ScopeBuilder(block, this.importNames);
    b.statements(tree.rootNode);
    this.module = b.scope;
  }

  /** The bindings made directly in a function, lambda, class or comprehension node. */
  scopeOf(node: Node): Scope {
    const cached = this.inner.get(node.id);
    if (cached) return cached;
    const b = new ScopeBuilder(this.block, this.importNames);
    if (node.type === 'function_definition' || node.type === 'lambda') {
      // Parameters are bound from the start of the function.
      b.parameters(node.childForFieldName('parameters'), node.startIndex, node);
    }
    if (COMPREHENSIONS.has(node.type)) {
      for (const c of node.namedChildren) {
        if (c?.type === 'for_in_clause') {
          const left = c.childForFieldName('left');
          const right = c.childForFieldName('right');
          if (left) b.targets(left, node.startIndex, null, null, right ? { node: right, path: [], iter: true } : undefined);
        }
      }
    }
    const body = node.childForFieldName('body');
    if (body && body.type === 'block') b.statements(body);
    this.inner.set(node.id, b.scope);
    return b.scope;
  }

  dispose(): void {
    this.tree.delete();
  }
}
