import * as vscode from 'vscode';
import { DocumentRenderer, RenderCancelled, type CancellationLike, type RenderedDocument } from '../core/markdown/documentRenderer';
import { renderOptions } from './config';
import { Disposable } from './util/dispose';

export interface RenderResult {
  readonly uri: vscode.Uri;
  readonly version: number;
  /** The rendered text's line count (the document may have changed since). */
  readonly lineCount: number;
  readonly doc: RenderedDocument;
}

/** Maps a note-relative resource (an image) to a URL the preview webview can load. */
export type ResourceMapper = (document: vscode.Uri, href: string) => string | undefined;

/**
 * One incremental renderer per open note, shared by the preview and the diagnostics, so a
 * document version is rendered once whoever asks.
 */
export class RenderService extends Disposable {
  private readonly renderers = new Map<string, DocumentRenderer>();
  private readonly pending = new Map<string, { version: number; promise: Promise<RenderResult> }>();
  private mapper: ResourceMapper | undefined;
  private readonly dropped = new Map<string, number>();
  private readonly onDidRenderEmitter = this._register(new vscode.EventEmitter<RenderResult>());
  readonly onDidRender = this.onDidRenderEmitter.event;
  private readonly onDidResetEmitter = this._register(new vscode.EventEmitter<void>());
  /** Fired when renderers were dropped (settings changed, a new image mapping): notes must be rendered anew. */
  readonly onDidReset = this.onDidResetEmitter.event;

  constructor() {
    super();
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('mlNotes.preview') || e.affectsConfiguration('mlNotes.katex')) this.reset();
      }),
    );
    this._register(vscode.workspace.onDidCloseTextDocument((d) => {
      this.renderers.delete(d.uri.toString());
      this.mapped.delete(d.uri.toString());
    }));
  }

  /**
   * Replaces how images resolve (each new preview webview brings its own), and renders anew the
   * notes whose renders resolved one (their cached chunks hold URLs for the old webview, or
   * unresolved paths). Nothing cached for the other notes depends on it: they keep their chunks,
   * and a render in flight (a long note's diagnostics, started when it opened) goes on for the
   * preview instead of starting the note over.
   */
  setResourceMapper(mapper: ResourceMapper): void {
    if (this.mapper === mapper) return;
    this.mapper = mapper;
    if (this.mapped.size) this.reset([...this.mapped]);
  }

  /** Notes (URIs) whose renderer resolved a resource through the mapper since it was made. */
  private readonly mapped = new Set<string>();

  /** Renders stopped because their note's renderer was dropped, by note URI (for the integration tests). */
  get droppedRenders(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.dropped);
  }

  /** Renders `document` at its current version; concurrent callers share one render. */
  render(document: vscode.TextDocument, token?: CancellationLike): Promise<RenderResult> {
    const key = document.uri.toString();
    const p = this.pending.get(key);
    if (p && p.version === document.version) return p.promise;
    const version = document.version;
    const lineCount = document.lineCount;
    const renderer = this.rendererFor(document);
    const promise = renderer
      .renderAsync(document.getText(), this.whileCurrent(key, renderer, token))
      .then((doc) => {
        const result: RenderResult = { uri: document.uri, version, lineCount, doc };
        this.onDidRenderEmitter.fire(result);
        return result;
      })
      .catch((e: unknown) => {
        if (e instanceof RenderCancelled && this.renderers.get(key) !== renderer) this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
        throw e;
      })
      .finally(() => {
        if (this.pending.get(key)?.promise === promise) this.pending.delete(key);
      });
    this.pending.set(key, { version, promise });
    return promise;
  }

  /**
   * Renders the note's lines before `endLine` alone, with the note's renderer (so the full render
   * that follows finds those chunks cached). Not shared, not announced: a partial view.
   */
  async renderPrefix(document: vscode.TextDocument, endLine: number, token?: CancellationLike): Promise<{ lineCount: number; doc: RenderedDocument }> {
    const renderer = this.rendererFor(document);
    const doc = await renderer.renderAsync(document.getText(new vscode.Range(0, 0, endLine, 0)), this.whileCurrent(document.uri.toString(), renderer, token));
    return { lineCount: endLine, doc };
  }

  /**
   * `token`, also cancelled once `renderer` is no longer the note's (settings changed, a new
   * preview's image mapping): a render for a dropped renderer would otherwise run to its end —
   * seconds on a long note — beside the render that replaces it. Its callers see RenderCancelled
   * and render again on onDidReset.
   */
  private whileCurrent(key: string, renderer: DocumentRenderer, token: CancellationLike | undefined): CancellationLike {
    const renderers = this.renderers;
    return { get isCancellationRequested() { return renderers.get(key) !== renderer || token?.isCancellationRequested === true; } };
  }

  private rendererFor(document: vscode.TextDocument): DocumentRenderer {
    const key = document.uri.toString();
    let r = this.renderers.get(key);
    if (!r) {
      const uri = document.uri;
      r = new DocumentRenderer({
        ...renderOptions(),
        resolveResource: (href) => {
          this.mapped.add(key);
          return this.mapper?.(uri, href);
        },
      });
      this.renderers.set(key, r);
    }
    return r;
  }

  /** Drops the renderers of `keys` (default: all), then asks every note to render anew. */
  private reset(keys?: readonly string[]): void {
    for (const key of keys ?? [...this.renderers.keys()]) {
      this.renderers.delete(key);
      this.pending.delete(key);
      this.mapped.delete(key);
    }
    this.onDidResetEmitter.fire();
  }
}
