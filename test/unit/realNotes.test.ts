/**
 * The whole real-notes corpus (test/fixtures/real-notes), measured as `npm run bench:realnotes`
 * does, against VS Code's own preview pipeline in the same run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findMathRegions } from '../../src/core/formulas/mathRegions';
import { createVsCodePipeline, isProse, loadCorpus, measureMlNotes, measureVsCode, sum } from '../../bench/realNotesMetrics';

/**
 * Formulas the prose measure flags that are the authors' own math with Chinese words inside
 * (checked by eye): not prose that a wrong pairing turned into math.
 */
const CHINESE_INSIDE_FORMULAS = ['ngml-week7.md:226', 'slm-ch06.md:357', 'slm-ch09.md:187'];

describe('real notes', () => {
  const notes = loadCorpus();
  const vs = createVsCodePipeline();
  const ours = notes.map((n) => measureMlNotes(n.text));
  const theirs = notes.map((n) => measureVsCode(n.text, vs));

  it('leave at most half as many literal $ on screen as VS Code\'s preview, and none per note where it has none', () => {
    const a = sum(ours);
    const b = sum(theirs);
    assert.ok(b.dollars > 0, 'the corpus has notes that VS Code\'s preview gets wrong');
    assert.ok(a.dollars * 2 <= b.dollars, `ML Notes ${a.dollars}, VS Code ${b.dollars}`);
    notes.forEach((n, i) => assert.ok(ours[i]!.dollars <= theirs[i]!.dollars, `${n.name}: ${ours[i]!.dollars} > ${theirs[i]!.dollars}`));
  });

  it('render no Chinese prose as math', () => {
    const flagged: string[] = [];
    for (const n of notes) for (const r of findMathRegions(n.text, { html: true })) if (isProse(r.tex)) flagged.push(`${n.name}:${r.outerStart.line + 1}`);
    assert.deepEqual(flagged, CHINESE_INSIDE_FORMULAS);
  });

  it('recognise at least as many formulas, with fewer KaTeX errors', () => {
    const a = sum(ours);
    const b = sum(theirs);
    assert.ok(a.formulas >= b.formulas, `${a.formulas} < ${b.formulas}`);
    assert.ok(a.katexErrors <= b.katexErrors, `${a.katexErrors} > ${b.katexErrors}`);
  });
});
