import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PreviewSession, prefixEnd, type PreviewSessionHost, type RenderedChunks, type Timers } from '../../src/extension/preview/previewSession';
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

const URI = 'file:///notes/ddpm.md';
/** A webview message about the note, as the page sends it. */
const from = (m: Record<string, unknown>, version = 0) => ({ uri: URI, version, ...m });

type Render = Extract<ToWebview, { type: 'render' }>;
type Patch = Extract<ToWebview, { type: 'patch' }>;
type Fill = Extract<ToWebview, { type: 'fill' }>;
/** The keys the fill messages among `ms` carry HTML for. */
const filledKeys = (ms: ToWebview[]) => ms.filter((m): m is Fill => m.type === 'fill').flatMap((m) => m.chunks.map((c) => c.key));
/** A test key's number (c42 -> 42). */
const num = (key: string) => Number(key.slice(1));

/** A session whose page said ready and holds a first full render of `keys`. */
function rendered(keys: string[], opts: Parameters<typeof setup>[0] = {}) {
  const t = setup(opts);
  t.session.pageLoading(t.doc);
  t.session.onMessage(from({ type: 'ready' }));
  t.session.renderDone(t.doc, 1, t.doc.lineCount, result(keys), true);
  while (t.timers.pending.size > 0) t.timers.fireAll();
  t.sent.length = 0;
  t.calls.length = 0;
  return t;
}

