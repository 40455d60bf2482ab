import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DocumentRenderer } from '../../src/core/markdown/documentRenderer';
import { findInlineMath } from '../../src/core/markdown/mathSyntax';
import { rng } from './helpers';

// Timeouts here only catch hangs (a quadratic scan over 100 000 `$` would take minutes);
// speed itself is measured by `npm run bench:preview`.
const HANG_GUARD = { timeout: 20_000 };

const ATOMS = ['$', '$$', '\\(', '\\)', '\\[', '\\]', '`', '```', '\n', '\n\n', ' ', '中文', 'x', '_', '*', '-', '> ', '|', '\\', '{', '}',
  '\\frac{', '\\begin{align}', '\\end{align}', '\\label{a}', '\\eqref{a}', '<b>', '</b>', '<script>', '1.', '#', '\\def\\x{\\x}', '[', ']', '(', ')'];

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
