import * as vscode from 'vscode';
import { chooseDevice, describePython, probePython, torchMissing, type ProbeResult } from '../../runner/pythonProbe';
import { findSnippets } from '../../core/snippets/snippets';
import { findKernelSpecs, kernelSpecDirs, type KernelSpec, type KernelSpecChoice } from '../../runner/jupyter/kernelSpecs';
import { Disposable } from '../util/dispose';
import type { PythonResolver } from './runnerService';

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(env: { path: string } | string): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
}

/**
 * Which Python runs snippets: the Jupyter kernelspec named in `mlNotes.jupyter.kernelSpec` (its
 * Python), else the setting, else the interpreter selected in the Python extension, else
 * `python3` on PATH. Each interpreter is probed once (Python, torch, CUDA/MPS), again when
 * the settings change; the result is shown in the status bar next to notes with Python blocks.
 */
export class PythonEnvironment extends Disposable implements PythonResolver {
  private readonly probes = new Map<string, Promise<ProbeResult>>();
  private readonly item = this._register(vscode.window.createStatusBarItem('mlNotes.python', vscode.StatusBarAlignment.Right, 100));

  constructor() {
    super();
    this.item.name = vscode.l10n.t('ML Notes: Python for snippets');
    this.item.command = { command: 'workbench.action.openSettings', title: '', arguments: ['mlNotes.python'] };
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('mlNotes.python') || e.affectsConfiguration('mlNotes.jupyter.kernelSpec') || e.affectsConfiguration('python.defaultInterpreterPath')) {
          this.probes.clear();
          void this.updateStatus();
        }
      }),
    );
    this._register(vscode.window.onDidChangeActiveTextEditor(() => void this.updateStatus()));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.updateStatus()));
    void this.watchPythonExtension();
    void this.updateStatus();
  }

  async interpreter(resource?: vscode.Uri): Promise<string> {
    const spec = this.kernelSpec(resource);
    if (spec && !('error' in spec)) return spec.python;
    const configured = vscode.workspace.getConfiguration('mlNotes', resource).get<string>('python.interpreter', '').trim();
    if (configured) return configured;
    const api = await this.pythonApi();
    try {
      const active = api?.environments?.getActiveEnvironmentPath(resource);
      if (active) {
        const env = await api!.environments!.resolveEnvironment(active);
        const exe = env?.executable.uri?.fsPath;
        if (exe) return exe;
      }
    } catch {
      // The Python extension is optional; fall through to PATH.
    }
    return process.platform === 'win32' ? 'python' : 'python3';
  }

  /**
   * Probes an interpreter (once). Refused in an untrusted workspace: the interpreter may be the
   * workspace's own (.venv), and running it would run the workspace's code.
   */
  probe(interpreter: string): Promise<ProbeResult> {
    if (!vscode.workspace.isTrusted) return Promise.resolve({ ok: false, error: vscode.l10n.t('Python is not started in an untrusted workspace') });
    let p = this.probes.get(interpreter);
    if (!p) {
      p = probePython(interpreter);
      this.probes.set(interpreter, p);
    }
    return p;
  }

  /**
   * The kernelspec named in the setting (looked up anew each time: the user may install one),
   * or why it cannot be used; undefined when none is named.
   */
  kernelSpec(resource?: vscode.Uri): (KernelSpec & { python: string }) | { error: string } | undefined {
    const name = vscode.workspace.getConfiguration('mlNotes', resource).get<string>('jupyter.kernelSpec', '').trim();
    if (!name) return undefined;
    const spec = findKernelSpecs(kernelSpecDirs()).find((s) => s.name === name.toLowerCase());
    if (!spec) return { error: vscode.l10n.t('The Jupyter kernel spec "{0}" (mlNotes.jupyter.kernelSpec) is not installed. Pick one with "ML Notes: Select Jupyter Kernel Spec…".', name) };
    if (!spec.python) return { error: vscode.l10n.t('The Jupyter kernel spec "{0}" does not start ipykernel; Python blocks run only in ipykernel kernel specs.', name) };
    return spec as KernelSpec & { python: string };
  }

  async resolve(note: vscode.Uri, code = ''): Promise<{ interpreter: string; device: string; deviceLabel: string; ipykernel?: string; kernelSpec?: KernelSpecChoice } | { error: string }> {
    const spec = this.kernelSpec(note);
    if (spec && 'error' in spec) return spec;
    const interpreter = await this.interpreter(note);
    const probe = await this.probe(interpreter);
    if (!probe.ok) {
      this.probes.delete(interpreter); // try again next time: the user may be installing it
      return { error: vscode.l10n.t('{0}. Install Python 3 with PyTorch, or set mlNotes.python.interpreter to its path.', probe.error) };
    }
    const missing = torchMissing(probe.info, code);
    if (missing) return { error: missing };
    const device = chooseDevice(vscode.workspace.getConfiguration('mlNotes', note).get<string>('python.device', 'auto'), probe.info);
    if ('error' in device) return device;
    const kernelSpec = spec ? { name: spec.name, pythonArgs: spec.pythonArgs, kernelArgs: spec.kernelArgs, env: spec.env } : undefined;
    return { interpreter, device: device.device, deviceLabel: `${device.label} · ${describePython(probe.info)}`, ipykernel: probe.info.ipykernel, kernelSpec };
  }

  private async updateStatus(): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    // Nothing is spawned (not even the probe) before the workspace is trusted.
    if (!vscode.workspace.isTrusted || !doc || doc.languageId !== 'markdown' || !findSnippets(doc.getText()).some((s) => s.kernel === 'python')) {
      this.item.hide();
      return;
    }
    const interpreter = await this.interpreter(doc.uri);
    this.item.text = `$(loading~spin) Python`;
    this.item.show();
    const probe = await this.probe(interpreter);
    if (!probe.ok) {
      this.item.text = '$(warning) Python';
      this.item.tooltip = probe.error;
      return;
    }
    const device = chooseDevice(vscode.workspace.getConfiguration('mlNotes', doc.uri).get<string>('python.device', 'auto'), probe.info);
    this.item.text = `$(symbol-misc) ${describePython(probe.info, 'label' in device ? device.label : undefined)}`;
    this.item.tooltip = `${probe.info.executable}${probe.info.torch ? '' : '\n' + vscode.l10n.t('PyTorch is not installed for this interpreter.')}`;
  }

  private async pythonApi(): Promise<PythonExtensionApi | undefined> {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
    if (!ext) return undefined;
    try {
      return ext.isActive ? ext.exports : await ext.activate();
    } catch {
      return undefined;
    }
  }

  private async watchPythonExtension(): Promise<void> {
    const api = await this.pythonApi();
    const event = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (event) {
      this._register(
        event(() => {
          this.probes.clear();
          void this.updateStatus();
        }),
      );
    }
  }
}
