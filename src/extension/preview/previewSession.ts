import type { ChunkPayload, FillMessage, FromWebview, InsertOp, PatchMessage, RenderMessage, ToWebview } from '../../shared/previewMessages';

/**
 * What the preview sends to its webview and when, without VS Code: the panel adapts the
 * webview, the editor and the settings to the small host interface below, so this logic is
 * unit-tested with in-memory fakes (test/unit/previewSession.test.ts).
 *
 * Updates are patches on chunk keys against what the page holds (`base` names that state by
 * its sequence number), so a one-character edit sends one chunk's HTML and a few keys, not the
 * note's whole key list. A big change (the first render of a long note, a big paste) sends
 * every chunk's place in one message, with the HTML of those near the reader's line; the other
 * chunks are `pending` and their HTML follows in `fill` messages, one per timer tick, nearest the
 * reader's line first — which follows the editor and the preview as they scroll — so the page is
 * as tall as the note and scrolled right from its first paint, a jump to the end shows the end
 * next, and keystrokes go out before the remaining fills.
 */

/** Timers, injected so tests can fire them by hand. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The parts of a note the session reads (a `vscode.TextDocument` has them). */
export interface SessionDocument {
  readonly version: number;
  readonly lineCount: number;
}

export interface RenderedChunks {
  readonly chunks: readonly { readonly key: string; readonly startLine: number; readonly html: string }[];
  /** Chunks rendered afresh (not from cache): 0 means no code block can have moved. */
  readonly chunksRendered: number;
}

export interface PreviewSessionHost<D extends SessionDocument> {
  /** Sends to the webview (the session only calls it once the page said `ready`). */
  post(message: ToWebview): void;
  uriOf(document: D): string;
  /** Snippet outputs for the note by `data-snippet` key and occurrence (`key:n`); absent: no runner. */
  readonly outputsFor?: (document: D) => Promise<Record<string, string>>;
  /** Asks for a render as soon as possible; `reset`: the webview must drop what it holds. */
  requestRender(reset: boolean): void;
  scrollSync(): boolean;
  /** The editor's first visible line, if an editor shows the note: sent first on a full render. */
  readonly focusLine?: () => number | undefined;
  /** Scrolls the editor (not the cursor) to this line, already clamped to the note. */
  revealLine(line: number): void;
  /** Puts the editor's cursor on this line, already clamped to the note. */
  jumpToLine(line: number): void;
  openLink(href: string): void;
  logError(message: string, error: unknown): void;
}

/** Output updates are coalesced: a running snippet updates several times a second. */
export const OUTPUTS_COALESCE_MS = 100;
/** One message carries at most about this much chunk HTML (then the rest follows in slices). */
export const SLICE_HTML_BYTES = 256 * 1024;
/** ... and at most this many chunks, so the webview's work per message stays short. */
export const SLICE_CHUNKS = 64;

/** What the page will hold once every message posted or queued so far is applied. */
interface View {
  readonly keys: readonly string[];
  readonly starts: ReadonlyMap<string, number>;
  readonly lineCount: number;
}

type Sequenced = Omit<Extract<ToWebview, { type: 'render' }>, 'seq'> | Omit<PatchMessage, 'seq' | 'base'> | Omit<FillMessage, 'seq' | 'base'>;

function viewOf(result: RenderedChunks, lineCount: number): View {
  return { keys: result.chunks.map((c) => c.key), starts: new Map(result.chunks.map((c) => [c.key, c.startLine] as const)), lineCount };
}

/**
 * Which of `items` (in document order) go out with their HTML in one message: the run around
 * `focus` (the reader's line), widened towards the nearer neighbour until one message's budget
 * is spent. Returns the chosen indexes as [from, to).
 */
