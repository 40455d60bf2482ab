/**
 * End-to-end: a note's TypeScript blocks share a session in a real VS Code (code-server +
 * Chromium, packaged extension). Block A creates a tensor and a plain variable, block B uses them;
 * the session's `[n]` shows on the CodeLens and in the status bar.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withVSCode, waitFor, type VSCode } from './harness';

const T = { timeout: 240_000 };

const NOTE = [
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

async function confirmRunIfAsked(vs: VSCode): Promise<void> {
  const dialog = vs.page.locator('.monaco-dialog-box');
  try {
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await dialog.locator('a.monaco-button, button', { hasText: /^Run$/ }).first().click();
  } catch {
    // Already confirmed for this note.
  }
}

test("block B uses the tensor and variable block A left in the note's TypeScript session", T, async () => {
  await withVSCode({ name: 'ts-session-state', files: { 'ts.md': NOTE }, settings: { 'mlNotes.tfjs.kernel': 'session', 'mlNotes.tfjs.backend': 'wasm' } }, async (vs) => {
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
