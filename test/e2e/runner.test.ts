/**
 * End-to-end tests of snippet running in a real VS Code (code-server + Chromium) with the
 * packaged extension: CodeLens Run/Stop, outputs and plots in the preview, errors at the right
 * line, the Python kernel with Matplotlib, a note's TypeScript blocks sharing one session, and
 * nothing running in an untrusted workspace. The trusted-workspace tests share one workbench,
 * each on its own copy of the note (a note's outputs and its run confirmation outlive its
 * editor); the untrusted one has its own window in Restricted Mode.
 */
import { after, before, describe, it, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashString } from '../../src/core/markdown/html';
import { findSnippets } from '../../src/core/snippets/snippets';
import { SharedVSCode, withVSCode, waitFor, REPO, type VSCode } from './harness';

const T = { timeout: 240_000 };
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';

const NOTE = [
  '# 扩散玩具',
  '',
  '一个小的前向加噪：$x_t = x_0 + \\sigma \\epsilon$。',
  '',
  '```ts {run id=noise}',
  "import * as tf from '@tensorflow/tfjs';",
  "import { metric, plot } from 'ml-notes';",
  'const x0 = tf.randomNormal([400, 2], 0, 0.3);',
  'const xt = x0.add(tf.randomNormal([400, 2]).mul(0.5));',
  "console.log('noised std', xt.sub(xt.mean(0)).square().mean().sqrt().dataSync()[0].toFixed(2));",
  "for (let i = 0; i < 20; i++) metric('loss', Math.exp(-i / 5), i);",
  "plot.scatter({ title: 'x0 vs xt', groups: { x0, xt } });",
  '```',
  '',
  '```ts {run id=forever}',
  "console.log('spinning');",
  'while (true) {}',
  '```',
  '',
  '```ts {run id=broken}',
  'const a = 1;',
  'const b: any = null;',
  'b.explode();',
  '```',
  '',
  '```python {run id=py}',
  'import matplotlib.pyplot as plt',
  'print("hello from python")',
  'plt.plot([0, 1, 2, 3], [3, 1, 2, 0])',
  'plt.title("toy")',
  'plt.show()',
  '```',
  '',
].join('\n');

/** Block A creates a tensor and a plain variable, block B uses them (one TypeScript session). */
const TS_NOTE = [
  '# 有状态的 TypeScript',
  '',
  '先定义一个张量和一个普通变量：',
  '',
  '```ts {run #a}',
  "import * as tf from '@tensorflow/tfjs';",
  'const w = tf.scalar(2);',
  'let offset = 0.5;',
  '```',
  '',
  '再在下一个代码块里使用它们：',
  '',
  '```ts {run #b}',
  "console.log('w * 21 + offset =', w.mul(21).dataSync()[0] + offset);",
  '```',
  '',
].join('\n');

const SAMPLE_NOTE = '01-edm-unified-diffusion.md';

