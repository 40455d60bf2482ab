import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import MarkdownIt = require('markdown-it');
import { splitChunks } from '../../src/core/markdown/chunker';
import { mathPlugin, type MathEnv } from '../../src/core/markdown/mathPlugin';
import { DocumentRenderer, DEFAULT_RENDER_OPTIONS } from '../../src/core/markdown/documentRenderer';
import { findMathRegions, isInMathForCompletion, mathRegionAt, mathRegionCovering, type TextPosition } from '../../src/core/formulas/mathRegions';
import { latexCompletions } from '../../src/core/formulas/completion';
import { chooseWrapper, insideMath, DEFAULT_DELIMITERS } from '../../src/core/formulas/insertion';
import { noteMacros, settingMacroSource } from '../../src/core/formulas/noteMacros';
import { SvgRenderer, sizeAndColor } from '../../src/core/formulas/svgRenderer';
import { formulaPicture } from '../../src/core/formulas/formulaHover';
import { createMathJaxSvg } from '../../src/core/formulas/mathjaxSvg';

const NOTES = path.resolve(__dirname, '..', '..', 'notes');

/** Text with one `|` marking the cursor → the text without it and the cursor position. */
function at(marked: string): { text: string; pos: TextPosition } {
  const i = marked.indexOf('|');
  const before = marked.slice(0, i).split('\n');
  return { text: marked.slice(0, i) + marked.slice(i + 1), pos: { line: before.length - 1, character: before[before.length - 1]!.length } };
}

/** Every formula the preview renders, in order: its renderer, chunk by chunk, with a recording sink. */
function previewFormulas(text: string): string[] {
  const md = new MarkdownIt({ html: true, linkify: true }).use(mathPlugin);
  const out: string[] = [];
  for (const chunk of splitChunks(text)) {
    const env: MathEnv = { mlnSink: { math: (tex, display) => (out.push(`${display}\u0000${tex}`), ''), ref: () => '' } };
    md.render(chunk.text, env as Record<string, unknown>);
  }
  return out;
}

function slice(text: string, a: TextPosition, b: TextPosition): string {
  const lines = text.split('\n');
  if (a.line === b.line) return lines[a.line]!.slice(a.character, b.character);
  return [lines[a.line]!.slice(a.character), ...lines.slice(a.line + 1, b.line), lines[b.line]!.slice(0, b.character)].join('\n');
}

describe('math regions agree with the preview', () => {
  for (const file of fs.readdirSync(NOTES).filter((f) => f.endsWith('.md'))) {
    it(file, () => {
      const text = fs.readFileSync(path.join(NOTES, file), 'utf8');
      const regions = findMathRegions(text);
      assert.deepEqual(regions.map((r) => `${r.display}\u0000${r.tex}`), previewFormulas(text), 'same formulas, same order');
      assert.equal(regions.length, new DocumentRenderer(DEFAULT_RENDER_OPTIONS).render(text).stats.formulas, 'the preview counts as many');
      for (const r of regions) {
        const outer = slice(text, r.outerStart, r.outerEnd);
        const inner = slice(text, r.innerStart, r.innerEnd);
        if (r.kind === 'inline') assert.equal(inner, r.tex, 'inline: the inner range is the formula');
        if (r.kind === 'fence') assert.equal(inner + '\n', r.tex);
        if (r.delimiter === '$$' || r.delimiter === '\\[') assert.ok(outer.startsWith(r.delimiter), outer);
      }
    });
  }

  it('finds formulas in lists, quotes, tables and headings at their exact place', () => {
    const text = [
      '# Title $x_1$', '', '- item $a+b$ and \\(c\\)', '', '> quote $\\alpha$', '', '| a | $y$ |', '| - | - |', '| $z$ | w |', '',
      '   $$', '   \\int f', '   $$', '', '```math', 'E=mc^2', '```', '', '\\begin{aligned}', 'a&=b', '\\end{aligned}',
    ].join('\n');
    const regions = findMathRegions(text);
    assert.deepEqual(regions.map((r) => r.tex), ['x_1', 'a+b', 'c', '\\alpha', 'y', 'z', '\\int f', 'E=mc^2\n', '\\begin{aligned}\na&=b\n\\end{aligned}']);
    assert.deepEqual(regions.map((r) => slice(text, r.outerStart, r.outerEnd)).slice(0, 6), ['$x_1$', '$a+b$', '\\(c\\)', '$\\alpha$', '$y$', '$z$']);
    assert.deepEqual(regions.map((r) => r.innerStart.line), [0, 2, 2, 4, 6, 8, 10, 15, 18]);
  });

  it('money, code, escaped dollars, citations and unclosed $$ are not math', () => {
    const text = 'It costs $5 and $10. `$x$` and \\$y\\$, 参考\\[1\\].\n\n$$\nnot closed\n\n```\n$a$\n```\n';
    assert.deepEqual(findMathRegions(text), []);
  });
});

