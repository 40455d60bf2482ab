import type { ChunkPayload, FillMessage, FromWebview, PatchMessage, PreviewState, RenderMessage, ToWebview } from '../shared/previewMessages';
import { planOutputSlots } from '../shared/outputSlots';

/**
 * The preview page's logic over a root element, without `acquireVsCodeApi` or window globals,
 * so it is unit-tested on a DOM (test/unit/previewView.test.ts, happy-dom); preview.ts wires it
 * to the real page.
 *
 * Work per patch is proportional to what changed: chunks are placed by key, a chunk's block
 * elements and runnable blocks are found once when it is put in the DOM, and the absolute
 * `data-line` of chunks that only moved is rewritten later, in idle slices (or at once when
 * scroll sync or a double-click needs it).
 *
 * A long note is virtual: past `virtualMinBytes` of chunk HTML, only the chunks near the
 * viewport hold their HTML in the DOM ("live"); the others are empty placeholders of their
 * measured (or estimated) height. WARNING: the browser's cost per frame grows with the DOM, not
 * with what changed — an 8,000-line note is ~500k nodes, and one keystroke then cost ~100 ms of
 * style, pre-paint and layerization in the workbench's renderer even with `content-visibility`
 * (bench/ui.ts, and a trace). The price: Find in the preview sees only the live part.
 */

export interface PreviewApi {
  postMessage(msg: FromWebview): void;
  setState(state: PreviewState): void;
  getState(): PreviewState | undefined;
}

/** Page geometry, in page coordinates (the page's layout by default; tests bring their own). */
export interface PageLayout {
  viewport(): { readonly top: number; readonly bottom: number };
  box(el: HTMLElement): { readonly top: number; readonly height: number };
}

export interface PreviewViewOptions {
  /** Draws diagrams under a chunk just put in the DOM (mermaid, loaded lazily). */
  readonly drawDiagrams?: (scope: HTMLElement) => void;
  /** Runs `fn` when the page is idle; defaults to a timer. */
  readonly idle?: (fn: () => void) => void;
  /** Runs `fn` before the next frame (requestAnimationFrame); defaults to a timer. */
  readonly frame?: (fn: () => void) => void;
  readonly layout?: PageLayout;
  /** Chunk HTML above which the page is virtual (see the class comment). */
  readonly virtualMinBytes?: number;
}

interface Entry {
  readonly key: string;
  readonly el: HTMLElement;
  /** '' while pending. */
  html: string;
  /** Its HTML has not arrived yet (a `fill` brings it): a placeholder of estimated height. */
  pending: boolean;
  /** 0-based document line of the chunk's first line. */
  start: number;
  /** The start its elements' `data-line` attributes were last written for. */
  written: number;
  /** Its HTML is in the DOM (always, unless the page is virtual). */
  live: boolean;
  /** As a placeholder, it holds the height it had when live (else an estimate). */
  measured: boolean;
  /** The estimated height last written (px), so unchanged ones are not written again. */
  estimated: number;
  /** Block elements with their line relative to the chunk, in page order (live only). */
  lines: HTMLElement[];
  rlines: number[];
  /** Runnable code blocks (`pre[data-snippet]`) of the chunk (live only). */
  pres: HTMLElement[];
  /** The runnable blocks' snippet keys, known without the DOM. */
  snippets: readonly string[];
  /** The output HTML each runnable block shows (undefined: no slot), live or not. */
  shown: (string | undefined)[];
}

/** Spent per idle slice rewriting moved chunks' `data-line`. */
const RENUMBER_SLICE_MS = 4;
/** About 3 MB: real notes of ~2,500 lines; below it a keystroke's frame stays short (bench/ui.ts). */
export const VIRTUAL_MIN_BYTES = 3_000_000;
/** Chunks within this many viewport heights of the viewport are live... */
const NEAR_SCREENS = 1;
/** ... and live ones beyond this many go back to placeholders (the gap avoids churn). */
const FAR_SCREENS = 3;

