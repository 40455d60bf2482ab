import type { Node } from 'web-tree-sitter';
import type { ApiRef, KnowledgeBase } from '../kb/knowledgeBase';
import type { KbEntry } from '../kb/types';
import { BlockScopes, COMPREHENSIONS, FUNCTION_SCOPES, dottedParts, type Binding, type Scope } from './pythonScopes';
import { TypeInference, type PyType } from './pythonTypes';

/** The public names an export decorator gives the function it decorates. */
export interface ExportNames {
  /** The API the names are registered in (`tensorflow`, `keras`, `estimator`). */
  api: string;
  /** TF2 names as written (`math.add`); empty when only `v1=` was given. */
  v2: string[];
  /** TF1 names as written; the positional names when `v1=` is absent. */
  v1: string[];
}

/** What a hover at one position is about. */
export interface Resolved {
  /** The API named: a curated entry or a generated index entry. */
  api: ApiRef;
  /** The curated entry (`api.entry`), when there is one. */
  entry?: KbEntry;
  /** Only the member name matched: the receiver's type is unknown (`loss.backward()`). */
  byName: boolean;
  /** The hovered identifier, in its block's rows and UTF-16 columns. */
  range: { startRow: number; startCol: number; endRow: number; endCol: number };
  /** Set when the hovered name is an export decorator applied with arguments. */
  exports?: ExportNames;
}

/** Where a position is: module level, or inside a function (where later module names are visible). */
interface Place {
  block: number;
  at: number;
}

type RootResult = { kind: 'qualified'; name: string } | { kind: 'opaque'; binding?: Binding } | { kind: 'unbound' };

/**
 * By-name guesses read the receiver's name for the three families whose methods share names
 * (`step`, `state_dict`, `zero_grad`): `optimizer.step()` is an optimizer's, `scheduler.step()`
 * a scheduler's. Other receivers get a by-name match only where one family has the method.
 */
const RECEIVER_HINTS: [RegExp, string][] = [
  [/^(opt|optim|optimizer|.+_(opt|optim|optimizer)|(opt|optim|optimizer)_.+|optimizer[A-Z]\w*)$/, 'torch.optim.Optimizer'],
  [/^(sched|scheduler|lr_scheduler|.+_scheduler|scheduler_.+)$/, 'torch.optim.lr_scheduler.LRScheduler'],
];
/** Tensor attributes matched by name on an unknown receiver in torch code, even when not called. */
const TENSOR_PROPERTIES = new Set(['shape', 'dtype', 'device', 'ndim', 'is_cuda']);
/** Receivers that hold settings, not tensors: `args.device` is a string or a torch.device. */
const CONFIG_NAMES = /^(args|opt|opts|cfg|config|conf|hparams|params|flags|options|settings|kwargs)$/;
/** Families a by-name match may come from when the receiver gives no hint. */
const BY_NAME_FAMILIES = ['torch.Tensor', 'torch.nn.Module', 'torch.optim.Optimizer', 'torch.optim.lr_scheduler.LRScheduler'];

/**
 * The Python code visible at a hover: one block for a .py file; for a note, its Python code
 * blocks in order, the later ones seeing the earlier ones' imports as if run one after another.
 */
export class PythonProgram {
  private readonly types: TypeInference;

  constructor(readonly blocks: readonly BlockScopes[], private readonly kb: KnowledgeBase) {
    this.types = new TypeInference(kb, (name, block, at) => this.resolveRoot(name, block, at), () => this.importsTorch());
  }

  private flavour: { torch: boolean; tf: boolean } | undefined;

  /** Which frameworks the program imports (at module level, in any block). */
  private frameworks(): { torch: boolean; tf: boolean } {
    if (!this.flavour) {
      const f = { torch: false, tf: false };
      for (const b of this.blocks) {
        for (const list of b.module.bindings.values()) {
          for (const x of list) {
            if (x.target === undefined) continue;
            if (/^torch(\.|$)/.test(x.target)) f.torch = true;
            if (/^(tensorflow|keras)(\.|$)/.test(x.target)) f.tf = true;
          }
        }
      }
      this.flavour = f;
    }
    return this.flavour;
  }

