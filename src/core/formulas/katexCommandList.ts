/**
 * The LaTeX commands and environments KaTeX supports in math mode, derived from KaTeX's own
 * tables. scripts/generate-formula-data.ts feeds it the tables of the installed KaTeX and writes
 * katexCommands.json; nothing here is maintained by hand.
 */

export interface KatexCommand {
  /** Without the backslash: `alpha`, `frac`. */
  readonly name: string;
  readonly kind: 'symbol' | 'function' | 'macro';
  /** Mandatory arguments (braces to insert). */
  readonly args: number;
  /** The character the command draws, when KaTeX maps it to one (`\alpha` → `α`). */
  readonly char?: string;
}

export interface KatexEnvironment {
  readonly name: string;
  readonly args: number;
}

export interface KatexCommandList {
  readonly katex: string;
  readonly commands: readonly KatexCommand[];
  readonly environments: readonly KatexEnvironment[];
}

/** The parts of KaTeX's internal tables this reads (src/defineFunction.ts etc.). */
export interface KatexTables {
  readonly version: string;
  readonly functions: Readonly<Record<string, { numArgs?: number; allowedInMath?: boolean; primitive?: boolean }>>;
  readonly environments: Readonly<Record<string, { numArgs?: number }>>;
  readonly macros: Readonly<Record<string, unknown>>;
  readonly symbols: Readonly<Record<string, { replace?: string | null; group?: string }>>;
}

const COMMAND = /^\\([a-zA-Z]+)$/;

export function buildKatexCommandList(t: KatexTables): KatexCommandList {
  const commands = new Map<string, KatexCommand>();
  const add = (c: KatexCommand) => {
    if (!commands.has(c.name)) commands.set(c.name, c);
  };
  for (const [full, sym] of Object.entries(t.symbols)) {
    const m = COMMAND.exec(full);
    if (!m) continue;
    // Accents (`\hat`) are symbols that take the accented thing as an argument.
    if (sym.group === 'accent-token') {
      add({ name: m[1]!, kind: 'symbol', args: 1 });
      continue;
    }
    const ch = sym.replace && [...sym.replace].length === 1 ? sym.replace : undefined;
    add({ name: m[1]!, kind: 'symbol', args: 0, ...(ch ? { char: ch } : {}) });
  }
  for (const [full, fn] of Object.entries(t.functions)) {
    const m = COMMAND.exec(full);
    if (!m || fn.allowedInMath === false) continue;
    add({ name: m[1]!, kind: 'function', args: fn.numArgs ?? 0 });
  }
  for (const [full, body] of Object.entries(t.macros)) {
    const m = COMMAND.exec(full);
    if (!m) continue;
    const args = typeof body === 'string' ? maxParam(body) : 0;
    // A macro that is just another symbol draws that symbol (`\varnothing` → `\emptyset`-like).
    const target = typeof body === 'string' ? t.symbols[body.trim()] : undefined;
    const ch = target?.replace && [...target.replace].length === 1 ? target.replace : undefined;
    add({ name: m[1]!, kind: 'macro', args, ...(ch ? { char: ch } : {}) });
  }
  const environments = Object.entries(t.environments)
    .map(([name, env]) => ({ name, args: env.numArgs ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    katex: t.version,
    commands: [...commands.values()].sort((a, b) => a.name.localeCompare(b.name) || a.name.length - b.name.length),
    environments,
  };
}

/** The highest `#n` in a macro body: its argument count. */
export function maxParam(body: string): number {
  let n = 0;
  for (const m of body.matchAll(/#(\d)/g)) n = Math.max(n, Number(m[1]));
  return n;
}
