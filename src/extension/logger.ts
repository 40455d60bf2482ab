import * as vscode from 'vscode';

/** The extension's single log channel; shipped code logs here, never to the console. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
  trace(message: string): void;
}

export function createLogger(context: vscode.ExtensionContext): Logger {
  const channel = vscode.window.createOutputChannel('ML Notes', { log: true });
  context.subscriptions.push(channel);
  return {
    info: (m) => channel.info(m),
    warn: (m) => channel.warn(m),
    trace: (m) => channel.trace(m),
    error: (m, e) => channel.error(e === undefined ? m : `${m}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`),
  };
}
