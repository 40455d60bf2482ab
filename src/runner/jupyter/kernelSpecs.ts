import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A Jupyter kernelspec (`<data dir>/kernels/<name>/kernel.json`), as `jupyter kernelspec list`
 * finds it. Only ipykernel specs can run a note's blocks: ML Notes starts the spec's Python with
 * its own launcher around ipykernel (watchdog, `mlnotes` helper), so `python` is what matters.
 */
export interface KernelSpec {
  /** The folder's name (what `mlNotes.jupyter.kernelSpec` holds). */
  readonly name: string;
  readonly displayName: string;
  readonly language: string;
  /** The spec's folder (`{resource_dir}`). */
  readonly dir: string;
  /** The spec's Python, when argv is `PY [flags] -m ipykernel_launcher|ipykernel …`; undefined otherwise. */
  readonly python?: string;
  /** The interpreter's own flags in the spec (`PY -X… -m ipykernel_launcher`). */
  readonly pythonArgs: readonly string[];
  /** The spec's arguments to ipykernel beyond `-f {connection_file}` (e.g. `--IPKernelApp.…`). */
  readonly kernelArgs: readonly string[];
  /** The spec's environment variables. */
  readonly env: Readonly<Record<string, string>>;
}

/** What a LocalKernel takes from the spec the user chose. */
export type KernelSpecChoice = Pick<KernelSpec, 'name' | 'pythonArgs' | 'kernelArgs' | 'env'>;

/**
 * The folders Jupyter looks in for kernelspecs, in its order (jupyter_core's `jupyter_path`):
 * `$JUPYTER_PATH`, the user's data dir (`$JUPYTER_DATA_DIR`, else the platform's), then the
 * system's, each with `kernels` appended. (Jupyter also looks in its own Python's
 * `sys.prefix`; a venv's spec there runs that venv's Python, which the interpreter setting
 * already reaches.)
 */
export function kernelSpecDirs(opts: { env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform; home?: string } = {}): string[] {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.home ?? homedir();
  const win = platform === 'win32';
  const sep = win ? ';' : ':';
  const data: string[] = [];
  for (const p of (env['JUPYTER_PATH'] ?? '').split(sep)) if (p) data.push(p);
  if (env['JUPYTER_DATA_DIR']) data.push(env['JUPYTER_DATA_DIR']);
  else if (win) data.push(join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), 'jupyter'));
  else if (platform === 'darwin') data.push(join(home, 'Library', 'Jupyter'));
  else data.push(join(env['XDG_DATA_HOME'] || join(home, '.local', 'share'), 'jupyter'));
  if (win) data.push(join(env['PROGRAMDATA'] ?? 'C:\\ProgramData', 'jupyter'));
  else data.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(data)].map((d) => join(d, 'kernels'));
}

/**
 * Every kernelspec in these folders; a name found twice is the first folder's (as Jupyter
 * resolves it). A folder that is missing or unreadable, and a kernel.json that is not a spec,
 * are passed over: discovery lists what can be used and never fails.
 */
export function findKernelSpecs(dirs: readonly string[]): KernelSpec[] {
  const byName = new Map<string, KernelSpec>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const key = name.toLowerCase();
      if (byName.has(key)) continue;
      const spec = readKernelSpec(join(dir, name), key);
      if (spec) byName.set(key, spec);
    }
  }
  return [...byName.values()];
}

function readKernelSpec(dir: string, name: string): KernelSpec | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const j = raw as { argv?: unknown; display_name?: unknown; language?: unknown; env?: unknown };
  if (!Array.isArray(j.argv) || j.argv.length === 0 || !j.argv.every((a) => typeof a === 'string')) return undefined;
  const sub = (s: string): string => s.split('{resource_dir}').join(dir);
  const argv = (j.argv as string[]).map(sub);
  const env: Record<string, string> = {};
  if (j.env && typeof j.env === 'object') for (const [k, v] of Object.entries(j.env)) if (typeof v === 'string') env[k] = sub(v);
  const { python, pythonArgs, kernelArgs } = ipykernelArgv(argv);
  return {
    name,
    displayName: typeof j.display_name === 'string' && j.display_name ? j.display_name : name,
    language: typeof j.language === 'string' ? j.language : '',
    dir,
    python,
    pythonArgs,
    kernelArgs,
    env,
  };
}

/** `PY [interpreter flags] -m ipykernel_launcher|ipykernel [args]`: the Python and ipykernel's args without `-f {connection_file}`. */
function ipykernelArgv(argv: readonly string[]): { python?: string; pythonArgs: string[]; kernelArgs: string[] } {
  const m = argv.indexOf('-m');
  if (m < 1 || !['ipykernel_launcher', 'ipykernel'].includes(argv[m + 1] ?? '')) return { pythonArgs: [], kernelArgs: [] };
  const rest = argv.slice(m + 2);
  const kernelArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '-f' && rest[i + 1] === '{connection_file}') i++;
    else if (rest[i] !== '--f={connection_file}' && rest[i] !== '-f={connection_file}') kernelArgs.push(rest[i]!);
  }
  return { python: argv[0], pythonArgs: argv.slice(1, m), kernelArgs };
}
