import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Window } from 'happy-dom';
import { PreviewView, snippetKeysOf, type PageLayout } from '../../src/webview/previewView';
import { PreviewSession, type PreviewSessionHost } from '../../src/extension/preview/previewSession';
import { jsonDataBlock } from '../../src/core/markdown/html';
import type { FromWebview, PreviewState, ToWebview } from '../../src/shared/previewMessages';

// The webview's patch logic on a DOM (happy-dom), fed by the host's PreviewSession as in the
// extension: messages go through JSON, as postMessage would carry them.

const URI = 'file:///notes/ddpm.md';

/** A chunk as the test means it: its key, its first line, and its blocks' relative lines. */
interface Spec {
  key: string;
  start: number;
  /** Relative lines of its paragraphs (default: one at 0). */
  lines?: number[];
  /** Runnable block's snippet key, if the chunk is a code block. */
  snippet?: string;
  /** A heading with this id, if the chunk is a heading. */
  id?: string;
}

const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const htmlOf = (s: Spec): string =>
  s.id
    ? `<h2 id="${attr(s.id)}" data-line="0">${s.key}/0</h2>`
    : s.snippet
    ? `<pre class="mln-runnable" data-snippet="${s.snippet}" data-line="0"><code>${s.key}</code></pre>`
    : (s.lines ?? [0]).map((l) => `<p data-line="${l}">${s.key}/${l}</p>`).join('');

/** Heights as a browser would lay them out: 40 px per block, 20 per output slot; a placeholder its own height. */
const BLOCK_PX = 40;
const VIEWPORT_PX = 400;

function fakeLayout(root: HTMLElement, scroll: { top: number }): PageLayout {
  // Blocks and slots are a chunk's direct children (htmlOf): counted without querySelectorAll, which
  // happy-dom makes slow enough to matter in the scroll-through loops below.
  const height = (el: HTMLElement): number => {
    if (el.childElementCount === 0) return parseFloat(/height:\s*([\d.]+)px/.exec(el.getAttribute('style') ?? '')?.[1] ?? '0');
    let h = 0;
    for (let c = el.firstElementChild; c; c = c.nextElementSibling) h += c.className === 'mln-output-slot' ? 20 : BLOCK_PX;
    return h;
  };
  return {
    viewport: () => ({ top: scroll.top, bottom: scroll.top + VIEWPORT_PX }),
    box: (el) => {
      let top = 0;
      for (let c = root.firstElementChild as HTMLElement | null; c && c !== el; c = c.nextElementSibling as HTMLElement | null) top += height(c);
      return { top, height: height(el) };
    },
  };
}