  /** Does the program import torch and neither TensorFlow nor Keras? By-name tensor guesses need that. */
  importsTorch(): boolean {
    const f = this.frameworks();
    return f.torch && !f.tf;
  }

  /** Resolves the identifier at (row, column) of block `block`. */
  resolveAt(block: number, row: number, column: number): Resolved | undefined {
    const scopes = this.blocks[block];
    if (!scopes) return undefined;
    const root = scopes.tree.rootNode;
    let node = root.descendantForPosition({ row, column });
    if (node?.type !== 'identifier' && column > 0) {
      // The cursor right after a name still means that name (as VS Code's word ranges do).
      const before = root.descendantForPosition({ row, column: column - 1 });
      if (before?.type === 'identifier' && before.endPosition.column === column) node = before;
    }
    if (!node || node.type !== 'identifier') return undefined;
    return this.resolveNode(block, node);
  }

  resolveNode(block: number, node: Node): Resolved | undefined {
    const range = { startRow: node.startPosition.row, startCol: node.startPosition.column, endRow: node.endPosition.row, endCol: node.endPosition.column };
    const parent = node.parent;
    if (!parent) return undefined;
    const hit = (api: ApiRef | undefined, byName: boolean, exports?: ExportNames): Resolved | undefined =>
      api ? { api, ...(api.entry ? { entry: api.entry } : {}), byName, range, ...(exports ? { exports } : {}) } : undefined;

    const imported = this.inImport(node, parent);
    if (imported !== undefined) return hit(imported ? this.kb.find(imported) : undefined, false);

    if (parent.type === 'keyword_argument' && parent.childForFieldName('name')?.id === node.id) {
      const call = parent.parent?.parent;
      const callee = call?.type === 'call' ? call.childForFieldName('function') : null;
      if (!callee) return undefined;
      const target = this.resolveExpression(block, callee);
      const entry = target?.api.entry && this.kb.parameter(target.api.entry, node.text);
      return entry ? hit(this.kb.find(entry.name), target.byName) : undefined;
    }

    const isMember = parent.type === 'attribute' && parent.childForFieldName('attribute')?.id === node.id;
    if (!isMember && parent.type === 'attribute' && parent.childForFieldName('object')?.id !== node.id) return undefined;
    const chain = isMember ? parent : node;
    // Only names in expressions: not a def's own name, not a parameter, not a keyword's name.
    if (!isMember && !isExpressionIdentifier(node, parent)) return undefined;
    const target = this.resolveExpression(block, chain);
    if (!target) return undefined;
    const exportApi = target.api.entry?.exportApi;
    return hit(target.api, target.byName, exportApi ? exportNamesAt(chain, exportApi) : undefined);
  }

  /**
   * The API an expression (a name or `receiver.member`) names. A member is looked up on its
   * receiver's inferred type; when that type is unknown, only a called member is matched by
   * name (plus a few tensor attributes such as `shape` in torch code), and only where the
   * receiver's name or a single family of classes makes it clear.
   */
  resolveExpression(block: number, expr: Node): { api: ApiRef; byName: boolean } | undefined {
    if (expr.type === 'identifier') {
      const root = this.resolveRoot(expr.text, block, expr);
      if (root.kind !== 'qualified') return undefined;
      const api = this.kb.find(root.name);
      return api ? { api, byName: false } : undefined;
    }
    if (expr.type !== 'attribute') return undefined;
    const obj = expr.childForFieldName('object');
    const member = expr.childForFieldName('attribute')?.text;
    if (!obj || !member) return undefined;
    const recv = this.types.typeOf(block, obj);
    if (recv) {
      const api = this.memberOf(recv, member, block);
      return api ? { api, byName: false } : undefined;
    }
    // An unknown receiver. A bare name bound by an import is a module we know nothing of.
    const parts = dottedParts(obj);
    if (parts) {
      const root = this.resolveRoot(parts[0]!, block, obj);
      if (root.kind === 'qualified') return undefined;
    }
    const called = expr.parent?.type === 'call' && expr.parent.childForFieldName('function')?.id === expr.id;
    if (!called) {
      // `x.shape` on a value we cannot type, in torch code: tensors are what have these.
      if (!TENSOR_PROPERTIES.has(member) || !this.importsTorch() || CONFIG_NAMES.test(lastName(obj) ?? '')) return undefined;
      const api = this.kb.memberOf('torch.Tensor', member);
      return api ? { api, byName: true } : undefined;
    }
    const api = this.byName(obj, member);
    return api ? { api, byName: true } : undefined;
  }

