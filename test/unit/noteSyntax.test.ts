import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import MarkdownIt = require('markdown-it');
import { splitChunks } from '../../src/core/markdown/chunker';
import { mathPlugin } from '../../src/core/markdown/mathPlugin';
import { noteSyntaxPlugin } from '../../src/core/markdown/noteSyntax';
import { DocumentRenderer } from '../../src/core/markdown/documentRenderer';
import { katexCount, proseText, render, renderHtml } from './helpers';

// Inputs are the habits of public Chinese ML notes written for Typora, Obsidian and GitHub
// (front matter from Hexo/Obsidian vaults, `[TOC]` from Typora, alerts from GitHub READMEs).

describe('front matter', () => {
  const note = '---\ntitle: 扩散模型笔记\ntags: [ddpm, score]\ndate: 2024-01-01\n---\n\n# DDPM\n';
  it('is a small metadata table, not a rule and a heading', () => {
    const html = renderHtml(note);
    assert.match(html, /<table class="mln-front-matter"[^>]*>[\s\S]*<th>title<\/th><td>扩散模型笔记<\/td>/);
    assert.match(html, /<th>tags<\/th><td>\[ddpm, score\]<\/td>/);
    assert.doesNotMatch(html, /<hr|<h2/);
    assert.match(html, /data-line-start="6"><h1 data-line="0" id="ddpm">DDPM<\/h1>/);
  });
  it('only at the very top of the note', () => {
    const html = renderHtml('# 标题\n\n---\ntitle: x\n---\n');
    assert.doesNotMatch(html, /mln-front-matter/);
  });
  it('escapes what it shows', () => {
    assert.doesNotMatch(renderHtml('---\ntitle: <img src=x onerror=alert(1)>\n---\n'), /<img/);
  });
});