describe('is the cursor in math', () => {
  const cases: [string, boolean][] = [
    ['$x + |y$', true],
    ['$|x$', true],
    ['$x|$', true],
    ['a $x$ |b', false],
    ['It costs $5 and |$10.', false],
    ['`$x|$`', false],
    ['$$\n\\frac{a}{b|}\n$$', true],
    ['```math\nx|\n```', true],
    ['```\n$x|$\n```', false],
    ['\\[1|\\]', false],
  ];
  for (const [marked, expected] of cases) {
    it(marked.replace(/\n/g, '⏎'), () => {
      const { text, pos } = at(marked);
      assert.equal(mathRegionAt(text, pos) !== undefined, expected);
    });
  }

  it('counts a command typed right before the closing dollar (`$x+\\|$` escapes the $)', () => {
    for (const marked of ['$x+\\|$', '$\\var|$', '$\\|$ after', '价格$\\alp|$。']) {
      const { text, pos } = at(marked);
      assert.equal(isInMathForCompletion(text, pos), true, marked);
    }
    for (const marked of ['text \\|', 'costs $5 and \\var|', '`$\\var|$`']) {
      const { text, pos } = at(marked);
      assert.equal(isInMathForCompletion(text, pos), false, marked);
    }
  });
});

describe('LaTeX completion', () => {
  it('offers KaTeX commands inside $…$, replacing from the backslash', () => {
    const { text, pos } = at('噪声$\\vare|$，其中');
    const r = latexCompletions(text, pos)!;
    assert.ok(r, 'completions inside math');
    const eps = r.items.find((i) => i.label === '\\varepsilon')!;
    assert.equal(eps.glyph, 'ε');
    assert.equal(eps.insertText, '\\\\varepsilon');
    assert.deepEqual(r.replaceStart, { line: 0, character: 3 });
    assert.deepEqual(r.replaceEnd, pos);
    assert.equal(r.items.find((i) => i.label === '\\frac')!.insertText, '\\\\frac{$1}{$2}');
    assert.ok(r.items.some((i) => i.label === '\\begin{pmatrix}'));
  });

  it('offers nothing outside math, or in math without a backslash', () => {
    for (const marked of ['plain \\vare|', 'costs $5 and \\al|', '`$\\al|$`', '```python\n"\\al|"\n```', '$x + y|$']) {
      const { text, pos } = at(marked);
      assert.equal(latexCompletions(text, pos), undefined, marked);
    }
  });

  it('\\begin{…} completes the environment with its \\end{…}', () => {
    const inline = at('$\\begin{pm|}$');
    const r = latexCompletions(inline.text, inline.pos)!;
    const pm = r.items.find((i) => i.label === 'pmatrix')!;
    assert.equal(pm.insertText, 'pmatrix} $1 \\\\end{pmatrix}');
    assert.deepEqual(r.replaceStart, { line: 0, character: 8 });
    assert.deepEqual(r.replaceEnd, { line: 0, character: 11 }, 'the } after the cursor is replaced');
    const block = at('$$\n\\begin{ali|\n$$');
    const a = latexCompletions(block.text, block.pos)!.items.find((i) => i.label === 'aligned')!;
    assert.equal(a.insertText, 'aligned}\n\t$1\n\\\\end{aligned}');
    const arr = latexCompletions(block.text, block.pos)!.items.find((i) => i.label === 'array')!;
    assert.match(arr.insertText, /^array\}\{\$1\}/, 'arguments of the environment are tab stops');
  });

  it("offers the note's \\newcommand macros and the setting's macros", () => {
    const { text, pos } = at('$\\newcommand{\\E}{\\mathbb{E}}\\def\\KL#1#2{D(#1\\|#2)}$\n\n后文 $\\|$');
    const r = latexCompletions(text, pos, { settingMacros: { '\\RR': '\\mathbb{R}' } })!;
    const labels = r.items.map((i) => i.label);
    assert.ok(labels.includes('\\E') && labels.includes('\\KL') && labels.includes('\\RR'));
    assert.equal(r.items.find((i) => i.label === '\\KL')!.insertText, '\\\\KL{$1}{$2}');
    assert.equal(r.items.find((i) => i.label === '\\E')!.kind, 'noteMacro');
    assert.equal(r.items.find((i) => i.label === '\\RR')!.kind, 'settingMacro');
  });
});

