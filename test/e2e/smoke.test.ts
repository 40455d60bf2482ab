/**
 * Smoke test: code-server starts with the packaged extension installed, the workbench loads
 * the workspace folder, and a Markdown file opens in a text editor.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withVSCode, EXTENSION_ID } from './harness';

test('workbench loads the workspace and opens a Markdown file', { timeout: 180_000 }, async () => {
  await withVSCode({ name: 'smoke' }, async (vs) => {
    const { page } = vs;
    // The explorer lists the copied workspace's files.
    const explorer = page.locator('.explorer-folders-view');
    await explorer.locator('.monaco-list-row', { hasText: 'README.md' }).waitFor({ state: 'visible' });
    await explorer.locator('.monaco-list-row', { hasText: 'math.md' }).waitFor({ state: 'visible' });

    // The packaged extension was installed into this session's extensions-dir.
    const extDir = path.join(vs.root, 'ext');
    assert.ok(
      fs.readdirSync(extDir).some((d) => d.startsWith(`${EXTENSION_ID}-`)),
      `expected ${EXTENSION_ID} in ${extDir}`,
    );

    const editor = await vs.openFile('README.md');
    await editor.locator('.view-lines', { hasText: 'A plain Markdown file for the smoke test.' }).waitFor({ state: 'visible' });
    const title = await page.locator('.tabs-container .tab.active').first().getAttribute('aria-label');
    assert.match(title ?? '', /README\.md/);
    // Markdown language mode is detected (status bar shows it).
    await page.locator('.statusbar-item[id="status.editor.mode"]', { hasText: 'Markdown' }).waitFor({ state: 'visible' });

    // Typing reaches the editor (the harness's typeInEditor works on a real Monaco editor).
    await page.keyboard.press('Control+End');
    await vs.typeInEditor('\nsmoke typed line');
    await editor.locator('.view-lines', { hasText: 'smoke typed line' }).waitFor({ state: 'visible' });

    const shot = await vs.screenshot('smoke');
    assert.ok(fs.statSync(shot).size > 10_000, 'screenshot is not empty');
  });
});
