/**
 * What the TypeScript session process and its host (TsSession) say to each other, apart from the
 * blocks' own output and kernel events.
 *
 * Host → session, JSON lines on a private socket the session connects to (first line: the token
 * from its environment). A worker thread in the session reads them, so an interrupt lands even
 * while the main thread is busy.
 *
 * Session → host, lines starting with SESSION_MARKER on stdout (in order with the block's own
 * output), and a `flush` line on stderr just before each `done`: when the host has both, every
 * byte the block wrote to either stream has arrived.
 */

/** Control lines from the session start with this (the event marker is `\u001eMLN `). */
export const SESSION_MARKER = '\u001eMLS ';
/** The kernel's command-line flag that starts a session instead of a one-block run. */
export const SESSION_FLAG = '--session';
export const ENV_SESSION_SOCKET = 'MLNOTES_SESSION_SOCKET';
export const ENV_SESSION_TOKEN = 'MLNOTES_SESSION_TOKEN';

export type HostMessage =
  | { readonly type: 'execute'; readonly id: number; readonly code: string }
  /** Stops, at their next await, every async function called before it (the running block, and async work earlier blocks left running). */
  | { readonly type: 'interrupt' };

export type SessionMessage =
  | { readonly type: 'ready' }
  /** The backend could not be loaded; the session exits after this. */
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'flush'; readonly id: number }
  | { readonly type: 'done'; readonly id: number; readonly status: 'ok' | 'error' | 'interrupted' };

export function parseSessionMessage(text: string): SessionMessage | undefined {
  try {
    const m = JSON.parse(text) as SessionMessage;
    return m && typeof m === 'object' && typeof m.type === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
