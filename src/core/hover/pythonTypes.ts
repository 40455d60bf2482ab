import type { Node } from 'web-tree-sitter';
import type { KnowledgeBase } from '../kb/knowledgeBase';
import type { Binding } from './pythonScopes';

/**
 * What the type inference knows about a value. It is deliberately small: enough to tell a
 * tensor from a module, an optimizer from a scheduler, and torch's objects from everything
 * else, so that a member is explained only when its receiver is known to have it.
 */
export type PyType =
  /** A module, class or function of a package itself, by qualified name (`torch.nn`, `numpy.sqrt`). */
  | { k: 'ref'; name: string }
  /** An instance of a known API class; `user` is the user's subclass it was made from, if any. */
  | { k: 'inst'; cls: string; user?: Node }
  /** An instance of a user class that derives from no known API class. */
  | { k: 'user'; cls: Node }
  /** A value known not to be a torch/TF object: a literal, a number, a numpy result, a string. */
  | { k: 'other' };

/** The resolver's view of a bare name, as the type inference needs it. */
export type NameLookup = (name: string, block: number, at: Node) => { kind: 'qualified'; name: string } | { kind: 'opaque'; binding?: Binding } | { kind: 'unbound' };

const TENSOR = 'torch.Tensor';
const TF_TENSOR = 'tensorflow.Tensor';
const MODULE = 'torch.nn.Module';
const KERAS_LAYER = 'tensorflow.keras.layers.Layer';
const TENSOR_T: PyType = { k: 'inst', cls: TENSOR };
const OTHER: PyType = { k: 'other' };

/** Packages whose values are never torch/TF objects: a call into them gives something else. */
const NON_TORCH_PACKAGES = new Set(['numpy', 'math', 'os', 'sys', 'random', 'time', 'json', 're', 'argparse', 'collections', 'gym', 'gymnasium', 'PIL', 'matplotlib', 'pandas', 'blobfile', 'pathlib', 'shutil', 'glob', 'copy', 'functools', 'itertools', 'logging', 'warnings', 'datetime', 'imageio', 'scipy']);
/** Builtins whose results are plain Python values. */
const PLAIN_BUILTINS = new Set(['len', 'int', 'float', 'str', 'bool', 'range', 'list', 'dict', 'tuple', 'set', 'isinstance', 'hasattr', 'getattr', 'print', 'repr', 'format', 'open', 'round', 'abs', 'type', 'id', 'hash', 'sorted', 'reversed', 'any', 'all', 'ord', 'chr', 'divmod', 'vars', 'dir']);
const LITERALS = new Set(['integer', 'float', 'string', 'concatenated_string', 'true', 'false', 'none', 'list', 'dictionary', 'set', 'tuple', 'list_comprehension', 'dictionary_comprehension', 'set_comprehension', 'lambda', 'not_operator']);
/** Tensor attributes that are not in the index as typed properties. */
const TENSOR_PROPS: Record<string, string> = {
  shape: 'torch.Size', dtype: 'torch.dtype', device: 'torch.device', T: TENSOR, mT: TENSOR, H: TENSOR, data: TENSOR, grad: TENSOR, real: TENSOR, imag: TENSOR,
};
/** Module methods that return the module itself (`model = Net().to(device)`). */
const MODULE_SELF = new Set(['to', 'cuda', 'cpu', 'train', 'eval', 'float', 'half', 'double', 'bfloat16', 'requires_grad_', 'apply', 'type', 'share_memory', 'xpu']);
/** Module methods whose results iterate over tensors, or over (name, tensor) pairs. */
const MODULE_TENSORS = new Set(['parameters', 'buffers']);
const MODULE_NAMED_TENSORS = new Set(['named_parameters', 'named_buffers']);
const MODULE_MODULES = new Set(['children', 'modules']);
const MODULE_NAMED_MODULES = new Set(['named_children', 'named_modules']);
const PLAIN_RETURNS = new Set(['int', 'float', 'bool', 'str', 'number', 'None', 'list', 'dict']);
/** Untyped parameters whose names say what they hold, by the convention torch code follows. */
const PARAM_HINTS: [RegExp, string][] = [
  [/^(loader|dataloader|data_loader|\w+_loader|\w+_dataloader)$/, 'torch.utils.data.DataLoader'],
  [/^(optimizer|optim|opt)$/, 'torch.optim.Optimizer'],
  [/^(scheduler|lr_scheduler)$/, 'torch.optim.lr_scheduler.LRScheduler'],
];

