import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import MarkdownIt = require('markdown-it');
import { displayCount, errorCount, katexCount, proseText, render, renderHtml } from './helpers';
import { findInlineMath, scanInlineMath } from '../../src/core/markdown/mathSyntax';
import { mathPlugin } from '../../src/core/markdown/mathPlugin';

describe('inline math next to Chinese text', () => {
  for (const [src, n] of [
    ['中文$x$中文', 1],
    ['第$i$个', 1],
    ['（$\\beta_t$）', 1],
    ['噪声$\\epsilon_\\theta(x_t,t)$，其中$t\\sim U(1,T)$。', 2],
  ] as const) {
    it(src, () => {
      const html = renderHtml(src);
      assert.equal(katexCount(html), n);
      assert.equal(errorCount(html), 0);
      assert.ok(!proseText(html).includes('$'), 'no dollar left in the prose');
    });
  }

  it('keeps the Chinese text around the formula intact', () => {
    assert.equal(proseText(renderHtml('噪声$\\epsilon$，其中')).trim(), '噪声，其中');
  });
});

describe('math that starts with a parenthesis', () => {
  for (const src of ['$(x_t,t)$', '$(a+b)^2$', '输入$(x_t,t)$得到']) {
    it(src, () => assert.equal(katexCount(renderHtml(src)), 1));
  }
});

describe('money is not math', () => {
  it('It costs $5 and $10.', () => {
    const html = renderHtml('It costs $5 and $10.');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), 'It costs $5 and $10.');
  });
  it('价格是$5，数量是$10。', () => {
    const html = renderHtml('价格是$5，数量是$10。');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), '价格是$5，数量是$10。');
  });
  it('money before real math does not swallow it', () => {
    const html = renderHtml('costs $5 and $x$ is math');
    assert.equal(katexCount(html), 1);
    assert.ok(proseText(html).includes('costs $5 and'));
  });
  it('\\$ is a literal dollar', () => {
    const html = renderHtml('a \\$x\\$ b and \\$5');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), 'a $x$ b and $5');
  });
  it('a dollar inside math can be escaped', () => {
    assert.equal(katexCount(renderHtml('price $\\$5 + x$ here')), 1);
  });
  it('$ inside code spans and fenced code is never math', () => {
    const html = renderHtml('use `$x$` here and ``a $b$ c``\n\n```python\nprint("$x$")\n```\n\n    $indented$ code\n');
    assert.equal(katexCount(html), 0);
    assert.ok(html.includes('<code>$x$</code>'));
    assert.ok(html.includes('$x$'));
  });
  it('money followed by a code span is neither math nor broken code', () => {
    const html = renderHtml('costs $10 and `$x$` code');
    assert.equal(katexCount(html), 0);
    assert.ok(html.includes('<code>$x$</code>'));
  });
});

describe('math in containers', () => {
  it('table cells', () => {
    const html = renderHtml('| a | b |\n|---|---|\n| $x_1$ | $\\frac{1}{2}$ |\n| $\\lvert x\\rvert$ | 中$y$文 |\n');
    assert.equal(katexCount(html), 4);
    assert.ok(html.includes('<table'));
  });
  it('lists and blockquotes, inline and display', () => {
    const src = '- item $x$\n- item\n  $$\n  y = 1\n  $$\n\n> quote $z$\n>\n> \\[\n> w = 2\n> \\]\n\n1. $$a=b$$\n';
    const html = renderHtml(src);
    assert.equal(katexCount(html), 5);
    assert.equal(displayCount(html), 3);
    assert.ok(/<li[^>]*>item <span class="katex">/.test(html));
    assert.ok(/<blockquote[\s\S]*katex-display[\s\S]*<\/blockquote>/.test(html));
  });
  it('$a_1$ 和 $b_1$ produces no emphasis', () => {
    const html = renderHtml('$a_1$ 和 $b_1$ 以及 $c_*$ 和 $d_*$');
    assert.equal(katexCount(html), 4);
    assert.ok(!html.includes('<em>'));
    assert.ok(!html.includes('<strong>'));
  });
});

describe('delimiters', () => {
  it('\\(…\\) inline and \\[…\\] display, single and multi-line', () => {
    const html = renderHtml('设\\(x^2\\)为平方，\\[y=1\\]\n\n\\[\n\\int_0^1 f(x)\\,dx\n\\]\n\n\\[ z = 3 \\]\n');
    assert.equal(katexCount(html), 4);
    assert.equal(displayCount(html), 3);
  });
  it('$$…$$ inside a paragraph is display math', () => {
    const html = renderHtml('前文 $$x=1$$ 后文');
    assert.equal(displayCount(html), 1);
    assert.ok(proseText(html).includes('前文'));
    assert.ok(proseText(html).includes('后文'));
  });
  it('$$ block interrupting a paragraph', () => {
    const html = renderHtml('第一行\n$$\na^2+b^2=c^2\n$$\n第二行');
    assert.equal(displayCount(html), 1);
  });
  it('```math fences and $`…`$', () => {
    const html = renderHtml('```math\n\\sum_{i=1}^n i\n```\n\nGitLab $`\\alpha`$ style');
    assert.equal(displayCount(html), 1);
    assert.equal(katexCount(html), 2);
  });
  it('an unclosed $$ is left as text (typing must not swallow the note)', () => {
    const html = renderHtml('$$\nx = 1\n\nmore text $y$');
    assert.equal(katexCount(html), 1);
    assert.ok(proseText(html).includes('more text'));
  });
});

