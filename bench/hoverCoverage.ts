/**
 * Hover coverage and precision on real public training code (test/fixtures/real-code/).
 *
 * The occurrences are found here with a deliberately simple rule that does not use the
 * resolver: every identifier in a dotted name rooted at a name imported from torch,
 * tensorflow or keras, and every member name after a dot whose receiver is not another
 * imported module (`x.shape`, `self.step`, `model(x).sum().backward`). Names inside import
 * statements are left out. Which of them really are torch/TF APIs is decided by the
 * hand-written reference `labels.tsv` (a sample of the occurrences, each labelled with the
 * API it is, or `-` for "not torch/TF"), never by the code under test.
 *
 *   npm run bench:hovercov [-- DIR] [--json] [--misses]
 *   npm run bench:hover -- --real DIR [--json] [--misses]   (the same)
 *
 * Prints, over the labelled sample: the share of torch/TF occurrences whose hover names the
 * right API, the share with a curated bilingual entry, and the wrong hovers (a hover on a
 * non-torch name, or one naming another API); and over all occurrences the share with a hover.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node } from 'web-tree-sitter';
import { HoverEngine, type HoverHit } from '../src/core/hover/hoverEngine';
import { PythonParser } from '../src/core/hover/pythonParser';
import { wasmFromNodeModules } from '../src/core/hover/wasmPaths';
import { bundledKnowledgeBase } from '../src/core/kb/bundled';

let DIR = '';
let JSON_OUT = false;
let MISSES = false;
let LIST = false;

const TORCH_TF = /^(torch|tensorflow|keras)(\.|$)/;

export interface Occurrence {
  file: string;
  /** 1-based line and column, as editors show them. */
  line: number;
  col: number;
  name: string;
  /** The source line, for reading. */
  text: string;
}

/** The names the file's imports bind, split into torch/TF ones and the others. */
function importRoots(root: Node): { torch: Set<string>; other: Set<string> } {
  const torch = new Set<string>();
  const other = new Set<string>();
  for (const stmt of root.descendantsOfType(['import_statement', 'import_from_statement'])) {
    if (!stmt) continue;
    const mod = stmt.type === 'import_from_statement' ? stmt.childForFieldName('module_name') : null;
    const from = mod ? mod.text.replace(/\s/g, '') : undefined;
    for (const n of stmt.childrenForFieldName('name')) {
      if (!n) continue;
      const dotted = n.type === 'aliased_import' ? n.childForFieldName('name')! : n;
      const alias = n.type === 'aliased_import' ? n.childForFieldName('alias')!.text : dotted.text.split('.')[0]!;
      const full = from !== undefined ? `${from}.${dotted.text}` : dotted.text;
      (TORCH_TF.test(full) ? torch : other).add(alias);
    }
  }
  for (const n of torch) other.delete(n);
  return { torch, other };
}

function inImport(n: Node): boolean {
  for (let p: Node | null = n; p; p = p.parent) if (p.type === 'import_statement' || p.type === 'import_from_statement') return true;
  return false;
}

/** The leftmost identifier of a dotted name `a.b.c`, or undefined when it starts with a call or subscript. */
function chainRoot(n: Node): string | undefined {
  let o: Node | null = n;
  while (o && o.type === 'attribute') o = o.childForFieldName('object');
  return o?.type === 'identifier' ? o.text : undefined;
}

export function occurrences(file: string, text: string, parser: PythonParser): Occurrence[] {
  const tree = parser.parse(text);
  const lines = text.split('\n');
  const out: Occurrence[] = [];
  try {
    const { torch, other } = importRoots(tree.rootNode);
    for (const id of tree.rootNode.descendantsOfType('identifier')) {
      if (!id || inImport(id)) continue;
      const parent = id.parent;
      if (!parent) continue;
      const isMember = parent.type === 'attribute' && parent.childForFieldName('attribute')?.id === id.id;
      let take = false;
      if (isMember) {
        const root = chainRoot(parent);
        take = root === undefined || !other.has(root);
      } else if (torch.has(id.text)) {
        // A bare use of an imported torch/TF name, not a keyword argument's name or a def's name.
        take = !(parent.type === 'keyword_argument' && parent.childForFieldName('name')?.id === id.id);
      }
      if (!take) continue;
      const row = id.startPosition.row;
      out.push({ file, line: row + 1, col: id.startPosition.column + 1, name: id.text, text: lines[row]!.trim() });
    }
  } finally {
    tree.delete();
  }
  return out;
}

interface Label {
  name: string;
  api: string;
}

function readLabels(file: string): Map<string, Label> {
  const labels = new Map<string, Label>();
  if (!fs.existsSync(file)) return labels;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [where, name, api] = line.split(/\s+/);
    if (!where || !name || !api) throw new Error(`labels: bad line: ${raw}`);
    labels.set(where, { name, api });
  }
  return labels;
}

/**
 * What a hover says the name is: its qualified names (a curated entry's aliases count: the
 * `torch.sum` entry documents `torch.Tensor.sum` too), and where the text comes from.
 */
function described(hit: HoverHit): { names: string[]; source: string } {
  return { names: [hit.api.name, ...(hit.entry?.aliases ?? [])], source: hit.api.source };
}

interface Tally {
  labelled: number;
  torch: number;
  right: number;
  curated: number;
  wrong: number;
  wrongOnNonTorch: number;
  hoversShown: number;
  nonTorch: number;
}