/**
 * Infers the types of expressions in one program, from assignments, parameters, calls of known
 * constructors and factories, and the classes in the file. Results are cached per node.
 */
export class TypeInference {
  private readonly cache = new Map<string, PyType | undefined>();
  private readonly busy = new Set<string>();

  /** `torchProgram`: does the program import torch (and not TensorFlow)? Conventions differ. */
  constructor(private readonly kb: KnowledgeBase, private readonly lookup: NameLookup, readonly torchProgram: () => boolean) {}

  typeOf(block: number, n: Node, depth = 0): PyType | undefined {
    const key = `${block}:${n.id}`;
    if (this.cache.has(key)) return this.cache.get(key);
    if (this.busy.has(key) || depth > 24) return undefined;
    this.busy.add(key);
    let t: PyType | undefined;
    try {
      t = this.infer(block, n, depth + 1);
    } finally {
      this.busy.delete(key);
    }
    this.cache.set(key, t);
    return t;
  }

  /** Is `t` an instance of `cls` or of a class derived from it? */
  isInstance(t: PyType | undefined, cls: string): boolean {
    return t?.k === 'inst' && this.kb.isA(t.cls, cls);
  }

  /** Does the user class (or a user base of it) define `name` itself, as a method or `self.name = …`? */
  userDefines(cls: Node, name: string, block: number): boolean {
    return this.userMember(cls, name, block, 0) !== undefined;
  }

  /** The type of `self.name` in a user class: from its `self.name = …` assignments, or undefined when it has none. */
  selfAttribute(cls: Node, name: string, block: number, depth: number): { type: PyType | undefined } | undefined {
    const m = this.userMember(cls, name, block, depth);
    if (!m) return undefined;
    if (m.method) return { type: undefined };
    for (const v of m.values) {
      const t = this.typeOf(block, v, depth);
      if (t) return { type: t };
    }
    return { type: m.augmented ? OTHER : undefined };
  }

  private userMember(cls: Node, name: string, block: number, depth: number): { method: boolean; values: Node[]; augmented: boolean } | undefined {
    if (depth > 8) return undefined;
    const body = cls.childForFieldName('body');
    if (!body) return undefined;
    const values: Node[] = [];
    let augmented = false;
    let method = false;
    for (const st of body.namedChildren) {
      if (!st) continue;
      const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
      if (def?.type === 'function_definition') {
        if (def.childForFieldName('name')?.text === name) method = true;
        const self = def.childForFieldName('parameters')?.namedChildren[0];
        const selfName = self?.type === 'identifier' ? self.text : 'self';
        for (const a of def.descendantsOfType(['assignment', 'augmented_assignment'])) {
          const left = a?.childForFieldName('left');
          if (!a || left?.type !== 'attribute') continue;
          if (left.childForFieldName('object')?.text !== selfName || left.childForFieldName('attribute')?.text !== name) continue;
          if (a.type === 'augmented_assignment') augmented = true;
          const right = a.childForFieldName('right');
          if (right && a.type === 'assignment') values.push(right);
        }
      } else if (st.type === 'expression_statement') {
        const a = st.namedChildren[0];
        if (a?.type === 'assignment' && a.childForFieldName('left')?.text === name) {
          const right = a.childForFieldName('right');
          if (right) values.push(right);
        }
      }
    }
    if (method || values.length || augmented) return { method, values, augmented };
    for (const base of this.userBases(cls, block)) {
      const m = this.userMember(base, name, block, depth + 1);
      if (m) return m;
    }
    return undefined;
  }

  private userBases(cls: Node, block: number): Node[] {
    const out: Node[] = [];
    for (const arg of cls.childForFieldName('superclasses')?.namedChildren ?? []) {
      if (arg?.type !== 'identifier') continue;
      const r = this.lookup(arg.text, block, arg);
      if (r.kind === 'opaque' && r.binding?.def?.type === 'class_definition') out.push(r.binding.def);
    }
    return out;
  }

