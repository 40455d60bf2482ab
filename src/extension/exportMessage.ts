/**
 * The "Exported to …" message and its two follow-ups. Kept free of the `vscode` module (types
 * only) so the choice of actions is unit-tested with a fake host.
 */

/** What the message needs from the workbench (`Target` is a `vscode.Uri` there); `exportHtml.ts` adapts VS Code to it. */
export interface ExportMessageHost<Target> {
  /**
   * True when the exported file lies on the machine the user sits at (a desktop window on a
   * local folder). In a remote or browser window the file lives on another machine, so the
   * OS's browser and file manager cannot see it.
   */
  readonly local: boolean;
  t(message: string, ...args: string[]): string;
  /** Shows an information message with buttons; resolves with the one clicked (or undefined). */
  showInformationMessage(message: string, ...items: string[]): PromiseLike<string | undefined>;
  /** Opens the file with the OS's default application for it (a browser for `.html`). */
  openExternal(target: Target): PromiseLike<unknown>;
  executeCommand(command: string, target: Target): PromiseLike<unknown>;
}

/**
 * Shows "Exported to {0}" with "Open in Browser" and "Reveal in Explorer" where the file is
 * local; in a remote or browser window only "Reveal in Explorer", which then selects the file
 * in VS Code's own Explorer (from where it can be downloaded or opened).
 *
 * WARNING: resolves only after the user dismissed the message; callers must not await it on a
 * command's return path.
 */
export async function offerExported<Target>(host: ExportMessageHost<Target>, target: Target, label: string): Promise<void> {
  const open = host.t('Open in Browser');
  const reveal = host.t('Reveal in Explorer');
  const choice = await host.showInformationMessage(host.t('Exported to {0}', label), ...(host.local ? [open, reveal] : [reveal]));
  if (choice === open) await host.openExternal(target);
  else if (choice === reveal) await host.executeCommand(host.local ? 'revealFileInOS' : 'revealInExplorer', target);
}
