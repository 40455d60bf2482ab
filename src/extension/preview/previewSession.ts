import type { ChunkPayload, FromWebview, ToWebview } from '../../shared/previewMessages';

/**
 * What the preview sends to its webview and when, without VS Code: the panel adapts the
 * webview, the editor and the settings to the small host interface below, so this logic is
 * unit-tested with in-memory fakes (test/unit/previewSession.test.ts).
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
  /** Scrolls the editor (not the cursor) to this line, already clamped to the note. */
  revealLine(line: number): void;
  /** Puts the editor's cursor on this line, already clamped to the note. */
  jumpToLine(line: number): void;
  openLink(href: string): void;
  logError(message: string, error: unknown): void;
}

/** Output updates are coalesced: a running snippet updates several times a second. */
export const OUTPUTS_COALESCE_MS = 100;

export class PreviewSession<D extends SessionDocument> {
  /** The note shown now (the panel can be switched to another note). */
  document: D | undefined;
  private webviewReady = false;
  /** Chunk keys the webview holds now: html is sent only for keys it lacks. */
  private sentKeys = new Set<string>();
  private outputsTimer: unknown;

  constructor(
    private readonly host: PreviewSessionHost<D>,
    private readonly timers: Timers = realTimers,
  ) {}

  get ready(): boolean {
    return this.webviewReady;
  }

  /** A new page is loading: nothing is sent until it says `ready`, then it gets everything. */
  pageLoading(document: D): void {
    this.document = document;
    this.webviewReady = false;
    this.sentKeys.clear();
  }

  /** The next render sends every chunk's html. */
  forgetSent(): void {
    this.sentKeys.clear();
  }

  /**
   * A render of `document` started at `version` finished. Dropped when the panel moved to
   * another note or the note changed since (a newer render is on its way).
   */
  renderDone(document: D, version: number, result: RenderedChunks, reset: boolean): void {
    if (document !== this.document || document.version !== version || !this.webviewReady) return;
    const fresh = reset || this.sentKeys.size === 0;
    const chunks: ChunkPayload[] = result.chunks.map((c) =>
      !fresh && this.sentKeys.has(c.key) ? { key: c.key, start: c.startLine } : { key: c.key, start: c.startLine, html: c.html },
    );
    this.sentKeys = new Set(result.chunks.map((c) => c.key));
    this.post({ type: 'render', uri: this.host.uriOf(document), version, reset: fresh, chunks, lineCount: document.lineCount });
    // Code blocks may have moved or changed: outputs re-attach and stale marks are recomputed.
    if (fresh || result.chunksRendered > 0) this.outputsChanged();
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
      if (document === this.document) this.post({ type: 'outputs', outputs });
    } catch (e) {
      this.host.logError('preview outputs failed', e);
    }
  }

  post(message: ToWebview): void {
    if (this.webviewReady) this.host.post(message);
  }

  /** A message from the webview; malformed ones are ignored. */
  onMessage(raw: unknown): void {
    const message = asFromWebview(raw);
    if (!message) return;
    switch (message.type) {
      // A reset render sends every chunk's html, whatever the session believes the page holds.
      case 'ready':
        this.webviewReady = true;
        this.host.requestRender(true);
        break;
      case 'needFullRender':
        this.host.requestRender(true);
        break;
      case 'revealLine':
        if (this.document && this.host.scrollSync()) this.host.revealLine(clampLine(message.line, this.document.lineCount));
        break;
      case 'dblclick':
        if (this.document) this.host.jumpToLine(clampLine(message.line, this.document.lineCount));
        break;
      case 'openLink':
        if (this.document) this.host.openLink(message.href);
        break;
    }
  }

  dispose(): void {
    if (this.outputsTimer !== undefined) this.timers.clear(this.outputsTimer);
    this.outputsTimer = undefined;
  }
}

/** A (fractional) webview line as a line of a note with `lineCount` lines. */
export function clampLine(line: number, lineCount: number): number {
  return Math.max(0, Math.min(Math.floor(line), lineCount - 1));
}

function asFromWebview(raw: unknown): FromWebview | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m['type']) {
    case 'ready':
    case 'needFullRender':
      return { type: m['type'] };
    case 'revealLine':
    case 'dblclick':
      return typeof m['line'] === 'number' && Number.isFinite(m['line']) ? { type: m['type'], line: m['line'] } : undefined;
    case 'openLink':
      return typeof m['href'] === 'string' ? { type: 'openLink', href: m['href'] } : undefined;
    default:
      return undefined;
  }
}