  private memberOf(recv: PyType, member: string, block: number): ApiRef | undefined {
    switch (recv.k) {
      case 'ref':
        return this.kb.find(`${recv.name}.${member}`);
      case 'inst':
        if (recv.user && this.types.userDefines(recv.user, member, block)) return undefined;
        return this.kb.memberOf(recv.cls, member);
      default:
        return undefined;
    }
  }

  /** A guess for `receiver.member(...)` with an unknown receiver; undefined unless it is unambiguous. */
  private byName(receiver: Node, member: string): ApiRef | undefined {
    const last = lastName(receiver);
    if (last) {
      for (const [re, cls] of RECEIVER_HINTS) {
        if (re.test(last)) return this.kb.memberOf(cls, member);
      }
    }
    const curated = this.kb.member(member);
    // A Keras method is a guess only in TensorFlow code, a torch one never there.
    const tfEntry = curated ? /^(tensorflow|keras)\./.test(curated.name) : false;
    if (curated && (tfEntry ? this.frameworks().tf : !(this.frameworks().tf && !this.frameworks().torch))) return this.kb.find(curated.name);
    // Tensor-family guesses only in torch code; dunders (`__init__`) belong to every class.
    if (!this.importsTorch() || member.startsWith('__')) return undefined;
    const found = BY_NAME_FAMILIES.map((c) => this.kb.memberOf(c, member)).filter((a): a is ApiRef => !!a);
    const distinct = new Set(found.map((a) => a.name));
    return distinct.size === 1 ? found[0] : undefined;
  }

  /** Resolves a bare name at `node` through the enclosing scopes, as Python's LEGB rule does (minus builtins). */
  resolveRoot(name: string, block: number, node: Node, depth = 0): RootResult {
    const scopes = this.blocks[block]!;
    const at = node.startIndex;
    let inFunction = false;
    let first = true;
    for (let n = node.parent; n; n = n.parent) {
      const isFunction = FUNCTION_SCOPES.has(n.type) || COMPREHENSIONS.has(n.type);
      if (!isFunction && n.type !== 'class_definition') continue;
      // A class body's names are visible only directly in it, not in its methods.
      if (n.type === 'class_definition' && !first) continue;
      first = false;
      if (isFunction) {
        // A default value or decorator is evaluated outside the function's scope.
        const body = n.childForFieldName('body');
        if (n.type === 'function_definition' && body && !(at >= body.startIndex && at < body.endIndex)) continue;
        inFunction = true;
      } else {
        const body = n.childForFieldName('body');
        if (body && !(at >= body.startIndex && at < body.endIndex)) continue;
      }
      const scope = scopes.scopeOf(n);
      const list = scope.bindings.get(name);
      if (list?.length) {
        // Assigned anywhere in a function means local everywhere in it.
        const b = lastBefore(list, { block, at }) ?? (isFunction ? list[0] : undefined);
        if (b) return this.bindingResult(b, name, depth);
      }
    }
    // Module level: inside a function the whole program (up to this block) is visible.
    const limit: Place = inFunction ? { block, at: Number.MAX_SAFE_INTEGER } : { block, at };
    return this.moduleLookup(name, limit, depth);
  }

