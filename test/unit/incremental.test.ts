import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RENDER_OPTIONS, DocumentRenderer, joinChunks, type RenderedDocument } from '../../src/core/markdown/documentRenderer';
import { splitChunks } from '../../src/core/markdown/chunker';
import MarkdownIt = require('markdown-it');
import { mathPlugin } from '../../src/core/markdown/mathPlugin';
import { noteSyntaxPlugin } from '../../src/core/markdown/noteSyntax';
import { katexCount, proseText, rng } from './helpers';

/** Canonical form of a render: HTML with chunk boundaries removed, plus diagnostics. */
function canonical(doc: RenderedDocument): { html: string; diagnostics: string } {
  // A chunk's data-line values are relative; make them absolute so two chunkings compare.
  const html = doc.chunks
    .map((c) => c.html.replace(/data-line="(\d+)"/g, (_m, n: string) => `data-line="${Number(n) + c.startLine}"`))
    .join('');
  return { html, diagnostics: JSON.stringify(doc.diagnostics) };
}

const PIECES = [
  '# 标题 $x$',
  '段落 $a_1$ 和 $b_1$，噪声$\\epsilon$。',
  '$$\nE = mc^2 \\label{eq:e}\n$$',
  '见\\eqref{eq:e}',
  '- 列表 $x$\n- 第二项',
  '',
  '```python\nx = 1\n\ny = 2\n```',
  '\\[\n\\int_0^1 f\n\\]',
  '$\\newcommand{\\V}{\\mathbb{V}}$ 定义',
  '用 $\\V[x]$',
  '> 引用 $q$',
  '| a | b |\n|---|---|\n| $1$ | $2$ |',
  '坏 $\\frac{$',
  '[link][ref]',
  '[ref]: https://example.com',
  '1. 有序\n\n2. 松散列表',
  'It costs $5 and $10.',
  '<b>html</b> $m$',
  // Raw HTML that spans blank lines, footnotes, headings that repeat, a table of contents.
  '<details>\n<summary>证明</summary>\n\n$$\na = b\n$$\n\n</details>',
  '<!-- 注释\n\n跨段落 $x$ -->',
  '<pre>\n代码\n\n  缩进\n</pre>',
  '<div align="center">\n\n![图](figs/a.png)\n\n</div>',
  '<img src="figs/a.png" width=400>',
  '脚注[^1]与[^b]',
  '[^1]: 脚注内容 $z$',
  '[^b]: 第二个\n\n    续行',
  '## 重复标题',
  '[TOC]',
  '> [!tip] 提示 $\\alpha$\n> 内容 $y$',
  '- [ ] 任务 $t$\n- [x] 完成',
  '==高亮== 中文\n换行',
  '```mermaid\ngraph TD; A-->B\n\nB-->C\n```',
];

/** A note that starts with front matter (with a blank line inside it). */
const FRONT = ['---', 'title: 扩散模型', '', 'tags: [ddpm]', '---', ''];

function randomDoc(r: () => number, n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(PIECES[Math.floor(r() * PIECES.length)]!, '');
  return lines;
}