function setup(focusLine?: number, opts: { virtual?: boolean; virtualMinBytes?: number } = {}) {
  const window = new Window();
  const document = window.document;
  document.body.innerHTML = `<main id="mln-root" data-state='${JSON.stringify({ uri: URI })}'></main>`;
  const root = document.getElementById('mln-root') as unknown as HTMLElement;
  const toHost: FromWebview[] = [];
  let saved: PreviewState | undefined;
  const idle: Array<() => void> = [];
  const frames: Array<() => void> = [];
  const scroll = { top: 0 };
  const layout = fakeLayout(root, scroll);
  const view = new PreviewView(
    root,
    { postMessage: (m) => void toHost.push(m), setState: (s) => void (saved = s), getState: () => saved },
    opts.virtual
      ? { idle: (fn) => void idle.push(fn), frame: (fn) => void frames.push(fn), layout, virtualMinBytes: opts.virtualMinBytes ?? 0 }
      : { idle: (fn) => void idle.push(fn) },
  );
  // Host side: the session posts into `wire`; `deliver` hands queued messages to the page.
  const wire: ToWebview[] = [];
  const timers: Array<() => void> = [];
  const doc = { uri: URI, version: 0, lineCount: 100 };
  const host: PreviewSessionHost<typeof doc> = {
    post: (m) => void wire.push(JSON.parse(JSON.stringify(m)) as ToWebview),
    uriOf: (d) => d.uri,
    requestRender: () => undefined,
    scrollSync: () => true,
    focusLine: () => focusLine,
    revealLine: () => undefined,
    jumpToLine: () => undefined,
    openLink: () => undefined,
    logError: () => undefined,
  };
  const session = new PreviewSession(host, { set: (fn) => timers.push(fn), clear: () => undefined });
  session.pageLoading(doc);
  session.onMessage({ type: 'ready', uri: URI, version: 0 });
  const api = {
    window,
    root,
    view,
    toHost,
    wire,
    /** The host renders `specs` as version+1 (reset: a full render); `drain`: and sends everything queued. */
    render(specs: Spec[], reset = false, drain = true) {
      doc.version++;
      doc.lineCount = Math.max(100, (specs[specs.length - 1]?.start ?? 0) + 2);
      session.renderDone(doc, doc.version, doc.lineCount, { chunks: specs.map((s) => ({ key: s.key, startLine: s.start, html: htmlOf(s) })), chunksRendered: 1 }, reset);
      while (drain && timers.length) timers.shift()!();
    },
    /** One tick of the session's timer: the next queued message (or fill) goes out. */
    tick() {
      timers.shift()?.();
    },
    tickPending: () => timers.length > 0,
    session,
    /** Hands every message on the wire to the page, except those `drop` says are lost. */
    deliver(drop: (m: ToWebview) => boolean = () => false) {
      for (const m of wire.splice(0)) if (!drop(m)) view.handle(m);
    },
    renumber() {
      while (idle.length) idle.shift()!();
    },
    /** What the page shows: each chunk's key and its blocks' text and absolute data-line. */
    shown() {
      return [...root.children].map((c) => ({
        key: (c as HTMLElement).dataset['key'],
        blocks: [...c.querySelectorAll('[data-line]')].map((b) => `${b.textContent}@${b.getAttribute('data-line')}`),
      }));
    },
    /** What it should show for `specs`, computed from the specs alone. */
    expected(specs: Spec[]) {
      return specs.map((s) => ({
        key: s.key,
        blocks: s.snippet ? [`${s.key}@${s.start}`] : (s.lines ?? [0]).map((l) => `${s.key}/${l}@${s.start + l}`),
      }));
    },
    byKey: (key: string) => root.querySelector(`[data-key="${key}"]`),
    layout,
    /** Scrolls the (fake) viewport and lets the page follow, as the scroll handler does. */
    scrollTo(top: number) {
      scroll.top = top;
      view.updateWindow();
    },
    frames() {
      while (frames.length) frames.shift()!();
    },
    /** Keys of the chunks whose HTML is in the DOM. */
    live: () => [...root.children].filter((c) => c.childElementCount > 0).map((c) => (c as HTMLElement).dataset['key']),
    /** Every chunk as it shows once scrolled to: the page scrolled from top to bottom, one viewport at a time. */
    scrolledThrough() {
      const seen = new Map<string, { key: string | undefined; blocks: string[] }>();
      const total = () => [...root.children].reduce((h, c) => h + layout.box(c as HTMLElement).height, 0);
      for (let top = 0; top <= total(); top += VIEWPORT_PX) {
        api.scrollTo(top);
        api.renumber();
        for (const c of api.shown()) if (c.blocks.length > 0 && !seen.has(c.key!)) seen.set(c.key!, c);
      }
      api.scrollTo(0);
      return [...root.children].map((c) => seen.get((c as HTMLElement).dataset['key']!) ?? { key: (c as HTMLElement).dataset['key'], blocks: [] });
    },
  };
  return api;
}

/** One random insert, removal, replacement or move of a chunk key. */
function randomEdit(keys: readonly string[], rand: (n: number) => number, fresh: () => string): string[] {
  const next = [...keys];
  const i = rand(next.length);
  switch (rand(4)) {
    case 0: next.splice(i, 0, fresh()); break;
    case 1: if (next.length > 1) next.splice(i, 1); break;
    case 2: next[i] = fresh(); break;
    default: { const [m] = next.splice(i, 1); next.splice(rand(next.length + 1), 0, m!); }
  }
  return next;
}

