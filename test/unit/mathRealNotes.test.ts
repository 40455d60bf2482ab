/**
 * The math rules that real notes need (issue 10): each with the minimal input and with
 * lines from the corpus in test/fixtures/real-notes (see its README for sources).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MarkdownIt = require('markdown-it');
import { displayCount, errorCount, katexCount, proseText, render, renderHtml } from './helpers';
import { findInlineMath } from '../../src/core/markdown/mathSyntax';
import { mathPlugin } from '../../src/core/markdown/mathPlugin';
import { noteSyntaxPlugin } from '../../src/core/markdown/noteSyntax';
import { KatexEngine } from '../../src/core/markdown/katexEngine';
import { numberEquations } from '../../src/core/markdown/equationNumbers';
import { DocumentRenderer, joinChunks } from '../../src/core/markdown/documentRenderer';

const CORPUS = join(__dirname, '..', 'fixtures', 'real-notes');

/** Lines `from`..`to` (1-based, inclusive) of a corpus note, exactly as its author wrote them. */
function corpus(file: string, from: number, to = from): string {
  return readFileSync(join(CORPUS, file), 'utf8').split('\n').slice(from - 1, to).join('\n');
}

function texts(src: string): string[] {
  return findInlineMath(src).map((s) => s.content);
}

describe('spaces just inside $…$', () => {
  it('参数$\\theta $，… pairs the right dollars', () => {
    const src = '参数$\\theta $，来输出对假设的预测概率值：$p(y=1|x;\\theta)$';
    assert.deepEqual(texts(src), ['\\theta ', 'p(y=1|x;\\theta)']);
    const html = renderHtml(src);
    assert.equal(katexCount(html), 2);
    assert.equal(proseText(html).trim(), '参数，来输出对假设的预测概率值：');
  });
  it('$ x $ is math', () => {
    assert.deepEqual(texts('设 $ x $ 为输入'), [' x ']);
  });
  it('corpus: ngml-week3 (Typora) and ngml-week1', () => {
    const html = renderHtml(corpus('ngml-week3.md', 248, 251));
    assert.ok(!proseText(html).includes('$'), proseText(html));
    assert.equal(katexCount(html), 6); // 2 + 1 + 1 + 2 formulas on lines 248–251
    assert.equal(displayCount(renderHtml(corpus('ngml-week1.md', 513))), 0);
    assert.equal(katexCount(renderHtml(corpus('ngml-week1.md', 513))), 1);
  });
});

describe('a digit right after a formula', () => {
  for (const [src, n] of [['价值是 $-$16', 1], ['得到 $-$5 分', 1], ['结果为$\\approx$0.5，误差约$\\pm$2%', 2]] as const) {
    it(src, () => {
      const html = renderHtml(src);
      assert.equal(katexCount(html), n);
      assert.ok(!proseText(html).includes('$'));
    });
  }
  it('money stays text: 价格是$5，数量是$10 / It costs $5 and $10. / costs $5 and $x$', () => {
    assert.deepEqual(texts('价格是$5，数量是$10'), []);
    assert.deepEqual(texts('It costs $5 and $10.'), []);
    assert.deepEqual(texts('costs $5 and $x$ is math'), ['x']);
    assert.deepEqual(texts('100$ 和 200$'), []);
    assert.deepEqual(texts('单价$5/$10'), []);
    // Held-out corpus (llmtech-ch6_ppo.md:131): a digit first and a space last, but TeX inside.
    assert.deepEqual(texts('如果概率比低于 $1 - \\epsilon $，在该状态下'), ['1 - \\epsilon ']);
  });
  it('corpus: easyrl-chapter1 values $-$16, $-$15, $-$14', () => {
    const html = renderHtml(corpus('easyrl-chapter1.md', 301, 302));
    assert.equal(katexCount(html), 5);
    assert.ok(!proseText(html).includes('$'));
  });
});

describe('Chinese prose is never paired into math', () => {
  it('a stray $ leaves one literal dollar, not a formula of prose', () => {
    const src = '这里多了一个$符号，后面的公式$x^2$照常显示。';
    assert.deepEqual(texts(src), ['x^2']);
    assert.equal(proseText(renderHtml(src)).trim(), '这里多了一个$符号，后面的公式照常显示。');
  });
  it('a Chinese remark inside a formula is still math', () => {
    assert.deepEqual(texts('$a \\quad （F函数定义：H = 1） b$'), ['a \\quad （F函数定义：H = 1） b']);
  });
});

