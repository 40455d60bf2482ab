/**
 * End-to-end tests of the formula features in a real VS Code (code-server + Chromium) with the
 * packaged .vsix installed: the Insert Formula palette, LaTeX completion inside math, and
 * formula hovers. The palette and completion tests share one workbench (with the completion
 * test's suggest settings, which the palette test does not touch: it types no trigger character);
 * the hover test has its own, with hovers on.
 */
import { after, before, describe, it, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedVSCode, withVSCode, waitFor, type VSCode } from './harness';

const T = { timeout: 180_000 };

/** Saves the active editor and returns the file's text on disk. */
async function saved(vs: VSCode, file: string, expectChange: (text: string) => boolean): Promise<string> {
  await vs.page.keyboard.press('Control+S');
  return waitFor(`${file} saved`, () => {
    const text = fs.readFileSync(path.join(vs.workspace, file), 'utf8');
    return expectChange(text) ? text : undefined;
  }, 10_000, 100);
}

const PALETTE_NOTE = '# 公式\n\n加噪过程如下：\n\n\n\n结束。\n';
const COMPLETE_NOTE = '# 补全\n\n噪声 $x+$ 结束\n\n不是公式 \\var\n';

describe('Insert Formula and LaTeX completion, in one workbench', () => {
  const shared = new SharedVSCode({
    name: 'formulas',
    files: { 'palette.md': PALETTE_NOTE, 'complete.md': COMPLETE_NOTE },
    settings: { 'editor.suggestOnTriggerCharacters': true, 'editor.suggest.showStatusBar': false },
  });
  before(() => shared.open(), T);
  after(() => shared.close());

  it('Insert Formula… inserts a formula from the palette (Chinese search) and the preview renders it', T, async () => {
    await shared.run('formulas-palette', async (vs) => {
      const { page } = vs;
      const editor = await vs.openFile('palette.md');
      await vs.focusEditor(editor);
      // Cursor on the empty line 5 (1-based): the formula goes in as a display block there.
      await page.keyboard.press('Control+Home');
      for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
      await vs.runCommand('ML Notes: Insert Formula…');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible' });
      await input.fill('闭式加噪');
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'DDPM noising in closed form' }).first();
      await row.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match((await row.textContent()) ?? '', /sqrt\{\\bar\\alpha_t\}/, 'the row shows the LaTeX');
      await vs.screenshot('formulas-palette-list');
      await row.click();
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      await waitFor('the formula in the editor', async () => ((await editor.locator('.view-lines').textContent()) ?? '').includes('mathbf'), 10_000, 100);
      // The first tab stop is the time index: replace it, then leave the snippet.
      await page.keyboard.type('s');
      await page.keyboard.press('Escape');
      const text = await saved(vs, 'palette.md', (t) => t.includes('\\bar\\alpha'));
      assert.match(text, /加噪过程如下：\n\n\$\$\n\\mathbf\{x\}_s=\\sqrt\{\\bar\\alpha_s\}\\,\\mathbf\{x\}_0\+\\sqrt\{1-\\bar\\alpha_s\}/, text);
      assert.match(text, /\n\$\$\n\n结束。/, 'closed by $$ on its own line');

      await vs.runCommand('ML Notes: Open Preview to the Side');
      await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
      await waitFor('the inserted formula rendered', async () =>
        (await vs.evalInWebview<number>(`document.querySelectorAll('#mln-root .katex-display').length`)) === 1 &&
        (await vs.evalInWebview<number>(`document.querySelectorAll('#mln-root .mln-math-error').length`)) === 0, 20_000, 150);
      await vs.screenshot('formulas-palette-preview');
    });
  });

  it('LaTeX completion inside $…$ offers \\varepsilon (from KaTeX) and inserts it', T, async () => {
    await shared.run('formulas-completion', async (vs) => {
      const { page } = vs;
      const editor = await vs.openFile('complete.md');
      await vs.focusEditor(editor);
      const suggestRows = page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');

      // Outside math nothing is offered: line 5 ends with `\var`.
      await page.keyboard.press('Control+End');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('End');
      await page.keyboard.press('Control+Space');
      await page.waitForTimeout(1500);
      const outside = await suggestRows.allTextContents();
      assert.ok(!outside.some((t) => t.includes('\\varepsilon')), `no LaTeX completion outside math (got ${outside.length} rows)`);
      await page.keyboard.press('Escape');

      // Line 3: put the cursor before the closing `$` of `$x+$` and type a command; `\` opens the list.
      await page.keyboard.press('Control+Home');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('End');
      for (let i = 0; i < '$ 结束'.length; i++) await page.keyboard.press('ArrowLeft');
      await page.keyboard.type('\\varep', { delay: 60 });
      const row = suggestRows.filter({ hasText: '\\varepsilon' }).first();
      // `\` opens the list as the user types; on a loaded machine the widget can miss that moment,
      // so ask again explicitly (Ctrl+Space) the way a user would.
      try {
        await row.waitFor({ state: 'visible', timeout: 5_000 });
      } catch {
        await page.keyboard.press('Control+Space');
        await row.waitFor({ state: 'visible', timeout: 15_000 });
      }
      assert.match((await row.textContent()) ?? '', /ε/, 'the row shows the rendered symbol');
      await vs.screenshot('formulas-completion');
      await page.keyboard.press('Tab');
      const text = await saved(vs, 'complete.md', (t) => t.includes('\\varepsilon'));
      assert.ok(text.includes('噪声 $x+\\varepsilon$ 结束'), text);
    });
  });
});

