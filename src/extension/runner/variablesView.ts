import * as vscode from 'vscode';
import { kernelVariables, type KernelVariable } from '../../runner/jupyter/variables';
import type { Logger } from '../logger';
import { Disposable } from '../util/dispose';
import type { RunnerService } from './runnerService';

/**
 * "Kernel Variables" in the Explorer: the variables of the active note's Jupyter kernel (name,
 * type, shape/dtype/device for tensors and arrays, a short value), refreshed when a block in it
 * ends and when another note becomes active. Listing runs silently in the kernel (no In [n]).
 */
export class VariablesView extends Disposable implements vscode.TreeDataProvider<KernelVariable> {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<KernelVariable>;

  constructor(private readonly runner: RunnerService, private readonly logger: Logger) {
    super();
    this.view = this._register(vscode.window.createTreeView('mlNotes.variables', { treeDataProvider: this }));
    this._register(runner.onDidChangeRuns(() => this.refresh()));
    // WARNING: listing the variables runs code in the kernel, which turns it busy then idle; a
    // refresh on every state change would list forever. Only a new In [n] or a kernel that
    // started, restarted, died or closed is a reason to list again.
    let seen = '';
    this._register(
      runner.onDidChangeKernel((note) => {
        const k = runner.kernelState(note);
        // A block still running: its variables are listed when the kernel is idle again.
        if (k?.state === 'busy') return;
        const sig = k ? `${note.toString()}|${k.executionCount}|${k.state}` : `${note.toString()}|none`;
        if (sig === seen) return;
        seen = sig;
        this.refresh();
      }),
    );
    this._register(vscode.window.onDidChangeActiveTextEditor(() => this.refresh()));
  }

  refresh(): void {
    if (this.view.visible) this.changed.fire();
  }

  getTreeItem(v: KernelVariable): vscode.TreeItem {
    const item = new vscode.TreeItem(v.name, vscode.TreeItemCollapsibleState.None);
    const tensor = v.shape !== undefined ? `${v.shape}${v.dtype ? ' ' + v.dtype : ''}${v.device ? ' @' + v.device : ''}` : '';
    item.description = `${v.type}${tensor ? ' ' + tensor : ''} = ${v.value}`;
    // A MarkdownString would render the value; plain text shows it as it is.
    item.tooltip = `${v.name}: ${v.type}${tensor ? '\n' + tensor : ''}\n${v.value}`;
    item.iconPath = new vscode.ThemeIcon(v.shape !== undefined ? 'symbol-array' : 'symbol-variable');
    return item;
  }

  async getChildren(element?: KernelVariable): Promise<KernelVariable[]> {
    if (element) return [];
    const doc = vscode.window.activeTextEditor?.document;
    const kernel = doc && doc.languageId === 'markdown' ? this.runner.kernels.get(doc.uri.toString()) : undefined;
    if (!kernel) {
      this.view.message = vscode.l10n.t('Run a Python block of a note to start its kernel.');
      return [];
    }
    this.view.message = undefined;
    try {
      return await kernelVariables(kernel);
    } catch (e) {
      this.logger.error('listing kernel variables failed', e);
      return [];
    }
  }
}
