import * as vscode from 'vscode';
import { findSnippets, snippetAt, type Snippet } from '../../core/snippets/snippets';
import { outputHtml, outputsForSnippets, type OutputLabels } from '../../runner/outputs';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';
import { installNativeBackend } from './nativeBackend';
import { OutputStore } from './outputStore';
import { createPlotter } from './plotter';
import { PythonEnvironment } from './pythonEnvironment';
import { JUPYTER_TOKEN_SECRET, RunnerService } from './runnerService';
import { parseServerUrl } from '../../runner/jupyter/remoteKernel';
import { VariablesView } from './variablesView';
import { registerKernelSpecPicker } from './kernelSpecPicker';
import { blockKernelLens } from '../../runner/jupyter/blockLens';

/** How long after a kernel or run change the lenses are asked for once more (see SnippetCodeLens.refresh). */
const SETTLE_MS = 1000;

/** CodeLens above each runnable block: Run / Stop, Run all above, Clear output. */
class SnippetCodeLens extends Disposable implements vscode.CodeLensProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly outputKeys = new Map<string, string>();
  private settle: NodeJS.Timeout | undefined;

  constructor(private readonly runner: RunnerService, private readonly outputs: OutputStore) {
    super();
    this._register(runner.onDidChangeRuns(() => this.refresh()));
    this._register(runner.onDidChangeKernel(() => this.refresh()));
    // Focus moving to the preview or another window: see refresh().
    this._register(vscode.window.onDidChangeActiveTextEditor(() => this.changed.fire()));
    this._register(vscode.window.onDidChangeWindowState(() => this.changed.fire()));
    this._register({ dispose: () => clearTimeout(this.settle) });
    // WARNING: a running snippet updates its output several times a second. Refreshing the lenses
    // on each update would keep restarting VS Code's CodeLens debounce and starve the refresh
    // (the Stop lens would never show); only a change in which blocks have output matters here.
    this._register(
      outputs.onDidChange((uri) => {
        const sig = outputs.keysInMemory(uri).sort().join('\u0000');
        if (this.outputKeys.get(uri.toString()) === sig) return;
        this.outputKeys.set(uri.toString(), sig);
        this.changed.fire();
      }),
    );
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()));
  }

  /**
   * WARNING: VS Code asks for the lenses again only after a debounce (at least 250 ms, longer
   * when providing was slow), and drops that pending request when the editor loses focus
   * (codelensController.ts: `onDidBlurEditorText` cancels its scheduler) until it is focused
   * again. A kernel that went idle just before the user clicked into the preview (or ran a
   * command) kept saying "busy", without its [n], while the status bar was right. So a kernel or
   * run change also asks once more a moment after the last one, when the focus has moved.
   */
  private refresh(): void {
    this.changed.fire();
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.changed.fire(), SETTLE_MS);
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const snippets = findSnippets(document.getText());
    if (snippets.length === 0) return [];
    const stored = await this.outputs.get(document.uri);
    if (token.isCancellationRequested) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const s of snippets) {
      const range = new vscode.Range(s.fenceLine, 0, s.fenceLine, 0);
      const args = [document.uri, s.key];
      if (!s.kernel) {
        lenses.push(new vscode.CodeLens(range, { title: vscode.l10n.t('$(circle-slash) No kernel for {0}', s.lang || '?'), command: '' }));
        continue;
      }
      if (s.kernel === 'python' || s.kernel === 'tfjs') {
        const lens = blockKernelLens(this.runner.kernelState(document.uri, s.kernel), this.runner.executionCountOf(document.uri, s.key));
        if (lens) {
          const title = `${lens.count !== undefined ? `[${lens.count}] ` : ''}${lens.state ? kernelStateLabel(lens.state) : ''}`;
          lenses.push(new vscode.CodeLens(range, lens.interrupt ? { title, command: 'mlNotes.kernel.interrupt', arguments: [document.uri], tooltip: vscode.l10n.t('Interrupt the kernel') } : { title, command: '' }));
        }
      }
      if (this.runner.isRunning(document.uri, s.key)) {
        lenses.push(new vscode.CodeLens(range, { title: vscode.l10n.t('$(debug-stop) Stop'), command: 'mlNotes.stopSnippet', arguments: args }));
      } else {
        const title = vscode.workspace.isTrusted ? vscode.l10n.t('$(play) Run') : vscode.l10n.t('$(shield) Run (trust the workspace first)');
        lenses.push(new vscode.CodeLens(range, { title, command: 'mlNotes.runSnippet', arguments: args }));
        if (s.index > 0) lenses.push(new vscode.CodeLens(range, { title: vscode.l10n.t('Run All Above'), command: 'mlNotes.runAllAbove', arguments: args }));
      }
      if (stored.has(s.key)) lenses.push(new vscode.CodeLens(range, { title: vscode.l10n.t('Clear Output'), command: 'mlNotes.clearOutputs', arguments: args }));
    }
    return lenses;
  }
}

