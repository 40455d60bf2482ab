/**
 * Hover latency on a generated 5,000-line Python file (p50/p95 over many hovers after the
 * file's first parse, and the cost of that first parse), and the note index's build time over
 * 1,000 notes (the sample notes, repeated). Prints one JSON line.
 *   npm run bench:hover [-- LINES NOTES]
 * With `--real DIR`, coverage, curated share and wrong hovers on real code instead (the
 * bench:hovercov benchmark, bench/hoverCoverage.ts, over DIR).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HoverEngine } from '../src/core/hover/hoverEngine';
import { NoteIndex } from '../src/core/hover/noteIndex';
import { PythonParser } from '../src/core/hover/pythonParser';
import { wasmFromNodeModules } from '../src/core/hover/wasmPaths';
import { bundledKnowledgeBase } from '../src/core/kb/bundled';
import { hoverCoverage } from './hoverCoverage';
import { makeLargeNote } from './largeNote';

const LINES = Number(process.argv[2] ?? 5000);
const NOTES = Number(process.argv[3] ?? 1000);

function pythonFile(lines: number): string {
  const out = [
    'import os', 'import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', 'import torch.distributed as dist',
    'from torch.nn.parallel import DistributedDataParallel as DDP', 'from tensorflow.python.util.tf_export import tf_export', '',
  ];
  for (let i = 0; out.length < lines; i++) {
    out.push(
      `@tf_export('ops.op${i}', v1=['op${i}'])`,
      `class Block${i}(nn.Module):`,
      `    def __init__(self, c=${i % 64 + 1}):`,
      '        super().__init__()',
      '        self.conv = nn.Conv2d(c, c, 3, padding=1)',
      '        self.norm = nn.BatchNorm2d(c)',
      '        self.drop = nn.Dropout(0.1)',
      '',
      '    def forward(self, x):',
      '        y = F.relu(self.norm(self.conv(x)))',
      '        y = F.dropout(y, 0.1, training=self.training)',
      '        return x + self.drop(y)',
      '',
      `def step${i}(model, x, opt):`,
      '    loss = model(x).pow(2).mean()',
      '    opt.zero_grad()',
      '    loss.backward()',
      '    with torch.no_grad():',
      '        dist.all_reduce(loss)',
      '    return loss.detach()',
      '',
    );
  }
  return out.slice(0, lines).join('\n') + '\n';
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const round = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const t0 = performance.now();
  const parser = await PythonParser.load(wasmFromNodeModules());
  const loadMs = performance.now() - t0;
  const kb = bundledKnowledgeBase();
  const text = pythonFile(LINES);
  const lines = text.split('\n');
  const engine = new HoverEngine(parser, kb);
  const doc = { key: 'bench.py', version: 1, text, kind: 'python' as const };

  const t1 = performance.now();
  engine.prepare(doc);
  const firstParseMs = performance.now() - t1;

  // Every identifier-ish position in the file, sampled evenly: hits and misses alike.
  const positions: [number, number][] = [];
  lines.forEach((l, i) => {
    for (const m of l.matchAll(/[A-Za-z_]\w*/g)) positions.push([i, m.index! + 1]);
  });
  const step = Math.max(1, Math.floor(positions.length / 5000));
  const sample = positions.filter((_, i) => i % step === 0);
  const times: number[] = [];
  let hits = 0;
  for (const [line, col] of sample) {
    const s = performance.now();
    if (engine.hoverAt(doc, line, col)) hits++;
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);

  const notesDir = path.join(__dirname, '..', 'notes');
  const samples = fs.readdirSync(notesDir).filter((f) => f.endsWith('.md')).map((f) => fs.readFileSync(path.join(notesDir, f), 'utf8'));
  const index = new NoteIndex(parser, kb);
  const t2 = performance.now();
  for (let i = 0; i < NOTES; i++) index.update(`note-${i}.md`, samples[i % samples.length]!);
  const indexMs = performance.now() - t2;
  const t3 = performance.now();
  index.update('note-0.md', samples[0]! + '\n');
  const reindexOneMs = performance.now() - t3;

  // Re-indexing the open 8,000-line note after an edit (what a pause in typing costs), beside a
  // full index of the same text in the same run: a keystroke in prose, a new prose line (the
  // sections move), an edit in a code block.
  const big = makeLargeNote();
  const bigLines = big.split('\n');
  const prose = bigLines.findIndex((l, i) => i > 4000 && /^在第/.test(l));
  const code = bigLines.findIndex((l, i) => i > 4000 && /^\s*(import|def|for|x|loss)/.test(l));
  const edited = (f: (ls: string[]) => void) => { const ls = [...bigLines]; f(ls); return ls.join('\n'); };
  const edits = {
    keystroke: edited((ls) => { ls[prose] += '字'; }),
    new_line: edited((ls) => { ls.splice(prose, 0, '新的一行。'); }),
    code_edit: edited((ls) => { ls[code] += '  # 注释'; }),
  };
  const large: Record<string, number> = {};
  for (const [name, text] of Object.entries(edits)) {
    const times: number[] = [];
    const fullTimes: number[] = [];
    for (let k = 0; k < 5; k++) {
      const inc = new NoteIndex(parser, kb);
      inc.update('big.md', big);
      const s = performance.now();
      inc.update('big.md', text);
      times.push(performance.now() - s);
      const s2 = performance.now();
      new NoteIndex(parser, kb).update('big.md', text);
      fullTimes.push(performance.now() - s2);
    }
    large[`large_note_${name}_ms`] = round(pct(times.sort((a, b) => a - b), 50));
    large[`large_note_${name}_full_ms`] = round(pct(fullTimes.sort((a, b) => a - b), 50));
  }

  console.log(JSON.stringify({
    lines: LINES, hovers: times.length, hits,
    hover_p50_ms: round(pct(times, 50)), hover_p95_ms: round(pct(times, 95)), hover_max_ms: round(times[times.length - 1]!),
    first_parse_ms: round(firstParseMs), parser_load_ms: round(loadMs),
    notes: NOTES, note_index_build_ms: Math.round(indexMs), note_reindex_one_ms: round(reindexOneMs),
    ...large,
  }));
  engine.dispose();
}

const real = process.argv.indexOf('--real');
(real >= 0 ? hoverCoverage(process.argv.slice(2).filter((_, i) => i !== real - 2)) : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