const specs = (keys: string[], lines = 2): Spec[] => keys.map((key, i) => ({ key, start: i * lines }));

describe('PreviewView (webview patch, on a DOM)', () => {
  it('keyed insert: a new chunk goes in its place, the others stay the same elements', () => {
    const t = setup();
    t.render(specs(['a', 'b', 'c']), true);
    t.deliver();
    const [a, c] = [t.byKey('a'), t.byKey('c')];
    const next = [{ key: 'a', start: 0 }, { key: 'n', start: 2 }, { key: 'b', start: 4 }, { key: 'c', start: 6 }];
    t.render(next);
    t.deliver();
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(next));
    assert.equal(t.byKey('a'), a);
    assert.equal(t.byKey('c'), c);
  });

  it('keyed move: a chunk the page holds moves without new html and keeps its element', () => {
    const t = setup();
    t.render(specs(['a', 'b', 'c', 'd']), true);
    t.deliver();
    const b = t.byKey('b');
    const next = [{ key: 'a', start: 0 }, { key: 'c', start: 2 }, { key: 'd', start: 4 }, { key: 'b', start: 6 }];
    t.render(next);
    assert.ok(!JSON.stringify(t.wire).includes('b/0'), 'no html for the moved chunk');
    t.deliver();
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(next));
    assert.equal(t.byKey('b'), b);
  });

  it('keyed remove, and chunks after it take their new lines (lazily, exact at once for lineOf)', () => {
    const t = setup();
    t.render([{ key: 'a', start: 0 }, { key: 'b', start: 2, lines: [0, 1] }, { key: 'c', start: 5, lines: [0, 2] }], true);
    t.deliver();
    const next = [{ key: 'a', start: 0 }, { key: 'c', start: 2, lines: [0, 2] }];
    t.render(next);
    t.deliver();
    // Before the idle renumbering, scroll sync and double-click already see the new lines.
    const c2 = t.root.querySelectorAll('[data-key="c"] [data-line]')[1]!;
    assert.equal(t.view.lineOf(c2), 4);
    assert.equal(t.view.bracket(4).prev?.el, c2);
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(next));
  });

  it('random edits keep the page equal to the chunks of the last render', () => {
    const t = setup();
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    let fresh = 100;
    let lines = 2;
    t.render(specs(keys), true);
    t.deliver();
    for (let round = 0; round < 200; round++) {
      keys = randomEdit(keys, rand, () => `k${fresh++}`);
      lines = 1 + rand(3);
      t.render(specs(keys, lines));
      t.deliver();
      if (rand(3) === 0) t.renumber();
    }
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(specs(keys, lines)));
  });

  it('a long note: every chunk is in place from the first message, HTML at the editor line first, then whole and in order', () => {
    const t = setup(500);
    const all = specs(Array.from({ length: 400 }, (_, i) => `k${i}`));
    t.render(all, true);
    assert.ok(t.wire.length > 3, `the HTML comes in several messages (${t.wire.length})`);
    t.view.handle(t.wire.shift()!);
    assert.deepEqual([...t.root.children].map((c) => (c as HTMLElement).dataset['key']), all.map((c) => c.key), 'every chunk placed, in order');
    assert.ok(t.live().includes('k250'), 'the chunk at the editor line has its HTML');
    assert.ok(!t.live().includes('k0'), 'the note\'s start is still a placeholder');
    assert.ok(parseFloat((t.byKey('k0') as HTMLElement).style.height) > 0, 'of an estimated height');
    t.deliver();
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(all));
  });

  it('fills interleaved with edits: a removed pending chunk is skipped, and the page ends equal to the last render', () => {
    const t = setup(300, { virtual: true });
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let ks = Array.from({ length: 200 }, (_, i) => `k${i}`);
    let fresh = 1000;
    t.render(specs(ks), true, false);
    for (let round = 0; round < 30; round++) {
      ks = randomEdit(ks, rand, () => `k${fresh++}`);
      t.render(specs(ks), false, false);
      for (let n = rand(3); n > 0; n--) t.tick();
      t.deliver();
      if (rand(2) === 0) t.frames();
      if (rand(3) === 0) t.scrollTo(rand(ks.length * BLOCK_PX));
    }
    while (t.tickPending()) {
      t.tick();
      t.deliver();
    }
    assert.equal(t.toHost.filter((m) => m.type === 'needFullRender').length, 0, 'no message had to be resent');
    t.frames();
    assert.deepEqual(t.scrolledThrough(), t.expected(specs(ks)));
  });

  it('a lost message is seen (the next patch does not fit): the page asks once for a full render, then recovers', () => {
    const t = setup();
    t.render(specs(['a', 'b', 'c']), true);
    t.deliver();
    // Lost: the removal of b. The next patches still name only keys the page holds.
    t.render([{ key: 'a', start: 0 }, { key: 'c', start: 4 }]);
    t.deliver(() => true);
    t.render([{ key: 'a', start: 0 }, { key: 'c', start: 4 }, { key: 'd', start: 6 }]);
    t.deliver();
    t.render([{ key: 'a', start: 0 }, { key: 'c', start: 4 }, { key: 'd', start: 6 }, { key: 'e', start: 8 }]);
    t.deliver();
    assert.deepEqual(t.toHost.map((m) => m.type), ['needFullRender'], 'asked once');
    assert.deepEqual(t.toHost[0], { type: 'needFullRender', uri: URI, version: 1 });
    assert.deepEqual(t.shown(), t.expected(specs(['a', 'b', 'c'])), 'nothing applied on top of a gap');
    const final = specs(['a', 'x', 'y', 'z']);
    t.render(final, true);
    t.deliver();
    assert.deepEqual(t.shown(), t.expected(final));
    t.render(specs(['a', 'z']));
    t.deliver();
    t.renumber();
    assert.deepEqual(t.shown(), t.expected(specs(['a', 'z'])), 'patches apply again');
  });

  it('a patch naming a chunk the page lacks (no html) also asks for a full render', () => {
    const t = setup();
    t.render(specs(['a']), true);
    t.deliver();
    t.view.handle({ type: 'patch', uri: URI, version: 9, seq: 2, base: 1, lineCount: 9, remove: [], insert: [{ key: 'ghost', start: 0, after: null }], shift: [] });
    assert.deepEqual(t.toHost.map((m) => m.type), ['needFullRender']);
  });

  it('drops messages about another note, and stale or repeated ones, without asking for anything', () => {
    const t = setup();
    t.render(specs(['a', 'b']), true);
    t.deliver();
    t.render(specs(['a', 'c']));
    const [patch] = t.wire.splice(0);
    const other = 'file:///notes/ppo.md';
    assert.equal(t.view.handle({ ...patch!, uri: other } as ToWebview), false);
    assert.equal(t.view.handle({ type: 'render', uri: other, version: 9, seq: 99, lineCount: 1, chunks: [{ key: 'p', start: 0, html: '<p>ppo</p>' }] }), false);
    assert.equal(t.view.handle({ type: 'outputs', uri: other, outputs: { 's:0': '<pre>ppo</pre>' } }), false);
    assert.deepEqual(t.shown(), t.expected(specs(['a', 'b'])));
    t.view.handle(patch!);
    t.view.handle(patch!); // delivered twice: the second is stale
    t.view.handle({ type: 'render', uri: URI, version: 1, seq: 1, lineCount: 4, chunks: [{ key: 'old', start: 0, html: '<p data-line="0">old</p>' }] });
    assert.deepEqual(t.shown(), t.expected(specs(['a', 'c'])));
    assert.deepEqual(t.toHost, []);
    assert.equal(t.root.ownerDocument.body.dataset['mlnVersion'], '2');
  });

  it('output slots: set under their block by key:n, updated only where changed, removed when gone', () => {
    const t = setup();
    const code: Spec[] = [{ key: 'p', start: 0 }, { key: 'c1', start: 2, snippet: 's' }, { key: 'c2', start: 6, snippet: 's' }];
    t.render(code, true);
    t.deliver();
    t.view.handle({ type: 'outputs', uri: URI, outputs: { 's:0': '<pre>first</pre>', 's:1': '<pre>second</pre>' } });
    const slots = () => [...t.root.querySelectorAll('.mln-output-slot')].map((s) => [(s.previousElementSibling as HTMLElement).textContent, s.textContent]);
    assert.deepEqual(slots(), [['c1', 'first'], ['c2', 'second']]);
    const slot1 = t.root.querySelector('[data-key="c1"] .mln-output-slot')!;
    const inner = slot1.firstElementChild;
    t.view.handle({ type: 'outputs', uri: URI, outputs: { 's:0': '<pre>first</pre>', 's:1': '<pre>2nd</pre>' } });
    assert.deepEqual(slots(), [['c1', 'first'], ['c2', '2nd']]);
    assert.equal(slot1.firstElementChild, inner, 'an unchanged slot is not rewritten');
    // A new runnable block before them: occurrences move, and so do the outputs.
    t.render([{ key: 'p', start: 0 }, { key: 'c0', start: 1, snippet: 's' }, { key: 'c1', start: 2, snippet: 's' }, { key: 'c2', start: 6, snippet: 's' }]);
    t.deliver();
    assert.deepEqual(slots(), [['c0', 'first'], ['c1', '2nd']]);
    t.view.handle({ type: 'outputs', uri: URI, outputs: {} });
    assert.deepEqual(slots(), []);
  });
});

