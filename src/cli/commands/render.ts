import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { DocumentRenderer, DEFAULT_RENDER_OPTIONS, joinChunks } from '../../core/markdown/documentRenderer';
import { standaloneHtml } from '../../core/export/standaloneHtml';
import { distAssets, fail, type CliCommand } from '../cliUtil';

export const renderCommand: CliCommand = {
  name: 'render',
  usage: `ml-notes render NOTE.md [-o OUT.html] [--force] [--stats]
      Render a note to standalone HTML (KaTeX CSS and fonts embedded; opens offline).
      Without -o the HTML goes to stdout. --stats prints one JSON line
      {"formulas","katexErrors","ms",...} (to stdout with -o, or alone without -o).
      An existing OUT.html is overwritten only with --force or after a yes at the prompt.`,
  run: render,
};

async function render(args: readonly string[]): Promise<number> {
  let input: string | undefined;
  let output: string | undefined;
  let stats = false;
  let force = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-o' || a === '--output') output = args[++i];
    else if (a === '--stats') stats = true;
    else if (a === '--force' || a === '-f') force = true;
    else if (a.startsWith('-')) return fail(`unknown option '${a}'`);
    else if (input === undefined) input = a;
    else return fail(`unexpected argument '${a}'`);
  }
  if (!input) return fail('missing NOTE.md');
  if (args.includes('-o') && !output) return fail('-o needs a file name');

  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (e) {
    return fail(`cannot read '${input}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  const t0 = performance.now();
  // Relative image paths stay as written: the exported file usually sits beside the note.
  const renderer = new DocumentRenderer(DEFAULT_RENDER_OPTIONS);
  const doc = renderer.render(text);
  const ms = performance.now() - t0;
  const html = standaloneHtml({ title: basename(input), body: joinChunks(doc), assets: distAssets() });

  if (output) {
    if (existsSync(output) && !force && !(await confirmOverwrite(output))) {
      return fail(`'${output}' exists; not overwritten (use --force)`);
    }
    try {
      writeFileSync(output, html);
    } catch (e) {
      return fail(`cannot write '${output}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else if (!stats) {
    process.stdout.write(html);
  }
  if (stats) {
    const line = { formulas: doc.stats.formulas, katexErrors: doc.stats.katexErrors, ms: Math.round(ms * 10) / 10, chunks: doc.stats.chunks, bytes: html.length };
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  for (const d of doc.diagnostics) process.stderr.write(`${input}:${d.line + 1}: ${d.message}\n`);
  return 0;
}

async function confirmOverwrite(path: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`'${path}' exists. Overwrite? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
