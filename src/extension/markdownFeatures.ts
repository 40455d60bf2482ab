import * as vscode from 'vscode';
import type { PreviewState } from '../shared/previewMessages';
import { MathDiagnostics } from './diagnostics';
import type { Logger } from './logger';
import { PreviewManager } from './preview/previewManager';
import { PREVIEW_VIEW_TYPE, type OutputsSource } from './preview/previewPanel';
import { RenderService } from './renderService';
import { Disposable } from './util/dispose';

/** What starts with the first Markdown note: the render service, the preview and the KaTeX diagnostics. */
interface Started {
  readonly preview: PreviewManager;
  readonly renders: RenderService;
}

/**
 * The Markdown side of the extension, started when the first Markdown document opens (or a
 * preview command or restored preview needs it), not at activation: opening a `.py` file
 * activates the extension for hovers, and a Python-only session never renders Markdown.
 * The commands and the webview serializer are registered at once so they work from the start.
 */
class MarkdownFeatures extends Disposable {
  private started: Started | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly logger: Logger,
    private readonly outputs: OutputsSource,
  ) {
    super();
    this._register(
      vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: (panel, state: PreviewState | undefined) => this.start('a restored preview').preview.deserializeWebviewPanel(panel, state),
      }),
    );
    this._register(vscode.commands.registerCommand('mlNotes.openPreviewToSide', (uri?: unknown) => this.start('a preview command').preview.open(true, uri instanceof vscode.Uri ? uri : undefined)));
    this._register(vscode.commands.registerCommand('mlNotes.openPreview', (uri?: unknown) => this.start('a preview command').preview.open(false, uri instanceof vscode.Uri ? uri : undefined)));
    // Its own title in the Explorer, where VS Code's preview also says "Open Preview".
    this._register(vscode.commands.registerCommand('mlNotes.openPreviewFromExplorer', (uri?: unknown) => this.start('a preview command').preview.open(false, uri instanceof vscode.Uri ? uri : undefined)));
    const opened = this._register(vscode.workspace.onDidOpenTextDocument((d) => {
      if (!isNote(d)) return;
      this.start(d.uri.toString());
      opened.dispose();
    }));
    const first = vscode.workspace.textDocuments.find(isNote);
    if (first) this.start(first.uri.toString());
  }

  get isStarted(): boolean {
    return this.started !== undefined;
  }

  get droppedRenders(): Readonly<Record<string, number>> {
    return this.started?.renders.droppedRenders ?? {};
  }

  private start(reason: string): Started {
    if (this.started) return this.started;
    const renders = this._register(new RenderService());
    const preview = this._register(new PreviewManager(this.context, renders, this.logger, this.outputs));
    this._register(new MathDiagnostics(renders, this.logger));
    this.logger.info(`markdown features started for ${reason}`);
    return (this.started = { preview, renders });
  }
}

function isNote(d: vscode.TextDocument): boolean {
  return d.languageId === 'markdown' && d.uri.scheme !== 'output';
}

/** Registers the preview commands and starts the Markdown features on the first note. */
export function registerMarkdownFeatures(context: vscode.ExtensionContext, logger: Logger, outputs: OutputsSource): vscode.Disposable & { readonly isStarted: boolean; readonly droppedRenders: Readonly<Record<string, number>> } {
  return new MarkdownFeatures(context, logger, outputs);
}