  /** The qualified name `a.b.c` spells with the program's module-level imports after its last block. */
  qualifyAtEnd(parts: readonly string[]): string | undefined {
    if (!parts.length || !this.blocks.length) return undefined;
    const root = this.moduleLookup(parts[0]!, { block: this.blocks.length - 1, at: Number.MAX_SAFE_INTEGER }, 0);
    return root.kind === 'qualified' ? [root.name, ...parts.slice(1)].join('.') : undefined;
  }

  private moduleLookup(name: string, limit: Place, depth: number): RootResult {
    let best: Binding | undefined;
    let bestStar: Binding | undefined;
    for (let i = Math.min(limit.block, this.blocks.length - 1); i >= 0 && !best; i--) {
      const scope: Scope = this.blocks[i]!.module;
      const list = scope.bindings.get(name);
      if (list) best = lastBefore(list, limit);
      if (!bestStar) {
        for (let j = scope.stars.length - 1; j >= 0; j--) {
          const s = scope.stars[j]!;
          if (before(s, limit) && this.kb.hasPrefix(`${s.target}.${name}`)) {
            bestStar = s;
            break;
          }
        }
      }
    }
    if (bestStar && (!best || before(best, bestStar))) return { kind: 'qualified', name: `${bestStar.target}.${name}` };
    return best ? this.bindingResult(best, name, depth) : { kind: 'unbound' };
  }

  private bindingResult(b: Binding, name: string, depth: number): RootResult {
    if (b.target !== undefined) return { kind: 'qualified', name: b.target };
    if (b.aliasOf && depth < 8 && b.aliasOf[0] !== name) {
      // `F = torch.nn.functional`: resolve the right side where the assignment is.
      const root = this.moduleLookup(b.aliasOf[0]!, { block: b.block, at: b.at - 1 }, depth + 1);
      if (root.kind === 'qualified') {
        const q = [root.name, ...b.aliasOf.slice(1)].join('.');
        // Only modules alias: `x = torch.float32` or `d = args.device` are values.
        const api = this.kb.find(q);
        if (!api || api.kind === 'module') return { kind: 'qualified', name: q };
      }
    }
    return { kind: 'opaque', binding: b };
  }

  /**
   * For a name inside an import statement: the qualified name it spells up to itself
   * (`import torch.nn.functional as F`: `nn` → `torch.nn`), '' for a relative import,
   * undefined when the node is not in an import.
   */
  private inImport(node: Node, parent: Node): string | undefined {
    let stmt: Node | null = parent;
    for (let i = 0; i < 3 && stmt && stmt.type !== 'import_statement' && stmt.type !== 'import_from_statement'; i++) stmt = stmt.parent;
    if (!stmt || (stmt.type !== 'import_statement' && stmt.type !== 'import_from_statement')) return undefined;
    const upTo = (dotted: Node, last: Node | null): string => {
      const ids = dotted.namedChildren.filter((c): c is Node => !!c && c.type === 'identifier');
      const end = last ? ids.findIndex((c) => c.id === last.id) : ids.length - 1;
      return ids.slice(0, end + 1).map((c) => c.text).join('.');
    };
    // An alias spells the whole imported name.
    const spelled = (): string => {
      if (parent.type === 'dotted_name') return upTo(parent, node);
      if (parent.type === 'aliased_import') {
        const d = parent.childForFieldName('name');
        return d ? upTo(d, null) : '';
      }
      return '';
    };
    const inner = spelled();
    if (!inner) return '';
    if (stmt.type === 'import_statement') return inner;
    const mod = stmt.childForFieldName('module_name');
    if (!mod || mod.type !== 'dotted_name') return '';
    if (parent.id === mod.id) return inner;
    return `${upTo(mod, null)}.${inner}`;
  }
}

