import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';

/** What a Python interpreter offers the Python kernel. */
export interface PythonInfo {
  readonly interpreter: string;
  readonly python: string;
  readonly executable: string;
  /** Undefined when torch cannot be imported. */
  readonly torch?: string;
  readonly torchError?: string;
  readonly cuda: { readonly available: boolean; readonly count: number; readonly names: readonly string[]; readonly version?: string };
  readonly mps: boolean;
  readonly matplotlib?: string;
  /** ipykernel's version, when a Jupyter kernel can be started with this interpreter. */
  readonly ipykernel?: string;
}

export type ProbeResult = { readonly ok: true; readonly info: PythonInfo } | { readonly ok: false; readonly error: string };

const PROBE = String.raw`
import json, os, site, sys
# -I dropped these; the kernel (not isolated) sees them, so the probe must too. Only absolute
# PYTHONPATH entries: relative ones would mean the probe's neutral working directory.
sys.path[1:1] = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(p)]
try:
    if os.path.isdir(site.getusersitepackages()):
        site.addsitedir(site.getusersitepackages())
except Exception:
    pass
out = {"python": sys.version.split()[0], "executable": sys.executable, "cuda": {"available": False, "count": 0, "names": []}, "mps": False}
try:
    import torch
    out["torch"] = torch.__version__
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        out["cuda"] = {"available": True, "count": n, "names": [torch.cuda.get_device_name(i) for i in range(n)], "version": torch.version.cuda}
    mps = getattr(torch.backends, "mps", None)
    out["mps"] = bool(mps is not None and mps.is_available())
except Exception as e:
    out["torchError"] = "%s: %s" % (type(e).__name__, e)
try:
    import matplotlib
    out["matplotlib"] = matplotlib.__version__
except Exception:
    pass
try:
    import importlib.util
    if importlib.util.find_spec("ipykernel") is not None:
        from importlib.metadata import version
        out["ipykernel"] = version("ipykernel")
except Exception:
    pass
print(json.dumps(out))
`;

/**
 * Runs the interpreter once to learn its Python, torch and devices. Never rejects. Isolated
 * (`-I`: no current directory or script folder on sys.path, no PYTHON* variables, no user
 * site-packages) and started in the temp folder, so a `torch.py` or `sitecustomize.py` in the
 * workspace is not what gets imported. Call it only for a trusted workspace: the interpreter
 * itself may come from the workspace (a .venv the Python extension selected).
 */
export function probePython(interpreter: string, timeoutMs = 60_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(interpreter, ['-I', '-c', PROBE], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      resolve({ ok: false, error: `cannot start '${interpreter}': ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.code === 'ENOENT' ? `no Python interpreter at '${interpreter}'` : `cannot start '${interpreter}': ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        resolve({ ok: false, error: `'${interpreter}' failed (exit code ${code}): ${stderr.trim().split('\n').pop() ?? ''}` });
        return;
      }
      try {
        const info = JSON.parse(stdout.trim().split('\n').pop()!) as Omit<PythonInfo, 'interpreter'>;
        resolve({ ok: true, info: { interpreter, ...info } });
      } catch {
        resolve({ ok: false, error: `'${interpreter}' did not answer like Python: ${stdout.slice(0, 200)}` });
      }
    });
  });
}

/** The device a run gets for a setting (`auto` picks the GPU when there is one). */
export function chooseDevice(setting: string, info: PythonInfo): { device: string; label: string } | { error: string } {
  const cudaLabel = (): string => `cuda (${info.cuda.names[0] ?? 'GPU'}${info.cuda.count > 1 ? ` ×${info.cuda.count}` : ''})`;
  switch (setting) {
    case 'cuda':
      return info.cuda.available ? { device: 'cuda', label: cudaLabel() } : { error: 'mlNotes.python.device is "cuda" but torch sees no CUDA GPU' };
    case 'mps':
      return info.mps ? { device: 'mps', label: 'mps (Apple GPU)' } : { error: 'mlNotes.python.device is "mps" but torch has no MPS device' };
    case 'cpu':
      return { device: 'cpu', label: 'cpu' };
    default:
      if (info.cuda.available) return { device: 'cuda', label: cudaLabel() };
      if (info.mps) return { device: 'mps', label: 'mps (Apple GPU)' };
      return { device: 'cpu', label: 'cpu' };
  }
}

/** One line for the status bar and run headers: "Python 3.11.2 · torch 1.13.1 · cpu". */
export function describePython(info: PythonInfo, deviceLabel?: string): string {
  return `Python ${info.python} · ${info.torch ? `torch ${info.torch}` : 'no torch'}${deviceLabel ? ` · ${deviceLabel}` : ''}`;
}

/**
 * A clear reason not to start a snippet that needs torch with an interpreter that lacks it
 * (instead of a ModuleNotFoundError deep in the output).
 */
export function torchMissing(info: PythonInfo, code: string): string | undefined {
  if (info.torch || !/^\s*(import\s+torch\b|from\s+torch\b)/m.test(code)) return undefined;
  return (
    `Python ${info.python} at '${info.interpreter}' has no PyTorch (${info.torchError ?? 'import torch failed'}). ` +
    'Install it for that interpreter (pip install torch, or on Debian/Ubuntu apt install python3-torch), ' +
    'or set mlNotes.python.interpreter to a Python that has it.'
  );
}