async function clickLens(vs: VSCode, snippetLine: number, label: RegExp): Promise<void> {
  // CodeLens render above the fence line; find the one in the lens row right above that line.
  // Lenses appear block by block under load, so wait until that block's own lens is there
  // (the nearest one above could otherwise belong to an earlier block).
  const lens = vs.page.locator('.contentWidgets .codelens-decoration a, .view-zones .codelens-decoration a', { hasText: label });
  const lineNumber = vs.page.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${snippetLine}$`) }).first();
  let best = -1;
  await waitFor(`CodeLens ${label} above line ${snippetLine}`, async () => {
    const lineBox = await lineNumber.boundingBox();
    if (!lineBox) return false;
    best = -1;
    let bestDist = Infinity;
    const n = await lens.count();
    for (let i = 0; i < n; i++) {
      const box = await lens.nth(i).boundingBox();
      if (!box) continue;
      const d = lineBox.y - box.y;
      if (d > 0 && d < bestDist) {
        bestDist = d;
        best = i;
      }
    }
    return best >= 0 && bestDist <= 2.5 * lineBox.height;
  }, 30_000);
  await lens.nth(best).click();
}

async function confirmRunIfAsked(vs: VSCode): Promise<void> {
  const dialog = vs.page.locator('.monaco-dialog-box');
  try {
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await dialog.locator('a.monaco-button, button', { hasText: /^Run$/ }).first().click();
  } catch {
    // Already confirmed for this note.
  }
}

async function gotoLine(vs: VSCode, line: number): Promise<void> {
  await vs.page.keyboard.press('Control+G');
  await vs.page.keyboard.type(String(line));
  await vs.page.keyboard.press('Enter');
}

/**
 * Writes `.ml-notes/outputs/` for the note `file` (a copy of NOTE) the way the extension names
 * it, as a cloned repository could: `outputs` by key.
 */
function plantOutputs(workspace: string, file: string, outputs: Record<string, unknown>): void {
  const note = join(workspace, file);
  const name = `${file}-${hashString('file://' + note).toString(36)}.json`;
  mkdirSync(join(workspace, '.ml-notes', 'outputs'), { recursive: true });
  writeFileSync(join(workspace, '.ml-notes', 'outputs', name), JSON.stringify({ version: 1, note: file, outputs }));
}

const NOISE = findSnippets(NOTE).find((s) => s.id === 'noise')!;
const FOREVER = findSnippets(NOTE).find((s) => s.id === 'forever')!;

describe('snippets in a trusted workspace, in one workbench', () => {
  const shared = new SharedVSCode({
    name: 'runner',
    files: {
      'toy.md': NOTE,
      'toy-stop.md': NOTE,
      'toy-python.md': NOTE,
      'planted.md': NOTE,
      'ts.md': TS_NOTE,
      [SAMPLE_NOTE]: readFileSync(join(REPO, 'notes', SAMPLE_NOTE), 'utf8'),
    },
    settings: { 'mlNotes.python.interpreter': PY, 'mlNotes.tfjs.kernel': 'session' },
  });
  before(() => shared.open(), T);
  after(() => shared.close());

  it('run a TensorFlow.js snippet from its CodeLens: output, metrics and a plot appear in the preview', T, async () => {
    await shared.run('runner-tfjs', async (vs) => {
      await vs.openFile('toy.md');
      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
      await vs.focusEditor(vs.editorOf('toy.md'));
      await clickLens(vs, 5, /Run$/);
      await confirmRunIfAsked(vs);
      await waitFor(
        'a finished output with a plot in the preview',
        async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"] img.mln-plot').length`)) >= 2,
        90_000,
      );
      const text = await vs.evalInWebview<string>(`document.querySelector('.mln-output').innerText`);
      assert.match(text, /noised std 0\.\d\d/);
      assert.match(text, /wasm/);
      assert.match(text, /loss/);
      await vs.screenshot('runner-tfjs');
    });
  });

  it('a sample note: run its diffusion snippet from the CodeLens and see the output stream and plots in the preview', T, async () => {
    const note = readFileSync(join(REPO, 'notes', SAMPLE_NOTE), 'utf8');
    const snippet = findSnippets(note).find((s) => s.id === 'edm-samplers');
    assert.ok(snippet, 'the EDM note has its sampler snippet');
    await shared.run('runner-sample-note', async (vs) => {
      await vs.openFile('01-edm-unified-diffusion.md');
      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
      await vs.focusEditor(vs.editorOf('01-edm-unified-diffusion.md'));
      await gotoLine(vs, snippet.fenceLine + 1);
      await clickLens(vs, snippet.fenceLine + 1, /Run$/);
      await confirmRunIfAsked(vs);
      // Streaming: text shows while the run is still going or right after.
      await waitFor('streamed text', async () => /σ_i/.test(await vs.evalInWebview<string>(`document.querySelector('.mln-output')?.innerText ?? ''`)), 90_000);
      await waitFor('two plots', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"] img.mln-plot').length`)) === 2, 120_000);
      const text = await vs.evalInWebview<string>(`document.querySelector('.mln-output').innerText`);
      assert.match(text, /NFE=71/);
      await vs.evalInWebview(`document.querySelector('.mln-output').scrollIntoView()`);
      await vs.screenshot('runner-sample-note');
    });
  });

  it('an endless snippet stops from its CodeLens; a throwing one shows its error at the right line', T, async () => {
    await shared.run('runner-stop', async (vs) => {
      await vs.openFile('toy-stop.md');
      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
      await vs.focusEditor(vs.editorOf('toy-stop.md'));
      await clickLens(vs, 15, /Run$/);
      await confirmRunIfAsked(vs);
      await waitFor('running output', async () => (await vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="running"]')?.innerText ?? ''`)).includes('spinning'), 60_000);
      const t0 = Date.now();
      await clickLens(vs, 15, /Stop$/);
      await waitFor('stopped output', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="cancelled"]').length`)) === 1, 20_000);
      console.log(`# stop took ${Date.now() - t0} ms (click to preview update)`);

      await gotoLine(vs, 22);
      await vs.runCommand('ML Notes: Run Snippet at Cursor');
      await waitFor('failed output', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="failed"]').length`)) === 1, 60_000);
      const err = await vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="failed"] .mln-output-error').innerText`);
      assert.match(err, /line 23/);
      assert.match(err, /explode|null/);
    });
  });

  it('a Python snippet runs from its CodeLens and its Matplotlib figure shows in the preview', T, async () => {
    assert.equal(spawnSync(PY, ['-c', 'import torch, matplotlib'], { encoding: 'utf8' }).status, 0, `${PY} needs torch and matplotlib`);
    await shared.run('runner-python', async (vs) => {
      await vs.openFile('toy-python.md');
      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
      await vs.focusEditor(vs.editorOf('toy-python.md'));
      await clickLens(vs, 26, /Run$/);
      await confirmRunIfAsked(vs);
      await waitFor('python output with a figure', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"] img.mln-output-image').length`)) === 1, 90_000);
      const text = await vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="succeeded"]').innerText`);
      assert.match(text, /hello from python/);
      const natural = await vs.evalInWebview<number>(`document.querySelector('img.mln-output-image').naturalWidth`);
      assert.ok(natural > 100, 'the PNG decoded');
      await vs.screenshot('runner-python');
    });
  });

  it('a trusted workspace: planted outputs are validated and shown as text only', T, async () => {
    await shared.run('runner-planted', async (vs) => {
      plantOutputs(vs.workspace, 'planted.md', {
        noise: {
          key: 'noise', domKey: NOISE.domKey, lang: 'ts', status: 'succeeded', startedAt: 0, metrics: { loss: [[0, 'NaN'], [1, 0.5]] },
          items: [{ kind: 'text', stream: 'stdout', text: '<form id="planted-form"><input name="q"></form><style id="planted-style">body{display:none}</style>' }],
        },
        forever: { key: 'forever', domKey: FOREVER.domKey, lang: 'ts', status: '<form id="planted-status"></form>', startedAt: 0, items: [], metrics: {} },
      });
      await vs.openFile('planted.md');
      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-output', 30_000);
      const found = await vs.evalInWebview<{ outputs: number; injected: number; text: string }>(
        `({ outputs: document.querySelectorAll('.mln-output').length, injected: document.querySelectorAll('#mln-root form, #mln-root input, #mln-root style, #planted-status').length, text: document.querySelector('.mln-output')?.textContent ?? '' })`,
      );
      assert.equal(found.injected, 0, 'no element from the planted file');
      assert.equal(found.outputs, 1, 'the output with a forged status was dropped');
      assert.match(found.text, /<form id="planted-form">/, 'the planted markup is shown as text');
      assert.match(found.text, /NaN/);
      await vs.screenshot('runner-planted');
    });
  });

  it("block B uses the tensor and variable block A left in the note's TypeScript session", T, async () => {
    await shared.run('ts-session-state', async (vs) => {
      await vs.openFile('ts.md');
      await vs.focusEditor(vs.editorOf('ts.md'));
      await clickLens(vs, 5, /Run$/);
      await confirmRunIfAsked(vs);
      await vs.webviewFrame('#mln-root .mln-chunk', 60_000);
      await waitFor('block A done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 1, 90_000);
      await vs.focusEditor(vs.editorOf('ts.md'));
      await clickLens(vs, 13, /Run$/);
      await waitFor('block B done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 2, 90_000);
      const text = await vs.evalInWebview<string>(`[...document.querySelectorAll('.mln-output')].map((e) => e.innerText).join('\\n')`);
      assert.match(text, /w \* 21 \+ offset = 42\.5/);
      assert.match(text, /wasm/);
      await waitFor('[2] on block B', async () => (await vs.page.locator('.codelens-decoration', { hasText: /\[2\] idle/ }).count()) > 0, 20_000);
      const status = vs.page.locator('.statusbar-item', { hasText: /Kernel/ });
      await waitFor('session status item', async () => /idle \[2\]/.test((await status.first().innerText().catch(() => '')) ?? ''), 20_000);
      await vs.screenshot('ts-session-state');
    });
  });
});

test('in an untrusted workspace nothing runs: no snippet, no Python probe, no stored output is read', T, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mln-e2e-probe-'));
  const marker = join(dir, 'python-was-started');
  const wrapper = join(dir, 'python3');
  writeFileSync(wrapper, `#!/bin/sh\necho started >> ${JSON.stringify(marker)}\nexec ${PY} "$@"\n`, { mode: 0o755 });
  // A user setting (restricted settings of the workspace are ignored in Restricted Mode anyway).
  await withVSCode({ name: 'runner-untrusted', files: { 'toy.md': NOTE }, untrusted: true, settings: { 'mlNotes.python.interpreter': wrapper } }, async (vs) => {
    plantOutputs(vs.workspace, 'toy.md', { noise: { key: 'noise', domKey: NOISE.domKey, lang: 'ts', status: 'succeeded', startedAt: 0, items: [{ kind: 'text', stream: 'stdout', text: 'PLANTED-OUTPUT' }], metrics: {} } });
    await vs.openFile('toy.md');
    await vs.focusEditor(vs.editorOf('toy.md'));
    await gotoLine(vs, 6);
    await vs.runCommand('ML Notes: Open Preview to the Side');
    await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
    // The CodeLens says why, and the command refuses.
    const lens = vs.page.locator('.codelens-decoration a', { hasText: /trust the workspace first/ });
    await waitFor('untrusted CodeLens', async () => (await lens.count()) > 0, 30_000);
    await lens.first().click();
    await waitFor('a warning about trust', async () => (await vs.page.locator('.notifications-toasts .notification-toast', { hasText: /trusted workspaces/ }).count()) > 0, 15_000);
    // The note has a Python block: before the fix the probe started as soon as the note was shown.
    await gotoLine(vs, 27);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output').length`), 0, 'no output: nothing ran, the planted file was not read');
    assert.doesNotMatch(await vs.evalInWebview<string>(`document.body.innerText`), /PLANTED-OUTPUT/);
    assert.equal(existsSync(marker), false, 'the Python interpreter was never started');
  });
});