function nearFocus(items: readonly { readonly start: number; readonly html?: string }[], focus: number): [number, number] {
  if (items.length === 0) return [0, 0];
  // The last item starting at or before the focus (or the first one).
  let lo = 0;
  let hi = items.length - 1;
  let at = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.start <= focus) {
      at = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  // A little above the focus first (the editor's first visible line sits near the page's top),
  // then downwards, then upwards once the note's end is reached.
  let from = Math.max(0, at - 2);
  let to = from;
  let bytes = 0;
  const fits = (i: number) => to - from === 0 || (to - from < SLICE_CHUNKS && bytes + (items[i]!.html?.length ?? 0) <= SLICE_HTML_BYTES);
  while (to < items.length && fits(to)) bytes += items[to++]!.html?.length ?? 0;
  while (from > 0 && to === items.length && fits(from - 1)) bytes += items[--from]!.html?.length ?? 0;
  return [from, to];
}

export class PreviewSession<D extends SessionDocument> {
  /** The note shown now (the panel can be switched to another note). */
  document: D | undefined;
  private webviewReady = false;
  private isVisible = true;
  private view: View | undefined;
  /**
   * Sequence number of the last render/patch posted. Never reset: a page accepts a render with
   * a higher number than it holds, and a reloaded page holds 0.
   */
  private seq = 0;
  /** Document version of the last render/patch posted: what the page shows. */
  private shownVersion = 0;
  /** Document version of the last render/patch posted or queued. */
  private queuedVersion = 0;
  /** Slices waiting for their timer tick, in order. */
  private queue: Sequenced[] = [];
  private queueTimer: unknown;
  private outputsTimer: unknown;
  /** The outputs the page holds (as JSON): an identical set is not sent again. */
  private sentOutputs: string | undefined;
  /**
   * HTML of the chunks the page holds as `pending` (or will, once the queue is out), by key:
   * sent in `fill` messages when nothing else is queued, nearest `fillFocus` first.
   */
  private unfilled = new Map<string, string>();
  /** The line the reader is at (the editor's, or the preview's once the reader scrolls it). */
  private fillFocus = 0;

  constructor(
    private readonly host: PreviewSessionHost<D>,
    private readonly timers: Timers = realTimers,
  ) {}

  get ready(): boolean {
    return this.webviewReady;
  }

  get visible(): boolean {
    return this.isVisible;
  }

  /** True until the page has been sent a full render (the panel renders a quick prefix first). */
  get needsFullRender(): boolean {
    return this.view === undefined;
  }

  /** A new page is loading: nothing is sent until it says `ready`, then it gets everything. */
  pageLoading(document: D): void {
    this.document = document;
    this.webviewReady = false;
    this.embedded = undefined;
    this.scrolledWhileLoading = undefined;
    this.shownVersion = 0;
    this.sentOutputs = undefined;
    this.forgetSent();
  }

  /** The next render sends every chunk's html. */
  forgetSent(): void {
    this.view = undefined;
    this.queuedVersion = 0;
    this.dropQueue();
  }

  /**
   * The panel was hidden or shown. A hidden preview gets no renders; once shown it gets one
   * full render (a page VS Code reloaded also says `ready`, which asks for the same).
   */
  setVisible(visible: boolean): void {
    if (visible === this.isVisible) return;
    this.isVisible = visible;
    this.forgetSent();
    if (visible && this.webviewReady) this.host.requestRender(true);
  }

  /**
   * A render of `document` at `version` (of `lineCount` lines) finished. Dropped when the panel
   * moved to another note, or when the page was already sent a newer version. A render of a
   * version the note has since left is still sent: it is newer than what the page shows, and
   * while someone types fast it is what keeps the preview moving (the next render follows).
   */
  renderDone(document: D, version: number, lineCount: number, result: RenderedChunks, reset: boolean): void {
    if (document !== this.document || version < this.queuedVersion || !this.webviewReady || !this.isVisible) return;
    this.queuedVersion = version;
    const uri = this.host.uriOf(document);
    const old = this.view;
    this.view = viewOf(result, lineCount);
    if (reset || !old) {
      // The page drops what it holds: queued patches and fills of an older view are moot.
      this.dropQueue();
      this.enqueue(this.fullRender(uri, version, lineCount, result.chunks));
    } else {
      this.enqueuePatch(uri, version, lineCount, old, result.chunks);
    }
    // Code blocks may have moved or changed: outputs re-attach and stale marks are recomputed.
    if (reset || !old || result.chunksRendered > 0) this.outputsChanged();
  }

