import type { Kernel, KernelMessage, ServerConnection } from '@jupyterlab/services';
import { KernelBase } from './kernelBase';
import type { ExecuteResult, IopubSink } from './session';

/** Where a remote kernel runs: a Jupyter Server (or JupyterHub single-user server) and its token. */
export interface RemoteKernelOptions {
  /** The server's base URL, without the token (`http://gpu-box:8888/`, `https://hub/user/me/`). */
  readonly baseUrl: string;
  /**
   * The server's token. WARNING: a secret (the extension keeps it in SecretStorage); it goes in
   * the Authorization header only, never in a URL, a log line or an error message.
   */
  readonly token: string;
  readonly kernelName?: string;
}

/** Splits `http://host:8888/?token=abc` into the base URL and the token (the URL a server prints). */
export function parseServerUrl(url: string): { baseUrl: string; token: string } {
  const u = new URL(url);
  const token = u.searchParams.get('token') ?? '';
  u.searchParams.delete('token');
  u.hash = '';
  let base = u.toString();
  if (!base.endsWith('/')) base += '/';
  return { baseUrl: base, token };
}

/** How long the server may take to answer `GET /api` before it counts as unreachable. */
const REACH_TIMEOUT_MS = 10_000;

type Services = typeof import('@jupyterlab/services');
let services: Services | undefined;
/** @jupyterlab/services is large: loaded on the first remote kernel only. */
function loadServices(): Services {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  services ??= require('@jupyterlab/services') as Services;
  return services;
}

/**
 * A kernel on a Jupyter Server, through its REST and WebSocket API (`@jupyterlab/services`).
 * Shutdown deletes it from the server (`DELETE /api/kernels/ID`); there is no local process.
 */
export class RemoteKernel extends KernelBase {
  private connection: Kernel.IKernelConnection | undefined;
  private readonly settings: ServerConnection.ISettings;