describe('delimiters for an inserted formula', () => {
  const wrap = (marked: string, s = DEFAULT_DELIMITERS, eol = '\n') => {
    const { text, pos } = at(marked);
    return chooseWrapper(text, pos, pos, s, eol);
  };

  it('none inside math', () => {
    assert.deepEqual(wrap('$x + |y$'), { open: '', close: '' });
    assert.deepEqual(wrap('$$\n|x\n$$'), { open: '', close: '' });
    assert.deepEqual(wrap('$$\n|\n$$'), { open: '', close: '' }, 'an empty $$ pair is where the formula goes');
    assert.deepEqual(wrap('\\[\n|\n\\]'), { open: '', close: '' });
  });

  it('display math on its own lines on an empty line, indented like it', () => {
    assert.deepEqual(wrap('text\n\n|'), { open: '$$\n', close: '\n$$' });
    assert.deepEqual(wrap('- item\n\n  |'), { open: '$$\n  ', close: '\n  $$' });
    assert.deepEqual(wrap('|', DEFAULT_DELIMITERS, '\r\n'), { open: '$$\r\n', close: '\r\n$$' });
    assert.deepEqual(wrap('|', { ...DEFAULT_DELIMITERS, displayDelimiter: '\\[' }), { open: '\\[\n', close: '\n\\]' });
  });

  it('display math inside a paragraph stays on the line', () => {
    assert.deepEqual(wrap('so that | holds'), { open: '$$', close: '$$' });
    assert.deepEqual(wrap('so that | holds', { ...DEFAULT_DELIMITERS, displayDelimiter: '\\[' }), { open: '\\[', close: '\\]' });
  });

  it('inline math when the setting says so', () => {
    const inline = { ...DEFAULT_DELIMITERS, insertAs: 'inline' as const };
    assert.deepEqual(wrap('噪声|，其中', inline), { open: '$', close: '$' });
    assert.deepEqual(wrap('a |5', inline), { open: '$', close: '$ ' }, 'a digit after a closing $ would keep it open');
    assert.deepEqual(wrap('a | b', { ...inline, inlineDelimiter: '\\(' }), { open: '\\(', close: '\\)' });
  });

  it('the inserted result is math the preview renders', () => {
    const { text, pos } = at('前文\n\n|\n\n后文 x');
    const w = chooseWrapper(text, pos, pos, DEFAULT_DELIMITERS);
    const out = text.slice(0, 4) + w.open + '\\frac{a}{b}' + w.close + text.slice(4);
    assert.deepEqual(findMathRegions(out).map((r) => r.tex), ['\\frac{a}{b}']);
    assert.equal(insideMath(out, { line: 3, character: 2 }), true);
  });
});

