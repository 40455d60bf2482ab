/**
 * npm run bench:preview -- [NOTE.md]
 *
 * Renders a note with this project's pipeline and, in the same process, with the reference
 * pipeline VS Code's preview uses (markdown-it + @vscode/markdown-it-katex, re-rendering the
 * whole document on every change). Prints one JSON line. Without a note it generates an
 * 8 000-line Chinese note with ~6 000 formulas.
 */
import { readFileSync } from 'node:fs';
import MarkdownIt = require('markdown-it');
import { DocumentRenderer } from '../src/core/markdown/documentRenderer';
import { makeLargeNote } from './largeNote';
import { PreviewSession } from '../src/extension/preview/previewSession';
import type { ToWebview } from '../src/shared/previewMessages';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vscodeKatex = require('@vscode/markdown-it-katex') as { default: (md: MarkdownIt.MarkdownIt, o?: object) => void };

const EDITS = 15;
const COLD_ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

/** One-line edits in the middle of the note: each adds a formula to a different prose line. */
function edits(text: string): string[] {
  const lines = text.split('\n');
  const mid = Math.floor(lines.length / 2);
  const candidates: number[] = [];
  for (let i = mid; i < lines.length && candidates.length < EDITS; i++) {
    if (lines[i]!.trim() && !/^(\s*[`$\\|#>-]|```)/.test(lines[i]!)) candidates.push(i);
  }
  if (candidates.length === 0) for (let i = mid; i < Math.min(lines.length, mid + EDITS); i++) candidates.push(i);
  return candidates.map((line, k) => {
    const copy = [...lines];
    copy[line] = copy[line] + ` 补充$y_{${k}}$`;
    return copy.join('\n');
  });
}

function referenceRenderer(): MarkdownIt.MarkdownIt {
  const md = new MarkdownIt({ html: true, linkify: true });
  md.use(vscodeKatex.default, { enableBareBlocks: true, enableMathBlockInHtml: true, enableMathInlineInHtml: true });
  return md;
}

function main(): void {
  const path = process.argv[2];
  const text = path ? readFileSync(path, 'utf8') : makeLargeNote();
  const variants = edits(text);

  // The reference's KaTeX warns (console.warn) about CJK it wrongly treats as math; keep the
  // output to the one JSON line.
  const warn = console.warn;
  console.warn = () => undefined;

  // Warm both pipelines' code paths on a small note so neither pays the JIT alone.
  const warm = makeLargeNote(200);
  new DocumentRenderer().render(warm);
  referenceRenderer().render(warm);

  // Cold renders alternate between the pipelines (fresh instances, so no cache survives) and
  // the median is kept, so a burst of load on the machine does not favour either side.
  const refColds: number[] = [];
  const oursColds: number[] = [];
  let refHtml = '';
  let doc = new DocumentRenderer().render('');
  for (let round = 0; round < COLD_ROUNDS; round++) {
    const [h, rt] = time(() => referenceRenderer().render(text));
    refHtml = h;
    refColds.push(rt);
    const [d, ot] = time(() => new DocumentRenderer().render(text));
    doc = d;
    oursColds.push(ot);
  }
  const refFormulas = (refHtml.match(/<span class="katex">/g) ?? []).length;

  const ref = referenceRenderer();
  ref.render(text);
  const ours = new DocumentRenderer();
  ours.render(text);
  const refEdits: number[] = [];
  const oursEdits: number[] = [];
  let rendered = 0;
  // What the preview would post per edit: its PreviewSession fed with each render (bytes of the
  // JSON message, and of it without the chunks' HTML, which the issue budgets at 4 KB).
  const posted: ToWebview[] = [];
  const ticks: Array<() => void> = [];
  const note = { version: 0, lineCount: text.split('\n').length };
  const session = new PreviewSession<typeof note>({
    post: (m) => void posted.push(m),
    uriOf: () => 'file:///bench.md',
    requestRender: () => undefined,
    scrollSync: () => false,
    revealLine: () => undefined,
    jumpToLine: () => undefined,
    openLink: () => undefined,
    logError: () => undefined,
  }, { set: (fn) => ticks.push(fn), clear: () => undefined });
  const drain = (): void => {
    while (ticks.length) ticks.shift()!();
  };
  session.pageLoading(note);
  session.onMessage({ type: 'ready', uri: 'file:///bench.md', version: 0 });
  session.renderDone(note, ++note.version, note.lineCount, { chunks: ours.render(text).chunks, chunksRendered: 1 }, true);
  drain();
  const messageBytes: number[] = [];
  const opBytes: number[] = [];
  for (const v of variants) {
    refEdits.push(time(() => ref.render(v))[1]);
    const [d, ms] = time(() => ours.render(v));
    rendered = Math.max(rendered, d.stats.chunksRendered);
    oursEdits.push(ms);
    posted.length = 0;
    session.renderDone(note, ++note.version, note.lineCount, { chunks: d.chunks, chunksRendered: d.stats.chunksRendered }, false);
    drain();
    const json = JSON.stringify(posted);
    messageBytes.push(json.length);
    opBytes.push(JSON.stringify(posted, (k, val: unknown) => (k === 'html' ? undefined : val)).length);
  }
  console.warn = warn;

  const round = (x: number): number => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      note: path ?? '(generated)',
      lines: text.split('\n').length,
      cold_ms: round(median(oursColds)),
      edit_ms: round(median(oursEdits)),
      formulas: doc.stats.formulas,
      katexErrors: doc.stats.katexErrors,
      chunks: doc.stats.chunks,
      max_chunks_rendered_per_edit: rendered,
      patch_bytes: median(messageBytes),
      patch_bytes_without_html: median(opBytes),
      ref_cold_ms: round(median(refColds)),
      ref_edit_ms: round(median(refEdits)),
      ref_formulas: refFormulas,
    }),
  );
}

main();
