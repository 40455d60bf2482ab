/**
 * End-to-end checks of small workbench papercuts in a real VS Code (code-server + Chromium)
 * with the packaged .vsix: math coloured as math in the Markdown editor (the injection
 * grammars), the "Exported to …" message's follow-up in a browser window, and the preview's
 * run labels and the hover's section labels in a zh-cn workbench. The two English tests share one
 * workbench; the zh-cn one has its own (the display language is fixed at start-up).
 */
import { after, before, describe, it, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { SharedVSCode, withVSCode, waitFor } from './harness';

const T = { timeout: 180_000 };

interface Span {
  text: string;
  color: string;
  italic: boolean;
}

const COLOUR_NOTE = [
  '# 扩散',
  '',
  '损失 \\(\\mathbb{E}_{t} \\| \\epsilon - \\epsilon_\\theta(x_t, t) \\|^2\\) 最小',
  '',
  '噪声$\\epsilon$，其中 It costs $5 and $10.',
  '',
  '\\begin{align}',
  'q(x_t \\mid x_0) &= \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1-\\bar\\alpha_t) I)',
  '\\end{align}',
  '',
  '普通 _斜体_ 文字',
  '',
].join('\n');

describe('English workbench papercuts, in one workbench', () => {
  const shared = new SharedVSCode({
    name: 'papercuts',
    files: { 'colour.md': COLOUR_NOTE, 'export-me.md': '# 导出\n\n$$ E = mc^2 $$\n' },
  });
  before(() => shared.open(), T);
  after(() => shared.close());

  it('math is coloured as math in the Markdown editor; `_…_` inside \\(…\\) is not italics', T, async () => {
    await shared.run('papercuts-math-colour', async (vs) => {
      const editor = await vs.openFile('colour.md');
      const spansOf = (lineText: string) =>
        editor.locator('.view-line', { hasText: lineText }).first().evaluate((el: any) =>
          [...el.querySelectorAll('span > span')].map((s: any) => {
            const st = getComputedStyle(s);
            // Monaco renders spaces as no-break spaces.
            return { text: (s.textContent as string).replace(/\u00a0/g, ' '), color: st.color as string, italic: st.fontStyle === 'italic' };
          }),
        ) as Promise<Span[]>;
      // Tokenization runs after the first paint: wait until the formula is split into LaTeX tokens.
      const loss = await waitFor('LaTeX tokens in the \\(…\\) line', async () => {
        const s = await spansOf('最小');
        return s.some((x) => x.text.includes('mathbb') && !x.text.includes('损失')) ? s : undefined;
      }, 20_000, 200);
      const prose = loss.find((s) => s.text.includes('损失'))!;
      // The backslash and the name share a colour, so Monaco renders `\\mathbb` as one span.
      const command = loss.find((s) => s.text.includes('mathbb'))!;
      assert.ok(!loss.some((s) => s.italic), `no italics inside the formula: ${JSON.stringify(loss)}`);
      assert.notEqual(command.color, prose.color, 'a LaTeX command is coloured unlike prose');

      const money = await spansOf('It costs');
      assert.ok(money.some((s) => s.text.includes('epsilon') && s.color !== prose.color), JSON.stringify(money));
      assert.ok(money.some((s) => s.text.includes('$5 and $10.') && s.color === prose.color), `money stays prose: ${JSON.stringify(money)}`);

      const align = await spansOf('mathcal');
      assert.ok(align.some((s) => s.text.includes('mathcal') && s.color === command.color), JSON.stringify(align));

      const italic = await spansOf('普通');
      assert.ok(italic.some((s) => s.italic), 'control: Markdown italics still render as italics');
      await vs.screenshot('papercuts-math-colour', editor);
    });
  });

  it('"Exported to …" offers Reveal in Explorer in a browser window, and it selects the file there', T, async () => {
    await shared.run('papercuts-export', async (vs) => {
      const { page } = vs;
      await vs.openFile('export-me.md');
      await vs.runCommand('ML Notes: Export Note to HTML');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Exported to' });
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      const buttons = (await toast.locator('.monaco-button').allTextContents()).map((t) => t.trim()).filter(Boolean);
      // code-server is a browser window on a remote folder: the OS browser cannot open the file.
      assert.deepEqual(buttons, ['Reveal in Explorer']);
      assert.ok(fs.existsSync(path.join(vs.workspace, 'export-me.html')));
      await vs.screenshot('papercuts-export-message');
      await toast.locator('.monaco-button', { hasText: 'Reveal in Explorer' }).click();
      await waitFor('export-me.html selected in the Explorer', async () =>
        (await page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: 'export-me.html' }).count()) > 0, 15_000, 200);
      await vs.screenshot('papercuts-export-revealed');
    });
  });
});

