import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RENDER_OPTIONS, DocumentRenderer } from '../../src/core/markdown/documentRenderer';
import { findInlineMath } from '../../src/core/markdown/mathSyntax';
import { rng } from './helpers';

// Timeouts here only catch hangs (a quadratic scan over 100 000 `$` would take minutes);
// speed itself is measured by `npm run bench:preview`.
const HANG_GUARD = { timeout: 20_000 };

const ATOMS = ['$', '$$', '\\(', '\\)', '\\[', '\\]', '`', '```', '\n', '\n\n', ' ', '中文', 'x', '_', '*', '-', '> ', '|', '\\', '{', '}',
  '\\frac{', '\\begin{align}', '\\end{align}', '\\label{a}', '\\eqref{a}', '<b>', '</b>', '<script>', '1.', '#', '\\def\\x{\\x}', '[', ']', '(', ')',
  // Note syntax: HTML blocks, front matter, footnotes, callouts, TOC, marks, task items, mermaid.
  '<details>', '</details>', '<div align="center">', '</div>', '<!--', '-->', '<pre>', '</pre>', '<img src="%E0%A4.png">',
  '---\n', '[^1]', '[^1]: ', '> [!tip] ', '> [!NOTE]\n', '[TOC]', '==', '- [ ] ', '- [x] ', '```mermaid\n'];

describe('fuzz: random Markdown + math never throws', () => {
  it('2 000 random documents', HANG_GUARD, () => {
    const r = rng(7);
    const renderer = new DocumentRenderer();
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(r() * 60);
      for (let i = 0; i < len; i++) s += ATOMS[Math.floor(r() * ATOMS.length)];
      const doc = renderer.render(s);
      assert.ok(Array.isArray(doc.chunks));
      findInlineMath(s);
    }
  });
});

describe('fuzz: chunked render equals a whole-document render', () => {
  it('500 random documents', HANG_GUARD, () => {
    const r = rng(11);
    // Lines and whole blocks (HTML elements and comments balanced, as notes write them) in random
    // order; fences, math delimiters and list items may be left open.
    const lines = ['', '', '', '段落 $x$', '# 标题', '## 标题', '<details>\n<summary>证明</summary>\n\n$$\na=b\n$$\n\n</details>',
      '<div align="center">\n\n![图](a.png)\n\n</div>', '<!-- 注\n\n注 -->', '<pre>\n代码\n\n  缩进\n</pre>', '<img src="figs/a.png" width=400>',
      '---', 'key: v', '[^1]', '见[^a]', '[^1]: 脚注', '[^a]: 另一个 $y$', '> [!tip] 提示 $t$', '> 引用', '[TOC]', '- [ ] 任务', '- 列表', '    缩进',
      '```', '```mermaid', '$$', 'a=b', '\\begin{align}', '\\end{align}', '| a |', '|---|'];
    const canonical = (doc: ReturnType<DocumentRenderer['render']>): string =>
      doc.chunks.map((c) => c.html.replace(/data-line="(\d+)"/g, (_m, n: string) => `data-line="${Number(n) + c.startLine}"`)).join('') + JSON.stringify(doc.diagnostics);
    for (let n = 0; n < 500; n++) {
      const doc: string[] = [];
      const len = 1 + Math.floor(r() * 30);
      for (let i = 0; i < len; i++) doc.push(lines[Math.floor(r() * lines.length)]!);
      const text = doc.join('\n');
      const chunked = canonical(new DocumentRenderer().render(text));
      const whole = canonical(new DocumentRenderer({ ...DEFAULT_RENDER_OPTIONS, wholeDocument: true }).render(text));
      assert.equal(chunked, whole, JSON.stringify(text));
    }
  });
});

describe('known chunking gaps', () => {
  // Found by the fuzz above with other seeds: an environment right after a list item or a
  // footnote definition, holding a fence line, is cut differently. Kept visible until fixed.
  it('\\begin{…} with ``` inside, lazily after a list item', () => {
    const text = '- [ ] 任务\n\\begin{align}\n```\n\\end{align}\n\nkey: v';
    const a = new DocumentRenderer().render(text).chunks.map((c) => c.html).join('');
    const b = new DocumentRenderer({ ...DEFAULT_RENDER_OPTIONS, wholeDocument: true }).render(text).chunks.map((c) => c.html).join('');
    assert.equal(a.replace(/data-line="\d+"/g, ''), b.replace(/data-line="\d+"/g, ''));
  });
});

describe('pathological inputs finish and never throw', () => {
  const cases: Array<[string, string]> = [
    ['100 000 dollar signs', '$'.repeat(100_000)],
    ['100 000 dollars with spaces', '$ '.repeat(100_000)],
    ['50 000 \\( openers', '\\('.repeat(50_000)],
    ['50 000 \\[ openers', '\\['.repeat(50_000)],
    ['20 000 $$ lines', '$$\n'.repeat(20_000)],
    ['unclosed \\begin{align} blocks', '\\begin{align}\nx\n'.repeat(5_000)],
    ['deeply nested lists', Array.from({ length: 2_000 }, (_, i) => ' '.repeat(i * 2) + '- $x$').join('\n')],
    ['deeply nested quotes', '>'.repeat(5_000) + ' $x$'],
    ['a 1 MB line of math', '$x$ '.repeat(250_000)],
    ['many backticks and dollars', '`$'.repeat(50_000)],
    ['huge formula', '$' + 'x+'.repeat(20_000) + 'x$'],
    ['nested braces', '$' + '{'.repeat(5_000) + 'x' + '}'.repeat(5_000) + '$'],
  ];
  for (const [name, text] of cases) {
    it(name, HANG_GUARD, () => {
      const doc = new DocumentRenderer().render(text);
      assert.ok(doc.chunks.length >= 1);
    });
  }
  it('macro bombs are stopped by KaTeX limits', HANG_GUARD, () => {
    const doc = new DocumentRenderer().render('$\\def\\a{\\a\\a}\\a$\n\n$\\def\\b#1{#1#1}\\b{\\b{\\b{\\b{\\b{\\b{\\b{\\b{\\b{\\b{\\b{x}}}}}}}}}}}$\n\n$\\rule{100000em}{100000em}$');
    assert.ok(doc.diagnostics.length >= 1);
  });
});
