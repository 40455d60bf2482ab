// Writes the generated formula data (run by scripts/build.mjs, bundled with esbuild so that it
// can import KaTeX's own TypeScript sources):
//  - src/core/formulas/katexCommands.json: every math-mode command and environment KaTeX
//    defines, read from KaTeX's function, symbol, macro and environment tables, so the
//    completion list follows the installed KaTeX instead of a hand-kept list;
//  - snippets/formulas.code-snippets: the formula snippets, from src/core/formulas/library.ts.
// test/unit/formulas.test.ts checks that both files are up to date.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../node_modules/katex/src/functions';
import '../node_modules/katex/src/environments';
import '../node_modules/katex/src/macros';
import { _functions } from '../node_modules/katex/src/defineFunction';
import { _environments } from '../node_modules/katex/src/defineEnvironment';
import { _macros } from '../node_modules/katex/src/defineMacro';
import symbols from '../node_modules/katex/src/symbols';
import { buildKatexCommandList, type KatexTables } from '../src/core/formulas/katexCommandList';
import { snippetFile } from '../src/core/formulas/library';

const root = process.argv[2];
if (!root) throw new Error('usage: generate-formula-data ROOT');

const tables: KatexTables = {
  version: process.env.KATEX_VERSION ?? '',
  functions: _functions as unknown as KatexTables['functions'],
  environments: _environments as unknown as KatexTables['environments'],
  macros: _macros as unknown as KatexTables['macros'],
  symbols: symbols.math as unknown as KatexTables['symbols'],
};
const list = buildKatexCommandList(tables);
// One entry per line: small, and diffs show which commands a KaTeX upgrade added or removed.
const lines = (items: readonly object[]) => items.map((i) => '  ' + JSON.stringify(i)).join(',\n');
writeFileSync(
  join(root, 'src/core/formulas/katexCommands.json'),
  `{\n "katex": ${JSON.stringify(list.katex)},\n "commands": [\n${lines(list.commands)}\n ],\n "environments": [\n${lines(list.environments)}\n ]\n}\n`,
);
writeFileSync(join(root, 'snippets/formulas.code-snippets'), JSON.stringify(snippetFile(), null, 2) + '\n');
