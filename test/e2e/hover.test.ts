/**
 * Hover docs in a real VS Code: over `@tf_export` in a .py file, and over `F.conv2d` inside a
 * note's Python block, the hover widget shows the knowledge-base explanation; over a torch name
 * with no curated entry, the generated index's signature and version.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
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

test('hover explains @tf_export in a .py file and F.conv2d in a note', { timeout: 240_000 }, async () => {
  await withVSCode({
    name: 'hover',
    files: { 'export.py': PY, 'conv-note.md': NOTE },
    settings: { 'editor.hover.enabled': true, 'editor.hover.delay': 150, 'mlNotes.hover.language': 'en' },
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

    // A name without a curated entry: the generated index's signature, labelled with its version.
    const indexHover = await hoverToken(vs.page, note, 'z = torch.logsumexp', 'logsumexp', /torch\.logsumexp/);
    assert.match(indexHover, /logsumexp\(input, dim/);
    assert.match(indexHover, /generated from torch 1\.13/);
  });
});