  /**
   * Every chunk's place at once, with the HTML of those around the editor's first visible line;
   * the rest of the HTML follows in fills.
   */
  private fullRender(uri: string, version: number, lineCount: number, chunks: RenderedChunks['chunks']): Omit<RenderMessage, 'seq'> {
    this.fillFocus = this.host.focusLine?.() ?? 0;
    const items = chunks.map((c) => ({ key: c.key, start: c.startLine, html: c.html }));
    const [from, to] = nearFocus(items, this.fillFocus);
    const payload = items.map((c, i): ChunkPayload => {
      if (i >= from && i < to) return c;
      this.unfilled.set(c.key, c.html);
      return { key: c.key, start: c.start, pending: true };
    });
    return { type: 'render', uri, version, lineCount, chunks: payload };
  }

  /**
   * The first render of a page that is loading, for the panel to write into the page's HTML
   * instead of sending it: the page shows it as soon as its document is parsed, without the
   * round trip of `ready` (seconds in a busy workbench). The session then holds it as sent; the
   * page's `ready` says whether it really has it (a page VS Code rebuilt later says a stale seq
   * and gets a full render).
   */
  embed(document: D, version: number, lineCount: number, result: RenderedChunks): RenderMessage | undefined {
    if (document !== this.document || this.webviewReady) return undefined;
    this.dropQueue();
    const message = { ...this.fullRender(this.host.uriOf(document), version, lineCount, result.chunks), seq: ++this.seq };
    this.embedded = { seq: message.seq, version, view: viewOf(result, lineCount), unfilled: new Map(this.unfilled) };
    return message;
  }

  /** What the loading page's HTML holds (`embed`), until the next page loads. */
  private embedded: { seq: number; version: number; view: View; unfilled: ReadonlyMap<string, string> } | undefined;

  private enqueuePatch(uri: string, version: number, lineCount: number, old: View, chunks: RenderedChunks['chunks']): void {
    const oldKeys = old.keys;
    const n = chunks.length;
    // Keys are content-derived: the common prefix and suffix are untouched, only the middle moves.
    let pre = 0;
    while (pre < n && pre < oldKeys.length && chunks[pre]!.key === oldKeys[pre]) pre++;
    let suf = 0;
    while (suf < n - pre && suf < oldKeys.length - pre && chunks[n - 1 - suf]!.key === oldKeys[oldKeys.length - 1 - suf]) suf++;
    const newKeys = new Set<string>();
    for (let i = pre; i < n - suf; i++) newKeys.add(chunks[i]!.key);
    const remove: string[] = [];
    for (let i = pre; i < oldKeys.length - suf; i++) {
      if (newKeys.has(oldKeys[i]!)) continue;
      remove.push(oldKeys[i]!);
      this.unfilled.delete(oldKeys[i]!);
    }
    const insert: InsertOp[] = [];
    for (let i = pre; i < n - suf; i++) {
      const c = chunks[i]!;
      const after = i === 0 ? null : chunks[i - 1]!.key;
      // A key the page holds moves (no html); its start goes with it.
      insert.push(old.starts.has(c.key) ? { key: c.key, start: c.startLine, after } : { key: c.key, start: c.startLine, html: c.html, after });
    }
    // Kept chunks (prefix and suffix) whose first line moved, as runs of equal deltas.
    const shift: Array<readonly [string, number]> = [];
    let delta = 0;
    for (let i = 0; i < n; i++) {
      if (i === pre) i = n - suf;
      if (i >= n) break;
      const c = chunks[i]!;
      const d = c.startLine - old.starts.get(c.key)!;
      if (d !== delta) shift.push([c.key, d]);
      delta = d;
    }
    this.enqueueInserts(uri, version, lineCount, remove, insert, shift);
  }