describe('[TOC] and heading ids', () => {
  it('[TOC] lists every heading, nested by level, linking to their ids', () => {
    const html = renderHtml('[TOC]\n\n# 前向过程\n\n## 噪声 $\\beta_t$\n\n# 反向过程\n');
    const nav = /<nav class="mln-toc"[^>]*>([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
    assert.match(nav, /<li><a href="#%E5%89%8D%E5%90%91%E8%BF%87%E7%A8%8B">前向过程<\/a><\/li>\n<ul>\n<li><a href="#[^"]+">噪声 <span class="katex">/);
    assert.match(nav, /<\/ul>\n<li><a href="#%E5%8F%8D%E5%90%91%E8%BF%87%E7%A8%8B">反向过程<\/a>/);
  });
  it('a formula in a heading is drawn in the TOC too but counted (and reported) once', () => {
    const { doc, html } = render('[TOC]\n\n# 坏 $\\frac{$\n');
    assert.equal(doc.diagnostics.length, 1);
    assert.equal(doc.stats.formulas, 1);
    assert.equal((html.match(/mln-math-error/g) ?? []).length, 2);
  });
  it('the TOC follows headings added in another chunk', () => {
    const r = new DocumentRenderer();
    r.render('[TOC]\n\n# 一\n');
    const html = r.render('[TOC]\n\n# 一\n\n# 二\n').chunks[0]!.html;
    assert.match(html, /二/);
  });
  it('the TOC lists setext headings (`===` / `---` underlines) too', () => {
    // As in Typora exports and ngml notes (test/fixtures/real-notes/ngml-week3.md).
    const html = new DocumentRenderer().render('[TOC]\n\n第3周\n=====\n\n六、逻辑回归\n-----\n\n段落\n\n---\n\n### 6.1 分类\n').chunks[0]!.html;
    const toc = html.slice(0, html.indexOf('</nav>') + 6);
    assert.match(toc, /第3周[\s\S]*六、逻辑回归[\s\S]*6\.1 分类/);
    assert.doesNotMatch(toc, /段落/);
  });
  it('duplicate headings get unique ids, GitHub style, across chunks', () => {
    const html = renderHtml('# 损失\n\n段落\n\n# 损失\n\n## 损失\n');
    assert.deepEqual([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]), ['损失', '损失-1', '损失-2']);
  });
});

describe('footnotes', () => {
  const note = '正文[^b]，再看[^a]。\n\n第二段又见[^b]。\n\n[^a]: 来源 $x$\n[^b]: 说明\n';
  it('are numbered by first reference and listed once, at the end, with back-links', () => {
    const { doc, html } = render(note);
    assert.match(html, /<sup class="footnote-ref"><a href="#fn1" id="fnref1">\[1\]<\/a><\/sup>，再看<sup class="footnote-ref"><a href="#fn2" id="fnref2">\[2\]<\/a>/);
    assert.match(html, /第二段又见<sup class="footnote-ref"><a href="#fn1" id="fnref1:1">\[1:1\]<\/a>/);
    const last = doc.chunks[doc.chunks.length - 1]!.html;
    assert.match(last, /^<hr class="footnotes-sep">/);
    assert.match(last, /<li id="fn1" class="footnote-item"><p>说明 <a href="#fnref1" class="footnote-backref">↩︎<\/a> <a href="#fnref1:1"/);
    assert.match(last, /<li id="fn2" class="footnote-item"><p>来源 <span class="katex">/);
    assert.equal((html.match(/footnotes-list/g) ?? []).length, 1);
  });
  it('match markdown-it-footnote over the whole note (VS Code\'s built-in preview gets the plugin)', () => {
    const whole = new MarkdownIt().use(mathPlugin).use(noteSyntaxPlugin).render(note);
    const norm = (s: string): string => proseText(s).replace(/\s+/g, ' ').trim();
    assert.equal(norm(renderHtml(note)), norm(whole));
  });
  it('a reference without a definition stays text', () => {
    assert.match(renderHtml('见[^x]。'), /见\[\^x\]。/);
  });
});

describe('task lists and ==mark==', () => {
  it('task items get disabled checkboxes', () => {
    const html = renderHtml('- [ ] 推导 $\\mathcal{L}$\n- [x] 复现');
    assert.match(html, /<li[^>]*class="task-list-item"><input class="task-list-item-checkbox" disabled type="checkbox" \/> 推导 <span class="katex">/);
    assert.match(html, /<input class="task-list-item-checkbox" checked disabled type="checkbox" \/> 复现/);
  });
  it('==text== is highlighted', () => {
    assert.match(renderHtml('这是==重点=='), /这是<mark>重点<\/mark>/);
  });
});

describe('GitHub alerts and Obsidian callouts', () => {
  it('> [!NOTE] becomes a titled note box', () => {
    const html = renderHtml('> [!NOTE]\n> 学习率 $\\eta$ 要小');
    assert.match(html, /<div class="mln-callout mln-callout-note" data-line="0">\n<p class="mln-callout-title">Note<\/p>\n<p data-line="1">学习率 <span class="katex">/);
    assert.doesNotMatch(html, /<blockquote|\[!NOTE\]/);
  });
  it('> [!tip] 标题 with math in the title and the body', () => {
    const html = renderHtml('> [!tip] 重参数化 $z=\\mu+\\sigma\\epsilon$\n> 其中 $\\epsilon\\sim\\mathcal N(0,I)$');
    assert.match(html, /<p class="mln-callout-title">重参数化 <span class="katex">/);
    assert.equal(katexCount(html), 2);
  });
  it('a nested quote stays inside the callout', () => {
    const html = renderHtml('> [!warning] 注意\n> 外层\n> > 内层\n>\n> 外层续');
    assert.match(html, /<div class="mln-callout mln-callout-warning"[^>]*>[\s\S]*<blockquote[^>]*>\n<p[^>]*>内层<\/p>\n<\/blockquote>\n<p[^>]*>外层续<\/p>\n<\/div>/);
  });
  it('a plain quote stays a quote; the title is escaped', () => {
    assert.match(renderHtml('> 普通引用'), /<blockquote/);
    const html = renderHtml('> [!tip] <img src=x onerror=alert(1)>\n> 内容');
    assert.doesNotMatch(html, /onerror/);
  });
  it('the built-in preview gets the same callouts', () => {
    assert.match(new MarkdownIt().use(mathPlugin).use(noteSyntaxPlugin).render('> [!faq]- 问题\n> 答'), /mln-callout mln-callout-question mln-callout-foldable/);
  });
});

describe('mermaid', () => {
  it('a mermaid fence is its escaped source in <pre class="mermaid"> for the preview to draw', () => {
    const html = renderHtml('```mermaid\ngraph TD\n  A["<script>alert(1)</script>"] --> B\n```');
    assert.match(html, /<pre class="mermaid" data-line="0">graph TD\n {2}A\["&lt;script&gt;alert\(1\)&lt;\/script&gt;"\] --&gt; B\n<\/pre>/);
  });
});

describe('raw HTML blocks', () => {
  it('<details> keeps the math inside it, as one chunk', () => {
    const text = '<details>\n<summary>证明</summary>\n\n$$\n\\nabla_x \\log p(x)\n$$\n\n</details>\n\n后文';
    assert.equal(splitChunks(text).length, 2);
    assert.match(renderHtml(text), /<details>\n<summary>证明<\/summary>\n<div class="mln-math-block"[^>]*><span class="katex-display">[\s\S]*<\/div>\n<\/details>/);
  });
  it('a comment across paragraphs stays hidden', () => {
    const html = renderHtml('前\n\n<!-- 草稿\n\n$x$ 不显示 -->\n\n后');
    assert.doesNotMatch(html, /草稿|不显示|katex/);
  });
  it('<pre> and <div align="center"> keep their content', () => {
    assert.match(renderHtml('<pre>\na\n\nb\n</pre>'), /<pre>\na\n\nb\n<\/pre>/);
    assert.match(renderHtml('<div align="center">\n\n![图](a.png)\n\n</div>'), /<div align="center">\n<p[^>]*><img src="a.png" alt="图" \/><\/p>\n<\/div>/);
  });
  it('scripts in raw HTML and in plugin output never survive', () => {
    const html = renderHtml('<details><summary onclick="x()">s</summary>\n\n<script>alert(1)</script>\n\n</details>\n\n[^1]\n\n[^1]: <img src=x onerror=alert(1)>');
    assert.doesNotMatch(html, /onclick|<script|onerror/);
  });
});

describe('images', () => {
  const resolveResource = (href: string): string | undefined =>
    /^[a-z][a-z0-9+.-]*:/i.test(href) ? undefined : 'https://res.test/' + decodeURIComponent(href);
  it('a raw <img src> resolves like a Markdown image', () => {
    const html = renderHtml('<img src="figs/a.png" width=400>\n\n![b](figs/b.png)', { resolveResource });
    assert.match(html, /<img src="https:\/\/res.test\/figs\/a.png" width="400" data-src="figs\/a.png" \/>/);
    assert.match(html, /<img src="https:\/\/res.test\/figs\/b.png" alt="b" data-src="figs\/b.png" \/>/);
  });
  it('a malformed URL breaks only that image', () => {
    const html = renderHtml('![x](%E0%A4.png) ![y](ok.png) <img src="%E0%A4.png">', { resolveResource });
    assert.match(html, /<img src="%E0%A4.png" alt="x" \/>/);
    assert.match(html, /src="https:\/\/res.test\/ok.png"/);
  });
});

describe('Chinese line breaks and punctuation', () => {
  it('a soft break between Chinese characters is no space; between Latin words it stays', () => {
    assert.match(renderHtml('扩散模型\n的前向过程'), /扩散模型的前向过程/);
    assert.match(renderHtml('forward\nprocess'), /forward\nprocess/);
    assert.match(renderHtml('模型\nmodel'), /模型\nmodel/);
  });
  it('breaks around formulas do not throw and stay', () => {
    assert.match(renderHtml('噪声\n$x$\n方差'), /噪声\n<span/);
  });
  it('the built-in preview gets the same rule', () => {
    assert.match(new MarkdownIt().use(noteSyntaxPlugin).render('扩散\n模型'), /扩散模型/);
  });
  it('closing punctuation after inline math stays on its line', () => {
    const html = renderHtml('参数$\\theta$，概率$p$。');
    assert.match(html, /参数<span class="mln-nobr"><span class="katex">[\s\S]*?，<\/span>概率<span class="mln-nobr"><span class="katex">[\s\S]*?。<\/span>/);
  });
});

describe('a real note (excerpt of Darstib/blog docs/tutorial/begin/Obsidian_begin.md)', () => {
  // Front matter, a folded custom-type callout, an HTML comment, a GitHub-style alert whose
  // marker line is followed by an empty quote line.
  const note = [
    '---', 'date: 2024-02-14', 'tags:', '  - blog', '  - note', 'comments: true', '---', '***', '# Obsidian_begin', '',
    '> [!AI_SUMMARY]-', '> Obsidian 是一款流行的笔记软件，以其灵活性和可定制性而闻名。', '>',
    '> - **笔记组织：** Obsidian 使用双向链接系统。', '', '<!-- more -->', '',
    '> [!TIP]', '>', '> 由于部分 obsidian 的格式在 mkdocs 上无法很好地显现出来，你可以下载附件。', '',
    '## I 引言', '',
  ].join('\n');
  it('renders as Obsidian shows it', () => {
    const html = renderHtml(note);
    assert.match(html, /<th>date<\/th><td>2024-02-14<\/td>/);
    assert.match(html, /<th>tags<\/th><td>- blog - note<\/td>/);
    assert.match(html, /<div class="mln-callout mln-callout-ai_summary mln-callout-foldable"[^>]*>\n<p class="mln-callout-title">Ai_summary<\/p>\n<p[^>]*>Obsidian 是一款/);
    assert.match(html, /<div class="mln-callout mln-callout-tip"[^>]*>\n<p class="mln-callout-title">Tip<\/p>\n<p[^>]*>由于部分/);
    assert.doesNotMatch(html, /more|\[!/);
    assert.match(html, /<h2[^>]*id="i-引言">I 引言<\/h2>/);
  });
});