describe('escaped brackets in prose (documented policy)', () => {
  it('citations like \\[1\\] and \\[1, 2\\] stay brackets', () => {
    const html = renderHtml('参考\\[1\\]和\\[1, 2\\]');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), '参考[1]和[1, 2]');
  });
  it('CJK without TeX commands stays brackets: \\(注\\)', () => {
    const html = renderHtml('这里\\(注\\)说明');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), '这里(注)说明');
  });
  it('a citation alone on a line is not a display block', () => {
    assert.equal(katexCount(renderHtml('\\[3\\]\n')), 0);
  });
  it('TeX content is math even with CJK in \\text', () => {
    assert.equal(katexCount(renderHtml('\\(\\text{损失} = x\\)')), 1);
  });
});

describe('environments', () => {
  it('aligned, cases and pmatrix inside display math', () => {
    const src = [
      '$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$',
      '',
      '$$',
      'f(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & \\text{否则} \\end{cases}',
      '$$',
      '',
      '\\[ \\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix} \\]',
    ].join('\n');
    const html = renderHtml(src);
    assert.equal(displayCount(html), 3);
    assert.equal(errorCount(html), 0);
  });
  it('a bare \\begin{align}…\\end{align} block renders as display math', () => {
    const html = renderHtml('文字\n\n\\begin{align}\nx &= 1 \\\\\ny &= 2\n\\end{align}\n\n后文');
    assert.equal(displayCount(html), 1);
    assert.equal(errorCount(html), 0);
    assert.ok(!proseText(html).includes('\\begin'));
  });
});

describe('macros', () => {
  it('\\newcommand applies to later formulas, in document order', () => {
    const { html, doc } = render('先用$\\E[x]$\n\n定义$\\newcommand{\\E}{\\mathbb{E}}$\n\n再用$\\E[y]$');
    assert.equal(doc.diagnostics.length, 1, 'use before definition is an error');
    assert.equal(doc.diagnostics[0]!.line, 0);
    assert.equal(errorCount(html), 1);
  });
  it('\\def in one chunk reaches formulas many chunks later', () => {
    const { doc } = render(['$\\def\\R{\\mathbb{R}}$', '', 'para', '', '- list', '', '$x \\in \\R$'].join('\n'));
    assert.equal(doc.diagnostics.length, 0);
  });
  it('macros reset on every render of a new document', () => {
    const { DocumentRenderer } = require('../../src/core/markdown/documentRenderer') as typeof import('../../src/core/markdown/documentRenderer');
    const r = new DocumentRenderer();
    assert.equal(r.render('$\\newcommand{\\Q}{q}$ $\\Q$').diagnostics.length, 0);
    assert.equal(r.render('$\\Q$').diagnostics.length, 1);
  });
  it('user macros from the setting', () => {
    const { doc } = render('$x \\in \\RR^n$', { macros: { '\\RR': '\\mathbb{R}' } });
    assert.equal(doc.diagnostics.length, 0);
    assert.equal(render('$x \\in \\RR^n$').doc.diagnostics.length, 1);
  });
});

describe('equation numbers', () => {
  it('\\tag{} shows its tag', () => {
    const html = renderHtml('$$ a = b \\tag{3.1} $$');
    assert.ok(html.includes('3.1'));
  });
  it('\\label gives a number and \\eqref/\\ref link to it, forward references too', () => {
    const src = '见\\eqref{eq:b}和\\ref{eq:a}。\n\n$$ x = 1 \\label{eq:a} $$\n\n$$ y = 2 \\label{eq:b} $$\n\n公式$\\eqref{eq:a}$';
    const { html, doc } = render(src);
    assert.equal(doc.diagnostics.length, 0);
    assert.ok(html.includes('<a class="mln-eqref" href="#mln-eq-eq:b">(2)</a>'));
    assert.ok(html.includes('<a class="mln-eqref" href="#mln-eq-eq:a">1</a>'));
    assert.ok(html.includes('id="mln-eq-eq:a"'));
    assert.ok(html.includes('id="mln-eq-eq:b"'));
    assert.ok(html.includes('href="#mln-eq-eq:a"'), 'in-math \\eqref is a link');
  });
  it('labels inside align rows number each row', () => {
    const { html, doc } = render('\\begin{align}\na &= 1 \\label{r1} \\\\\nb &= 2 \\label{r2}\n\\end{align}\n\n见\\eqref{r2}');
    assert.equal(doc.diagnostics.length, 0);
    assert.ok(html.includes('>(2)</a>'));
  });
  it('a \\label mentioned in a code span does not shift the numbers', () => {
    const html = renderHtml('用 `\\label{…}` 编号。\n\n$$ x \\label{only} $$\n\n见\\eqref{only}');
    assert.ok(html.includes('>(1)</a>'));
  });
  it('an unknown label shows ?? like LaTeX', () => {
    assert.ok(renderHtml('见\\eqref{nope}').includes('(??)'));
  });
});

