/**
 * npm run bench:realnotes [-- --files] [-- --show NAME]
 *
 * Renders every note of test/fixtures/real-notes with ML Notes and, in the same run, with VS
 * Code's preview pipeline, and prints what a reader sees: literal `$` on screen, Chinese prose
 * rendered as math, formulas, KaTeX errors, render time. `--files` adds one line per note;
 * `--show NAME` prints, for that note, the formulas that read as prose and the lines with `$`.
 */
import MarkdownIt = require('markdown-it');
import { findMathRegions } from '../src/core/formulas/mathRegions';
import { DocumentRenderer, joinChunks } from '../src/core/markdown/documentRenderer';
import { createVsCodePipeline, isProse, loadCorpus, measureMlNotes, measureVsCode, sum, visibleText, type NoteFigures } from './realNotesMetrics';

const args = process.argv.slice(2);
const notes = loadCorpus();
const vs = createVsCodePipeline();
const mln: NoteFigures[] = [];
const ref: NoteFigures[] = [];
const fmt = (f: NoteFigures) => `$ ${String(f.dollars).padStart(4)}  prose ${String(f.proseAsMath).padStart(3)}  formulas ${String(f.formulas).padStart(5)}  errors ${String(f.katexErrors).padStart(3)}  ${f.ms.toFixed(0).padStart(5)} ms`;

for (const note of notes) {
  const a = measureMlNotes(note.text);
  const b = measureVsCode(note.text, vs);
  mln.push(a);
  ref.push(b);
  if (args.includes('--files')) console.log(`${note.name.padEnd(40)} ML Notes: ${fmt(a)} | VS Code: ${fmt(b)}`);
}

const show = args.indexOf('--show');
if (show >= 0) {
  const note = notes.find((n) => n.name === args[show + 1]);
  if (!note) throw new Error(`no note ${args[show + 1]}`);
  for (const r of findMathRegions(note.text, { html: true })) if (isProse(r.tex)) console.log(`prose as math, line ${r.outerStart.line + 1}: ${r.tex.slice(0, 120)}`);
  const html = joinChunks(new DocumentRenderer().render(note.text));
  for (const line of visibleText(html).split('\n')) if (line.includes('$')) console.log(`ML Notes $: ${line.slice(0, 160)}`);
  const vhtml = (vs as MarkdownIt.MarkdownIt).render(note.text);
  for (const line of visibleText(vhtml).split('\n')) if (line.includes('$')) console.log(`VS Code $: ${line.slice(0, 160)}`);
}

const total = { mlNotes: sum(mln), vsCode: sum(ref) };
console.log(`${notes.length} notes, ${(notes.reduce((n, x) => n + x.text.length, 0) / 1e6).toFixed(2)} M chars`);
console.log(`ML Notes : ${fmt(total.mlNotes)}`);
console.log(`VS Code  : ${fmt(total.vsCode)}`);
console.log(JSON.stringify(total));
