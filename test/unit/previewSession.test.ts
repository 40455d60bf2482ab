import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PreviewSession, type PreviewSessionHost, type RenderedChunks, type Timers } from '../../src/extension/preview/previewSession';
import type { ToWebview } from '../../src/shared/previewMessages';
import { planOutputSlots } from '../../src/shared/outputSlots';

// Small in-memory fakes: a note, a webview sink, a runner's outputs and timers fired by hand.

interface FakeDoc {
  uri: string;
  version: number;
  lineCount: number;
}

class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, () => void>();
  set(fn: () => void, _ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fireAll(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

function setup(opts: { outputs?: Record<string, string>; scrollSync?: boolean } = {}) {
  const sent: ToWebview[] = [];
  const calls: string[] = [];
  const timers = new ManualTimers();
  let outputs = opts.outputs;
  const host: PreviewSessionHost<FakeDoc> = {
    post: (m) => void sent.push(m),
    uriOf: (d) => d.uri,
    outputsFor: outputs === undefined ? undefined : async () => ({ ...outputs }),
    requestRender: (reset) => void calls.push(`render ${reset}`),
    scrollSync: () => opts.scrollSync ?? true,
    revealLine: (line) => void calls.push(`reveal ${line}`),
    jumpToLine: (line) => void calls.push(`jump ${line}`),
    openLink: (href) => void calls.push(`link ${href}`),
    logError: (message) => void calls.push(`error ${message}`),
  };
  const session = new PreviewSession(host, timers);
  const doc: FakeDoc = { uri: 'file:///notes/ddpm.md', version: 1, lineCount: 10 };
  return {
    session,
    sent,
    calls,
    timers,
    doc,
    setOutputs: (o: Record<string, string>) => (outputs = o),
    /** Lets the awaited `outputsFor` settle. */
    settle: () => new Promise<void>((r) => setImmediate(r)),
  };
}

const result = (keys: string[], chunksRendered = keys.length): RenderedChunks => ({
  chunks: keys.map((key, i) => ({ key, startLine: i * 2, html: `<p>${key}</p>` })),
  chunksRendered,
});

describe('PreviewSession', () => {
  it('sends nothing before the page says ready, then asks for a full render', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.renderDone(t.doc, 1, result(['a']), false);
    t.session.post({ type: 'scrollToLine', line: 3 });
    assert.deepEqual(t.sent, []);
    t.session.onMessage({ type: 'ready' });
    assert.deepEqual(t.calls, ['render true']);
  });

  it('sends html only for chunks the webview lacks', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.renderDone(t.doc, 1, result(['a', 'b']), true);
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, result(['a', 'c'], 1), false);
    assert.deepEqual(t.sent, [
      { type: 'render', uri: 'file:///notes/ddpm.md', version: 1, reset: true, lineCount: 10, chunks: [{ key: 'a', start: 0, html: '<p>a</p>' }, { key: 'b', start: 2, html: '<p>b</p>' }] },
      { type: 'render', uri: 'file:///notes/ddpm.md', version: 2, reset: false, lineCount: 10, chunks: [{ key: 'a', start: 0 }, { key: 'c', start: 2, html: '<p>c</p>' }] },
    ]);
  });

  it('after needFullRender, every chunk carries html again', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.renderDone(t.doc, 1, result(['a']), true);
    t.session.onMessage({ type: 'needFullRender' });
    t.session.renderDone(t.doc, 1, result(['a'], 0), true);
    const last = t.sent.at(-1) as Extract<ToWebview, { type: 'render' }>;
    assert.equal(last.reset, true);
    assert.equal(last.chunks[0]!.html, '<p>a</p>');
    assert.deepEqual(t.calls, ['render true', 'render true']);
  });

  it('drops a render whose document version is stale, or of another note', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.doc.version = 5; // edited while version 4 was rendering
    t.session.renderDone(t.doc, 4, result(['old']), true);
    const other: FakeDoc = { uri: 'file:///notes/ppo.md', version: 5, lineCount: 3 };
    t.session.renderDone(other, 5, result(['other']), true);
    assert.deepEqual(t.sent, []);
  });

  it('coalesces output changes into one outputs message keyed key:n', async () => {
    const t = setup({ outputs: { 'k:0': '<pre>45%</pre>', 'k:1': '<pre>b</pre>' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.outputsChanged();
    t.session.outputsChanged();
    t.session.outputsChanged();
    assert.equal(t.timers.pending.size, 1);
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent, [{ type: 'outputs', outputs: { 'k:0': '<pre>45%</pre>', 'k:1': '<pre>b</pre>' } }]);
    // Same length, different content: still sent (the webview compares content, see outputSlots).
    t.setOutputs({ 'k:0': '<pre>46%</pre>', 'k:1': '<pre>b</pre>' });
    t.session.outputsChanged();
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.at(-1), { type: 'outputs', outputs: { 'k:0': '<pre>46%</pre>', 'k:1': '<pre>b</pre>' } });
  });

  it('re-sends outputs after a render that changed chunks, not after a cached one', async () => {
    const t = setup({ outputs: { 'k:0': 'x' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.renderDone(t.doc, 1, result(['a']), true);
    assert.equal(t.timers.pending.size, 1);
    t.timers.fireAll();
    await t.settle();
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, result(['a'], 0), false);
    assert.equal(t.timers.pending.size, 0);
  });

  it('drops outputs read for a note the panel has left', async () => {
    const t = setup({ outputs: { 'k:0': 'x' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.outputsChanged();
    t.timers.fireAll(); // outputsFor is now in flight for ddpm.md
    t.session.document = { uri: 'file:///notes/ppo.md', version: 1, lineCount: 3 };
    await t.settle();
    assert.deepEqual(t.sent, []);
  });

  it('dispose cancels a pending outputs update', () => {
    const t = setup({ outputs: {} });
    t.session.pageLoading(t.doc);
    t.session.onMessage({ type: 'ready' });
    t.session.outputsChanged();
    t.session.dispose();
    assert.equal(t.timers.pending.size, 0);
  });

  it('reveals and jumps to clamped lines; reveal follows the scroll-sync setting', () => {
    const on = setup();
    on.session.pageLoading(on.doc);
    on.session.onMessage({ type: 'revealLine', line: 3.7 });
    on.session.onMessage({ type: 'revealLine', line: 99 });
    on.session.onMessage({ type: 'dblclick', line: -4 });
    assert.deepEqual(on.calls, ['reveal 3', 'reveal 9', 'jump 0']);
    const off = setup({ scrollSync: false });
    off.session.pageLoading(off.doc);
    off.session.onMessage({ type: 'revealLine', line: 3 });
    assert.deepEqual(off.calls, []);
  });

  it('ignores malformed messages from the webview', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    for (const m of [null, 'ready', {}, { type: 'revealLine', line: 'x' }, { type: 'revealLine', line: Number.NaN }, { type: 'dblclick' }, { type: 'openLink', href: 42 }, { type: 'exec' }]) {
      t.session.onMessage(m);
    }
    assert.deepEqual(t.calls, []);
    t.session.onMessage({ type: 'openLink', href: 'https://arxiv.org/abs/2006.11239' });
    assert.deepEqual(t.calls, ['link https://arxiv.org/abs/2006.11239']);
  });
});

describe('planOutputSlots (the webview applies it)', () => {
  it('updates a slot whose output changed but kept its length (45% → 46%)', () => {
    assert.deepEqual(planOutputSlots(['k'], ['<pre>45%</pre>'], { 'k:0': '<pre>46%</pre>' }), [{ kind: 'set', html: '<pre>46%</pre>' }]);
  });
  it('leaves an unchanged slot alone, so streaming images do not flicker', () => {
    assert.deepEqual(planOutputSlots(['k'], ['<pre>45%</pre>'], { 'k:0': '<pre>45%</pre>' }), [{ kind: 'none' }]);
  });
  it('tells identical blocks apart by occurrence, key:n', () => {
    assert.deepEqual(planOutputSlots(['k', 'j', 'k'], [undefined, undefined, undefined], { 'k:0': 'first', 'k:1': 'second' }), [
      { kind: 'set', html: 'first' },
      { kind: 'none' },
      { kind: 'set', html: 'second' },
    ]);
  });
  it('removes a slot whose output is gone', () => {
    assert.deepEqual(planOutputSlots(['k'], ['old'], {}), [{ kind: 'remove' }]);
  });
});