/** The last name of a receiver: `optimizer` in `self.policy.optimizer`. */
function lastName(receiver: Node): string | undefined {
  return receiver.type === 'attribute' ? receiver.childForFieldName('attribute')?.text : receiver.type === 'identifier' ? receiver.text : undefined;
}

function before(b: Binding, p: Place): boolean {
  return b.block < p.block || (b.block === p.block && b.at <= p.at);
}

function lastBefore(list: readonly Binding[], p: Place): Binding | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (before(list[i]!, p)) return list[i];
  return undefined;
}

/** Identifiers that are read as names (not a def's name, a parameter or a keyword's name). */
function isExpressionIdentifier(node: Node, parent: Node): boolean {
  switch (parent.type) {
    case 'function_definition':
    case 'class_definition':
      return parent.childForFieldName('name')?.id !== node.id;
    case 'parameters':
    case 'lambda_parameters':
    case 'default_parameter':
    case 'typed_parameter':
    case 'typed_default_parameter':
    case 'list_splat_pattern':
    case 'dictionary_splat_pattern':
      return parent.type === 'default_parameter' || parent.type === 'typed_default_parameter' ? parent.childForFieldName('name')?.id !== node.id : false;
    case 'global_statement':
    case 'nonlocal_statement':
      return false;
    default:
      return true;
  }
}

/** `@tf_export('a.b', v1=['c.d'])` around `chain`: the names it exports, or undefined without a call. */
function exportNamesAt(chain: Node, api: string): ExportNames | undefined {
  const call = chain.parent;
  if (call?.type !== 'call' || call.childForFieldName('function')?.id !== chain.id || call.parent?.type !== 'decorator') return undefined;
  const args = call.childForFieldName('arguments');
  if (!args) return undefined;
  const v2: string[] = [];
  let v1: string[] | undefined;
  for (const a of args.namedChildren) {
    if (!a) continue;
    if (a.type === 'string') {
      const s = stringValue(a);
      if (s !== undefined) v2.push(s);
    } else if (a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'v1') {
      const value = a.childForFieldName('value');
      v1 = [];
      if (value && (value.type === 'list' || value.type === 'tuple')) {
        for (const item of value.namedChildren) {
          const s = item?.type === 'string' ? stringValue(item) : undefined;
          if (s !== undefined) v1.push(s);
        }
      }
    }
  }
  return { api, v2, v1: v1 ?? v2 };
}

/** The value of a plain string literal; undefined for f-strings. */
function stringValue(node: Node): string | undefined {
  let s = '';
  for (const c of node.namedChildren) {
    if (!c) continue;
    if (c.type === 'interpolation') return undefined;
    if (c.type === 'string_content') s += c.text;
  }
  return s;
}

/** Every known API the program's code mentions, with the block each mention is in. */
export function programMentions(program: PythonProgram, kb: KnowledgeBase): { entry: KbEntry; block: number }[] {
  const importNames = new Set<string>();
  for (const b of program.blocks) for (const n of b.importNames) importNames.add(n);
  const out: { entry: KbEntry; block: number }[] = [];
  program.blocks.forEach((b, block) => {
    // One call for all identifiers: walking the tree node by node crosses into wasm per step.
    for (const node of b.tree.rootNode.descendantsOfType('identifier')) {
      if (!node) continue;
      const parent = node.parent;
      if (!parent) continue;
      let candidate = importNames.has(node.text);
      if (!candidate && parent.type === 'attribute' && parent.childForFieldName('attribute')?.id === node.id) {
        candidate = true;
      } else if (!candidate && parent.type === 'keyword_argument') {
        candidate = !!kb.byLastSegment(node.text);
      }
      if (!candidate) continue;
      const r = program.resolveNode(block, node);
      if (r?.entry) out.push({ entry: r.entry, block });
    }
  });
  return out;
}
