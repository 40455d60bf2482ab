import * as vscode from 'vscode';
import { spawn } from 'node:child_process';
import type { Logger } from '../logger';

const TFJS_VERSION = '4.22.0';
const WEBGPU_VERSION = '0.6.2';

/**
 * "Install Native TensorFlow Backend": npm-installs @tensorflow/tfjs-node(-gpu), or `webgpu`
 * (Dawn, for the universal package, which carries no dawn.node), into the extension's global
 * storage, where the TypeScript kernel looks for it. Its install script
 * downloads libtensorflow, so this needs the internet (and CUDA 11.2 + cuDNN 8.1 for the GPU build).
 */
export async function installNativeBackend(context: vscode.ExtensionContext, logger: Logger): Promise<boolean> {
  // Nothing is spawned in an untrusted workspace, npm included.
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Trust this workspace first: ML Notes starts no program in an untrusted workspace.'));
    return false;
  }
  const webgpu = vscode.l10n.t('GPU (WebGPU: Vulkan, Metal, D3D12): webgpu (Dawn)');
  const gpu = vscode.l10n.t('GPU (CUDA): @tensorflow/tfjs-node-gpu');
  const cpu = vscode.l10n.t('CPU: @tensorflow/tfjs-node');
  const pick = await vscode.window.showQuickPick([webgpu, gpu, cpu], { placeHolder: vscode.l10n.t('Which native TensorFlow backend?') });
  if (!pick) return false;
  // WebGPU: the universal package has no dawn.node; the kernel finds this one in the same folder.
  const pkg = pick === webgpu ? 'webgpu' : pick === gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const specs = pick === webgpu ? [`webgpu@${WEBGPU_VERSION}`] : [`${pkg}@${TFJS_VERSION}`, `@tensorflow/tfjs@${TFJS_VERSION}`];
  const dir = vscode.Uri.joinPath(context.globalStorageUri, 'native');
  await vscode.workspace.fs.createDirectory(dir);
  await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'package.json'), new TextEncoder().encode('{"name":"ml-notes-native","private":true}\n'));
  const channel = vscode.window.createOutputChannel(vscode.l10n.t('ML Notes: Native Backend'));
  channel.show(true);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Installing {0}…', pkg), cancellable: true },
    (_p, token) =>
      new Promise<{ code: number | null; error?: string }>((resolve) => {
        const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
        const child = spawn(npm, ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...specs], {
          cwd: dir.fsPath,
          env: { ...process.env, npm_config_yes: 'true' },
          shell: process.platform === 'win32',
        });
        token.onCancellationRequested(() => child.kill());
        child.stdout.on('data', (d: Buffer) => channel.append(d.toString()));
        child.stderr.on('data', (d: Buffer) => channel.append(d.toString()));
        child.on('error', (e) => resolve({ code: null, error: e.message }));
        child.on('close', (code) => resolve({ code }));
      }),
  );
  if (result.code === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('{0} is installed; TypeScript snippets will use it (setting mlNotes.tfjs.backend: auto).', pkg));
    return true;
  }
  const why = result.error ?? vscode.l10n.t('npm exited with code {0}', String(result.code));
  logger.error(`native backend install failed: ${why}`);
  void vscode.window.showErrorMessage(
    pkg === 'webgpu'
      ? vscode.l10n.t('Installing {0} failed ({1}). It is downloaded from the npm registry (about 51 MB, every platform\'s dawn.node). Snippets keep running on WebAssembly.', pkg, why)
      : vscode.l10n.t('Installing {0} failed ({1}). It downloads libtensorflow from the internet; the GPU build also needs CUDA 11.2 and cuDNN 8.1. Snippets keep running on WebAssembly.', pkg, why),
  );
  return false;
}
