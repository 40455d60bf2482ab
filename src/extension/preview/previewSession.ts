import type { ChunkPayload, FromWebview, InsertOp, PatchMessage, ToWebview } from '../../shared/previewMessages';

/**
 * What the preview sends to its webview and when, without VS Code: the panel adapts the
 * webview, the editor and the settings to the small host interface below, so this logic is
 * unit-tested with in-memory fakes (test/unit/previewSession.test.ts).
 *
 * Updates are patches on chunk keys against what the page holds (`base` names that state by
 * its sequence number), so a one-character edit sends one chunk's HTML and a few keys, not the
 * note's whole key list. Big changes (the first render of a long note) go out in slices, one
 * per timer tick, so the webview paints the part on screen first and keystrokes interleave.
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
}

type Sequenced = Omit<Extract<ToWebview, { type: 'render' }>, 'seq'> | Omit<PatchMessage, 'seq' | 'base'>;

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
    const keys = result.chunks.map((c) => c.key);
    const starts = new Map(result.chunks.map((c) => [c.key, c.startLine] as const));
    const old = this.view;
    this.view = { keys, starts };
    if (reset || !old) {
      // The page drops what it holds: queued slices of an older view are moot.
      this.dropQueue();
      this.enqueueFull(uri, version, lineCount, result.chunks);
    } else {
      this.enqueuePatch(uri, version, lineCount, old, result.chunks);
    }
    // Code blocks may have moved or changed: outputs re-attach and stale marks are recomputed.
    if (reset || !old || result.chunksRendered > 0) this.outputsChanged();
  }

  /** The chunks around the editor's first visible line go first; the rest follow in slices. */
  private enqueueFull(uri: string, version: number, lineCount: number, chunks: RenderedChunks['chunks']): void {
    const focus = this.host.focusLine?.() ?? 0;
    let at = 0;
    while (at + 1 < chunks.length && chunks[at + 1]!.startLine <= focus) at++;
    // A window from a little above the focus, filled downwards up to one slice's budget.
    const lo = Math.max(0, at - 2);
    let hi = lo;
    let bytes = 0;
    while (hi < chunks.length && (hi === lo || (hi - lo < SLICE_CHUNKS && bytes + chunks[hi]!.html.length <= SLICE_HTML_BYTES))) bytes += chunks[hi++]!.html.length;
    const payload = (c: RenderedChunks['chunks'][number]): ChunkPayload => ({ key: c.key, start: c.startLine, html: c.html });
    this.enqueue({ type: 'render', uri, version, lineCount, chunks: chunks.slice(lo, hi).map(payload) });
    const below: InsertOp[] = [];
    for (let i = hi; i < chunks.length; i++) below.push({ ...payload(chunks[i]!), after: chunks[i - 1]!.key });
    const above: InsertOp[] = [];
    for (let i = 0; i < lo; i++) above.push({ ...payload(chunks[i]!), after: i === 0 ? null : chunks[i - 1]!.key });
    if (below.length + above.length > 0) this.enqueueInserts(uri, version, lineCount, [], [...below, ...above], []);
  }

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
    for (let i = pre; i < oldKeys.length - suf; i++) if (!newKeys.has(oldKeys[i]!)) remove.push(oldKeys[i]!);
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

  /** One patch, or several when the inserts' HTML is too much for one message. */
  private enqueueInserts(uri: string, version: number, lineCount: number, remove: string[], insert: InsertOp[], shift: Array<readonly [string, number]>): void {
    let first = true;
    let i = 0;
    do {
      const slice: InsertOp[] = [];
      let bytes = 0;
      while (i < insert.length && (slice.length === 0 || (slice.length < SLICE_CHUNKS && bytes + (insert[i]!.html?.length ?? 0) <= SLICE_HTML_BYTES))) {
        bytes += insert[i]!.html?.length ?? 0;
        slice.push(insert[i++]!);
      }
      if (slice.length === 0 && !first) break;
      // Removals and shifts apply to kept chunks, all present from the first slice on.
      this.enqueue({ type: 'patch', uri, version, lineCount, remove: first ? remove : [], insert: slice, shift: first ? shift : [] });
      first = false;
    } while (i < insert.length);
  }

  private enqueue(message: Sequenced): void {
    this.queue.push(message);
    // The first message of a burst goes out now; the rest one per tick.
    if (this.queueTimer === undefined) this.flushOne();
  }

  private flushOne(): void {
    this.queueTimer = undefined;
    const next = this.queue.shift();
    if (!next) return;
    const seq = ++this.seq;
    this.shownVersion = next.version;
    this.post(next.type === 'render' ? { ...next, seq } : { ...next, seq, base: seq - 1 });
    // The next message waits for a tick even if it is queued later in this one.
    this.queueTimer = this.timers.set(() => this.flushOne(), 0);
  }

  private dropQueue(): void {
    this.queue = [];
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
    if (this.document) this.post({ type: 'scrollToLine', uri: this.host.uriOf(this.document), line });
  }

  /**
   * A message from the webview; malformed ones are ignored, and so are those about another note
   * (a page being replaced) and, for lines, about another version than the page was last sent.
   */
  onMessage(raw: unknown): void {
    const message = asFromWebview(raw);
    if (!message || !this.document || message.uri !== this.host.uriOf(this.document)) return;
    switch (message.type) {
      // A reset render sends every chunk's html, whatever the session believes the page holds.
      case 'ready':
        this.webviewReady = true;
        this.shownVersion = 0;
        this.sentOutputs = undefined;
        this.forgetSent();
        this.host.requestRender(true);
        break;
      case 'needFullRender':
        this.forgetSent();
        this.host.requestRender(true);
        break;
      case 'revealLine':
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
    case 'ready':
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
