"""The public names of an installed PyTorch, each with its kind, signature and the first sentence
of its docstring, introspected from the interpreter that runs this script, as one JSON object on
stdout. It is the one implementation behind both generated sources of torch hovers:

- kb/index-torch.json, shipped, written from Debian's python3-torch 1.13 and never edited by hand:
      /usr/bin/python3 -I src/core/kb/torch_index.py > kb/index-torch.json
- the index read from the user's own interpreter (the exact installed version), which the
  extension and the CLI run in the background and cache per interpreter and torch version.

With --version it prints only {"torch": VERSION or null, "python": ...}, without importing torch
(importing it takes seconds; the version is what the cache is keyed by).
"""
import inspect
import json
import re
import sys
import types

if len(sys.argv) > 1 and sys.argv[1] == '--version':
    out = {'torch': None, 'python': sys.version.split()[0], 'executable': sys.executable}
    try:
        import importlib.metadata
        out['torch'] = importlib.metadata.version('torch').split('+')[0]
    except Exception:
        import importlib.util
        if importlib.util.find_spec('torch') is not None:
            out['torch'] = 'unknown'
    print(json.dumps(out))
    sys.exit(0)

import importlib
import warnings

# Deprecation warnings printed while importing would go to stderr only, but keep them quiet.
warnings.simplefilter('ignore')
import torch

MODULES = [
    'torch', 'torch.nn', 'torch.nn.functional', 'torch.nn.init', 'torch.nn.utils', 'torch.optim',
    'torch.optim.lr_scheduler', 'torch.utils.data', 'torch.cuda', 'torch.cuda.amp', 'torch.distributed',
    'torch.autograd', 'torch.distributions', 'torch.linalg', 'torch.fft', 'torch.special',
    'torch.backends.cudnn', 'torch.nn.parallel', 'torch.utils.checkpoint', 'torch.utils',
]
for _m in MODULES:
    try:
        importlib.import_module(_m)
    except Exception:
        pass  # not in this torch version (or its import fails here): its names are left out
MODULES = [m for m in MODULES if m in sys.modules]
# Classes whose members hovers look up on inferred values; the key is the public name used.
MEMBER_CLASSES = {
    'torch.Tensor': torch.Tensor,
    'torch.nn.Module': torch.nn.Module,
    'torch.optim.Optimizer': torch.optim.Optimizer,
    'torch.optim.lr_scheduler.LRScheduler': getattr(torch.optim.lr_scheduler, 'LRScheduler', None) or torch.optim.lr_scheduler._LRScheduler,
    'torch.utils.data.DataLoader': torch.utils.data.DataLoader,
    'torch.utils.data.Dataset': torch.utils.data.Dataset,
    'torch.cuda.amp.GradScaler': getattr(getattr(torch.cuda, 'amp', None), 'GradScaler', None),
    'torch.distributions.Distribution': getattr(getattr(torch, 'distributions', None), 'Distribution', None),
    'torch.nn.Sequential': torch.nn.Sequential,
    'torch.nn.ModuleList': torch.nn.ModuleList,
    'torch.nn.ModuleDict': torch.nn.ModuleDict,
    'torch.nn.parallel.DistributedDataParallel': torch.nn.parallel.DistributedDataParallel,
}
# The base a class's instances are looked up through, most specific first.
BASES = [
    ('torch.nn.Module', torch.nn.Module),
    ('torch.optim.lr_scheduler.LRScheduler', MEMBER_CLASSES['torch.optim.lr_scheduler.LRScheduler']),
    ('torch.optim.Optimizer', torch.optim.Optimizer),
    ('torch.utils.data.DataLoader', torch.utils.data.DataLoader),
    ('torch.utils.data.Dataset', torch.utils.data.Dataset),
    ('torch.distributions.Distribution', MEMBER_CLASSES['torch.distributions.Distribution']),
    ('torch.Tensor', torch.Tensor),
]

SIG_LINE = re.compile(r'^\s*([A-Za-z_][\w.]*)\((.*)\)(\s*->\s*(.+))?\s*$')


def docstring(obj):
    d = getattr(obj, '__doc__', None)
    return d if isinstance(d, str) else ''


def first_sentence(doc):
    lines = [l.strip() for l in (doc or '').strip().split('\n')]
    # Skip a leading signature line (builtins document their signature this way).
    while lines and SIG_LINE.match(lines[0]):
        lines.pop(0)
    text = []
    for l in lines:
        if not l:
            if text:
                break
            continue
        text.append(l)
    s = ' '.join(text)
    m = re.match(r'(.+?[.!?])(\s|$)', s)
    s = m.group(1) if m else s
    s = re.sub(r':(class|func|meth|attr|mod|ref):`~?([^`]+)`', r'`\2`', s)
    s = re.sub(r':math:`([^`]+)`', r'`\1`', s)
    s = s.replace('``', '`')
    return s[:200]


def signature(qual, short, obj):
    doc = docstring(obj)
    first = doc.strip().split('\n', 1)[0].strip() if doc.strip() else ''
    m = SIG_LINE.match(first)
    if m and m.group(1).split('.')[-1] == short:
        return f"{qual}({m.group(2)})" + (f" -> {m.group(4).strip()}" if m.group(4) else '')
    try:
        sig = str(inspect.signature(obj))
        return f"{qual}{sig}"
    except (TypeError, ValueError):
        return None