describe('errors', () => {
  it('a rejected formula shows in place with its message while the rest renders', () => {
    const { html, doc } = render('好的$x^2$，坏的$\\frac{1}{$，还有$y$\n\n$$\n\\badcommand\n$$');
    assert.equal(katexCount(html), 2);
    assert.equal(errorCount(html), 2);
    assert.match(html, /class="mln-math-error" title="KaTeX parse error[^"]*">\\frac\{1\}\{<\/span>/);
    assert.equal(doc.diagnostics.length, 2);
  });
  it('diagnostics carry the formula\'s own line inside a multi-line paragraph', () => {
    const { doc } = render('# t\n\n第一行 $a$\n第二行 $b$\n第三行 $\\oops$\n\n- x\n- $\\alsobad$\n');
    assert.deepEqual(doc.diagnostics.map((d) => d.line), [4, 7]);
  });
});

describe('safety', () => {
  it('\\def\\a{\\a\\a}\\a is an error, not a hang', () => {
    const { doc } = render('$\\def\\a{\\a\\a}\\a$ and $x$');
    assert.equal(doc.diagnostics.length, 1);
    assert.match(doc.diagnostics[0]!.message, /Too many expansions/);
  });
  it('no javascript: links, \\htmlData or \\includegraphics from formulas (trust: false)', () => {
    const html = renderHtml('$\\href{javascript:alert(1)}{x}$ $\\url{javascript:alert(1)}$ $\\htmlClass{evil}{x}$ $\\includegraphics{http://e.com/a.png}$');
    assert.ok(!/href="javascript:/i.test(html));
    assert.ok(!html.includes('class="evil"'));
    assert.ok(!html.includes('<img'));
  });
  it('raw HTML is sanitized: no scripts, handlers, javascript: URLs, iframes', () => {
    const src = [
      '<script>alert(1)</script>',
      '',
      'text <img src="x.png" onerror="alert(1)"> <a href="javascript:alert(1)">x</a> $m$',
      '',
      '<iframe src="https://example.com"></iframe>',
      '',
      '<svg onload="alert(1)"><circle r="1"/></svg>',
      '',
      '<div onclick="x()" style="position:fixed">ok <b>bold</b></div>',
      '',
      '[md link](javascript:alert(1))',
    ].join('\n');
    const html = renderHtml(src);
    assert.ok(!/<script/i.test(html));
    assert.ok(!/onerror|onload|onclick/i.test(html));
    assert.ok(!/javascript:/i.test(html.replace(/<p[^>]*>\[md link\]\(javascript:alert\(1\)\)<\/p>/, '')));
    assert.ok(!/<iframe|<svg/i.test(html));
    assert.ok(!/style="position/i.test(html));
    assert.ok(html.includes('<b>bold</b>'));
    assert.equal(katexCount(html), 1, 'math still renders in a chunk with raw HTML');
  });
  it('html: text shows raw HTML as text', () => {
    const html = renderHtml('<b>x</b> <script>alert(1)</script>', { html: 'text' });
    assert.ok(html.includes('&lt;b&gt;x&lt;/b&gt;'));
    assert.ok(!html.includes('<script'));
  });
});

describe('scanner (shared with editor features)', () => {
  it('finds spans with offsets and skips code spans', () => {
    const src = 'a $x$ b `$y$` \\(z\\) $$w$$';
    const spans = findInlineMath(src);
    assert.deepEqual(spans.map((s) => [s.delimiter, s.content]), [['$', 'x'], ['\\(', 'z'], ['$$', 'w']]);
    assert.equal(src.slice(spans[0]!.start, spans[0]!.end), '$x$');
  });
  it('never pairs across a blank line', () => {
    assert.equal(scanInlineMath('$a\n\nb$', 0), undefined);
  });
});

describe('VS Code built-in preview plugin', () => {
  it('renders the same math rules with plain markdown-it', () => {
    const md = new MarkdownIt().use(mathPlugin);
    const html = md.render('中文$x$中文，$(a+b)^2$，It costs $5 and $10.\n\n$$ y = 1 \\label{e} $$\n\n见\\eqref{e}');
    assert.equal(katexCount(html), 3);
    assert.ok(html.includes('>(1)</a>'));
  });
});