export interface RunnerFeature extends vscode.Disposable {
  readonly runner: RunnerService;
  readonly outputs: OutputStore;
  /** Output HTML by `data-snippet` key and occurrence (`key:n`) for the note's current text. */
  outputsFor(document: vscode.TextDocument): Promise<Record<string, string>>;
}

/** Snippet running: the service, CodeLens, commands and the native-backend installer. */
export function registerRunner(context: vscode.ExtensionContext, logger: Logger): RunnerFeature {
  const outputs = new OutputStore(context, logger);
  const runner = new RunnerService(context, outputs, createPlotter(context.extensionUri), logger);
  const lens = new SnippetCodeLens(runner, outputs);
  const python = new PythonEnvironment();
  runner.python = python;

  const resolve = async (uri?: vscode.Uri, key?: string): Promise<{ document: vscode.TextDocument; snippet?: Snippet; all: Snippet[] } | undefined> => {
    const editor = vscode.window.activeTextEditor;
    const document = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
    if (!document || document.languageId !== 'markdown') return undefined;
    const all = findSnippets(document.getText());
    let snippet: Snippet | undefined;
    if (key !== undefined) snippet = all.find((s) => s.key === key);
    else if (editor && editor.document === document) snippet = snippetAt(all, editor.selection.active.line);
    return { document, snippet, all };
  };

  const runMany = async (document: vscode.TextDocument, list: Snippet[]): Promise<void> => {
    for (const s of list) {
      if (!s.kernel) continue;
      const out = await runner.run(document, s);
      if (!out || out.status !== 'succeeded') break; // later blocks usually depend on earlier ones
    }
  };

  const kernelStatus = vscode.window.createStatusBarItem('mlNotes.kernel', vscode.StatusBarAlignment.Left, 49);
  kernelStatus.name = vscode.l10n.t('ML Notes: Jupyter kernel');
  const updateKernelStatus = (): void => {
    const doc = vscode.window.activeTextEditor?.document;
    // A note may have both a Jupyter kernel and a TypeScript session: a busy one shows first.
    const both = doc && doc.languageId === 'markdown' ? [runner.kernelState(doc.uri, 'python'), runner.kernelState(doc.uri, 'tfjs')] : [];
    const k = both.find((x) => x?.state === 'busy') ?? both.find((x) => x !== undefined);
    const ts = k !== undefined && k === both[1];
    if (!k) {
      kernelStatus.hide();
      return;
    }
    const icon = k.state === 'busy' ? '$(circle-filled)' : k.state === 'dead' ? '$(error)' : k.state === 'idle' ? '$(circle-outline)' : '$(loading~spin)';
    kernelStatus.text = `${icon} ${vscode.l10n.t('Kernel')} ${kernelStateLabel(k.state)} [${k.executionCount}]`;
    kernelStatus.tooltip =
      k.state === 'busy'
        ? ts ? vscode.l10n.t('TypeScript session of this note — click to interrupt') : vscode.l10n.t('Jupyter kernel of this note — click to interrupt')
        : k.state === 'dead'
          ? ts ? vscode.l10n.t('The TypeScript session ended — the next run starts a new one; click to restart it now') : vscode.l10n.t('The kernel died — click to restart it')
          : ts ? vscode.l10n.t('TypeScript session of this note') : vscode.l10n.t('Jupyter kernel of this note');
    kernelStatus.command = k.state === 'busy' ? 'mlNotes.kernel.interrupt' : k.state === 'dead' ? 'mlNotes.kernel.restart' : undefined;
    kernelStatus.show();
  };
  const noteUri = (uri?: vscode.Uri): vscode.Uri | undefined => (uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri);

  const disposables = vscode.Disposable.from(
    new VariablesView(runner, logger),
    registerKernelSpecPicker(),
    kernelStatus,
    runner.onDidChangeKernel(updateKernelStatus),
    vscode.window.onDidChangeActiveTextEditor(updateKernelStatus),
    vscode.commands.registerCommand('mlNotes.kernel.interrupt', async (uri?: vscode.Uri) => {
      const note = noteUri(uri);
      if (note) await runner.interruptKernel(note);
    }),
    vscode.commands.registerCommand('mlNotes.kernel.restart', async (uri?: vscode.Uri) => {
      const note = noteUri(uri);
      if (note) await runner.restartKernel(note);
    }),
    vscode.commands.registerCommand('mlNotes.kernel.restartRunAllAbove', async (uri?: vscode.Uri, key?: string) => {
      const r = await resolve(uri, key);
      if (!r) return;
      await runner.restartKernel(r.document.uri);
      const upTo = r.snippet?.index ?? Infinity;
      await runMany(r.document, r.all.filter((s) => s.index <= upTo));
    }),
    vscode.commands.registerCommand('mlNotes.kernel.restartRunAll', async (uri?: vscode.Uri) => {
      const r = await resolve(uri);
      if (!r) return;
      await runner.restartKernel(r.document.uri);
      await runMany(r.document, r.all);
    }),
    vscode.commands.registerCommand('mlNotes.jupyter.connect', async () => {
      const url = await vscode.window.showInputBox({
        title: vscode.l10n.t('Jupyter Server URL'),
        prompt: vscode.l10n.t('The URL the server printed, with its token (http://host:8888/?token=…). The token is kept in VS Code\'s secret storage; the setting gets the URL without it.'),
        password: false,
        ignoreFocusOut: true,
      });
      if (!url) return;
      let parsed: { baseUrl: string; token: string };
      try {
        parsed = parseServerUrl(url.trim());
      } catch {
        void vscode.window.showErrorMessage(vscode.l10n.t('That is not a URL.'));
        return;
      }
      if (parsed.token) await context.secrets.store(JUPYTER_TOKEN_SECRET, parsed.token);
      await vscode.workspace.getConfiguration('mlNotes').update('jupyter.serverUrl', parsed.baseUrl, vscode.ConfigurationTarget.Global);
      // Kernels already running stay where they are; the next kernel starts on the server.
      void vscode.window.showInformationMessage(vscode.l10n.t('New kernels start on {0}. Shut down a note\'s kernel to move it there.', parsed.baseUrl));
    }),
    vscode.commands.registerCommand('mlNotes.kernel.shutdown', async (uri?: vscode.Uri) => {
      const note = noteUri(uri);
      if (note) await runner.shutdownKernel(note);
    }),
    outputs,
    runner,
    lens,
    python,
    vscode.languages.registerCodeLensProvider({ language: 'markdown' }, lens),
    vscode.commands.registerCommand('mlNotes.runSnippet', async (uri?: vscode.Uri, key?: string) => {
      const r = await resolve(uri, key);
      if (!r?.snippet) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Put the cursor in a code block marked {run} to run it.'));
        return;
      }
      await runner.run(r.document, r.snippet);
    }),
    vscode.commands.registerCommand('mlNotes.runAllSnippets', async (uri?: vscode.Uri) => {
      const r = await resolve(uri);
      if (r) await runMany(r.document, r.all);
    }),
    vscode.commands.registerCommand('mlNotes.runAllAbove', async (uri?: vscode.Uri, key?: string) => {
      const r = await resolve(uri, key);
      if (r?.snippet) await runMany(r.document, r.all.filter((s) => s.index <= r.snippet!.index));
    }),
    vscode.commands.registerCommand('mlNotes.stopSnippet', async (uri?: vscode.Uri, key?: string) => {
      if (uri) return runner.stop(uri, key);
      const doc = vscode.window.activeTextEditor?.document;
      return doc && runner.runningIn(doc.uri).length ? runner.stop(doc.uri) : runner.stopAll();
    }),
    vscode.commands.registerCommand('mlNotes.clearOutputs', async (uri?: vscode.Uri, key?: string) => {
      const doc = uri ?? vscode.window.activeTextEditor?.document.uri;
      if (doc) await outputs.clear(doc, key);
    }),
    vscode.commands.registerCommand('mlNotes.installNativeBackend', () => installNativeBackend(context, logger)),
  );

  return {
    runner,
    outputs,
    dispose: () => disposables.dispose(),
    async outputsFor(document) {
      const stored = await outputs.get(document.uri);
      const result: Record<string, string> = {};
      if (stored.size === 0) return result;
      const labels = outputLabels();
      for (const o of outputsForSnippets(findSnippets(document.getText()), stored)) result[o.slot] = outputHtml(o.output, { stale: o.stale, labels });
      return result;
    },
  };
}

function kernelStateLabel(state: string): string {
  const t = vscode.l10n.t;
  switch (state) {
    case 'starting':
      return t('starting');
    case 'idle':
      return t('idle');
    case 'busy':
      return t('busy');
    case 'restarting':
      return t('restarting');
    case 'dead':
      return t('dead');
    default:
      return t('shut down');
  }
}

/** The renderer's words in the UI language. */
function outputLabels(): OutputLabels {
  const t = vscode.l10n.t;
  return {
    status: {
      queued: t('⏳ queued'),
      running: t('⟳ running'),
      succeeded: t('✓ done'),
      failed: t('✗ failed'),
      cancelled: t('■ stopped'),
      timedOut: t('⏱ timed out'),
    },
    line: (n) => t('line {0}', n),
    noteLine: (n) => t('note line {0}', n),
    stale: t('code changed since this run'),
    metric: t('metric'),
    last: t('last'),
    steps: t('steps'),
    nonFinite: (n) => t('{0} NaN/Inf', n),
    figure: t('figure'),
  };
}
