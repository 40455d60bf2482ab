import * as vscode from 'vscode';
import { codeWithSetup, findSnippets, type Snippet } from '../../core/snippets/snippets';
import { OutputCollector, type SnippetOutput } from '../../runner/outputs';
import type { PlotSpec } from '../../runner/protocol';
import { RunnerCore } from '../../runner/runnerCore';
import { effectiveTimeoutMs, kernelEnv, startSnippet, tfjsKernelEnv, type KernelPaths, type StartedRun } from '../../runner/runSnippet';
import { TsSession, tsModeFor, type TsMode } from '../../runner/tsSession/tsSession';
import { ExecutionCounts } from '../../runner/jupyter/blockLens';
import { KernelRegistry } from '../../runner/jupyter/kernelRegistry';
import type { KernelSpecChoice } from '../../runner/jupyter/kernelSpecs';
import { ipykernelInstallHint, pythonModeFor, startInKernel, type PythonMode } from '../../runner/jupyter/kernelRun';
import { LocalKernel } from '../../runner/jupyter/localKernel';
import { parseServerUrl, RemoteKernel } from '../../runner/jupyter/remoteKernel';
import type { KernelSession } from '../../runner/jupyter/session';
import type { KernelState } from '../../runner/jupyter/session';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';
import type { OutputStore } from './outputStore';

/** Resolves the Python interpreter and device for the Python kernel (filled in by that feature). */
export interface PythonResolver {
  /** `code` lets the resolver refuse early when the snippet needs torch and the interpreter lacks it. */
  resolve(note: vscode.Uri, code: string): Promise<ResolvedPython | { error: string }>;
}

/** The note's Python; `kernelSpec` when it comes from a Jupyter kernelspec (mlNotes.jupyter.kernelSpec). */
export interface ResolvedPython {
  readonly interpreter: string;
  readonly device: string;
  readonly deviceLabel: string;
  readonly ipykernel?: string;
  readonly kernelSpec?: KernelSpecChoice;
}

const LIVE_UPDATE_MS = 700;
/** SecretStorage key of the Jupyter Server token (never in settings or logs). */
export const JUPYTER_TOKEN_SECRET = 'mlNotes.jupyter.token';

/**
 * Runs snippets on explicit user action, one process each, in trusted workspaces only. Streams
 * their output to an output channel and the preview, shows progress and a status bar item, and
 * stops them on request (process group, within a second) or at the time limit.
 */