describe('escaped brackets in prose that are not math', () => {
  it('可以读为\\[pæk\\]学习 and \\(II\\)', () => {
    const html = renderHtml('可以读为\\[pæk\\]学习，见\\(II\\)。');
    assert.equal(katexCount(html), 0);
    assert.equal(proseText(html).trim(), '可以读为[pæk]学习，见(II)。');
  });
  it('样例集$D$\\[也叫…注意与花体$\\mathcal{D}$的区别\\]', () => {
    const html = renderHtml('样例集$D$\\[也叫观测集、样本集，注意与花体$\\mathcal{D}$的区别\\]');
    assert.equal(katexCount(html), 2);
    assert.equal(displayCount(html), 0);
    assert.equal(proseText(html).trim(), '样例集[也叫观测集、样本集，注意与花体的区别]');
  });
  it('\\(x\\) and \\[x^2\\] stay math', () => {
    assert.equal(katexCount(renderHtml('设\\(x\\)，则\\[x^2\\]')), 2);
  });
  it('corpus: pumpkin-chapter12 \\[pæk\\] at the start of a line', () => {
    const html = renderHtml(corpus('pumpkin-chapter12.md', 88, 89));
    assert.equal(katexCount(html), 0);
    assert.ok(proseText(html).includes('[pæk]学习'));
  });
});

describe('display blocks', () => {
  it('a blank line inside $$ … $$ keeps the block', () => {
    const { html, doc } = render('前文\n\n$$\nA = \\begin{array}{cc}\n1 & 2 \\\\\n\n3 & 4\n\\end{array}\n$$\n\n后文');
    assert.equal(displayCount(html), 1);
    assert.equal(doc.diagnostics.length, 0);
    assert.equal(proseText(html).replace(/\s+/g, ''), '前文后文');
  });
  it('\\[…\\] and environments still end at a blank line, as in LaTeX', () => {
    assert.equal(displayCount(renderHtml('\\begin{equation}\na\n\nb\n\\end{equation}')), 0);
    assert.equal(displayCount(renderHtml('\\[\na\n\nb\n\\]')), 0);
  });
  it('an unclosed $$ still never swallows the note, even with a formula later', () => {
    const html = renderHtml('$$\n\n中文段落，说明。\n\n## 标题\n\n$$\ny = 1\n$$\n');
    assert.equal(displayCount(html), 1);
    assert.ok(proseText(html).includes('中文段落，说明。'));
    assert.ok(html.includes('<h2'));
  });
  it('an unclosed $$ before English prose and a heading does not pair with a later $$', () => {
    const html = renderHtml('$$\n\nSome text here.\n\n## Title\n\n$$\ny = 1\n$$\n');
    assert.equal(displayCount(html), 1);
    assert.ok(proseText(html).includes('Some text here.'));
    assert.ok(html.includes('<h2'));
  });
  it('Chinese prose between two $$ lines is not a formula', () => {
    const html = renderHtml('计算：\n\n$$\n（3）M步：求使极大化的参数\n$$\n');
    assert.equal(katexCount(html), 0);
    assert.ok(proseText(html).includes('（3）M步：求使极大化的参数'));
  });
  it('a paragraph line ending in $$ is closed by the next bare $$ line, not opened by it', () => {
    const html = renderHtml('计算 $$\nx = 1\n$$ \nthen the next step\n$$\ny = 2\n$$');
    assert.equal(displayCount(html), 2);
    assert.ok(proseText(html).includes('then the next step'));
  });
  it('the newline before the closing line is kept: \\cdot then c', () => {
    const html = renderHtml('$$\na = b \\cdot\nc$$');
    assert.equal(errorCount(html), 0);
    assert.ok(html.includes('<annotation encoding="application/x-tex">a = b \\cdot\nc</annotation>'));
  });
  it('a % comment ends at its line instead of eating \\end{equation}', () => {
    const { html, doc } = render('\\begin{equation}\na = 1 % note\n\\end{equation}');
    assert.equal(doc.diagnostics.length, 0);
    assert.equal(displayCount(html), 1);
  });
  it('$a$$b$ back to back', () => {
    assert.deepEqual(texts('$a$$b$'), ['a', 'b']);
    assert.equal(katexCount(renderHtml('$a$$b$')), 2);
  });
  it('\\begin{equation} and $$ in a blockquote whose later lines lack >', () => {
    const html = renderHtml('> 引用\n> \\begin{equation}\nx = 1\n\\end{equation}\n> 后文\n\n> $$\ny = 2\n$$\n> 再后文');
    assert.equal(displayCount(html), 2);
    assert.equal(errorCount(html), 0);
    assert.ok(!proseText(html).includes('$'));
    assert.equal((html.match(/<blockquote/g) ?? []).length, 2);
  });
  it('$$的奇异值分解。: a closing line that goes on with prose', () => {
    const html = renderHtml(corpus('slm-ch15.md', 3, 12));
    assert.equal(displayCount(html), 1);
    assert.ok(/<p[^>]*>的奇异值分解。<\/p>/.test(html), html.slice(-200));
  });
  it('corpus: slm-ch09, an inline `计算 $$` closed by a bare $$ line', () => {
    const html = renderHtml(corpus('slm-ch09.md', 536, 547));
    assert.ok(!proseText(html).includes('$'), proseText(html));
    assert.ok(proseText(html).includes('（3）M步'));
    assert.equal(displayCount(html), 2);
  });
  it('corpus: slm-ch07, > $$ with the formula lines unquoted', () => {
    const html = renderHtml(corpus('slm-ch07.md', 100, 125));
    assert.equal(errorCount(html), 0);
    assert.ok(!proseText(html).includes('$'), proseText(html));
    assert.equal(displayCount(html), 5);
  });
});

