/**
 * The Jupyter messaging protocol's wire format over ZeroMQ
 * (https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol):
 * `[identities…, '<IDS|MSG>', hmac, header, parent_header, metadata, content, buffers…]`, the
 * HMAC-SHA256 taken over the four JSON frames with the connection file's key.
 */
import type { KernelMessage } from '@jupyterlab/services';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

const DELIMITER = '<IDS|MSG>';

export type JupyterMessage = KernelMessage.IMessage;

export function sign(key: string, frames: readonly Buffer[]): string {
  const h = createHmac('sha256', key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

/** The frames to send for one message (a Dealer sends no identities). */
export function serialize(key: string, msg: Pick<JupyterMessage, 'header' | 'parent_header' | 'metadata' | 'content'>): Buffer[] {
  const parts = [msg.header, msg.parent_header ?? {}, msg.metadata ?? {}, msg.content ?? {}].map((p) => Buffer.from(JSON.stringify(p), 'utf8'));
  return [Buffer.from(DELIMITER), Buffer.from(sign(key, parts)), ...parts];
}

/**
 * Reads one received message; undefined when it is malformed or its signature does not match
 * (anything on the machine can connect to a kernel's ports; only holders of the key may talk).
 */
export function deserialize(key: string, frames: readonly Buffer[], channel: KernelMessage.Channel): JupyterMessage | undefined {
  const at = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
  if (at < 0 || frames.length < at + 6) return undefined;
  const sig = frames[at + 1]!.toString();
  const parts = frames.slice(at + 2, at + 6);
  const expected = Buffer.from(sign(key, parts));
  const got = Buffer.from(sig);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
  try {
    const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString('utf8')) as unknown);
    return { channel, header, parent_header, metadata, content, buffers: frames.slice(at + 6) } as unknown as JupyterMessage;
  } catch {
    return undefined;
  }
}

/** A new request from this client's session. */
export function request<T extends KernelMessage.MessageType>(session: string, msgType: T, content: object): Pick<JupyterMessage, 'header' | 'parent_header' | 'metadata' | 'content'> {
  const header = { msg_id: randomUUID(), msg_type: msgType, session, username: 'ml-notes', date: new Date().toISOString(), version: '5.3' };
  return { header: header as KernelMessage.IHeader, parent_header: {}, metadata: {}, content: content as JupyterMessage['content'] };
}