export class RunnerService extends Disposable {
  private readonly core: RunnerCore;
  private readonly channel = this._register(vscode.window.createOutputChannel(vscode.l10n.t('ML Notes: Snippet Output')));
  private readonly status = this._register(vscode.window.createStatusBarItem('mlNotes.run', vscode.StatusBarAlignment.Left, 50));
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly onDidChangeRunsEmitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeRuns = this.onDidChangeRunsEmitter.event;
  python: PythonResolver | undefined;
  /** One Jupyter kernel per note (Python blocks), shut down when the note closes and killed with the host. */
  readonly kernels: KernelRegistry<KernelSession>;
  private readonly onDidChangeKernelEmitter = this._register(new vscode.EventEmitter<vscode.Uri>());
  /** A note's kernel changed state or execution count. */
  readonly onDidChangeKernel = this.onDidChangeKernelEmitter.event;
  /** One TypeScript session per note (TypeScript blocks), with the same lifetime as the Jupyter kernels. */
  readonly tsSessions: KernelRegistry<TsSession>;
  /** The In [n] each block got when it last ran in its note's kernel. */
  private readonly executionCounts = new ExecutionCounts();
  /** Failed runs as diagnostics on their lines (cleared when the block runs again). */
  private readonly diagnostics = this._register(vscode.languages.createDiagnosticCollection('mlNotes.run'));
  private readonly diagnosticsByBlock = new Map<string, Map<string, vscode.Diagnostic>>();
  private saidNoIpykernel = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly outputs: OutputStore,
    plot: (spec: PlotSpec) => Promise<string>,
    private readonly logger: Logger,
  ) {
    super();
    this.core = new RunnerCore({
      outputs: {
        get: (n) => outputs.get(vscode.Uri.parse(n)),
        set: (n, o) => outputs.set(vscode.Uri.parse(n), o),
        clear: (n, k) => outputs.clear(vscode.Uri.parse(n), k),
      },
      plot,
      log: logger,
      liveUpdateMs: LIVE_UPDATE_MS,
      onDidChangeRuns: () => {
        this.onDidChangeRunsEmitter.fire();
        this.updateStatus();
      },
    });
    this.kernels = new KernelRegistry<KernelSession>((note) => this.onDidChangeKernelEmitter.fire(vscode.Uri.parse(note)));
    // Deactivation kills every kernel at once (registered before the runs' killAll, so it runs after it).
    this._register({ dispose: () => this.kernels.killAll() });
    this.tsSessions = new KernelRegistry<TsSession>((note) => this.onDidChangeKernelEmitter.fire(vscode.Uri.parse(note)));
    this._register({ dispose: () => this.tsSessions.killAll() });
    this._register(vscode.workspace.onDidCloseTextDocument((d) => void this.shutdownKernel(d.uri)));
    this.status.name = vscode.l10n.t('ML Notes: running snippet');
    this.status.command = 'mlNotes.stopSnippet';
    this._register({ dispose: () => clearInterval(this.statusTimer) });
    // Deactivation (window closing, host restarting): nothing may outlive the host, and there is
    // no time to wait for a polite exit, so every run is killed now, synchronously.
    this._register({ dispose: () => this.core.killAll() });
  }

  isRunning(note: vscode.Uri, key: string): boolean {
    return this.core.isRunning(note.toString(), key);
  }

  runningIn(note: vscode.Uri): Snippet[] {
    return this.core.runningIn(note.toString());
  }

  /** Runs one snippet (after the trust check and the one-time confirmation for this note). */
  async run(document: vscode.TextDocument, snippet: Snippet): Promise<SnippetOutput | undefined> {
    if (!(await this.mayRun(document))) return undefined;
    if (this.isRunning(document.uri, snippet.key)) {
      void vscode.window.showInformationMessage(vscode.l10n.t('This snippet is already running.'));
      return undefined;
    }
    const config = vscode.workspace.getConfiguration('mlNotes');
    let python: ResolvedPython | undefined;
    const all = findSnippets(document.getText());
    if (snippet.kernel === 'python' && this.python) {
      const combined = codeWithSetup(snippet, all);
      const r = await this.python.resolve(document.uri, 'code' in combined ? combined.code : snippet.code);
      if ('error' in r) {
        // Recorded as the snippet's output too, so the preview says what is missing.
        const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang, index: snippet.index }, () => undefined);
        collector.onEvent({ type: 'error', message: r.error });
        await this.outputs.set(document.uri, collector.finish({ status: 'failed', exitCode: null, signal: null, durationMs: 0 }));
        void vscode.window.showErrorMessage(r.error);
        return undefined;
      }
      python = r;
    }
    let mode: PythonMode = 'process';
    if (snippet.kernel === 'python' && python) {
      const chosen = pythonModeFor(snippet, config.get<PythonMode>('python.kernel', 'jupyter'), python.ipykernel !== undefined);
      mode = chosen.mode;
      if (chosen.why === 'noIpykernel' && !this.saidNoIpykernel) {
        this.saidNoIpykernel = true;
        void vscode.window.showInformationMessage(
          vscode.l10n.t('ipykernel is not installed for {0}, so each Python block runs in a fresh process (variables do not carry over). Install it: {1}', python.interpreter, ipykernelInstallHint(python.interpreter)),
        );
      }
    }
    const tsMode: TsMode | undefined = snippet.kernel === 'tfjs' ? tsModeFor(snippet.attrs, config.get<TsMode>('tfjs.kernel', 'session')).mode : undefined;
    this.clearDiagnostic(document.uri, snippet.key);
    const generation = this.executionCounts.begin(document.uri.toString());
    void this.revealPreview(document);
    const label = snippet.id ?? `#${snippet.index}`;
    const name = `${document.uri.path.split('/').pop()} ${label}`;
    this.channel.appendLine(`── ${name} (${snippet.lang}) ${new Date().toLocaleTimeString()}`);
    let progress: Thenable<void> | undefined;
    try {
      const onLog = (_stream: 'stdout' | 'stderr', text: string): void => this.channel.append(text);
      const serverUrl = config.get<string>('jupyter.serverUrl', '').trim();
      const token = mode === 'jupyter' && serverUrl ? ((await this.context.secrets.get(JUPYTER_TOKEN_SECRET)) ?? '') : '';
      const start = (): StartedRun =>
        tsMode === 'session'
          ? startInKernel({
              snippet,
              all,
              kernel: this.tsSessionFor(document.uri, config),
              label: 'TypeScript session',
              timeoutMs: effectiveTimeoutMs(snippet.attrs['timeout'], Math.max(1, config.get<number>('run.timeoutSeconds', 600) || 600) * 1000),
              onLog,
              onEvent: (e) => {
                if (e.type === 'error') this.channel.appendLine(`error${e.line !== undefined ? ` (code line ${e.line})` : ''}: ${e.message}`);
              },
              onInvalidEvent: (why) => this.logger.warn(`${name}: dropped an invalid kernel event (${why})`),
            })
          : mode === 'jupyter' && python
          ? startInKernel({
              snippet,
              all,
              kernel: this.kernelFor(document.uri, python, serverUrl ? remoteOf(serverUrl, token) : undefined),
              label: python.deviceLabel,
              timeoutMs: effectiveTimeoutMs(snippet.attrs['timeout'], Math.max(1, config.get<number>('run.timeoutSeconds', 600) || 600) * 1000),
              onLog,
              onEvent: (e) => {
                if (e.type === 'error') this.channel.appendLine(`error${e.line !== undefined ? ` (code line ${e.line})` : ''}: ${e.message}`);
              },
              onInvalidEvent: (why) => this.logger.warn(`${name}: dropped an invalid kernel event (${why})`),
            })
          : startSnippet({
            notePath: document.uri.fsPath,
            snippet,
            all,
            paths: this.kernelPaths(),
            node: process.execPath,
            tfjsBackend: config.get<string>('tfjs.backend', 'auto'),
            nativeModulePaths: this.nativeModulePaths(),
            timeoutMs: Math.max(1, config.get<number>('run.timeoutSeconds', 600) || 600) * 1000,
            python,
            onLog: (_stream, text) => this.channel.append(text),
            onEvent: (e) => {
              if (e.type === 'backend') {
                // One line for the chosen backend; what was normal on the way (optional backends not installed) goes to the trace log.
                this.channel.appendLine(`[${e.backend} · ${e.device}]${e.detail ? ' ' + e.detail : ''}`);
                for (const n of e.notes ?? []) this.logger.trace(`${name} backend: ${n}`);
              }
              if (e.type === 'error') this.channel.appendLine(`error${e.line !== undefined ? ` (code line ${e.line})` : ''}: ${e.message}`);
            },
            onInvalidEvent: (why) => this.logger.warn(`${name}: dropped an invalid kernel event (${why})`),
          });
      const r = await this.core.run(
        document.uri.toString(),
        snippet,
        all,
        start,
        ({ started }) => {
          progress = vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Running {0}', name), cancellable: true },
            async (p, token) => {
              token.onCancellationRequested(() => void started.process?.cancel());
              let last = 0;
              const sub = setInterval(() => {
                const f = started.collector.output.progress?.fraction;
                const msg = started.collector.output.progress?.message;
                if (f !== undefined && f * 100 > last) {
                  p.report({ increment: f * 100 - last, message: msg });
                  last = f * 100;
                } else if (msg) p.report({ message: msg });
              }, 300);
              try {
                await started.done;
              } finally {
                clearInterval(sub);
              }
            },
          );
        },
      );
      if (r === 'alreadyRunning') {
        void vscode.window.showInformationMessage(vscode.l10n.t('This snippet is already running.'));
        return undefined;
      }
      const { result, output } = r;
      this.channel.appendLine(`── ${name}: ${result.status} in ${(result.durationMs / 1000).toFixed(1)} s`);
      const kernel = mode === 'jupyter' ? this.kernels.get(document.uri.toString()) : tsMode === 'session' ? this.tsSessions.get(document.uri.toString()) : undefined;
      if (kernel) {
        if (this.executionCounts.record(document.uri.toString(), snippet.key, generation, kernel.executionCount)) this.onDidChangeKernelEmitter.fire(document.uri);
      }
      const err = output.items.find((i) => i.kind === 'error');
      if (result.status === 'failed' && err?.kind === 'error' && err.line !== undefined) {
        // On the failing line, where the user looks, instead of a toast per failure.
        this.setDiagnostic(document, snippet.key, err.line, err.message);
      } else if (result.status === 'failed') {
        const where = err && 'line' in err && err.line !== undefined ? vscode.l10n.t(' at line {0}', err.line) : '';
        void vscode.window.showErrorMessage(vscode.l10n.t('{0} failed{1}: {2}', name, where, err && 'message' in err ? err.message : ''), vscode.l10n.t('Show Output')).then((c) => {
          if (c) this.channel.show(true);
        });
      } else if (result.status === 'timedOut') {
        void vscode.window.showWarningMessage(vscode.l10n.t('{0} was stopped at the time limit.', name));
      }
      return output;
    } catch (e) {
      this.logger.error(`run ${name} failed`, e);
      return undefined;
    } finally {
      await progress;
    }
  }

  /** Stops a snippet (or every snippet of the note) and waits until its processes are gone. */
  stop(note: vscode.Uri, key?: string): Promise<void> {
    return this.core.stop(note.toString(), key);
  }

  stopAll(): Promise<void> {
    return this.core.stopAll();
  }

  /** The note's kernel, started on first use; never in an untrusted workspace (run() checked). */
  private kernelFor(note: vscode.Uri, python: ResolvedPython, remote?: { baseUrl: string; token: string }): KernelSession {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'kernels').fsPath;
    return this.kernels.getOrCreate(
      note.toString(),
      () =>
        remote ? new RemoteKernel(remote) : new LocalKernel({
          interpreter: python.interpreter,
          pythonArgs: python.kernelSpec?.pythonArgs,
          kernelArgs: python.kernelSpec?.kernelArgs,
          launcher: `${dist}/jupyter_launcher.py`,
          matplotlibrc: `${dist}/matplotlibrc`,
          cwd: vscode.Uri.joinPath(note, '..').fsPath,
          env: { ...kernelEnv(), ...python.kernelSpec?.env, MLNOTES_DEVICE: python.device, MLNOTES_DEVICE_LABEL: python.deviceLabel },
          onLog: (_s, t) => this.logger.trace(`kernel ${note.path.split('/').pop()}: ${t.trimEnd()}`),
        }),
    );
  }

  /** The note's TypeScript session, started on first use (run() checked trust). */
  private tsSessionFor(note: vscode.Uri, config: vscode.WorkspaceConfiguration): TsSession {
    return this.tsSessions.getOrCreate(
      note.toString(),
      () =>
        new TsSession({
          node: process.execPath,
          kernel: this.kernelPaths().tfjsKernel,
          cwd: vscode.Uri.joinPath(note, '..').fsPath,
          env: tfjsKernelEnv({ paths: this.kernelPaths(), tfjsBackend: config.get<string>('tfjs.backend', 'auto'), nativeModulePaths: this.nativeModulePaths() }),
          onLog: (_s, t) => this.channel.append(t),
        }),
    );
  }

  /** `kind`: the note's Jupyter kernel (Python blocks) or its TypeScript session. */
  kernelState(note: vscode.Uri, kind: 'python' | 'tfjs' = 'python'): { state: KernelState; executionCount: number } | undefined {
    const k = kind === 'python' ? this.kernels.get(note.toString()) : this.tsSessions.get(note.toString());
    return k ? { state: k.state, executionCount: k.executionCount } : undefined;
  }

  /** In [n] of the block's last run in the note's kernel. */
  executionCountOf(note: vscode.Uri, key: string): number | undefined {
    return this.executionCounts.get(note.toString(), key);
  }

  /** The note's kernel commands act on its Jupyter kernel and its TypeScript session alike. */
  async interruptKernel(note: vscode.Uri): Promise<void> {
    await Promise.all([this.kernels.get(note.toString())?.interrupt(), this.tsSessions.get(note.toString())?.interrupt()]);
  }

  async restartKernel(note: vscode.Uri): Promise<void> {
    const ks = [this.kernels.get(note.toString()), this.tsSessions.get(note.toString())].filter((k) => k !== undefined);
    if (ks.length === 0) return;
    await this.stop(note);
    this.forgetCounts(note);
    await Promise.all(ks.map((k) => k.restart()));
    this.onDidChangeKernelEmitter.fire(note);
  }

  async shutdownKernel(note: vscode.Uri): Promise<void> {
    if (!this.kernels.get(note.toString()) && !this.tsSessions.get(note.toString())) return;
    this.forgetCounts(note);
    await Promise.all([this.kernels.shutdown(note.toString()), this.tsSessions.shutdown(note.toString())]);
  }

  private forgetCounts(note: vscode.Uri): void {
    this.executionCounts.forget(note.toString());
  }

  private setDiagnostic(document: vscode.TextDocument, key: string, line: number, message: string): void {
    const note = document.uri.toString();
    const row = Math.max(0, Math.min(line - 1, document.lineCount - 1));
    const d = new vscode.Diagnostic(document.lineAt(row).range, message, vscode.DiagnosticSeverity.Error);
    d.source = 'ML Notes';
    const map = this.diagnosticsByBlock.get(note) ?? new Map<string, vscode.Diagnostic>();
    map.set(key, d);
    this.diagnosticsByBlock.set(note, map);
    this.diagnostics.set(document.uri, [...map.values()]);
  }

  private clearDiagnostic(uri: vscode.Uri, key: string): void {
    const map = this.diagnosticsByBlock.get(uri.toString());
    if (!map?.delete(key)) return;
    this.diagnostics.set(uri, [...map.values()]);
  }

  /**
   * A run's result shows in the preview: when no ML Notes preview is open, one opens beside the
   * editor (without taking focus) and follows the editor to the block.
   */
  private async revealPreview(document: vscode.TextDocument): Promise<void> {
    const open = vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('mlNotes')));
    if (open) return;
    try {
      await vscode.commands.executeCommand('mlNotes.openPreviewToSide', document.uri);
    } catch (e) {
      this.logger.error('opening the preview for a run failed', e);
    }
  }

  private async mayRun(document: vscode.TextDocument): Promise<boolean> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Snippets run only in trusted workspaces. Trust this workspace to run code from its notes.'));
      return false;
    }
    const key = `mlNotes.runConfirmed:${document.uri.toString()}`;
    if (this.context.workspaceState.get<boolean>(key)) return true;
    const run = vscode.l10n.t('Run');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('Run code from this note? It runs on your machine with your permissions.'),
      { modal: true, detail: document.uri.fsPath },
      run,
    );
    if (choice !== run) return false;
    await this.context.workspaceState.update(key, true);
    return true;
  }

  private kernelPaths(): KernelPaths {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist').fsPath;
    return {
      tfjsKernel: `${dist}/kernels/tfjs-kernel.js`,
      lab: `${dist}/lab.js`,
      wasmDir: `${dist}/tfjs-wasm`,
      pythonKernel: `${dist}/kernels/python_kernel.py`,
    };
  }

  /** Where native tfjs backends may be: the user's folder setting, then our install folder. */
  nativeModulePaths(): string[] {
    const configured = vscode.workspace.getConfiguration('mlNotes').get<string>('tfjs.nativeModulesPath', '');
    return [configured, vscode.Uri.joinPath(this.context.globalStorageUri, 'native', 'node_modules').fsPath].filter(Boolean);
  }

  private updateStatus(): void {
    clearInterval(this.statusTimer);
    const runs = this.core.active();
    if (runs.length === 0) {
      this.status.hide();
      return;
    }
    const render = (): void => {
      const r = runs[runs.length - 1]!;
      const secs = ((Date.now() - r.startedAt) / 1000).toFixed(0);
      const out = r.started.collector.output;
      const where = out.backend ? ` · ${out.backend} · ${out.device}` : '';
      this.status.text = `$(sync~spin) ${r.snippet.id ?? '#' + r.snippet.index} ${secs}s${where}${runs.length > 1 ? ` (+${runs.length - 1})` : ''}`;
      this.status.tooltip = vscode.l10n.t('Running snippet — click to stop');
    };
    render();
    this.status.show();
    this.statusTimer = setInterval(render, 1000);
  }
}

/** The server from the setting; a token pasted into the URL still works, SecretStorage's wins. */
function remoteOf(serverUrl: string, secret: string): { baseUrl: string; token: string } | undefined {
  try {
    const { baseUrl, token } = parseServerUrl(serverUrl);
    return { baseUrl, token: secret || token };
  } catch {
    return undefined;
  }
}