describe('PreviewView on a virtual page (a long note: only chunks near the viewport in the DOM)', () => {
  // 100 chunks of one 40 px block each; the viewport is 400 px (10 chunks), live within one
  // viewport of it, emptied beyond three.
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);

  it('holds HTML only near the viewport; scrolling moves the window and empties what is far, keeping its height', () => {
    const t = setup(undefined, { virtual: true });
    t.render(specs(keys), true);
    t.deliver();
    t.frames();
    assert.deepEqual(t.live(), keys.slice(0, 20), 'the first screen and one more');
    t.scrollTo(2000);
    // Measured with the page's layout as it is now (placeholders above hold estimates).
    const near = [...t.root.children].filter((c) => {
      const b = t.layout.box(c as HTMLElement);
      return b.top + b.height > 2000 - VIEWPORT_PX && b.top < 2000 + 2 * VIEWPORT_PX;
    }).map((c) => (c as HTMLElement).dataset['key']);
    assert.ok(near.length >= 20 && near.every((k) => t.live().includes(k)), `every chunk within a screen of the viewport is live (${near.join()})`);
    const far = t.live().filter((k) => {
      const b = t.layout.box(t.byKey(k!) as HTMLElement);
      return b.top + b.height < 2000 - 3 * VIEWPORT_PX || b.top > 2000 + 4 * VIEWPORT_PX;
    });
    assert.deepEqual(far, [], 'none beyond three screens');
    const k0 = t.byKey('k0') as HTMLElement;
    assert.equal(k0.childElementCount, 0);
    assert.equal(k0.style.height, `${BLOCK_PX}px`, 'an emptied chunk keeps its measured height');
    // Every chunk is still there, in order, and shows its HTML once scrolled to.
    assert.deepEqual(t.scrolledThrough(), t.expected(specs(keys)));
  });

  it('an edit where the reader is shows at once; an edit far away waits, as a placeholder, until scrolled to', () => {
    const t = setup(undefined, { virtual: true });
    t.render(specs(keys), true);
    t.deliver();
    t.frames();
    const edited = specs(keys);
    edited[3] = { key: 'k3-edited', start: 6 };
    edited[90] = { key: 'k90-edited', start: 180 };
    t.render(edited);
    t.deliver();
    assert.ok(t.live().includes('k3-edited'), 'the edit on screen is in the DOM in the same task');
    assert.ok(!t.live().includes('k90-edited'), 'the far edit is a placeholder');
    assert.ok(parseFloat((t.byKey('k90-edited') as HTMLElement).style.height) > 0, 'with an estimated height');
    t.frames();
    assert.deepEqual(t.scrolledThrough(), t.expected(edited));
  });

  it('a long note sent in slices is virtual from its first slice, judged on the whole note', () => {
    // 200 chunks of ~25 bytes: the first slice (64 chunks, ~1.6 KB) is under the threshold, the note is not.
    const t = setup(undefined, { virtual: true, virtualMinBytes: 4000 });
    const all = specs(Array.from({ length: 200 }, (_, i) => `k${i}`));
    t.render(all, true);
    t.view.handle(t.wire.shift()!);
    assert.ok(t.live().length <= 25, `only the chunks near the viewport are live (${t.live().length} of ${t.root.childElementCount})`);
    t.deliver();
    t.frames();
    assert.ok(t.live().length <= 25, `still (${t.live().length})`);
    // Estimates follow the slices: the first slice's last chunk does not keep the height of every line not yet sent.
    const total = [...t.root.children].reduce((h, c) => h + t.layout.box(c as HTMLElement).height, 0);
    assert.ok(total < 1.25 * all.length * BLOCK_PX, `the page is about as tall as the note (${total} px for ${all.length} chunks of ${BLOCK_PX})`);
    assert.deepEqual(t.scrolledThrough(), t.expected(all));
  });

  it('a run of new chunks (a paste) does not make itself live: what lands on screen shows at the next frame', () => {
    const t = setup(undefined, { virtual: true });
    t.render(specs(keys), true);
    t.deliver();
    t.frames();
    const pasted = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const all = [...keys.slice(0, 4), ...pasted, ...keys.slice(4)];
    t.render(specs(all));
    t.deliver();
    const newLive = () => t.live().filter((k) => k!.startsWith('p'));
    assert.deepEqual(newLive(), ['p0', 'p39'], 'only the new chunks next to live ones, at once');
    t.frames();
    assert.ok(newLive().includes('p5'), `the next frame fills the screen (${newLive().join()})`);
    assert.ok(!newLive().includes('p38'), `and not far below it (${newLive().join()})`);
    assert.deepEqual(t.scrolledThrough(), t.expected(specs(all)));
  });

  it('random edits and scrolls keep every chunk, once scrolled to, equal to the last render', () => {
    const t = setup(undefined, { virtual: true });
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let ks = keys.slice(0, 60);
    let fresh = 1000;
    let lines = 2;
    t.render(specs(ks), true);
    t.deliver();
    for (let round = 0; round < 50; round++) {
      ks = randomEdit(ks, rand, () => `k${fresh++}`);
      lines = 1 + rand(3);
      t.render(specs(ks, lines));
      t.deliver();
      if (rand(2) === 0) t.frames();
      if (rand(4) === 0) t.scrollTo(rand(ks.length * BLOCK_PX));
      if (rand(3) === 0) t.renumber();
    }
    t.frames();
    assert.deepEqual(t.scrolledThrough(), t.expected(specs(ks, lines)));
  });

  it('reveal: scroll sync and anchor links make the chunk they need live, wherever it is', () => {
    const t = setup(undefined, { virtual: true });
    const s = specs(keys);
    t.render(s, true);
    t.deliver();
    t.frames();
    assert.ok(!t.live().includes('k80'), 'far from the viewport');
    t.view.reveal({ line: 161 }); // k80 starts at line 160
    assert.ok(t.live().includes('k80'), 'the chunk at the line is live');
    assert.equal(t.view.bracket(160).prev?.el.textContent, 'k80/0', 'bracket finds its block for scroll sync');
    // An anchor: a heading id (escaped in the HTML) in a far chunk.
    const withId = [...s];
    withId[95] = { key: 'k95-h', start: 190, id: 'sec "5" & <more>' };
    t.render(withId);
    t.deliver();
    assert.ok(!t.live().includes('k95-h'), 'far from the viewport');
    t.view.reveal({ id: 'sec "5" & <more>' });
    assert.ok(t.live().includes('k95-h'), 'the chunk with the anchor is live');
    assert.ok(t.root.ownerDocument.getElementById('sec "5" & <more>'), 'the element is there to scroll to');
  });

  it('scroll sync lands inside a chunk whose HTML has not arrived, at its place in the page', () => {
    const t = setup(0, { virtual: true });
    const all = specs(Array.from({ length: 300 }, (_, i) => `k${i}`));
    t.render(all, true, false);
    t.tick();
    t.deliver(); // only the first message: k0.. have HTML, the end of the note is pending
    const b = t.view.bracket(561); // k280 starts at line 560
    assert.equal(b.prev?.el, t.byKey('k280'), 'the placeholder is the block at the line');
    assert.equal(b.prev?.line, 560);
    assert.equal(b.next?.el, t.byKey('k281'), 'and the next placeholder the one after it');
    assert.ok(t.layout.box(t.byKey('k280') as HTMLElement).top > 100 * BLOCK_PX, 'placed far down the page, where the note has it');
  });

  it('outputs are counted over the whole note: a far block keeps its number, and shows its output once live', () => {
    const t = setup(undefined, { virtual: true });
    const s: Spec[] = keys.map((key, i) => (i === 2 || i === 90 ? { key, start: i * 2, snippet: 'same' } : { key, start: i * 2 }));
    t.render(s, true);
    t.deliver();
    t.frames();
    t.view.handle({ type: 'outputs', uri: URI, outputs: { 'same:0': '<p>first</p>', 'same:1': '<p>second</p>' } });
    const slotOf = (key: string) => t.byKey(key)?.querySelector('.mln-output-slot')?.innerHTML;
    assert.equal(slotOf('k2'), '<p>first</p>');
    assert.equal(slotOf('k90'), undefined, 'not in the DOM yet');
    t.scrollTo(88 * BLOCK_PX);
    assert.equal(slotOf('k90'), '<p>second</p>', 'the second occurrence, not the first');
    t.view.handle({ type: 'outputs', uri: URI, outputs: { 'same:0': '<p>first</p>' } });
    assert.equal(slotOf('k90'), undefined, 'removed when gone');
  });
});