describe('note macros', () => {
  it('collects \\newcommand, \\def and \\DeclareMathOperator from formulas, in order', () => {
    const text = [
      '$\\newcommand{\\E}{\\mathbb{E}}$ and $\\renewcommand\\P[1]{\\Pr(#1)}$', '',
      '```', '$\\newcommand{\\X}{x}$', '```', '',
      '$$\\def\\KL#1#2{D(#1\\|#2)} \\DeclareMathOperator*{\\argmax}{arg\\,max} x$$', '', '$\\E$',
    ].join('\n');
    const all = noteMacros(text);
    assert.deepEqual(all.map((m) => [m.name, m.args]), [['E', 0], ['P', 1], ['KL', 2], ['argmax', 0]]);
    assert.equal(all[2]!.source, '\\def\\KL#1#2{D(#1\\|#2)}');
    assert.deepEqual(noteMacros(text, { line: 6, character: 0 }).map((m) => m.name), ['E', 'P'], 'only before the position');
  });

  it('turns the macro setting into \\def', () => {
    assert.equal(settingMacroSource({ '\\RR': '\\mathbb{R}', '\\norm': '\\|#1\\|' }), '\\def\\RR{\\mathbb{R}}\\def\\norm#1{\\|#1\\|}');
  });
});

describe('formula pictures', () => {
  const renderer = new SvgRenderer(async () => createMathJaxSvg());

  it('draws a formula as a px-sized SVG in the given color', async () => {
    const r = await renderer.render('\\frac{a}{b}+\\mathbb{E}[x]', { display: true, color: '#123456' });
    assert.ok('svg' in r, JSON.stringify(r));
    assert.match(r.svg, /^<svg[^>]* width="[\d.]+" height="[\d.]+"[^>]* color="#123456">/);
    assert.ok(!r.svg.includes('currentColor'));
    assert.ok(r.width > 10 && r.height > 10);
    assert.ok('error' in (await renderer.render('\\frac{a', { display: false, color: '#000' })));
  });

  it('scales wide formulas down', () => {
    const r = sizeAndColor('<svg width="200ex" height="2ex" style="x">…</svg>', { display: true, color: 'red', maxWidthPx: 500 });
    assert.ok('svg' in r && r.width === 500 && Math.abs(r.height - 5) < 0.01);
  });

  it('hovering a formula draws it with the macros defined earlier in the note', async () => {
    const { text, pos } = at('$\\newcommand{\\E}{\\mathbb{E}}$ 定义\n\n期望 $\\E[|x] + \\RR$');
    const p = await formulaPicture(text, pos, { color: '#000', settingMacros: { '\\RR': '\\mathbb{R}' } }, renderer);
    assert.ok(p && 'image' in p, JSON.stringify(p));
    assert.match(p.image, /^data:image\/svg\+xml;base64,/);
    assert.deepEqual([p.region.outerStart, p.region.outerEnd], [{ line: 2, character: 3 }, { line: 2, character: 16 }]);
  });

  it('a broken formula gives KaTeX\'s message, as in the preview', async () => {
    const { text, pos } = at('坏的 $\\frac{a}{|$ 公式');
    const p = await formulaPicture(text, pos, { color: '#000' }, renderer);
    assert.ok(p && 'error' in p, JSON.stringify(p));
    assert.match(p.error, /KaTeX parse error/);
    const undefinedMacro = at('$\\E[|x]$');
    const q = await formulaPicture(undefinedMacro.text, undefinedMacro.pos, { color: '#000' }, renderer);
    assert.ok(q && 'error' in q && /Undefined control sequence/.test(q.error), 'macros from later formulas do not count');
  });

  it('nothing outside formulas', async () => {
    const { text, pos } = at('plain |text $x$');
    assert.equal(await formulaPicture(text, pos, { color: '#000' }, renderer), undefined);
    assert.equal(mathRegionCovering(text, pos), undefined);
  });

  it('every display formula of the sample notes can be drawn', async () => {
    for (const file of fs.readdirSync(NOTES).filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(NOTES, file), 'utf8');
      for (const r of findMathRegions(text).filter((x) => x.display)) {
        const p = await formulaPicture(text, r.innerStart, { color: '#000' }, renderer);
        assert.ok(p && 'image' in p, `${file}:${r.outerStart.line + 1}: ${p && 'error' in p ? p.error : 'no picture'}`);
      }
    }
  });
});
