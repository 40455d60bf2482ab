/**
 * Hover docs in a real VS Code: over `@tf_export` in a .py file, over `F.conv2d` inside a
 * note's Python block and over `tf.tidy` in a TypeScript block, the hover widget shows the
 * knowledge-base explanation; over a torch name with no curated entry, a generated signature
 * and the version it describes (read from the snippets' interpreter when it has torch).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Locator, Page } from 'playwright-core';
import { recordMetric, waitFor, withVSCode } from './harness';

const PY = `from tensorflow.python.util.tf_export import tf_export


@tf_export(v1=['app.run'])
def run(main=None, argv=None):
    return main(argv)
`;

const NOTE = `# Convolutions

Some prose.

\`\`\`python
import torch
import torch.nn.functional as F
\`\`\`

## Functional call

\`\`\`python
y = F.conv2d(x, w, padding=1)
z = torch.logsumexp(y, 1)
\`\`\`
`;

const TS_NOTE = `# TensorFlow.js

\`\`\`ts {run}
import * as tf from '@tensorflow/tfjs';
const y = tf.tidy(() => tf.square(tf.tensor1d([1, 2])));
\`\`\`
`;

/** Debian's torch: when it is there, hovers describe it as introspected from the interpreter. */
const TORCH_PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(TORCH_PYTHON, ['-I', '-c', 'import importlib.util,sys; sys.exit(importlib.util.find_spec("torch") is None)']).status === 0;

const HOVER = '.monaco-hover, .monaco-resizable-hover';

/**
 * Hovers the word `text` on the editor line containing `line` and returns the text of the
 * hover widget that matches `expect`. Monaco splits a line into token spans whose boundaries
 * depend on the grammar, so the mouse goes to the word's share of whichever span holds it.
 */
async function hoverToken(page: Page, editor: Locator, line: string, text: string, expect: RegExp): Promise<string> {
  const span = editor.locator('.view-line', { hasText: line }).locator('span span', { hasText: text }).last();
  await span.waitFor({ state: 'visible' });
  const spanText = (await span.textContent()) ?? text;
  const at = Math.max(0, spanText.lastIndexOf(text));
  const started = Date.now();
  return waitFor(`hover over ${text}`, async () => {
    const box = await span.boundingBox();
    if (!box) return undefined;
    // Move away and back: a hover request is only made when the mouse enters a new word.
    await page.mouse.move(5, 5);
    await page.mouse.move(box.x + (box.width * (at + text.length / 2)) / spanText.length, box.y + box.height / 2, { steps: 3 });
    const widgets = page.locator(HOVER).filter({ hasText: expect });
    try {
      await widgets.first().waitFor({ state: 'visible', timeout: 3000 });
    } catch {
      return undefined;
    }
    recordMetric(`hover ${text} ms`, Date.now() - started);
    return (await widgets.first().innerText()) || undefined;
  }, 45_000, 200);
}

test('hover explains @tf_export in a .py file, F.conv2d in a note and tf.tidy in its TypeScript block', { timeout: 240_000 }, async () => {
  await withVSCode({
    name: 'hover',
    files: { 'export.py': PY, 'conv-note.md': NOTE, 'tfjs-note.md': TS_NOTE },
    settings: { 'editor.hover.enabled': true, 'editor.hover.delay': 150, 'mlNotes.hover.language': 'en', ...(hasTorch ? { 'mlNotes.python.interpreter': TORCH_PYTHON } : {}) },
  }, async (vs) => {
    const py = await vs.openFile('export.py');
    const exportHover = await hoverToken(vs.page, py, "@tf_export(v1=", 'tf_export', /Public names/);
    assert.match(exportHover, /decorator/);
    assert.match(exportHover, /tf\.app\.run/);
    assert.match(exportHover, /tf\.compat\.v1\.app\.run/);
    assert.match(exportHover, /functools\.partial/);
    await vs.screenshot('hover-tf-export');
    await vs.page.keyboard.press('Escape');

    const note = await vs.openFile('conv-note.md');
    const convHover = await hoverToken(vs.page, note, 'y = F.conv2d', 'conv2d', /torch\.nn\.functional\.conv2d/);
    assert.match(convHover, /Functional 2-D convolution/);
    assert.match(convHover, /torch\.nn\.Conv2d/);
    // The workspace's own note links back to the section using it.
    assert.match(convHover, /Note: Convolutions §Functional call/);
    await vs.screenshot('hover-conv2d-note');
    await vs.page.keyboard.press('Escape');

    // A name without a curated entry: a generated signature, labelled with the version it
    // describes. With a torch for the snippets' interpreter, the first hover had it read in the
    // background (the workspace is trusted here); without one, the shipped 1.13 index answers.
    const label = hasTorch ? /read from torch 1\.13\S* as installed for your Python interpreter/ : /generated from torch 1\.13/;
    const indexHover = await hoverToken(vs.page, note, 'z = torch.logsumexp', 'logsumexp', label);
    assert.match(indexHover, /logsumexp\(input, dim/);
    await vs.page.keyboard.press('Escape');

    // TensorFlow.js in a TypeScript block, resolved through the block's import.
    const ts = await vs.openFile('tfjs-note.md');
    const tidyHover = await hoverToken(vs.page, ts, 'const y = tf.tidy', 'tidy', /tfjs\.tidy/);
    assert.match(tidyHover, /frees every tensor it created/);
    assert.match(tidyHover, /signature as in the current docs/);
    await vs.screenshot('hover-tfjs-tidy');
  });
});