  /** The type an instance of the user class `cls` has: the known API class it derives from, if any. */
  classInstance(cls: Node, block: number, depth: number): PyType {
    for (const arg of cls.childForFieldName('superclasses')?.namedChildren ?? []) {
      if (!arg || arg.type === 'keyword_argument') continue;
      const t = this.typeOf(block, arg, depth);
      if (t?.k === 'ref') {
        const api = this.kb.find(t.name);
        if (api?.kind === 'class') return { k: 'inst', cls: api.name, user: cls };
      }
      if (t?.k === 'user') return { k: 'user', cls };
      if (t?.k === 'inst' && t.user && t.user.id !== cls.id && this.isClassRef(arg, block)) return { k: 'inst', cls: t.cls, user: cls };
    }
    return { k: 'user', cls };
  }

  private isClassRef(arg: Node, block: number): boolean {
    if (arg.type !== 'identifier') return false;
    const r = this.lookup(arg.text, block, arg);
    return r.kind === 'opaque' && r.binding?.def?.type === 'class_definition';
  }

  private infer(block: number, n: Node, depth: number): PyType | undefined {
    if (LITERALS.has(n.type)) return OTHER;
    switch (n.type) {
      case 'identifier':
        return this.identifier(block, n, depth);
      case 'parenthesized_expression': {
        const inner = n.namedChildren[0];
        return inner ? this.typeOf(block, inner, depth) : undefined;
      }
      case 'attribute':
        return this.attribute(block, n, depth);
      case 'call':
        return this.call(block, n, depth);
      case 'subscript': {
        const t = this.valueOf(block, n.childForFieldName('value'), depth);
        if (this.isInstance(t, TENSOR) || this.isInstance(t, TF_TENSOR)) return t;
        if (t?.k === 'inst' && t.cls === 'torch.Size') return OTHER;
        return t?.k === 'other' && n.childForFieldName('value')?.type === 'string' ? OTHER : undefined;
      }
      case 'binary_operator':
      case 'comparison_operator': {
        const kids = n.namedChildren.filter((c): c is Node => !!c);
        const types = kids.map((c) => this.typeOf(block, c, depth));
        const tensor = types.find((t) => this.isInstance(t, TENSOR) || this.isInstance(t, TF_TENSOR));
        if (tensor) return tensor.k === 'inst' && this.kb.isA(tensor.cls, TENSOR) ? TENSOR_T : { k: 'inst', cls: TF_TENSOR };
        return types.every((t) => t?.k === 'other') ? OTHER : undefined;
      }
      case 'unary_operator': {
        const arg = n.childForFieldName('argument');
        return arg ? this.typeOf(block, arg, depth) : undefined;
      }
      case 'conditional_expression': {
        const [a, , b] = n.namedChildren;
        const ta = a ? this.typeOf(block, a, depth) : undefined;
        const tb = b ? this.typeOf(block, b, depth) : undefined;
        return ta && tb && ta.k === tb.k && (ta.k !== 'inst' || (tb.k === 'inst' && ta.cls === tb.cls)) ? ta : undefined;
      }
      default:
        return undefined;
    }
  }

  private valueOf(block: number, n: Node | null, depth: number): PyType | undefined {
    return n ? this.typeOf(block, n, depth) : undefined;
  }

  private identifier(block: number, n: Node, depth: number): PyType | undefined {
    const r = this.lookup(n.text, block, n);
    if (r.kind === 'qualified') return this.refOrConstant(r.name);
    if (r.kind === 'unbound') return undefined;
    const b = r.binding;
    if (!b) return undefined;
    // A def or class name is the function or class itself; only calls of classes are typed (in `call`).
    if (b.def) return undefined;
    if (b.annotation) {
      const t = this.annotationType(b.block, b.annotation, depth);
      if (t) return t;
    }
    if (b.value) return this.typeOf(b.block, b.value, depth);
    if (b.from) return this.element(b.block, b.from.node, b.from.path, b.from.iter, depth);
    if (b.param) return this.parameter(b.block, b.param.fn, b.param.index, depth) ?? (this.torchProgram() ? this.parameterByName(b.param.fn, b.param.index) : undefined);
    return undefined;
  }

  private refOrConstant(name: string): PyType {
    const type = this.kb.typeOf(name);
    return type ? { k: 'inst', cls: type } : { k: 'ref', name };
  }

