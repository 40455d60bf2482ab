/**
 * Formula hovers draw what the preview draws: MathJax (the hover's SVG renderer) gets KaTeX's
 * extra commands, and only KaTeX's refusal is reported as the preview's error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import katex = require('katex');
import { KATEX_MACROS_FOR_MATHJAX } from '../../src/core/formulas/katexMacros';
import { createMathJaxSvg } from '../../src/core/formulas/mathjaxSvg';
import { SvgRenderer } from '../../src/core/formulas/svgRenderer';
import { formulaPicture } from '../../src/core/formulas/formulaHover';

const mathjax = createMathJaxSvg();

function call(name: string, def: string | [string, number]): string {
  return `\\${name}` + '{x}'.repeat(typeof def === 'string' ? 0 : def[1]);
}

describe('MathJax gets the KaTeX macro set', () => {
  it('\\bm, \\argmax, \\llbracket (failed in hovers before) and \\textcircled from the corpus', () => {
    for (const tex of ['\\bm{\\theta}', '\\argmax_{a} Q(s,a)', '\\llbracket x \\rrbracket', '得分\\textcircled{1}']) {
      assert.doesNotThrow(() => mathjax.convert(tex, true), tex);
    }
  });
  it('every macro in the table is one KaTeX has, and MathJax draws it', () => {
    for (const [name, def] of Object.entries(KATEX_MACROS_FOR_MATHJAX)) {
      const tex = call(name, def);
      assert.doesNotThrow(() => katex.renderToString(tex, { throwOnError: true, strict: 'ignore' }), `KaTeX lacks ${tex}`);
      assert.doesNotThrow(() => mathjax.convert(tex, false), `MathJax cannot draw ${tex}`);
    }
  });
  it('MathJax still reports commands neither knows', () => {
    assert.throws(() => mathjax.convert('\\notacommand', false), (e: { message?: string }) => /Undefined control sequence/.test(e.message ?? ''));
  });
});

describe('whose error a hover shows', () => {
  const at = (s: string) => {
    const i = s.indexOf('|');
    const text = s.slice(0, i) + s.slice(i + 1);
    const before = text.slice(0, i).split('\n');
    return { text, pos: { line: before.length - 1, character: before[before.length - 1]!.length } };
  };
  it('KaTeX refusing is the preview\'s error', async () => {
    const { text, pos } = at('坏的 $\\frac{a}{|$');
    const p = await formulaPicture(text, pos, { color: '#000' }, new SvgRenderer(async () => mathjax));
    assert.ok(p && 'error' in p);
    assert.equal(p.by, 'katex');
  });
  it('MathJax failing on a formula KaTeX renders is MathJax\'s, not a KaTeX error', async () => {
    const failing = new SvgRenderer(async () => ({ convert: () => { throw new Error('MathJax: no such glyph'); } }));
    const { text, pos } = at('好的 $x^|2 + 1$');
    const p = await formulaPicture(text, pos, { color: '#000' }, failing);
    assert.ok(p && 'error' in p);
    assert.equal(p.by, 'mathjax');
    assert.match(p.error, /MathJax/);
  });
});
