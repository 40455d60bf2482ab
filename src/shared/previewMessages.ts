/**
 * Messages between the extension host and the preview webview, declared once and imported with
 * `import type` on both sides.
 *
 * Every message names the note (`uri`) and, host → webview, a per-page sequence number: a
 * `patch` or `fill` applies only to the state left by message `base`, so a lost or reordered message is
 * seen (the webview asks for a full render) and a stale one is dropped.
 */

export interface ChunkPayload {
  readonly key: string;
  /** 0-based document line of the chunk's first line. */
  readonly start: number;
  /**
   * Omitted when the webview already holds a chunk with this key (a move), or when the chunk is
   * `pending`.
   */
  readonly html?: string;
  /**
   * A new chunk whose HTML follows later, in a `fill`: a long note's first render sends every
   * chunk's place at once (the page is as tall as the note and scrolls to any line from the
   * first paint) and the HTML near where the reader is first.
   */
  readonly pending?: true;
}

/** A chunk placed right after `after` (null: first), in document order. */
export interface InsertOp extends ChunkPayload {
  readonly after: string | null;
}

/** Everything the host sends is about one note and one of its versions. */
interface Stamped {
  readonly uri: string;
  /** The note's document version the message reflects. */
  readonly version: number;
  /** Per page, increasing by one with every render, patch or fill sent. */
  readonly seq: number;
}

export type RenderMessage = Stamped & {
  readonly type: 'render';
  /** The webview drops everything it holds and shows these chunks, in order. */
  readonly chunks: readonly ChunkPayload[];
  readonly lineCount: number;
};

export type PatchMessage = Stamped & {
  readonly type: 'patch';
  /** The `seq` of the state this patch applies to. */
  readonly base: number;
  /** Keys the new render no longer has. */
  readonly remove: readonly string[];
  /** New or moved chunks, in document order (each `after` is already placed). */
  readonly insert: readonly InsertOp[];
  /**
   * Kept chunks whose first line moved: from this key on (in the new order), kept chunks
   * move by `delta` lines, until the next entry. Inserted chunks carry their own start.
   */
  readonly shift: ReadonlyArray<readonly [key: string, delta: number]>;
  readonly lineCount: number;
};

/** HTML for `pending` chunks; a key the page no longer holds as pending is skipped. */
export type FillMessage = Stamped & {
  readonly type: 'fill';
  /** The `seq` of the state this fill applies to. */
  readonly base: number;
  readonly chunks: ReadonlyArray<{ readonly key: string; readonly html: string }>;
  readonly lineCount: number;
};

export type ToWebview =
  | RenderMessage
  | PatchMessage
  | FillMessage
  | { readonly type: 'scrollToLine'; readonly uri: string; readonly line: number }
  /**
   * Snippet outputs (the full set for the note) by `data-snippet` key and occurrence, `key:n`:
   * identical blocks share a key. The HTML comes from the runner's escaping output renderer.
   */
  | { readonly type: 'outputs'; readonly uri: string; readonly outputs: Readonly<Record<string, string>> };

/** Webview → host messages say which note and version the page showed when it sent them. */
interface From {
  readonly uri: string;
  /** The document version of the render the page shows (0: none yet). */
  readonly version: number;
}

export type FromWebview =
  /** `seq`: the render the page's HTML carried, which it shows (absent: none). */
  | (From & { readonly type: 'ready'; readonly seq?: number })
  /** The preview scrolled by the user: reveal this (fractional) line in the editor. */
  | (From & { readonly type: 'revealLine'; readonly line: number })
  | (From & { readonly type: 'openLink'; readonly href: string })
  | (From & { readonly type: 'dblclick'; readonly line: number })
  /** A patch did not fit what the page holds (a message was lost, a key is missing): resend everything. */
  | (From & { readonly type: 'needFullRender' });

/** Persisted by the webview (`setState`) so the serializer can restore a preview after reload. */
export interface PreviewState {
  readonly uri: string;
  readonly line?: number;
}