  private annotationType(block: number, a: Node, depth: number): PyType | undefined {
    const expr = a.type === 'type' ? a.namedChildren[0] : a;
    if (!expr || (expr.type !== 'identifier' && expr.type !== 'attribute')) return undefined;
    const t = this.typeOf(block, expr, depth);
    if (t?.k === 'ref' && this.kb.find(t.name)?.kind === 'class') return { k: 'inst', cls: this.kb.find(t.name)!.name };
    if (t?.k === 'ref' && /^(int|float|str|bool|dict|list)$/.test(t.name)) return OTHER;
    return undefined;
  }

  /** A parameter: `self` is the enclosing class's instance; `forward(self, x)` of a module takes tensors. */
  private parameter(block: number, fn: Node, index: number, depth: number): PyType | undefined {
    if (fn.type !== 'function_definition') return undefined;
    let cls: Node | null = fn.parent;
    if (cls?.type === 'decorated_definition') {
      // `@torch.no_grad()` keeps `self`; static and class methods have none.
      const plain = cls.namedChildren.filter((d) => d?.type === 'decorator').every((d) => !/^@\s*(staticmethod|classmethod)\b/.test(d!.text));
      if (!plain) return undefined;
      cls = cls.parent;
    }
    while (cls && cls.type === 'block') cls = cls.parent;
    if (cls?.type !== 'class_definition') return undefined;
    const self = this.classInstance(cls, block, depth);
    if (index === 0) return self;
    const name = fn.childForFieldName('name')?.text;
    if (name === 'forward' && this.isInstance(self, MODULE)) return TENSOR_T;
    return undefined;
  }

  /** A parameter named by the usual convention (`train_loader`, `optimizer`), in a program that imports torch. */
  private parameterByName(fn: Node, index: number): PyType | undefined {
    const p = fn.childForFieldName('parameters')?.namedChildren.filter((c) => !!c)[index];
    const name = p?.type === 'identifier' ? p.text : undefined;
    if (!name) return undefined;
    for (const [re, cls] of PARAM_HINTS) if (re.test(name)) return { k: 'inst', cls };
    return undefined;
  }

  /** The type of one element of `src` (iterated when `iter`, else unpacked) at `path`. */
  private element(block: number, src: Node, path: number[], iter: boolean, depth: number): PyType | undefined {
    if (iter && src.type === 'call') {
      const fn = src.childForFieldName('function');
      const args = (src.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is Node => !!c && c.type !== 'keyword_argument');
      if (fn?.type === 'identifier' && this.lookup(fn.text, block, fn).kind === 'unbound') {
        if (fn.text === 'enumerate' && args[0]) {
          if (path.length === 0) return undefined;
          return path[0] === 0 ? OTHER : this.element(block, args[0], path.slice(1), true, depth);
        }
        if (fn.text === 'zip' && path.length) {
          const a = args[path[0]!];
          return a ? this.element(block, a, path.slice(1), true, depth) : undefined;
        }
        if (fn.text === 'range') return OTHER;
      }
      if (fn?.type === 'attribute') {
        const recv = this.valueOf(block, fn.childForFieldName('object'), depth);
        const m = fn.childForFieldName('attribute')?.text ?? '';
        if (this.isInstance(recv, MODULE)) {
          if (MODULE_TENSORS.has(m)) return TENSOR_T;
          if (MODULE_MODULES.has(m)) return { k: 'inst', cls: MODULE };
          if (MODULE_NAMED_TENSORS.has(m) || MODULE_NAMED_MODULES.has(m)) {
            if (!path.length) return undefined;
            return path[0] === 0 ? OTHER : MODULE_NAMED_TENSORS.has(m) ? TENSOR_T : { k: 'inst', cls: MODULE };
          }
        }
      }
    }
    const t = this.typeOf(block, src, depth);
    if (this.isInstance(t, TENSOR)) return TENSOR_T;
    if (iter && (this.isInstance(t, 'torch.utils.data.DataLoader') || this.isInstance(t, 'tensorflow.data.Dataset'))) {
      // A batch: a tensor, or a tuple/list of tensors (what the default collate gives).
      return this.isInstance(t, 'tensorflow.data.Dataset') ? { k: 'inst', cls: TF_TENSOR } : TENSOR_T;
    }
    return undefined;
  }

