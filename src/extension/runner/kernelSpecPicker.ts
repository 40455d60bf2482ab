import * as vscode from 'vscode';
import { findKernelSpecs, kernelSpecDirs } from '../../runner/jupyter/kernelSpecs';

/**
 * "Select Jupyter Kernel Spec…": the ipykernel specs Jupyter would find, or none (the note's
 * Python is then the interpreter setting → Python extension → PATH). The choice is the
 * `mlNotes.jupyter.kernelSpec` setting, which PythonEnvironment reads; running kernels stay.
 */
export function registerKernelSpecPicker(): vscode.Disposable {
  return vscode.commands.registerCommand('mlNotes.jupyter.selectKernelSpec', async () => {
    const t = vscode.l10n.t;
    const current = vscode.workspace.getConfiguration('mlNotes').get<string>('jupyter.kernelSpec', '');
    const specs = findKernelSpecs(kernelSpecDirs()).filter((s) => s.python);
    const items: Array<vscode.QuickPickItem & { name: string }> = [
      { label: t('No kernel spec: the Python interpreter'), description: current ? '' : t('current'), detail: t('mlNotes.python.interpreter, else the Python extension\'s interpreter, else python3 on PATH'), name: '' },
      ...specs.map((s) => ({ label: s.displayName, description: `${s.name}${s.name === current ? ' · ' + t('current') : ''}`, detail: `${[s.python!, ...s.pythonArgs].join(' ')} — ${s.dir}`, name: s.name })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: t('Jupyter kernel spec for Python blocks'),
      placeHolder: specs.length ? t('Kernel specs with ipykernel, as `jupyter kernelspec list` finds them') : t('No ipykernel kernel spec is installed (python -m ipykernel install --user --name NAME)'),
      matchOnDescription: true,
    });
    if (!picked) return;
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration('mlNotes').update('jupyter.kernelSpec', picked.name || undefined, target);
    // Kernels already running keep their Python; the next kernel a note starts uses the choice.
    void vscode.window.showInformationMessage(picked.name ? t('New kernels start from the kernel spec {0}. Shut down a note\'s kernel to switch it.', picked.label) : t('New kernels use the Python interpreter. Shut down a note\'s kernel to switch it.'));
  });
}
