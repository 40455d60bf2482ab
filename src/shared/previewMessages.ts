/**
 * Messages between the extension host and the preview webview, declared once and imported with
 * `import type` on both sides.
 */

export interface ChunkPayload {
  readonly key: string;
  /** 0-based document line of the chunk's first line. */
  readonly start: number;
  /** Omitted when the webview already holds a chunk with this key. */
  readonly html?: string;
}

export type ToWebview =
  | {
      readonly type: 'render';
      readonly uri: string;
      readonly version: number;
      /** True when the webview must drop everything it holds (first render, new document). */
      readonly reset: boolean;
      readonly chunks: readonly ChunkPayload[];
      readonly lineCount: number;
    }
  | { readonly type: 'scrollToLine'; readonly line: number }
  /**
   * Snippet outputs (the full set for the note) by `data-snippet` key and occurrence, `key:n`:
   * identical blocks share a key. The HTML comes from the runner's escaping output renderer.
   */
  | { readonly type: 'outputs'; readonly outputs: Readonly<Record<string, string>> };

export type FromWebview =
  | { readonly type: 'ready' }
  /** The preview scrolled by the user: reveal this (fractional) line in the editor. */
  | { readonly type: 'revealLine'; readonly line: number }
  | { readonly type: 'openLink'; readonly href: string }
  | { readonly type: 'dblclick'; readonly line: number }
  /** The webview was sent a key without html that it does not hold: resend everything. */
  | { readonly type: 'needFullRender' };

/** Persisted by the webview (`setState`) so the serializer can restore a preview after reload. */
export interface PreviewState {
  readonly uri: string;
  readonly line?: number;
}
