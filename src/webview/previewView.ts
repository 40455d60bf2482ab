import type { ChunkPayload, FromWebview, PatchMessage, PreviewState, RenderMessage, ToWebview } from '../shared/previewMessages';
import { planOutputSlots } from '../shared/outputSlots';

/**
 * The preview page's logic over a root element, without `acquireVsCodeApi` or window globals,
 * so it is unit-tested on a DOM (test/unit/previewView.test.ts, happy-dom); preview.ts wires it
 * to the real page.
 *
 * Work per patch is proportional to what changed: chunks are placed by key, a chunk's block
 * elements and runnable blocks are found once when it is created, and the absolute `data-line`
 * of chunks that only moved is rewritten later, in idle slices (or at once when scroll sync or
 * a double-click needs it).
 */

export interface PreviewApi {
  postMessage(msg: FromWebview): void;
  setState(state: PreviewState): void;
  getState(): PreviewState | undefined;
}

export interface PreviewViewOptions {
  /** Draws diagrams under a newly created chunk (mermaid, loaded lazily). */
  readonly drawDiagrams?: (scope: HTMLElement) => void;
  /** Runs `fn` when the page is idle; defaults to a timer. */
  readonly idle?: (fn: () => void) => void;
}

interface Entry {
  readonly key: string;
  readonly el: HTMLElement;
  /** 0-based document line of the chunk's first line. */
  start: number;
  /** The start its elements' `data-line` attributes were last written for. */
  written: number;
  /** Block elements with their line relative to the chunk, in page order. */
  readonly lines: readonly HTMLElement[];
  readonly rlines: readonly number[];
  /** Runnable code blocks (`pre[data-snippet]`) of the chunk. */
  readonly pres: readonly HTMLElement[];
}

/** Spent per idle slice rewriting moved chunks' `data-line`. */
const RENUMBER_SLICE_MS = 4;

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
  /** The output HTML each slot shows now. */
  private readonly slotHtml = new WeakMap<HTMLElement, string>();
  private readonly doc: Document;

  constructor(
    readonly root: HTMLElement,
    private readonly api: PreviewApi,
    private readonly options: PreviewViewOptions = {},
  ) {
    this.doc = root.ownerDocument;
    const initial = JSON.parse(root.dataset['state'] ?? '{}') as PreviewState;
    this.uri = initial.uri;
    const saved = api.getState();
    this.state = saved && saved.uri === initial.uri ? saved : initial;
  }

  private send(msg: { type: FromWebview['type'] } & Record<string, unknown>): void {
    this.api.postMessage({ ...msg, uri: this.uri, version: this.version } as FromWebview);
  }

  ready(): void {
    this.send({ type: 'ready' });
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
        if (this.awaitingReset || msg.seq <= this.seq) return false;
        if (msg.base !== this.seq) return this.lost();
        return this.applyPatch(msg);
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
    const frag = this.doc.createDocumentFragment();
    for (const c of msg.chunks) {
      const e = this.create(c, c.html ?? '');
      this.order.push(e);
      frag.append(e.el);
    }
    this.root.replaceChildren(frag);
    this.awaitingReset = false;
    this.finish(msg, this.order, t0);
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
    }
    const placed = new Set<Entry>();
    const created: Entry[] = [];
    for (const op of msg.insert) {
      let e = this.byKey.get(op.key);
      const after = op.after === null ? null : this.byKey.get(op.after);
      if ((!e && op.html === undefined) || after === undefined) return this.lost();
      if (!e) {
        e = this.create(op, op.html!);
        created.push(e);
      } else if (e.start !== op.start) {
        e.start = op.start;
        this.stale.add(e);
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
          this.stale.add(e);
        }
      }
    }
    this.scheduleRenumber();
    this.finish(msg, created, t0);
    return true;
  }

  private create(c: ChunkPayload, html: string): Entry {
    const el = this.doc.createElement('div');
    el.className = 'mln-chunk';
    el.dataset['key'] = c.key;
    el.innerHTML = html;
    const lines = [...el.querySelectorAll<HTMLElement>('[data-line]')];
    const rlines = lines.map((b) => Number(b.dataset['line']));
    lines.forEach((b, i) => (b.dataset['line'] = String(rlines[i]! + c.start)));
    const pres = [...el.querySelectorAll<HTMLElement>('pre[data-snippet]')];
    const e: Entry = { key: c.key, el, start: c.start, written: c.start, lines, rlines, pres };
    this.byKey.set(c.key, e);
    this.entryOf.set(el, e);
    return e;
  }

  private finish(msg: RenderMessage | PatchMessage, created: readonly Entry[], t0: number): void {
    this.seq = msg.seq;
    this.version = msg.version;
    this.lineCount = msg.lineCount;
    for (const e of created) this.options.drawDiagrams?.(e.el);
    this.attachOutputs();
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
      if (e.written !== e.start) {
        e.lines.forEach((b, i) => (b.dataset['line'] = String(e.rlines[i]! + e.start)));
        e.written = e.start;
      }
      this.stale.delete(e);
      if (performance.now() - t0 > budgetMs) break;
    }
  }

  /** Output slots under runnable blocks; the DOM is touched only where a slot's output changed. */
  private attachOutputs(): void {
    const pres: HTMLElement[] = [];
    for (const e of this.order) for (const p of e.pres) pres.push(p);
    if (pres.length === 0) return;
    const slots = pres.map((pre) => {
      const next = pre.nextElementSibling as HTMLElement | null;
      return next?.classList.contains('mln-output-slot') ? next : null;
    });
    const plan = planOutputSlots(
      pres.map((pre) => pre.dataset['snippet']!),
      slots.map((slot) => (slot ? (this.slotHtml.get(slot) ?? '') : undefined)),
      this.outputs,
    );
    plan.forEach((action, i) => {
      const pre = pres[i]!;
      let slot = slots[i] ?? null;
      if (action.kind === 'remove') slot?.remove();
      if (action.kind !== 'set') return;
      if (!slot) {
        slot = this.doc.createElement('div');
        slot.className = 'mln-output-slot';
        pre.after(slot);
      }
      // Only touched when the output changed, so images don't flicker while a run streams.
      // The HTML was built by the extension's escaping output renderer (src/runner/outputs.ts).
      slot.innerHTML = action.html;
      this.slotHtml.set(slot, action.html);
    });
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

  /** The block element at or before `line` and the first one after it, by binary search over chunks. */
  bracket(line: number): { prev?: { line: number; el: HTMLElement }; next?: { line: number; el: HTMLElement } } {
    const order = this.order;
    let lo = 0;
    let hi = order.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid]!.start <= line) {
        at = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    let prev: { line: number; el: HTMLElement } | undefined;
    for (let i = at; i >= 0 && !prev; i--) {
      const e = order[i]!;
      for (let j = e.lines.length - 1; j >= 0; j--) {
        if (e.rlines[j]! + e.start <= line) {
          prev = { line: e.rlines[j]! + e.start, el: e.lines[j]! };
          break;
        }
      }
    }
    let next: { line: number; el: HTMLElement } | undefined;
    for (let i = Math.max(0, at); i < order.length && !next; i++) {
      const e = order[i]!;
      for (let j = 0; j < e.lines.length; j++) {
        const l = e.rlines[j]! + e.start;
        if (l > line) {
          next = { line: l, el: e.lines[j]! };
          break;
        }
      }
    }
    return { prev, next };
  }
}