const ZH_NOTE = [
  '# 中文界面',
  '',
  '```ts {run id=ok}',
  "console.log('你好');",
  '```',
  '',
  '```ts {run id=bad}',
  'const a = 1;',
  'const b: any = null;',
  'b.explode();',
  '```',
  '',
  '```python',
  'import torch.nn.functional as F',
  'y = F.dropout(x, 0.5)',
  '```',
  '',
].join('\n');

/** Hovers the word `text` on the editor line containing `line` until a hover matching `expect` shows. */
async function hoverWord(page: Page, editor: Locator, line: string, text: string, expect: RegExp): Promise<Locator> {
  const span = editor.locator('.view-line', { hasText: line }).locator('span span', { hasText: text }).last();
  await span.waitFor({ state: 'visible' });
  const spanText = (await span.textContent()) ?? text;
  const at = Math.max(0, spanText.lastIndexOf(text));
  const hover = page.locator('.monaco-hover, .monaco-resizable-hover').filter({ hasText: expect }).first();
  await waitFor(`hover over ${text}`, async () => {
    const box = await span.boundingBox();
    if (!box) return false;
    await page.mouse.move(5, 5);
    await page.mouse.move(box.x + (box.width * (at + text.length / 2)) / spanText.length, box.y + box.height / 2, { steps: 3 });
    return hover.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
  }, 45_000, 200);
  return hover;
}

test('zh-cn: the preview\'s run labels and the hover\'s section labels are Chinese', { timeout: 240_000 }, async () => {
  await withVSCode({ name: 'papercuts-zh-cn', locale: 'zh-cn', files: { 'zh.md': ZH_NOTE }, settings: { 'editor.hover.enabled': true } }, async (vs) => {
    const { page } = vs;
    const editor = await vs.openFile('zh.md');
    // Command titles come from package.nls.zh-cn.json; the category stays "ML Notes".
    await vs.runCommand('ML Notes: 在侧边打开预览');
    await vs.webviewFrame('#mln-root .mln-chunk', 30_000);
    const runAt = async (line: number) => {
      await vs.focusEditor(vs.editorOf('zh.md'));
      await page.keyboard.press('Control+G');
      await page.keyboard.type(String(line));
      await page.keyboard.press('Enter');
      await vs.runCommand('ML Notes: 运行光标处的代码片段');
    };
    await runAt(4);
    // The one-time confirmation is a modal dialog with the extension's own (translated) button.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    await dialog.locator('a.monaco-button, button', { hasText: /^运行$/ }).first().click();
    const outputText = (status: string) => vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="${status}"]')?.innerText ?? ''`);
    const done = await waitFor('a succeeded output', async () => (await outputText('succeeded')) || undefined, 90_000);
    assert.match(done, /✓ 完成/);
    assert.match(done, /你好/);
    assert.doesNotMatch(done, /✓ done/);

    await runAt(9);
    const failed = await waitFor('a failed output', async () => (await outputText('failed')) || undefined, 90_000);
    assert.match(failed, /✗ 失败/);
    assert.match(failed, /第 10 行/, 'the error names the note line in Chinese');
    assert.doesNotMatch(failed, /✗ failed|\bline \d/);
    await vs.evalInWebview(`document.querySelector('.mln-output[data-status="failed"]').scrollIntoView()`);
    await vs.screenshot('papercuts-zh-cn-preview');

    // Hovers follow VS Code's display language (mlNotes.hover.language: auto).
    const hover = await hoverWord(page, editor, 'F.dropout', 'dropout', /易错点/);
    const text = await hover.innerText();
    const labels = [...text.matchAll(/(易错点|参数与状态|对应接口|相关笔记|相关|示例|笔记)\s*([:：])/g)];
    assert.ok(labels.length >= 2, `section labels in the hover: ${text}`);
    assert.deepEqual(labels.filter((m) => m[2] !== '：').map((m) => m[0]), [], 'every label ends in a full-width colon');
    await vs.screenshot('papercuts-zh-cn-hover');
  });
});