const pct = (a: number, b: number) => (b ? Math.round((1000 * a) / b) / 10 : 0);

function summary(t: Tally) {
  return {
    labelled: t.labelled,
    torch_tf: t.torch,
    not_torch: t.nonTorch,
    right_api_pct: pct(t.right, t.torch),
    curated_bilingual_pct: pct(t.curated, t.torch),
    wrong: t.wrong,
    wrong_pct_of_labelled: pct(t.wrong, t.labelled),
    wrong_pct_of_hovers: pct(t.wrong, t.hoversShown),
    wrong_on_not_torch: t.wrongOnNonTorch,
  };
}

/** Runs the benchmark with command-line arguments `[DIR] [--json] [--misses] [--list]`. */
export async function hoverCoverage(args: readonly string[]): Promise<void> {
  DIR = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(__dirname, '..', 'test', 'fixtures', 'real-code'));
  JSON_OUT = args.includes('--json');
  MISSES = args.includes('--misses');
  LIST = args.includes('--list');
  const parser = await PythonParser.load(wasmFromNodeModules());
  const kb = bundledKnowledgeBase();
  const engine = new HoverEngine(parser, kb);
  // labels.tsv was the sample the work was tuned on; labels-holdout.tsv was labelled afterwards.
  const sets = ['labels.tsv', 'labels-holdout.tsv'].filter((f) => fs.existsSync(path.join(DIR, f)));
  const labels = sets.map((f) => ({ file: f, map: readLabels(path.join(DIR, f)), seen: new Set<string>() }));
  const tallies = sets.map((): Tally => ({ labelled: 0, torch: 0, right: 0, curated: 0, wrong: 0, wrongOnNonTorch: 0, hoversShown: 0, nonTorch: 0 }));
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.py')).sort();
  let all = 0;
  let allHovered = 0;
  let allCurated = 0;
  const report: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(DIR, f), 'utf8');
    const doc = { key: f, version: 1, text, kind: 'python' as const };
    for (const o of occurrences(f, text, parser)) {
      all++;
      const key = `${o.file}:${o.line}:${o.col}`;
      const hit = engine.hoverAt(doc, o.line - 1, o.col - 1);
      if (hit) allHovered++;
      if (hit?.entry) allCurated++;
      if (LIST) console.log(`${key}\t${o.name}\t${o.text}`);
      labels.forEach((set, i) => {
        const label = set.map.get(key);
        if (!label) return;
        set.seen.add(key);
        const s = tallies[i]!;
        if (label.name !== o.name) throw new Error(`${set.file}: ${key} is ${o.name}, labelled as ${label.name}`);
        s.labelled++;
        const d = hit ? described(hit) : undefined;
        if (d) s.hoversShown++;
        if (label.api === '-') {
          s.nonTorch++;
          if (d) {
            s.wrong++;
            s.wrongOnNonTorch++;
            report.push(`WRONG ${set.file} ${key} ${o.name}: not torch, hover says ${d.names[0]}  | ${o.text}`);
          }
          return;
        }
        s.torch++;
        if (!d) {
          if (MISSES) report.push(`MISSED ${set.file} ${key} ${label.api}  | ${o.text}`);
          return;
        }
        if (d.names.includes(label.api)) {
          s.right++;
          if (d.source === 'kb') s.curated++;
        } else {
          s.wrong++;
          report.push(`WRONG ${set.file} ${key} ${o.name}: is ${label.api}, hover says ${d.names[0]}  | ${o.text}`);
        }
      });
    }
  }
  engine.dispose();
  for (const set of labels) {
    const stale = [...set.map.keys()].filter((k) => !set.seen.has(k));
    if (stale.length) throw new Error(`${set.file}: labels not found among the occurrences: ${stale.slice(0, 5).join(', ')}`);
  }
  const result = {
    files: files.length,
    occurrences: all,
    occurrences_hovered_pct: pct(allHovered, all),
    occurrences_curated_pct: pct(allCurated, all),
    ...Object.fromEntries(sets.map((f, i) => [f.replace(/\.tsv$/, ''), summary(tallies[i]!)])),
  };
  if (JSON_OUT || LIST) console.log(JSON.stringify(result));
  else {
    console.log(`real code: ${files.length} files, ${all} occurrences (torch/TF names and members after a dot), ${result.occurrences_hovered_pct}% with a hover, ${result.occurrences_curated_pct}% with a curated one`);
    if (!sets.length) console.log(`no labels.tsv in ${DIR}: right and wrong hovers need hand labels (FILE:LINE:COL<TAB>NAME<TAB>API or -)`);
    sets.forEach((f, i) => {
      const t = tallies[i]!;
      const r = summary(t);
      console.log(`${f}: ${t.labelled} labelled (${t.torch} torch/TF, ${t.nonTorch} not)`);
      console.log(`  hover names the right API: ${r.right_api_pct}%  (${t.right}/${t.torch})`);
      console.log(`  curated bilingual:         ${r.curated_bilingual_pct}%  (${t.curated}/${t.torch})`);
      console.log(`  wrong:                     ${t.wrong} (${r.wrong_pct_of_labelled}% of labelled, ${r.wrong_pct_of_hovers}% of hovers shown; ${t.wrongOnNonTorch} on non-torch names)`);
    });
  }
  for (const line of report) if (MISSES || line.startsWith('WRONG')) console.log(line);
}

if (require.main === module) {
  hoverCoverage(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
