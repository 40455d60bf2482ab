import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sanitize, sanitizerFor } from '../../src/core/markdown/sanitize';
import { renderHtml } from './helpers';

// `data-snippet` tells the preview (and export) which block an output belongs under, so only
// the renderer's own runnable blocks may carry it: a note's raw HTML must not plant one.

describe('data-snippet comes only from the renderer', () => {
  const note = [
    '# 训练日志',
    '',
    '<pre data-snippet="x" class="fake">伪造的代码块</pre>',
    '',
    '<div data-snippet="y">也不行</div>',
    '',
    '```py {run id=train}',
    'print("loss", 0.5)',
    '```',
    '',
  ].join('\n');

  it('strips it from raw HTML in a note', () => {
    const html = renderHtml(note);
    assert.match(html, /<pre class="fake">伪造的代码块<\/pre>/);
    assert.match(html, /<div>也不行<\/div>/);
    assert.doesNotMatch(html, /data-snippet="[xy]"/);
  });

  it('keeps it on a real runnable block, without the trust marker', () => {
    const html = renderHtml(note);
    const runnable = html.match(/<pre class="mln-runnable"[^>]*>/g) ?? [];
    assert.equal(runnable.length, 1);
    assert.match(runnable[0]!, /data-snippet="[^"]+"/);
    assert.equal((html.match(/data-snippet=/g) ?? []).length, 1);
    assert.doesNotMatch(html, /data-mln-trusted/);
  });

  it('a note cannot forge the trust marker', () => {
    const html = renderHtml('<pre data-mln-trusted="" data-snippet="x">a</pre>\n\n<pre data-mln-trusted="undefined" data-snippet="x">b</pre>\n');
    assert.doesNotMatch(html, /data-snippet|data-mln-trusted/);
  });

  it('the sanitizer keeps it only with the right mark', () => {
    const clean = sanitizerFor({ trustMark: 's3cret' });
    assert.equal(clean('<pre data-mln-trusted="s3cret" data-snippet="k">a</pre>'), '<pre data-snippet="k">a</pre>');
    assert.equal(clean('<pre data-mln-trusted="guess" data-snippet="k">a</pre>'), '<pre>a</pre>');
    assert.equal(sanitize('<pre data-mln-trusted="s3cret" data-snippet="k">a</pre>'), '<pre>a</pre>');
  });
});
