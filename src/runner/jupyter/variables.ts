import type { KernelSession } from './session';

/** One variable of a kernel's namespace, as the variables view shows it. */
export interface KernelVariable {
  readonly name: string;
  readonly type: string;
  /** Tensors and arrays: `[64, 3, 32, 32]`. */
  readonly shape?: string;
  readonly dtype?: string;
  readonly device?: string;
  /** A short repr (≤ 120 characters). */
  readonly value: string;
}

const MARK = '\u001eMLNVARS ';

/**
 * Lists the user's variables in the kernel's namespace (not modules, functions, classes, names
 * starting with `_`, or IPython's own), without touching torch/numpy unless the value is one of
 * their objects. Runs silently (no In [n]) and prints one marked JSON line.
 */
const INSPECT = String.raw`
def _mlnotes_vars():
    import json, reprlib, sys, types
    ip = get_ipython()
    hidden = getattr(ip, "user_ns_hidden", {})
    out = []
    r = reprlib.Repr()
    r.maxstring = 100
    r.maxother = 100
    for name, value in list(ip.user_ns.items()):
        if name.startswith("_") or name in hidden or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)):
            continue
        item = {"name": name, "type": type(value).__module__.split(".")[0] + "." + type(value).__name__ if type(value).__module__ not in ("builtins",) else type(value).__name__}
        shape = getattr(value, "shape", None)
        if shape is not None and not callable(shape):
            try:
                item["shape"] = str(list(shape))
            except Exception:
                pass
            for attr in ("dtype", "device"):
                v = getattr(value, attr, None)
                if v is not None and not callable(v):
                    item[attr] = str(v)
        try:
            item["value"] = r.repr(value)[:120]
        except Exception as e:
            item["value"] = "<repr failed: %s>" % type(e).__name__
        out.append(item)
    sys.stdout.write("${MARK}" + json.dumps(out) + "\n")
    sys.stdout.flush()
_mlnotes_vars()
del _mlnotes_vars
`;

/** The kernel's variables; empty when it is not running or the listing failed. */
export async function kernelVariables(kernel: KernelSession): Promise<KernelVariable[]> {
  if (kernel.state !== 'idle') return [];
  let text = '';
  const r = await kernel.execute(INSPECT, (msg) => {
    if (msg.header.msg_type === 'stream') text += String((msg.content as { text?: string }).text ?? '');
  }, { silent: true });
  if (r.status !== 'ok') return [];
  const at = text.indexOf(MARK);
  if (at < 0) return [];
  const line = text.slice(at + MARK.length).split('\n')[0]!;
  try {
    const list = JSON.parse(line) as unknown;
    return Array.isArray(list) ? (list.filter((v) => v && typeof (v as KernelVariable).name === 'string') as KernelVariable[]) : [];
  } catch {
    return [];
  }
}