describe('incremental rendering', () => {
  it('a one-line edit re-renders one chunk and equals a fresh render', () => {
    const lines = randomDoc(rng(1), 200);
    const r = new DocumentRenderer();
    r.render(lines.join('\n'));
    const mid = lines.findIndex((l, i) => i > 150 && l.startsWith('段落'));
    assert.ok(mid > 0);
    lines[mid] = '段落 $a_2$ 改过了';
    const edited = r.render(lines.join('\n'));
    assert.equal(edited.stats.chunksRendered, 1);
    assert.deepEqual(canonical(edited), canonical(new DocumentRenderer().render(lines.join('\n'))));
  });

  it('random edit sequences always match a fresh render (macros, labels, references, HTML, footnotes, front matter)', () => {
    const r = rng(42);
    const renderer = new DocumentRenderer();
    let lines = [...FRONT, ...randomDoc(r, 60)];
    renderer.render(lines.join('\n'));
    for (let step = 0; step < 120; step++) {
      const i = Math.floor(r() * lines.length);
      const op = r();
      if (op < 0.4) lines[i] = PIECES[Math.floor(r() * PIECES.length)]!;
      else if (op < 0.7) lines.splice(i, 0, PIECES[Math.floor(r() * PIECES.length)]!, '');
      else if (op < 0.9) lines.splice(i, 1);
      else lines = lines.map((l) => l.replace('\\newcommand{\\V}', '\\newcommand{\\W}'));
      const text = lines.join('\n');
      assert.deepEqual(canonical(renderer.render(text)), canonical(new DocumentRenderer().render(text)), `step ${step}`);
    }
  });

  it('chunk keys are unique within a render even for repeated content', () => {
    const doc = new DocumentRenderer().render('same $x$\n\nsame $x$\n\nsame $x$');
    assert.equal(new Set(doc.chunks.map((c) => c.key)).size, 3);
  });

  it('chunk keys never collide across renderers, and stay put for unchanged chunks', () => {
    // A preview can be fed by a new renderer (settings changed) while the page still holds the
    // old one's chunks: a different text must never come back under a key the page has.
    const a = new DocumentRenderer().render('# 一\n\n甲 $x$\n\n乙 $y$');
    const b = new DocumentRenderer().render('# 二\n\n丙 $z$\n\n丁 $w$');
    const keysA = new Set(a.chunks.map((c) => c.key));
    assert.ok(b.chunks.every((c) => !keysA.has(c.key)), `${[...keysA]} / ${b.chunks.map((c) => c.key)}`);
    const r = new DocumentRenderer();
    const first = r.render('甲 $x$\n\n乙 $y$\n\n丙 $z$').chunks.map((c) => c.key);
    const again = r.render('甲 $x$\n\n乙改 $y$\n\n丙 $z$').chunks.map((c) => c.key);
    assert.equal(again[0], first[0], 'an unchanged chunk keeps its key');
    assert.equal(again[2], first[2], 'an unchanged chunk after the edit keeps its key');
    assert.notEqual(again[1], first[1], 'the edited chunk gets a new key');
  });

  it('renderAsync honours cancellation', async () => {
    const text = randomDoc(rng(3), 3000).join('\n');
    const token = { isCancellationRequested: false };
    const p = new DocumentRenderer().renderAsync(text, token);
    token.isCancellationRequested = true;
    await assert.rejects(p, /cancelled/);
  });
});

describe('chunks equal the whole document', () => {
  const whole = (text: string) => new DocumentRenderer({ ...DEFAULT_RENDER_OPTIONS, wholeDocument: true }).render(text);
  it('random notes render the same chunked as in one markdown-it pass', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const text = [...(seed % 2 ? FRONT : []), ...randomDoc(r, 40)].join('\n');
      const chunked = new DocumentRenderer().render(text);
      assert.ok(chunked.chunks.length > 10, 'the note is really cut into chunks');
      assert.deepEqual(canonical(chunked), canonical(whole(text)), `seed ${seed}`);
    }
  });
  it('raw HTML across blank lines is one chunk', () => {
    const text = ['前', '', '<details>', '<summary>证明</summary>', '', '$$', 'a = b', '$$', '', '</details>', '', '<!-- a', '', 'b -->', '', '<pre>', 'x', '', 'y', '</pre>', '', '<div align="center">', '', '图', '', '</div>', '', '后'].join('\n');
    assert.deepEqual(splitChunks(text).map((c) => c.startLine), [0, 2, 11, 15, 21, 27]);
  });
  it('front matter with a blank line inside stays one chunk', () => {
    assert.deepEqual(splitChunks(FRONT.join('\n') + '\n# 标题').map((c) => c.startLine), [0, 6]);
  });
  it('an unclosed <div> keeps the rest of the note in one chunk rather than cutting it wrong', () => {
    assert.equal(splitChunks('<div>\n\na\n\nb').length, 1);
  });
  it('tags inside code spans and fences are not markup', () => {
    assert.equal(splitChunks('写 `<div>` 开头\n\n```html\n<details>\n```\n\n后').length, 3);
  });
});

describe('chunking', () => {
  it('never splits fenced code, loose lists or indented continuations', () => {
    const text = ['```', 'a', '', 'b', '```', '', '- x', '', '- y', '', '  cont', '', 'para'].join('\n');
    const chunks = splitChunks(text);
    // The list may start a chunk, but its second item and indented continuation may not.
    assert.deepEqual(chunks.map((c) => c.startLine), [0, 6, 12]);
    assert.equal(chunks.map((c) => c.text).join('\n'), text);
  });
  it('chunked output has the same text, math and structure as one markdown-it pass', () => {
    const text = randomDoc(rng(9), 150).join('\n');
    const chunked = joinChunks(new DocumentRenderer().render(text));
    const whole = new MarkdownIt({ html: true, linkify: true }).use(mathPlugin).use(noteSyntaxPlugin).render(text);
    const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
    assert.equal(norm(proseText(chunked)), norm(proseText(whole)));
    assert.equal(katexCount(chunked), katexCount(whole));
    for (const tag of ['<li', '<table', '<blockquote', '<h1', '<pre']) {
      assert.equal(chunked.split(tag).length, whole.split(tag).length, tag);
    }
  });
});
