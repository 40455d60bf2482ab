import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render, proseText, katexCount } from './helpers';

const notesDir = join(__dirname, '..', '..', 'notes');
const notes = readdirSync(notesDir).filter((f) => f.endsWith('.md')).sort();

describe('sample notes render cleanly', () => {
  it('the collection has the index and the twelve topics', () => {
    assert.ok(notes.includes('README.md'));
    assert.ok(notes.filter((n) => /^\d\d-/.test(n)).length >= 12, notes.join(', '));
  });
  for (const name of notes) {
    it(name, () => {
      const { doc, html } = render(readFileSync(join(notesDir, name), 'utf8'));
      assert.deepEqual(doc.diagnostics, [], 'no KaTeX errors');
      if (name !== 'README.md') assert.ok(katexCount(html) >= 10, 'a topic note is full of math');
      // No formula left as raw text: no math delimiter survives in the visible prose.
      const prose = proseText(html);
      for (const delim of ['$', '\\(', '\\[', '\\begin{', '\\frac', '\\label', '\\eqref']) {
        const at = prose.indexOf(delim);
        assert.equal(at, -1, `raw ${delim} in prose: …${prose.slice(Math.max(0, at - 40), at + 40)}…`);
      }
      assert.ok(!html.includes('(??)'), 'every \\eqref resolves');
    });
  }
});