describe('PreviewSession', () => {
  it('sends nothing before the page says ready, then asks for a full render', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a']), false);
    t.session.scrollToLine(3);
    assert.deepEqual(t.sent, []);
    t.session.onMessage(from({ type: 'ready' }));
    assert.deepEqual(t.calls, ['render true']);
  });

  it('a first render written into the page: a ready page that says it shows it gets patches against it, not a full render', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    const embed = t.session.embed(t.doc, 1, t.doc.lineCount, result(['a', 'b']))!;
    assert.deepEqual(embed, { type: 'render', uri: URI, version: 1, seq: 1, lineCount: 10, chunks: [{ key: 'a', start: 0, html: '<p>a</p>' }, { key: 'b', start: 2, html: '<p>b</p>' }] });
    assert.deepEqual(t.sent, [], 'written, not sent');
    t.session.onMessage(from({ type: 'ready', seq: 1 }, 1));
    assert.deepEqual(t.calls, ['render false'], 'the next render is not a reset');
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(['a', 'b2'], 1), false);
    const p = t.sent[0] as Patch;
    assert.deepEqual([p.type, p.base, p.remove, p.insert.map((op) => op.key)], ['patch', 1, ['b'], ['b2']]);
  });

  it('an editor scroll while the page loads reaches the page once it is ready, with or without a written-in render', () => {
    for (const embedded of [true, false]) {
      const t = setup();
      t.session.pageLoading(t.doc);
      const embed = embedded ? t.session.embed(t.doc, 1, t.doc.lineCount, result(['a', 'b'])) : undefined;
      t.session.scrollToLine(7);
      assert.equal(t.sent.length, 0, 'nothing before ready');
      t.session.onMessage(from({ type: 'ready', ...(embed ? { seq: embed.seq } : {}) }, embed ? 1 : 0));
      assert.deepEqual(t.sent.filter((m) => m.type === 'scrollToLine'), [{ type: 'scrollToLine', uri: URI, line: 7 }], `the editor's line (embedded: ${embedded})`);
    }
  });

  it('the chunks a written-in first render left pending are filled once the page is ready', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `c${i}`);
    const t = setup();
    t.session.pageLoading(t.doc);
    const embed = t.session.embed(t.doc, 1, 600, result(keys))!;
    const pending = embed.chunks.filter((c) => c.pending).map((c) => c.key);
    assert.ok(pending.length > 0, 'a long note leaves chunks pending');
    while (t.timers.pending.size > 0) t.timers.fireAll();
    assert.deepEqual(t.sent, [], 'nothing before ready');
    t.session.onMessage(from({ type: 'ready', seq: embed.seq }, 1));
    while (t.timers.pending.size > 0) t.timers.fireAll();
    assert.deepEqual(filledKeys(t.sent).sort(), [...pending].sort(), 'every pending chunk filled, once');
  });

  it('a page without the written-in render (none, or one VS Code rebuilt after later messages) gets a full render', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.embed(t.doc, 1, t.doc.lineCount, result(['a']));
    t.session.onMessage(from({ type: 'ready' }));
    assert.deepEqual(t.calls, ['render true'], 'a page that shows nothing');
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a']), true);
    t.calls.length = 0;
    // The same page's HTML, reloaded: it says seq 1, but the session has sent seq 2 since.
    t.session.onMessage(from({ type: 'ready', seq: 1 }, 1));
    assert.deepEqual(t.calls, ['render true'], 'a page holding an old state');
    assert.equal(t.session.embed(t.doc, 1, t.doc.lineCount, result(['a'])), undefined, 'a ready page gets messages, not a new page');
  });

  it('a first render sends every chunk with its html, stamped with uri, version and seq', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a', 'b']), true);
    assert.deepEqual(t.sent, [
      { type: 'render', uri: URI, version: 1, seq: 1, lineCount: 10, chunks: [{ key: 'a', start: 0, html: '<p>a</p>' }, { key: 'b', start: 2, html: '<p>b</p>' }] },
    ]);
  });

  it('an edit of one chunk sends one removal and one insertion with html, nothing about the rest', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `c${i}`);
    const t = rendered(keys);
    t.doc.version = 2;
    const edited = [...keys];
    edited[1000] = 'c1000x';
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(edited, 1), false);
    assert.equal(t.sent.length, 1);
    const seq = (t.sent[0] as Patch).seq;
    assert.deepEqual(t.sent[0], {
      type: 'patch', uri: URI, version: 2, seq, base: seq - 1, lineCount: 10,
      remove: ['c1000'], insert: [{ key: 'c1000x', start: 2000, html: '<p>c1000x</p>', after: 'c999' }], shift: [],
    });
    // The budget: a one-character edit's message is at most 4 KB besides the chunk's html.
    assert.ok(JSON.stringify(t.sent[0]).length - '<p>c1000x</p>'.length <= 4096);
  });

  it('chunks after a new line move by one line: one shift entry, not one per chunk', () => {
    const t = rendered(['a', 'b', 'c', 'd']);
    t.doc.version = 2;
    // 'b' gained a line: it re-renders as b2 and c, d start one line later.
    const r: RenderedChunks = {
      chunks: [
        { key: 'a', startLine: 0, html: '<p>a</p>' },
        { key: 'b2', startLine: 2, html: '<p>b2</p>' },
        { key: 'c', startLine: 5, html: '<p>c</p>' },
        { key: 'd', startLine: 7, html: '<p>d</p>' },
      ],
      chunksRendered: 1,
    };
    t.session.renderDone(t.doc, 2, t.doc.lineCount, r, false);
    const p = t.sent[0] as Patch;
    assert.deepEqual([p.remove, p.insert, p.shift], [['b'], [{ key: 'b2', start: 2, html: '<p>b2</p>', after: 'a' }], [['c', 1]]]);
  });

  it('the full render after a quick prefix render is a patch: the prefix chunks are not sent again', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, 4, result(['a', 'b-cut']), true);
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a', 'b', 'c']), false);
    t.timers.fireAll();
    const p = t.sent[1] as Patch;
    assert.equal(p.type, 'patch');
    assert.deepEqual([p.remove, p.insert.map((c) => [c.key, c.html !== undefined])], [['b-cut'], [['b', true], ['c', true]]]);
  });

  it('a chunk the page holds moves without its html', () => {
    const t = rendered(['a', 'b', 'c']);
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(['a', 'c', 'b'], 0), false);
    const p = t.sent[0] as Patch;
    assert.deepEqual(p.remove, []);
    assert.deepEqual(p.insert, [{ key: 'c', start: 2, after: 'a' }, { key: 'b', start: 4, after: 'c' }]);
  });

  /** A session whose page said ready, with the editor at `focus`, and a full render of 300 chunks (2 lines each) just done. */
  function longNote(focus: number) {
    const keys = Array.from({ length: 300 }, (_, i) => `c${i}`);
    const t = setup();
    const host = t.session as unknown as { host: PreviewSessionHost<FakeDoc> };
    (host.host as { focusLine?: () => number }).focusLine = () => focus;
    t.doc.lineCount = 600;
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(keys), true);
    return { ...t, keys };
  }

  it('a long note: every chunk placed in the first message, HTML at the editor line; the rest in fills on timer ticks', () => {
    const t = longNote(400); // chunk c200 starts at line 400
    assert.equal(t.sent.length, 1, 'one message now, the rest later');
    const first = t.sent[0] as Render;
    assert.deepEqual(first.chunks.map((c) => c.key), t.keys, 'every chunk, in order');
    const withHtml = first.chunks.filter((c) => c.html !== undefined).map((c) => c.key);
    assert.ok(withHtml.includes('c200') && withHtml.length < t.keys.length, `HTML for the chunks at the editor line (${withHtml.length})`);
    assert.ok(first.chunks.every((c) => (c.html === undefined) === (c.pending === true)), 'a chunk without HTML is pending');
    while (t.timers.pending.size > 0) t.timers.fireAll();
    const fills = t.sent.slice(1) as Fill[];
    assert.ok(fills.length >= 2 && fills.every((m) => m.type === 'fill'), `then fills (${fills.map((m) => m.type).join()})`);
    fills.forEach((m, i) => assert.equal(m.base, i + 1, 'each applies to the one before'));
    // Every chunk's HTML arrives exactly once, and the first fill continues where the render's HTML ended.
    assert.deepEqual([...withHtml, ...filledKeys(fills)].sort(), [...t.keys].sort());
    const next = fills[0]!.chunks.map((c) => c.key);
    const around = [num(withHtml[0]!) - 1, num(withHtml[withHtml.length - 1]!) + 1].map((n) => `c${n}`);
    assert.ok(around.every((k) => next.includes(k)), `the first fill holds the chunks right around the render's (${around.join()}: ${next.join()})`);
    assert.ok(!next.includes('c0'), 'not the far start of the note');
    assert.ok(fills.every((m) => m.chunks.every((c) => c.html === `<p>${c.key}</p>`)), 'with the chunks\' own HTML');
  });

  it('after the editor jumps, the next fill holds the chunks at its new line', () => {
    const t = longNote(0);
    t.timers.fireAll(); // one fill, below the start
    t.session.scrollToLine(580); // chunk c290
    while (t.timers.pending.size > 0) t.timers.fireAll();
    const fills = t.sent.filter((m): m is Fill => m.type === 'fill');
    assert.ok(fills.length >= 3, `several fills (${fills.length})`);
    assert.ok(!fills[0]!.chunks.some((c) => num(c.key) > 250), 'the fill sent before the jump is near the start');
    assert.ok(fills[1]!.chunks.some((c) => c.key === 'c290'), `the next one holds the editor's new line (${fills[1]!.chunks.map((c) => c.key).join()})`);
  });

  it('the reader scrolling the preview also moves the fills there', () => {
    const t = longNote(0);
    t.session.onMessage(from({ type: 'revealLine', line: 300 }, 1)); // chunk c150
    t.timers.fireAll();
    const fill = t.sent[1] as Fill;
    assert.ok(fill.chunks.some((c) => c.key === 'c150'), `the first fill holds the preview's line (${fill.chunks.map((c) => c.key).join()})`);
  });

  it('a keystroke goes out before the remaining fills, and a chunk it removed is never filled', () => {
    const t = longNote(0);
    t.timers.fireAll();
    const before = t.sent.length;
    t.doc.version = 2;
    const edited = t.keys.map((k) => (k === 'c250' ? 'c250x' : k));
    t.session.renderDone(t.doc, 2, t.doc.lineCount, { chunks: edited.map((key, i) => ({ key, startLine: i * 2, html: `<p>${key}</p>` })), chunksRendered: 1 }, false);
    t.timers.fireAll();
    const p = t.sent[before] as Patch;
    assert.equal(p.type, 'patch', 'the patch is next');
    assert.deepEqual([p.remove, p.insert.map((op) => [op.key, op.html])], [['c250'], [['c250x', '<p>c250x</p>']]]);
    while (t.timers.pending.size > 0) t.timers.fireAll();
    const filled = filledKeys(t.sent);
    assert.ok(!filled.includes('c250'), 'the removed chunk is not filled');
    assert.ok(filled.includes('c299'), 'the others still are');
    t.sent.forEach((m, i) => i > 0 && assert.equal((m as Patch | Fill).base, i, 'one chain of seq/base'));
  });

  it('a big patch (the full render after a prefix) sends the new chunks far from the editor line as pending', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, 4, result(['c0', 'c1']), true);
    t.timers.fireAll();
    t.session.renderDone(t.doc, 1, 600, result(Array.from({ length: 300 }, (_, i) => `c${i}`)), false);
    const p = t.sent[1] as Patch;
    assert.equal(p.insert.length, 298, 'every new chunk is placed');
    const sent = p.insert.filter((op) => op.html !== undefined);
    assert.ok(sent.length > 0 && sent.length <= 64 && num(sent[0]!.key) === 2, `HTML for the first ones (${sent.length}, from ${sent[0]?.key})`);
    assert.ok(p.insert.every((op) => (op.html === undefined) === (op.pending === true)), 'the others are pending');
  });

  it('a new full render drops the slices still queued from the previous one', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `c${i}`);
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(keys), true);
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['z']), true);
    while (t.timers.pending.size > 0) t.timers.fireAll();
    assert.deepEqual(t.sent.slice(1).map((m) => m.type), ['render']);
  });

  it('after needFullRender, the next render is a full one again', () => {
    const t = rendered(['a']);
    t.session.onMessage(from({ type: 'needFullRender' }, 1));
    assert.deepEqual(t.calls, ['render true']);
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a'], 0), false);
    const last = t.sent.at(-1) as Render;
    assert.equal(last.type, 'render');
    assert.equal(last.chunks[0]!.html, '<p>a</p>');
  });

  it('drops a render older than one already sent, or of another note; sends one the note has since left', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    const other: FakeDoc = { uri: 'file:///notes/ppo.md', version: 5, lineCount: 3 };
    t.session.renderDone(other, 5, other.lineCount, result(['other']), true);
    assert.deepEqual(t.sent, []);
    t.doc.version = 6; // typed on while versions 4 and 5 were rendering
    t.session.renderDone(t.doc, 5, 7, result(['five']), true);
    t.session.renderDone(t.doc, 4, 7, result(['four']), false);
    t.timers.fireAll();
    assert.deepEqual(t.sent.map((m) => { const r = m as Render; return [r.type, r.version, r.lineCount]; }), [['render', 5, 7]]);
  });

  it('drops webview messages about another note, and lines about another version than shown', () => {
    const t = rendered(['a']); // the page shows version 1
    t.session.onMessage({ type: 'ready', uri: 'file:///notes/ppo.md', version: 0 });
    t.session.onMessage({ type: 'needFullRender', uri: 'file:///notes/ppo.md', version: 1 });
    t.session.onMessage({ type: 'dblclick', uri: 'file:///notes/ppo.md', version: 1, line: 2 });
    t.session.onMessage(from({ type: 'dblclick', line: 2 }, 0));
    t.session.onMessage(from({ type: 'revealLine', line: 2 }, 7));
    assert.deepEqual(t.calls, []);
    t.session.onMessage(from({ type: 'dblclick', line: 2 }, 1));
    t.session.onMessage(from({ type: 'revealLine', line: 3 }, 1));
    assert.deepEqual(t.calls, ['jump 2', 'reveal 3']);
  });

  it('a hidden preview gets no renders; shown again, it asks for one full render', () => {
    const t = rendered(['a']);
    t.session.setVisible(false);
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(['b']), false);
    t.session.scrollToLine(1);
    assert.deepEqual(t.sent, []);
    t.session.setVisible(true);
    assert.deepEqual(t.calls, ['render true']);
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(['b']), false);
    assert.equal((t.sent.at(-1) as Render | undefined)?.type, 'render');
  });

  it('coalesces output changes into one outputs message keyed key:n', async () => {
    const t = setup({ outputs: { 'k:0': '<pre>45%</pre>', 'k:1': '<pre>b</pre>' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.outputsChanged();
    t.session.outputsChanged();
    t.session.outputsChanged();
    assert.equal(t.timers.pending.size, 1);
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent, [{ type: 'outputs', uri: URI, outputs: { 'k:0': '<pre>45%</pre>', 'k:1': '<pre>b</pre>' } }]);
    // Same length, different content: still sent (the webview compares content, see outputSlots).
    t.setOutputs({ 'k:0': '<pre>46%</pre>', 'k:1': '<pre>b</pre>' });
    t.session.outputsChanged();
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.at(-1), { type: 'outputs', uri: URI, outputs: { 'k:0': '<pre>46%</pre>', 'k:1': '<pre>b</pre>' } });
  });

  it('re-reads outputs after a render that changed chunks, and sends them only when they changed or the page is new', async () => {
    const t = setup({ outputs: { 'k:0': 'x' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.renderDone(t.doc, 1, t.doc.lineCount, result(['a']), true);
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.map((m) => m.type), ['render', 'outputs']);
    t.doc.version = 2;
    t.session.renderDone(t.doc, 2, t.doc.lineCount, result(['a'], 0), false);
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.map((m) => m.type), ['render', 'outputs', 'patch'], 'a cached render does not re-read');
    t.doc.version = 3;
    t.session.renderDone(t.doc, 3, t.doc.lineCount, result(['b']), false);
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.map((m) => m.type), ['render', 'outputs', 'patch', 'patch'], 'the same outputs are not sent again');
    t.setOutputs({ 'k:0': 'y' });
    t.session.outputsChanged();
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.at(-1), { type: 'outputs', uri: URI, outputs: { 'k:0': 'y' } });
    // A reloaded page holds none: it gets them again.
    t.session.onMessage(from({ type: 'ready' }));
    t.session.outputsChanged();
    t.timers.fireAll();
    await t.settle();
    assert.deepEqual(t.sent.at(-1), { type: 'outputs', uri: URI, outputs: { 'k:0': 'y' } });
    assert.equal(t.sent.filter((m) => m.type === 'outputs').length, 3);
  });

  it('drops outputs read for a note the panel has left', async () => {
    const t = setup({ outputs: { 'k:0': 'x' } });
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.outputsChanged();
    t.timers.fireAll(); // outputsFor is now in flight for ddpm.md
    t.session.document = { uri: 'file:///notes/ppo.md', version: 1, lineCount: 3 };
    await t.settle();
    assert.deepEqual(t.sent, []);
  });

  it('dispose cancels a pending outputs update', () => {
    const t = setup({ outputs: {} });
    t.session.pageLoading(t.doc);
    t.session.onMessage(from({ type: 'ready' }));
    t.session.outputsChanged();
    t.session.dispose();
    assert.equal(t.timers.pending.size, 0);
  });

  it('reveals and jumps to clamped lines; reveal follows the scroll-sync setting', () => {
    const on = setup();
    on.session.pageLoading(on.doc);
    on.session.onMessage(from({ type: 'revealLine', line: 3.7 }));
    on.session.onMessage(from({ type: 'revealLine', line: 99 }));
    on.session.onMessage(from({ type: 'dblclick', line: -4 }));
    assert.deepEqual(on.calls, ['reveal 3', 'reveal 9', 'jump 0']);
    const off = setup({ scrollSync: false });
    off.session.pageLoading(off.doc);
    off.session.onMessage(from({ type: 'revealLine', line: 3 }));
    assert.deepEqual(off.calls, []);
  });

  it('ignores malformed messages from the webview', () => {
    const t = setup();
    t.session.pageLoading(t.doc);
    for (const m of [null, 'ready', {}, { type: 'ready' }, from({ type: 'ready' }, Number.NaN), from({ type: 'revealLine', line: 'x' }), from({ type: 'revealLine', line: Number.NaN }), from({ type: 'dblclick' }), from({ type: 'openLink', href: 42 }), from({ type: 'exec' })]) {
      t.session.onMessage(m);
    }
    assert.deepEqual(t.calls, []);
    t.session.onMessage(from({ type: 'openLink', href: 'https://arxiv.org/abs/2006.11239' }));
    assert.deepEqual(t.calls, ['link https://arxiv.org/abs/2006.11239']);
  });
});

describe('prefixEnd (the quick first render of a long note)', () => {
  const lines = Array.from({ length: 4000 }, (_, i) => (i % 5 === 4 ? '' : `第${i}行`));
  const at = (i: number) => lines[i]!;
  it('stops at the first blank line 150 lines past the editor line', () => {
    assert.equal(prefixEnd(at, lines.length, 1000), 1154);
  });
  it('renders short notes, and notes seen near their end, whole', () => {
    assert.equal(prefixEnd(at, 1000, 0), undefined);
    assert.equal(prefixEnd(at, lines.length, 3500), undefined);
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