def returns(sig):
    if not sig:
        return None
    m = re.search(r'->\s*(.+)$', sig)
    if not m:
        return None
    r = m.group(1).strip().strip("'\"")
    if r in ('Tensor', 'torch.Tensor'):
        return 'torch.Tensor'
    if r in ('(Tensor, Tensor)', 'Tuple[Tensor, Tensor]', 'tuple[Tensor, Tensor]', 'List[Tensor]', 'Tuple[Tensor, ...]', 'List[torch.Tensor]'):
        return 'torch.Tensor[]'
    if r in ('int', 'float', 'bool', 'str', 'number', 'None', 'list', 'dict', 'torch.Size', 'Size'):
        return r
    return None


def kind_of(obj):
    if isinstance(obj, types.ModuleType):
        return 'module'
    if inspect.isclass(obj):
        return 'class'
    if isinstance(obj, property) or type(obj).__name__ in ('getset_descriptor', 'member_descriptor'):
        return 'property'
    if callable(obj):
        return 'function'
    return 'constant'


entries = {}
aliases = {}


def add(name, obj, kind=None, owner=None):
    if name in entries:
        return
    short = name.rsplit('.', 1)[-1]
    k = kind or kind_of(obj)
    if owner and k == 'function':
        k = 'method'
    e = {'kind': k}
    if k in ('function', 'method', 'class'):
        sig = signature(name if not owner else f"{owner.rsplit('.', 1)[-1]}.{short}", short, obj)
        if sig:
            if k == 'class':
                sig = re.sub(r'\s*->\s*None$', '', sig)
            if owner:
                sig = re.sub(r'\(self(, )?', '(', sig, count=1)
            # Default values printed as `<X object at 0x7f…>` differ per run: keep the type only.
            sig = re.sub(r' (object )?at 0x[0-9a-f]+>', '>', sig)
            e['signature'] = sig
            r = returns(sig)
            if r and k != 'class':
                e['returns'] = r
    elif k == 'constant':
        if isinstance(obj, torch.dtype):
            e['signature'] = f'{name}: torch.dtype'
            e['type'] = 'torch.dtype'
        elif isinstance(obj, (int, float, str, bool)):
            e['signature'] = f'{name} = {obj!r}'
        else:
            e['signature'] = f'{name}: {type(obj).__module__}.{type(obj).__qualname__}'
    elif k == 'property':
        e['signature'] = f"{owner.rsplit('.', 1)[-1]}.{short}" if owner else name
    elif k == 'module':
        e['signature'] = f'import {name}'
    if k == 'class':
        for bn, b in BASES:
            if b is not None and obj is not b and issubclass(obj, b):
                e['base'] = bn
                break
    s = first_sentence(docstring(obj)) if k != 'constant' or not isinstance(obj, (int, float, str, bool, torch.dtype)) else ''
    if s and not (k == 'constant'):
        e['summary'] = s
    entries[name] = e
    if not owner and k in ('class', 'function'):
        # Where the object is defined (`torch.nn.modules.linear.Linear`): code imports from there too.
        defined = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        if defined.startswith('torch.') and defined != name and '<' not in defined:
            aliases.setdefault(defined, name)


for modname in MODULES:
    mod = sys.modules[modname]
    add(modname, mod, 'module')
    names = getattr(mod, '__all__', None) or [n for n in dir(mod) if not n.startswith('_')]
    for n in sorted(set(names) | {n for n in dir(mod) if not n.startswith('_') and modname == 'torch'}):
        if n.startswith('_'):
            continue
        try:
            obj = getattr(mod, n)
        except Exception:
            continue
        if isinstance(obj, types.ModuleType):
            # Submodules only where they really are torch's (not `torch.os`).
            if not obj.__name__.startswith('torch'):
                continue
            add(f'{modname}.{n}', obj, 'module')
            continue
        m = getattr(obj, '__module__', None) or ''
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and m and not m.startswith('torch'):
            continue  # re-exported typing / builtins names
        add(f'{modname}.{n}', obj)

ROOTS = {'torch.Tensor', 'torch.nn.Module', 'torch.optim.Optimizer', 'torch.optim.lr_scheduler.LRScheduler', 'torch.utils.data.DataLoader',
         'torch.utils.data.Dataset', 'torch.cuda.amp.GradScaler', 'torch.distributions.Distribution'}
for cname, cls in MEMBER_CLASSES.items():
    if cls is None:
        continue
    # A subclass lists only what it defines itself: inherited members are found through `base`,
    # so an explanation written for `Module.apply` also answers for a `Sequential`.
    names = dir(cls) if cname in ROOTS else list(vars(cls))
    for n in sorted(names):
        if n.startswith('_') and n != '__init__':
            continue
        try:
            obj = inspect.getattr_static(cls, n)
        except AttributeError:
            continue
        if n == '__init__' and cname != 'torch.nn.Module':
            continue
        add(f'{cname}.{n}', getattr(cls, n, obj) if not isinstance(obj, property) else obj, owner=cname)

# One entry a line: a regenerated index reads well in a diff.
out = sys.stdout
head = {'generatedBy': 'src/core/kb/torch_index.py', 'package': 'torch', 'version': torch.__version__.split('+')[0]}
out.write('{' + json.dumps(head, ensure_ascii=False)[1:-1] + ',"entries":{\n')
names = sorted(entries)
for i, k in enumerate(names):
    out.write(json.dumps(k) + ':' + json.dumps(entries[k], ensure_ascii=False, separators=(',', ':')) + (',' if i < len(names) - 1 else '') + '\n')
out.write('},"aliases":{\n')
anames = sorted(a for a in aliases if a not in entries)
for i, a in enumerate(anames):
    out.write(json.dumps(a) + ':' + json.dumps(aliases[a]) + (',' if i < len(anames) - 1 else '') + '\n')
out.write('}}\n')