  /**
   * One patch. When the new chunks' HTML is more than one message should carry (the full render
   * after a quick prefix, a big paste), those far from the reader's line are `pending`: their
   * HTML follows in fills.
   */
  private enqueueInserts(uri: string, version: number, lineCount: number, remove: string[], insert: InsertOp[], shift: Array<readonly [string, number]>): void {
    const fresh = insert.filter((op) => op.html !== undefined);
    let bytes = 0;
    for (const op of fresh) bytes += op.html!.length;
    if (fresh.length > SLICE_CHUNKS || bytes > SLICE_HTML_BYTES) {
      const [from, to] = nearFocus(fresh, this.fillFocus);
      const now = new Set(fresh.slice(from, to));
      insert = insert.map((op) => {
        if (op.html === undefined || now.has(op)) return op;
        this.unfilled.set(op.key, op.html);
        return { key: op.key, start: op.start, after: op.after, pending: true };
      });
    }
    this.enqueue({ type: 'patch', uri, version, lineCount, remove, insert, shift });
  }

  /** The next fill: the unfilled chunks nearest the reader's line, in document order. */
  private nextFill(): Omit<FillMessage, 'seq' | 'base'> | undefined {
    const document = this.document;
    if (this.unfilled.size === 0 || !this.view || !document) return undefined;
    const items: Array<{ key: string; start: number; html: string }> = [];
    for (const key of this.view.keys) {
      const html = this.unfilled.get(key);
      if (html !== undefined) items.push({ key, start: this.view.starts.get(key)!, html });
    }
    if (items.length === 0) {
      // Only keys the page no longer holds: nothing to fill (and no endless chain of empty fills).
      this.unfilled.clear();
      return undefined;
    }
    const [from, to] = nearFocus(items, this.fillFocus);
    const chunks = items.slice(from, to).map(({ key, html }) => ({ key, html }));
    for (const c of chunks) this.unfilled.delete(c.key);
    return { type: 'fill', uri: this.host.uriOf(document), version: this.shownVersion, lineCount: this.view.lineCount, chunks };
  }

  private enqueue(message: Sequenced): void {
    this.queue.push(message);
    // The first message of a burst goes out now; the rest one per tick.
    if (this.queueTimer === undefined) this.flushOne();
  }

  private flushOne(): void {
    this.queueTimer = undefined;
    // Renders and patches first (a keystroke does not wait for the rest of a long note).
    const next = this.queue.shift() ?? this.nextFill();
    if (!next) return;
    const seq = ++this.seq;
    this.shownVersion = next.version;
    this.post(next.type === 'render' ? { ...next, seq } : { ...next, seq, base: seq - 1 });
    // The next message waits for a tick even if it is queued later in this one.
    this.queueTimer = this.timers.set(() => this.flushOne(), 0);
  }

  private dropQueue(): void {
    this.queue = [];
    this.unfilled.clear();
    if (this.queueTimer !== undefined) this.timers.clear(this.queueTimer);
    this.queueTimer = undefined;
  }

  /** The note's outputs changed: one `outputs` message follows shortly, however many changes. */
  outputsChanged(): void {
    if (this.outputsTimer !== undefined) return;
    this.outputsTimer = this.timers.set(() => {
      this.outputsTimer = undefined;
      void this.sendOutputs();
    }, OUTPUTS_COALESCE_MS);
  }

  private async sendOutputs(): Promise<void> {
    const document = this.document;
    const outputsFor = this.host.outputsFor;
    if (!outputsFor || !document || !this.webviewReady) return;
    try {
      const outputs = await outputsFor(document);
      // The panel may have switched notes while the outputs were read.
      if (document !== this.document || !this.webviewReady || !this.isVisible) return;
      // The page re-attaches what it holds after every render and patch itself: each message
      // costs a trip through the workbench's busy renderer, so only a changed set goes out.
      const json = JSON.stringify(outputs);
      if (json === this.sentOutputs) return;
      this.sentOutputs = json;
      this.post({ type: 'outputs', uri: this.host.uriOf(document), outputs });
    } catch (e) {
      this.host.logError('preview outputs failed', e);
    }
  }

  post(message: ToWebview): void {
    if (this.webviewReady && this.isVisible) this.host.post(message);
  }

  /** The editor scrolled: the preview follows. */
  scrollToLine(line: number): void {
    this.focus(line);
    // A page still loading cannot take it yet: it gets the editor's line once it is ready (a
    // Ctrl+End right after "Open Preview" must not leave the preview at the top).
    if (!this.webviewReady) this.scrolledWhileLoading = line;
    if (this.document) this.post({ type: 'scrollToLine', uri: this.host.uriOf(this.document), line });
  }