  private attribute(block: number, n: Node, depth: number): PyType | undefined {
    const obj = n.childForFieldName('object');
    const name = n.childForFieldName('attribute')?.text;
    if (!obj || !name) return undefined;
    const recv = this.typeOf(block, obj, depth);
    if (!recv) return undefined;
    switch (recv.k) {
      case 'ref': {
        const q = `${recv.name}.${name}`;
        return this.refOrConstant(q);
      }
      case 'other':
        return OTHER;
      case 'user': {
        const a = this.selfAttribute(recv.cls, name, block, depth);
        return a?.type;
      }
      case 'inst': {
        if (recv.user) {
          const a = this.selfAttribute(recv.user, name, block, depth);
          if (a) return a.type;
        }
        if (this.kb.isA(recv.cls, TENSOR)) {
          const p = TENSOR_PROPS[name];
          if (p) return { k: 'inst', cls: p };
        }
        if (this.kb.isA(recv.cls, MODULE) && (name === 'weight' || name === 'bias')) return TENSOR_T;
        return undefined;
      }
    }
  }

  private call(block: number, n: Node, depth: number): PyType | undefined {
    const fn = n.childForFieldName('function');
    if (!fn) return undefined;
    if (fn.type === 'identifier') {
      const r = this.lookup(fn.text, block, fn);
      if (r.kind === 'unbound') {
        if (PLAIN_BUILTINS.has(fn.text)) return OTHER;
        if (fn.text === 'super') return this.superType(block, n, depth);
        return undefined;
      }
      if (r.kind === 'opaque' && r.binding?.def?.type === 'class_definition') return this.classInstance(r.binding.def, r.binding.block, depth);
    }
    if (fn.type === 'attribute') {
      const recv = this.valueOf(block, fn.childForFieldName('object'), depth);
      const m = fn.childForFieldName('attribute')?.text ?? '';
      if (recv?.k === 'inst') {
        if (recv.user && this.userDefines(recv.user, m, block)) return undefined;
        if (this.kb.isA(recv.cls, MODULE) && MODULE_SELF.has(m)) return recv;
        const api = this.kb.memberOf(recv.cls, m);
        if (api) return this.returned(api.name, recv);
        return undefined;
      }
      if (recv?.k === 'other') return OTHER;
      if (recv?.k === 'user') return undefined;
    }
    const t = this.typeOf(block, fn, depth);
    if (!t) return undefined;
    if (t.k === 'ref') {
      const api = this.kb.find(t.name);
      if (!api) return NON_TORCH_PACKAGES.has(t.name.split('.')[0]!) ? OTHER : undefined;
      if (api.kind === 'class') return { k: 'inst', cls: api.name };
      return this.returned(api.name);
    }
    if (t.k === 'inst') {
      // Calling a layer runs its forward: modules give tensors (most do), Keras layers TF tensors.
      if (this.kb.isA(t.cls, MODULE)) return TENSOR_T;
      if (this.kb.isA(t.cls, KERAS_LAYER) || this.kb.isA(t.cls, 'tensorflow.keras.losses.Loss')) return { k: 'inst', cls: TF_TENSOR };
    }
    return undefined;
  }

  private returned(api: string, self?: PyType): PyType | undefined {
    const r = this.kb.returnsOf(api);
    if (!r) return undefined;
    if (r === 'self') return self;
    if (r === 'torch.Tensor[]') return undefined;
    if (PLAIN_RETURNS.has(r)) return OTHER;
    if (r === 'Size' || r === 'torch.Size') return { k: 'inst', cls: 'torch.Size' };
    return { k: 'inst', cls: r };
  }

  /** `super()` inside a method: the first base class, as an instance. */
  private superType(block: number, n: Node, depth: number): PyType | undefined {
    let cls: Node | null = n.parent;
    while (cls && cls.type !== 'class_definition') cls = cls.parent;
    if (!cls) return undefined;
    const first = cls.childForFieldName('superclasses')?.namedChildren.find((c) => c && c.type !== 'keyword_argument');
    if (!first) return OTHER; // object.__init__
    const t = this.typeOf(block, first, depth);
    if (t?.k === 'ref') {
      const api = this.kb.find(t.name);
      if (api?.kind === 'class') return { k: 'inst', cls: api.name };
    }
    // A user base, or another package's class (`OffPolicyAlgorithm`): its methods are not torch's.
    return this.isClassRef(first, block) ? { k: 'user', cls } : OTHER;
  }
}