test('hovering a formula shows it rendered as an image, with the note\'s macros', T, async () => {
  const note = [
    '# 悬停', '', '宏定义 $\\newcommand{\\E}{\\mathbb{E}}$。', '', '$$', '\\E_{q}\\Big[\\frac{p_\\theta(\\mathbf{x})}{q(\\mathbf{x})}\\Big]=1', '$$', '',
    '坏公式 $\\frac{a}{$ 在这里。', '',
  ].join('\n');
  await withVSCode({ name: 'formulas-hover', files: { 'hover.md': note }, settings: { 'editor.hover.enabled': true, 'editor.hover.delay': 100 } }, async (vs) => {
    const { page } = vs;
    const editor = await vs.openFile('hover.md');
    const line = editor.locator('.view-lines .view-line', { hasText: 'frac{p_' }).first();
    await line.waitFor({ state: 'visible' });
    const box = (await line.boundingBox())!;
    const hover = page.locator('.monaco-hover:visible, .monaco-resizable-hover:visible').first();
    const img = hover.locator('img[src^="data:image/svg+xml"]').first();
    await waitFor('the formula hover with an image', async () => {
      await page.mouse.move(box.x + 30, box.y + box.height / 2);
      await page.mouse.move(box.x + 40, box.y + box.height / 2);
      return img.isVisible({ timeout: 1500 }).catch(() => false);
    }, 20_000, 300);
    const size = await img.evaluate((el: any) => ({ w: el.naturalWidth as number, h: el.naturalHeight as number, complete: el.complete as boolean }));
    assert.ok(size.complete && size.w > 50 && size.h > 10, `the image decoded (${JSON.stringify(size)})`);
    await vs.screenshot('formulas-hover');

    // A broken formula shows KaTeX's message instead.
    await page.mouse.move(box.x, box.y + 300);
    await page.keyboard.press('Escape');
    const bad = editor.locator('.view-lines .view-line', { hasText: '坏公式' }).first();
    // Under load the editor may still be re-rendering its lines after the first hover closed.
    await bad.waitFor({ state: 'visible' });
    const badBox = (await bad.boundingBox())!;
    const message = hover.filter({ hasText: 'KaTeX' }).first();
    await waitFor('the error hover', async () => {
      await page.mouse.move(badBox.x + 80, badBox.y + badBox.height / 2);
      await page.mouse.move(badBox.x + 90, badBox.y + badBox.height / 2);
      return message.isVisible({ timeout: 1500 }).catch(() => false);
    }, 20_000, 300);
    assert.match((await message.textContent()) ?? '', /KaTeX parse error/);
    await vs.screenshot('formulas-hover-error');
  });
});