describe('environments KaTeX lacks', () => {
  for (const env of ['eqnarray', 'eqnarray*', 'multline', 'multline*', 'flalign', 'flalign*']) {
    it(env, () => {
      const body = env.startsWith('eqnarray') ? 'a &=& b \\\\ &=& c' : env.startsWith('multline') ? 'a + b \\\\ + c' : 'a &= b \\\\ c &= d';
      const { html, doc } = render(`\\begin{${env}}\n${body}\n\\end{${env}}`);
      assert.deepEqual(doc.diagnostics, []);
      assert.equal(displayCount(html), 1);
    });
  }
  it('a labelled eqnarray row is numbered and referenced', () => {
    const html = renderHtml('\\begin{eqnarray}\na &=& b \\label{e1}\n\\end{eqnarray}\n\n见\\eqref{e1}');
    assert.ok(html.includes('>(1)</a>'));
    assert.ok(html.includes('id="mln-eq-e1"'));
  });
  it('an error in a rewritten environment quotes the note\'s own TeX', () => {
    const r = new KatexEngine().render('\\begin{equation} \\frac{1}{ \\end{equation}', true, {}, new Map());
    assert.ok(r.error);
    assert.ok(!r.error.includes('equation*'), r.error);
  });
});

describe('every formula keeps its TeX source (htmlAndMathml)', () => {
  it('MathML with the TeX as written, also when numbering rewrote it', () => {
    const html = renderHtml('$x<y$\n\n$$ a = 1 \\label{q} $$');
    assert.ok(html.includes('<math'));
    assert.ok(html.includes('<annotation encoding="application/x-tex">x&lt;y</annotation>'));
    assert.ok(html.includes('<annotation encoding="application/x-tex"> a = 1 \\label{q} </annotation>'));
  });
});

describe('one equation numbering for both previews', () => {
  const note = '行内$x \\label{in}$不编号\n\n```python\n# \\label{code}\n```\n\n$$ a \\label{a} $$\n\n> \\begin{equation}\nb \\label{b}\n\\end{equation}\n\n见\\eqref{b}';
  it('numberEquations skips inline math and code', () => {
    assert.deepEqual([...numberEquations(note)], [['a', 1], ['b', 2]]);
  });
  it('ML Notes preview and the built-in preview plugin give \\eqref the same number', () => {
    const ours = renderHtml(note);
    const md = new MarkdownIt().use(mathPlugin);
    // VS Code renders cached tokens with a fresh env: the numbers must survive that.
    const tokens = md.parse(note, {});
    const builtin = md.renderer.render(tokens, md.options, {});
    for (const html of [ours, builtin]) assert.ok(html.includes('<a class="mln-eqref" href="#mln-eq-b">(2)</a>'), html);
  });
});

describe('next to VS Code\'s own math plugin (markdown-math) in the built-in preview', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vscodeKatex = (require('@vscode/markdown-it-katex') as { default: (md: MarkdownIt.MarkdownIt, o?: object) => void }).default;
  const note = '$$ a \\label{a} $$\n\n\\begin{equation}\nb \\label{b}\n\\end{equation}\n\n见\\eqref{b}，价值是 $-$16';
  for (const [name, make] of [
    ['markdown-math first', () => new MarkdownIt().use(vscodeKatex, { globalGroup: true }).use(mathPlugin)],
    ['ours first', () => new MarkdownIt().use(mathPlugin).use(vscodeKatex, { globalGroup: true })],
  ] as const) {
    it(name, () => {
      const html = make().render(note);
      assert.ok(html.includes('<a class="mln-eqref" href="#mln-eq-b">(2)</a>'));
      assert.ok(html.includes('id="mln-eq-b"'), 'our renderer drew the labelled formula');
      assert.equal(katexCount(html), 3);
      assert.ok(!proseText(html).includes('$'));
    });
  }
});

describe('the corpus renders chunk by chunk as in one markdown-it pass', () => {
  for (const file of ['slm-ch10.md', 'slm-ch07.md', 'pumpkin-chapter12.md', 'ngml-week3.md']) {
    it(file, () => {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const chunked = joinChunks(new DocumentRenderer().render(text));
      // The same plugins in one pass over the whole note (Chinese line breaks, footnotes, callouts…).
      const whole = new MarkdownIt({ html: true, linkify: true }).use(mathPlugin).use(noteSyntaxPlugin).render(text);
      const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
      assert.equal(norm(proseText(chunked)), norm(proseText(whole)));
      assert.equal(katexCount(chunked), katexCount(whole));
      assert.equal(displayCount(chunked), displayCount(whole));
    });
  }
});
