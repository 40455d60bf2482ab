/**
 * End-to-end: a note's Python blocks share a Jupyter kernel in a real VS Code (code-server +
 * Chromium, packaged extension, Debian's ipykernel). Block A sets a variable, block B uses it;
 * the run opens the preview itself (it starts closed); the kernel's state and In [n] show in the
 * status bar and the CodeLens; a failing block puts a diagnostic on its line.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { withVSCode, waitFor, type VSCode } from './harness';

const T = { timeout: 240_000 };
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';

const NOTE = [
  '# 有状态的笔记',
  '',
  '先定义一个变量：',
  '',
  '```python {run #a}',
  'counter = 41',
  '```',
  '',
  '再在下一个代码块里使用它：',
  '',
  '```python {run #b}',
  'from IPython.display import Markdown, display',
  'print("counter + 1 =", counter + 1)',
  'display(Markdown("**结果** $c = %d$" % (counter + 1)))',
  '```',
  '',
  '```python {run #bad}',
  'x = 1',
  'undefined_name + x',
  '```',
  '',
].join('\n');

/** The CodeLens with this label nearest above the given 1-based line. */
async function clickLens(vs: VSCode, line: number, label: RegExp): Promise<void> {
  const lens = vs.page.locator('.contentWidgets .codelens-decoration a, .view-zones .codelens-decoration a', { hasText: label });
  await waitFor(`CodeLens ${label} above line ${line}`, async () => (await lens.count()) > 0, 30_000);
  const lineBox = await vs.page.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${line}$`) }).first().boundingBox();
  let best = 0;
  let bestDist = Infinity;
  for (let i = 0; i < (await lens.count()); i++) {
    const box = await lens.nth(i).boundingBox();
    if (!box || !lineBox) continue;
    const d = lineBox.y - box.y;
    if (d > 0 && d < bestDist) {
      bestDist = d;
      best = i;
    }
  }
  await lens.nth(best).click();
}

async function gotoLine(vs: VSCode, line: number): Promise<void> {
  await vs.page.keyboard.press('Control+G');
  await vs.page.keyboard.type(String(line));
  await vs.page.keyboard.press('Enter');
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

test('block B uses the variable block A left in the note\'s Jupyter kernel', T, async () => {
  assert.equal(spawnSync(PY, ['-c', 'import ipykernel'], { encoding: 'utf8' }).status, 0, `${PY} needs ipykernel (apt-get install python3-ipykernel)`);
  await withVSCode({ name: 'kernels-state', files: { 'state.md': NOTE }, settings: { 'mlNotes.python.interpreter': PY, 'mlNotes.python.kernel': 'jupyter' } }, async (vs) => {
    await vs.openFile('state.md');
    await vs.focusEditor(vs.editorOf('state.md'));
    // The preview is closed: the run opens it.
    await clickLens(vs, 5, /Run$/);
    await confirmRunIfAsked(vs);
    await vs.webviewFrame('#mln-root .mln-chunk', 60_000);
    await waitFor('block A done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 1, 90_000);
    await vs.focusEditor(vs.editorOf('state.md'));
    await gotoLine(vs, 13);
    await vs.runCommand('ML Notes: Run Snippet at Cursor');
    await waitFor('block B done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 2, 90_000);
    const text = await vs.evalInWebview<string>(`[...document.querySelectorAll('.mln-output')].map((e) => e.innerText).join('\\n')`);
    assert.match(text, /counter \+ 1 = 42/);
    assert.match(text, /jupyter/);
    const strong = await vs.evalInWebview<string>(`document.querySelector('.mln-output-markdown strong')?.innerText ?? ''`);
    assert.equal(strong, '结果');
    assert.ok(await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output-markdown .katex').length`) >= 1, 'the LaTeX in the Markdown display is typeset');
    const status = vs.page.locator('.statusbar-item', { hasText: /Kernel/ });
    await waitFor('kernel status item', async () => /idle \[2\]/.test((await status.first().innerText().catch(() => '')) ?? ''), 20_000);
    await waitFor('In [2] on block B', async () => (await vs.page.locator('.codelens-decoration', { hasText: /\[2\] idle/ }).count()) > 0, 20_000);

    await vs.focusEditor(vs.editorOf('state.md'));
    await gotoLine(vs, 19);
    await vs.runCommand('ML Notes: Run Snippet at Cursor');
    await waitFor('block bad failed', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="failed"]').length`)) === 1, 90_000);
    const err = await vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="failed"] .mln-output-error').innerText`);
    assert.match(err, /line 19/);
    assert.match(err, /NameError/);
    // The diagnostic on line 19: the editor squiggles it.
    await waitFor('a diagnostic squiggle', async () => (await vs.page.locator('.squiggly-error').count()) > 0, 20_000);
    await vs.screenshot('kernels-state');
  });
});