  /** The editor's last line scrolled to while the page was loading (sent on `ready`). */
  private scrolledWhileLoading: number | undefined;

  /**
   * A message from the webview; malformed ones are ignored, and so are those about another note
   * (a page being replaced) and, for lines, about another version than the page was last sent.
   */
  onMessage(raw: unknown): void {
    const message = asFromWebview(raw);
    if (!message || !this.document || message.uri !== this.host.uriOf(this.document)) return;
    switch (message.type) {
      // A reset render sends every chunk's html, whatever the session believes the page holds.
      case 'ready': {
        this.webviewReady = true;
        this.sentOutputs = undefined;
        if (this.scrolledWhileLoading !== undefined) this.scrollToLine(this.scrolledWhileLoading);
        this.scrolledWhileLoading = undefined;
        const e = this.embedded;
        if (e && message.seq === e.seq && this.seq === e.seq) {
          // The page holds the render its HTML carried: it gets the rest as patches and fills.
          this.dropQueue();
          this.view = e.view;
          this.shownVersion = this.queuedVersion = e.version;
          this.unfilled = new Map(e.unfilled);
          if (this.unfilled.size > 0) this.queueTimer = this.timers.set(() => this.flushOne(), 0);
          this.outputsChanged();
          this.host.requestRender(false);
          break;
        }
        this.shownVersion = 0;
        this.forgetSent();
        this.host.requestRender(true);
        break;
      }
      case 'needFullRender':
        this.forgetSent();
        this.host.requestRender(true);
        break;
      case 'revealLine':
        this.focus(message.line);
        if (message.version === this.shownVersion && this.host.scrollSync()) this.host.revealLine(clampLine(message.line, this.document.lineCount));
        break;
      case 'dblclick':
        if (message.version === this.shownVersion) this.host.jumpToLine(clampLine(message.line, this.document.lineCount));
        break;
      case 'openLink':
        this.host.openLink(message.href);
        break;
    }
  }

  /** The reader is at `line`: unfilled chunks there go next. */
  private focus(line: number): void {
    // While chunks are unfilled the tick chain runs (flushOne), so the next fill reads this.
    this.fillFocus = line;
  }

  dispose(): void {
    if (this.outputsTimer !== undefined) this.timers.clear(this.outputsTimer);
    this.outputsTimer = undefined;
    this.dropQueue();
  }
}

/** A (fractional) webview line as a line of a note with `lineCount` lines. */
export function clampLine(line: number, lineCount: number): number {
  return Math.max(0, Math.min(Math.floor(line), lineCount - 1));
}

/**
 * Where a quick first render of a long note may stop: a blank line some way past the editor's
 * first visible line (so the screen is covered), or undefined when the note is short enough to
 * render whole at once. Reading lines through `lineAt` keeps this O(prefix).
 */
export function prefixEnd(lineAt: (line: number) => string, lineCount: number, focusLine: number, minLines = 1500, margin = 150): number | undefined {
  if (lineCount < minLines) return undefined;
  let end = Math.max(0, focusLine) + margin;
  while (end < lineCount && lineAt(end).trim() !== '') end++;
  return end < lineCount * 0.8 ? end : undefined;
}

function asFromWebview(raw: unknown): FromWebview | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  const uri = m['uri'];
  const version = m['version'];
  if (typeof uri !== 'string' || typeof version !== 'number' || !Number.isFinite(version)) return undefined;
  switch (m['type']) {
    case 'ready': {
      const seq = m['seq'];
      return typeof seq === 'number' && Number.isFinite(seq) ? { type: 'ready', uri, version, seq } : { type: 'ready', uri, version };
    }
    case 'needFullRender':
      return { type: m['type'], uri, version };
    case 'revealLine':
    case 'dblclick':
      return typeof m['line'] === 'number' && Number.isFinite(m['line']) ? { type: m['type'], uri, version, line: m['line'] } : undefined;
    case 'openLink':
      return typeof m['href'] === 'string' ? { type: 'openLink', uri, version, href: m['href'] } : undefined;
    default:
      return undefined;
  }
}