  constructor(private readonly opts: RemoteKernelOptions) {
    super();
    const s = loadServices();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const WS = require('ws') as typeof import('ws');
    const auth = `token ${opts.token}`;
    // The token goes in the WebSocket's Authorization header, as for REST, not in its URL (a
    // browser cannot set headers, so the library would put it in the URL, which it logs).
    class AuthWebSocket extends WS.WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { Authorization: auth } });
      }
    }
    this.settings = s.ServerConnection.makeSettings({
      baseUrl: opts.baseUrl,
      wsUrl: opts.baseUrl.replace(/^http/, 'ws'),
      token: opts.token,
      appendToken: false,
      WebSocket: AuthWebSocket as unknown as typeof globalThis.WebSocket,
      fetch: globalThis.fetch.bind(globalThis),
      Request: globalThis.Request,
      Headers: globalThis.Headers,
    });
  }

  /** The server's id of the kernel (for the test that it is gone afterwards). */
  get id(): string | undefined {
    return this.connection?.id;
  }

  override async execute(code: string, sink: IopubSink, opts: { silent?: boolean } = {}): Promise<ExecuteResult> {
    try {
      await this.start();
    } catch {
      return { status: 'dead', executionCount: this._executionCount, message: this.lastError };
    }
    const k = this.connection;
    if (!k || this._state === 'dead' || this._state === 'closed') return { status: 'dead', executionCount: this._executionCount, message: this.lastError };
    // stop_on_error off: blocks go one at a time and the runner stops a Run All itself; the kernel's
    // own abort would also cancel the next block when its request wins a race with the abort's end.
    const future = k.requestExecute({ code, silent: opts.silent ?? false, store_history: !opts.silent, allow_stdin: false, stop_on_error: false });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'execute_input') {
        const n = (msg.content as KernelMessage.IExecuteInputMsg['content']).execution_count;
        if (typeof n === 'number') this.setExecutionCount(n);
      }
      sink(msg);
    };
    try {
      const reply = await future.done;
      const c = reply.content as { status: string; execution_count?: number; ename?: string; evalue?: string; traceback?: string[] };
      if (typeof c.execution_count === 'number' && c.execution_count > 0) this.setExecutionCount(c.execution_count);
      if (c.status === 'ok') return { status: 'ok', executionCount: this._executionCount };
      if (c.status === 'error') return { status: 'error', executionCount: this._executionCount, error: { ename: c.ename ?? '', evalue: c.evalue ?? '', traceback: c.traceback ?? [] } };
      return { status: 'aborted', executionCount: this._executionCount };
    } catch (e) {
      return { status: 'dead', executionCount: this._executionCount, message: (e as Error).message };
    }
  }

  override async interrupt(): Promise<void> {
    await this.connection?.interrupt();
  }

  override async restart(): Promise<void> {
    this.setState('restarting');
    await this.connection?.restart();
    this.setExecutionCount(0);
    this.setState('idle');
  }

  override async shutdown(): Promise<void> {
    if (this._state === 'closed') return;
    const k = this.connection;
    this.setState('closed');
    if (k && !k.isDisposed) {
      try {
        await k.shutdown();
      } finally {
        k.dispose();
      }
    }
  }

  /**
   * Host shutdown: the kernel is on another machine, so there is nothing to kill here; the
   * DELETE is sent without waiting (the server also culls idle kernels if it is configured to).
   */
  override killNow(): void {
    const k = this.connection;
    this.setState('closed');
    if (k && !k.isDisposed) void k.shutdown().catch(() => undefined).finally(() => k.dispose());
  }

  protected override async launch(): Promise<void> {
    const s = loadServices();
    const unreachable = await this.reach();
    if (unreachable) {
      this.lastError = unreachable;
      this.setState('dead');
      throw new Error(unreachable);
    }
    try {
      const model = await s.KernelAPI.startNew({ name: this.opts.kernelName ?? 'python3' }, this.settings);
      const k = new s.KernelConnection({ model, serverSettings: this.settings, handleComms: false });
      this.connection = k;
      k.statusChanged.connect((_k, status) => {
        if (this._state === 'closed') return;
        if (status === 'busy' || status === 'idle') this.setState(status);
        else if (status === 'dead') {
          this.lastError = 'the kernel on the server died';
          this.setState('dead');
        } else if (status === 'restarting' || status === 'autorestarting') this.setState('restarting');
      });
      await k.info;
      this.setState('idle');
    } catch (e) {
      // The server's error without the request (whose headers hold the token).
      this.lastError = `the Jupyter server refused to start a kernel: ${e instanceof Error ? this.redact(e.message) : 'unknown error'}`;
      this.setState('dead');
      throw new Error(this.lastError);
    }
  }

  /**
   * `GET /api` (the server's version; it needs no token) before asking for a kernel:
   * @jupyterlab/services reports a refused connection as a bare "fetch failed", so the cause
   * (ECONNREFUSED, a name that does not resolve, a timeout, not a Jupyter server) is found here.
   */
  private async reach(): Promise<string | undefined> {
    const where = `the Jupyter server at ${this.opts.baseUrl}`;
    let res: Response;
    try {
      res = await fetch(new URL('api', this.opts.baseUrl), { headers: { Authorization: `token ${this.opts.token}` }, signal: AbortSignal.timeout(REACH_TIMEOUT_MS) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? `no answer within ${REACH_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
      return `cannot reach ${where}: ${this.redact(why)}`;
    }
    const body = (await res.json().catch(() => undefined)) as { version?: unknown } | undefined;
    if (!res.ok || typeof body?.version !== 'string') return `${where} does not answer as a Jupyter server (HTTP ${res.status} for /api)`;
    return undefined;
  }

  /** A message that may quote the request, without the token. */
  private redact(text: string): string {
    return this.opts.token ? text.split(this.opts.token).join('…') : text;
  }
}