function pageLayout(win: Window): PageLayout {
  return {
    viewport: () => ({ top: win.scrollY, bottom: win.scrollY + win.innerHeight }),
    box: (el) => {
      const r = el.getBoundingClientRect();
      return { top: r.top + win.scrollY, height: r.height };
    },
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };

/**
 * The `data-snippet` keys of a chunk's runnable blocks, read from its HTML so output slots are
 * counted (`key:n`) over the whole note while most chunks are not in the DOM. The HTML is the
 * sanitizer's own serialization (double-quoted, escaped attribute values; a note's text and raw
 * `<pre>` cannot carry the attribute), so this pattern is exact for it.
 */
export function snippetKeysOf(html: string): string[] {
  if (!html.includes('data-snippet')) return [];
  const keys: string[] = [];
  for (const m of html.matchAll(/<pre\b[^>]*?\sdata-snippet="([^"]*)"/g)) keys.push(m[1]!.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e]!));
  return keys;
}

export class PreviewView {
  /** The note this page shows: messages about another one are dropped. */
  readonly uri: string;
  state: PreviewState;
  /** Sequence number and document version of the last render/patch applied. */
  seq = 0;
  version = 0;
  lineCount = 0;
  /** A patch did not fit: everything but a full render is dropped until one comes. */
  private awaitingReset = false;
  private order: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();
  private readonly entryOf = new WeakMap<Element, Entry>();
  /** Chunks whose `data-line` lags behind their start. */
  private readonly stale = new Set<Entry>();
  private renumberScheduled = false;
  /** Snippet output HTML by `data-snippet` key and occurrence (`key:n`). */
  private outputs: Readonly<Record<string, string>> = {};
  private readonly doc: Document;
  private readonly layout: PageLayout;
  private readonly virtualMinBytes: number;
  /** The page holds only the chunks near the viewport. */
  private virtual = false;
  /** Chunk HTML the page holds (live or not). */
  private bytes = 0;
  /** Measured height per source line of live chunks, for placeholders never measured. */
  private measuredPx = 0;
  private measuredLines = 0;

  constructor(
    readonly root: HTMLElement,
    private readonly api: PreviewApi,
    private readonly options: PreviewViewOptions = {},
  ) {
    this.doc = root.ownerDocument;
    this.layout = options.layout ?? pageLayout(this.doc.defaultView as unknown as Window);
    this.virtualMinBytes = options.virtualMinBytes ?? VIRTUAL_MIN_BYTES;
    const initial = JSON.parse(root.dataset['state'] ?? '{}') as PreviewState;
    this.uri = initial.uri;
    const saved = api.getState();
    this.state = saved && saved.uri === initial.uri ? saved : initial;
  }

  private send(msg: { type: FromWebview['type'] } & Record<string, unknown>): void {
    this.api.postMessage({ ...msg, uri: this.uri, version: this.version } as FromWebview);
  }

  /** Tells the host the page is listening, and which render it already shows (0: none). */
  ready(): void {
    this.send({ type: 'ready', seq: this.seq });
  }

  /** Applies one host message; returns true when a render or patch changed the page. */
  handle(msg: ToWebview): boolean {
    if (msg.uri !== this.uri) return false;
    switch (msg.type) {
      case 'render':
        if (msg.seq <= this.seq) return false;
        this.applyRender(msg);
        return true;
      case 'patch':
      case 'fill':
        if (this.awaitingReset || msg.seq <= this.seq) return false;
        if (msg.base !== this.seq) return this.lost();
        return msg.type === 'patch' ? this.applyPatch(msg) : this.applyFill(msg);
      case 'outputs':
        this.outputs = msg.outputs;
        this.attachOutputs();
        return false;
      case 'scrollToLine':
        return false;
    }
  }

  /** A message was lost or does not fit: ask once for everything. */
  private lost(): false {
    this.awaitingReset = true;
    this.send({ type: 'needFullRender' });
    return false;
  }

  private applyRender(msg: RenderMessage): void {
    const t0 = performance.now();
    this.order = [];
    this.byKey.clear();
    this.stale.clear();
    this.bytes = 0;
    const frag = this.doc.createDocumentFragment();
    for (const c of msg.chunks) {
      const e = this.create(c);
      this.order.push(e);
      frag.append(e.el);
    }
    this.root.replaceChildren(frag);
    this.awaitingReset = false;
    this.finish(msg, t0);
    this.state = { uri: msg.uri, line: this.state.uri === msg.uri ? this.state.line : 0 };
    this.api.setState(this.state);
  }

  private applyPatch(msg: PatchMessage): boolean {
    const t0 = performance.now();
    for (const key of msg.remove) {
      const e = this.byKey.get(key);
      if (!e) continue;
      e.el.remove();
      this.byKey.delete(key);
      this.stale.delete(e);
      this.bytes -= e.html.length;
    }
    const placed = new Set<Entry>();
    const created = new Set<Entry>();
    for (const op of msg.insert) {
      let e = this.byKey.get(op.key);
      const after = op.after === null ? null : this.byKey.get(op.after);
      if ((!e && op.html === undefined && !op.pending) || after === undefined) return this.lost();
      if (!e) {
        e = this.create(op);
        created.add(e);
      } else if (e.start !== op.start) {
        e.start = op.start;
        if (e.live) this.stale.add(e);
      }
      if (after) after.el.after(e.el);
      else this.root.prepend(e.el);
      placed.add(e);
    }
    // The new order, from the page (chunks are the root's only children).
    const order: Entry[] = [];
    for (let el = this.root.firstElementChild; el; el = el.nextElementSibling) {
      const e = this.entryOf.get(el);
      if (e && this.byKey.get(e.key) === e) order.push(e);
    }
    this.order = order;
    if (msg.shift.length > 0) {
      const shift = new Map(msg.shift);
      let delta = 0;
      for (const e of order) {
        if (placed.has(e)) continue;
        delta = shift.get(e.key) ?? delta;
        if (delta !== 0) {
          e.start += delta;
          if (e.live) this.stale.add(e);
        }
      }
    }
    this.scheduleRenumber();
    this.finish(msg, t0, created);
    return true;
  }

  /**
   * Pending chunks' HTML: each becomes an ordinary chunk, placed as a patch's new chunks are.
   * A key the page no longer holds as pending (a patch removed it) is skipped.
   */
  private applyFill(msg: FillMessage): true {
    const t0 = performance.now();
    const filled = new Set<Entry>();
    for (const c of msg.chunks) {
      const e = this.byKey.get(c.key);
      if (!e?.pending) continue;
      e.pending = false;
      this.setHtml(e, c.html);
      filled.add(e);
    }
    this.finish(msg, t0, filled);
    return true;
  }

  /** A chunk's element, empty: `updateWindow` puts its HTML in when it is near the viewport. */
  private create(c: ChunkPayload): Entry {
    const el = this.doc.createElement('div');
    el.className = 'mln-chunk';
    el.dataset['key'] = c.key;
    const e: Entry = { key: c.key, el, html: '', pending: !!c.pending, start: c.start, written: c.start, live: false, measured: false, estimated: -1, lines: [], rlines: [], pres: [], snippets: [], shown: [] };
    this.setHtml(e, c.html ?? '');
    this.byKey.set(c.key, e);
    this.entryOf.set(el, e);
    return e;
  }

  private setHtml(e: Entry, html: string): void {
    this.bytes += html.length - e.html.length;
    e.html = html;
    e.snippets = snippetKeysOf(html);
    e.shown = e.snippets.map(() => undefined);
  }

  /** Puts a chunk's HTML in the DOM, with absolute lines and the outputs it shows. */
  private materialize(e: Entry): void {
    const el = e.el;
    el.style.removeProperty('height');
    e.estimated = -1;
    el.innerHTML = e.html;
    e.lines = [...el.querySelectorAll<HTMLElement>('[data-line]')];
    e.rlines = e.lines.map((b) => Number(b.dataset['line']));
    e.lines.forEach((b, i) => (b.dataset['line'] = String(e.rlines[i]! + e.start)));
    e.written = e.start;
    e.pres = [...el.querySelectorAll<HTMLElement>('pre[data-snippet]')];
    e.pres.forEach((pre, i) => {
      const html = e.shown[i];
      if (html !== undefined) pre.after(this.slot(html));
    });
    e.live = true;
    this.options.drawDiagrams?.(el);
  }

  /** Empties a live chunk, keeping its height so nothing below it moves. */
  private dematerialize(e: Entry): void {
    const { height } = this.layout.box(e.el);
    e.el.replaceChildren();
    e.el.style.height = `${height}px`;
    e.live = false;
    e.measured = true;
    e.lines = [];
    e.rlines = [];
    e.pres = [];
    this.stale.delete(e);
  }

  /**
   * Whether the note is long enough to be virtual, judged on what it will be, not on what has
   * arrived: a long note's first render comes in slices, and slices made live until the threshold
   * is crossed cost seconds to parse and then to empty again. The HTML held so far, scaled by the
   * note's lines over the lines it covers, estimates the whole.
   */
  private wantsVirtual(): boolean {
    const order = this.order;
    if (order.length === 0) return false;
    // Lines covered by chunks whose HTML arrived (pending chunks hold none yet).
    let span = 0;
    for (let i = 0; i < order.length; i++) if (!order[i]!.pending) span += this.linesOf(i);
    return Math.max(this.bytes, (this.bytes * this.lineCount) / Math.max(1, span)) > this.virtualMinBytes;
  }

  /** Source lines of the chunk at `i` in page order. */
  private linesOf(i: number): number {
    const next = this.order[i + 1];
    return Math.max(1, (next ? next.start : this.lineCount) - this.order[i]!.start);
  }

  /**
   * Virtual page: makes the chunks near the viewport live and empties those far from it.
   * Otherwise every chunk is live. Called after each render/patch and (by preview.ts) on scroll
   * and resize.
   */
  updateWindow(): void {
    const virtual = this.wantsVirtual();
    if (virtual !== this.virtual) {
      this.virtual = virtual;
      this.root.classList.toggle('mln-virtual', virtual);
    }
    const order = this.order;
    if (!virtual) {
      order.forEach((e, i) => {
        if (e.pending) this.estimate(e, i);
        else if (!e.live) this.materialize(e);
      });
      return;
    }
    // Placeholders never measured get an estimate from the lines they hold, anew each time: the
    // per-line height is learnt from the chunks made live so far.
    order.forEach((e, i) => {
      if (!e.live && !e.measured) this.estimate(e, i);
    });
    // Making chunks live changes their height (estimate -> real), which can move the window:
    // a few rounds until it holds still.
    for (let round = 0; round < 4; round++) {
      const [from, to] = this.rangeNear(NEAR_SCREENS);
      const fresh: number[] = [];
      for (let i = from; i <= to; i++) {
        if (order[i]!.live || order[i]!.pending) continue;
        this.materialize(order[i]!);
        fresh.push(i);
      }
      if (fresh.length === 0) break;
      for (const i of fresh) {
        this.measuredPx += this.layout.box(order[i]!.el).height;
        this.measuredLines += this.linesOf(i);
      }
    }
    const [from, to] = this.rangeNear(FAR_SCREENS);
    order.forEach((e, i) => {
      if (e.live && (i < from || i > to)) this.dematerialize(e);
    });
  }

  /**
   * A patch's new chunks on a virtual page, without reading layout (which would cost a full
   * layout per keystroke): one next to a live chunk is live (an edit where the reader is),
   * the others are placeholders. Scrolling re-decides the window (`updateWindow`).
   */
  private placeCreated(created: ReadonlySet<Entry>): void {
    const order = this.order;
    // Live before this patch: a run of new chunks (a paste, a slice) does not make itself live.
    const wasLive = (e: Entry | undefined) => !!e && e.live && !created.has(e);
    let deferred = false;
    order.forEach((e, i) => {
      if (!created.has(e)) return;
      if (e.pending) {
        this.estimate(e, i);
      } else if (!this.virtual || wasLive(order[i - 1]) || wasLive(order[i + 1]) || order.length === 1) {
        this.materialize(e);
      } else {
        this.estimate(e, i);
        deferred = true;
      }
    });
    // Some may be on screen all the same: the window is re-decided at the next frame.
    if (deferred) this.scheduleWindow();
  }

  private windowScheduled = false;

  /** Re-decides the window before the next frame, once however often asked. */
  scheduleWindow(): void {
    if (this.windowScheduled) return;
    this.windowScheduled = true;
    const frame = this.options.frame ?? ((fn: () => void) => void setTimeout(fn, 0));
    frame(() => {
      this.windowScheduled = false;
      this.updateWindow();
    });
  }

  /** A placeholder's height from its lines and the live chunks' measured height per line. */
  private estimate(e: Entry, i: number): void {
    const perLine = this.measuredLines > 0 ? this.measuredPx / this.measuredLines : 24;
    const height = Math.round(this.linesOf(i) * perLine);
    if (e.estimated === height) return;
    e.estimated = height;
    e.el.style.height = `${height}px`;
  }

  /** Indexes (inclusive) of the chunks overlapping the viewport widened by `screens` heights. */
  private rangeNear(screens: number): [number, number] {
    const { top, bottom } = this.layout.viewport();
    const pad = (bottom - top) * screens;
    const lo = top - pad;
    const hi = bottom + pad;
    const order = this.order;
    let a = 0;
    let b = order.length - 1;
    let from = order.length;
    while (a <= b) {
      const mid = (a + b) >> 1;
      const box = this.layout.box(order[mid]!.el);
      if (box.top + box.height > lo) {
        from = mid;
        b = mid - 1;
      } else {
        a = mid + 1;
      }
    }
    let to = from - 1;
    while (to + 1 < order.length && this.layout.box(order[to + 1]!.el).top < hi) to++;
    return [from, to];
  }

  /**
   * Makes the chunks around source `line` live (scroll sync is about to measure them), or the
   * chunk holding the element with this id (a link to an anchor). Does nothing on a page that is
   * not virtual.
   */
  reveal(target: { line: number } | { id: string }): void {
    if (!this.virtual) return;
    let at = -1;
    if ('id' in target) {
      const attr = `id="${target.id.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`;
      at = this.order.findIndex((e) => e.html.includes(attr));
    } else {
      at = this.indexAt(target.line);
    }
    if (at < 0) return;
    for (let i = Math.max(0, at - 1); i <= Math.min(this.order.length - 1, at + 1); i++) if (!this.order[i]!.live && !this.order[i]!.pending) this.materialize(this.order[i]!);
  }

  /** Index of the last chunk starting at or before `line` (-1: none). */
  private indexAt(line: number): number {
    let lo = 0;
    let hi = this.order.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid]!.start <= line) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return at;
  }

  /** `created`: a patch's new chunks or a fill's (a render re-decides the whole window). */
  private finish(msg: RenderMessage | PatchMessage | FillMessage, t0: number, created?: ReadonlySet<Entry>): void {
    this.seq = msg.seq;
    this.version = msg.version;
    this.lineCount = msg.lineCount;
    this.attachOutputs();
    if (created && this.virtual === this.wantsVirtual()) this.placeCreated(created);
    else this.updateWindow();
    const body = this.doc.body;
    body.dataset['mlnPatchMs'] = (performance.now() - t0).toFixed(2);
    body.dataset['mlnVersion'] = String(msg.version);
  }

  /** Rewrites moved chunks' `data-line` a few at a time, when the page is idle. */
  private scheduleRenumber(): void {
    if (this.stale.size === 0 || this.renumberScheduled) return;
    this.renumberScheduled = true;
    const idle = this.options.idle ?? ((fn: () => void) => void setTimeout(fn, 0));
    idle(() => {
      this.renumberScheduled = false;
      this.renumber(RENUMBER_SLICE_MS);
      this.scheduleRenumber();
    });
  }

  /** Brings every (or, with a budget, some) stale chunk's `data-line` up to date. */
  renumber(budgetMs = Infinity): void {
    const t0 = performance.now();
    for (const e of this.stale) {
      if (e.live && e.written !== e.start) {
        e.lines.forEach((b, i) => (b.dataset['line'] = String(e.rlines[i]! + e.start)));
        e.written = e.start;
      }
      this.stale.delete(e);
      if (performance.now() - t0 > budgetMs) break;
    }
  }

  /**
   * Output slots under runnable blocks, planned over the whole note (live or not); the DOM is
   * touched only where a live chunk's slot changed, so images don't flicker while a run streams.
   */
  private attachOutputs(): void {
    const keys: string[] = [];
    const shown: (string | undefined)[] = [];
    for (const e of this.order) {
      keys.push(...e.snippets);
      shown.push(...e.shown);
    }
    if (keys.length === 0) return;
    const plan = planOutputSlots(keys, shown, this.outputs);
    let k = 0;
    for (const e of this.order) {
      for (let i = 0; i < e.snippets.length; i++) {
        const action = plan[k++]!;
        if (action.kind === 'none') continue;
        e.shown[i] = action.kind === 'set' ? action.html : undefined;
        const pre = e.live ? e.pres[i] : undefined;
        if (!pre) continue;
        const next = pre.nextElementSibling as HTMLElement | null;
        const slot = next?.classList.contains('mln-output-slot') ? next : null;
        if (action.kind === 'remove') slot?.remove();
        else if (slot) slot.innerHTML = action.html;
        else pre.after(this.slot(action.html));
      }
    }
  }

  /** A slot holding output HTML built by the extension's escaping output renderer (src/runner/outputs.ts). */
  private slot(html: string): HTMLElement {
    const slot = this.doc.createElement('div');
    slot.className = 'mln-output-slot';
    slot.innerHTML = html;
    return slot;
  }

  /** The absolute line of a block element (`data-line` may lag; the chunk's start does not). */
  lineOf(el: Element): number | undefined {
    const block = el.closest<HTMLElement>('[data-line]');
    const chunk = block?.closest('.mln-chunk');
    const e = chunk ? this.entryOf.get(chunk) : undefined;
    if (!block || !e) return undefined;
    const i = e.lines.indexOf(block);
    return i >= 0 ? e.rlines[i]! + e.start : Number(block.dataset['line']);
  }

  /** The chunks in page order, with their absolute lines (for scroll sync). */
  chunks(): ReadonlyArray<{ readonly start: number; readonly el: HTMLElement; readonly lines: readonly HTMLElement[]; readonly rlines: readonly number[] }> {
    return this.order;
  }

  /**
   * The block element at or before `line` and the first one after it, by binary search over
   * chunks. A chunk that is not live (a placeholder) counts as one block at its first line, so
   * scroll sync lands inside it, at its place in the page, before its HTML is there.
   */
  bracket(line: number): { prev?: { line: number; el: HTMLElement }; next?: { line: number; el: HTMLElement } } {
    const order = this.order;
    const at = this.indexAt(line);
    const blocks = (e: Entry): { lines: readonly number[]; els: readonly HTMLElement[] } =>
      e.live ? { lines: e.rlines.map((l) => l + e.start), els: e.lines } : { lines: [e.start], els: [e.el] };
    let prev: { line: number; el: HTMLElement } | undefined;
    for (let i = at; i >= 0 && !prev; i--) {
      const b = blocks(order[i]!);
      for (let j = b.lines.length - 1; j >= 0; j--) {
        if (b.lines[j]! <= line) {
          prev = { line: b.lines[j]!, el: b.els[j]! };
          break;
        }
      }
    }
    let next: { line: number; el: HTMLElement } | undefined;
    for (let i = Math.max(0, at); i < order.length && !next; i++) {
      const b = blocks(order[i]!);
      for (let j = 0; j < b.lines.length; j++) {
        if (b.lines[j]! > line) {
          next = { line: b.lines[j]!, el: b.els[j]! };
          break;
        }
      }
    }
    return { prev, next };
  }
}