describe('snippetKeysOf', () => {
  it("reads the runnable blocks' keys from the sanitizer's HTML, unescaped, and nothing else", () => {
    assert.deepEqual(snippetKeysOf('<p>no code</p>'), []);
    assert.deepEqual(
      snippetKeysOf('<pre class="mln-runnable" data-snippet="a&amp;b&quot;c" data-line="0"><code>x</code></pre><pre><code>data-snippet="fake"</code></pre><pre data-snippet="k2"></pre>'),
      ['a&b"c', 'k2'],
    );
  });
});

describe('the first render written into the page (jsonDataBlock)', () => {
  it('survives any chunk text inside a data block: nothing closes the block early', () => {
    const hostile = { type: 'render', chunks: [{ key: 'k', start: 0, html: '<p>a</script><script>alert(1)</script><!-- </SCRIPT >x' }] };
    const block = jsonDataBlock(hostile);
    assert.ok(!block.includes('<'), 'no < at all in the block');
    const window = new Window();
    window.document.body.innerHTML = `<script type="application/json" id="mln-embed">${block}</script><p id="after">after</p>`;
    const el = window.document.getElementById('mln-embed');
    assert.deepEqual(JSON.parse(el?.textContent ?? 'null'), hostile, 'read back as written');
    assert.equal(window.document.querySelectorAll('script').length, 1, 'one script element: the chunk opened none');
    assert.equal(window.document.getElementById('after')?.parentElement?.tagName, 'BODY', 'what follows the block is outside it');
  });

  it('a page that applied it says so in ready, with its seq', () => {
    const t = setup();
    t.render(specs(['a']), true);
    t.deliver();
    t.view.ready();
    const last = t.toHost[t.toHost.length - 1]!;
    assert.deepEqual([last.type, (last as { seq?: number }).seq], ['ready', t.view.seq]);
    assert.ok(t.view.seq > 0, `it holds a render (${t.view.seq})`);
  });
});
