/**
 * Where the CPU goes while typing (bench:ui --profile): V8 CPU profiles of code-server's
 * extension host and of the workbench's renderer (which, in code-server, also runs the preview's
 * webview) over one typing window, summed per owner — an extension, VS Code itself, the garbage
 * collector, idle — in ms per key. At 10 keys/s a process with more than 100 ms of work per key
 * falls behind whatever the preview does, which is what these figures are for.
 *
 * The extension host is a plain Node process that code-server forks: its inspector is switched on
 * with SIGUSR1 (Node's documented way to enable it in a running process, port 9229) and driven
 * over its WebSocket. The renderer is profiled through Playwright's CDP session. With
 * MLN_CPU_PROFILE_DIR set, both profiles are also written there (.cpuprofile).
 */
import * as fs from 'node:fs';
import type { CDPSession } from 'playwright-core';
import WebSocket from 'ws';
import type { VSCode } from '../test/e2e/harness';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
type Send = (method: string, params?: Record<string, unknown>) => Promise<unknown>;

const INSPECTOR_PORT = 9229;

export class CpuWindow {
  private constructor(private readonly host: { send: Send; close: () => void }, private readonly renderer: CDPSession) {}

  static async start(vs: VSCode): Promise<CpuWindow> {
    // The workbench starts its extension host after it shows: wait for it.
    let pid: number | undefined;
    for (const end = Date.now() + 30_000; pid === undefined; ) {
      pid = roles(vs.root).get('ext_host')?.[0]?.pid;
      if (pid === undefined && Date.now() > end) throw new Error(`no extension host found for the code-server under ${vs.root}`);
      if (pid === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(pid, 'SIGUSR1');
    const host = await connectInspector(INSPECTOR_PORT);
    const renderer = await vs.page.context().newCDPSession(vs.page);
    for (const send of [host.send, (m: string, p?: Record<string, unknown>) => renderer.send(m as 'Profiler.enable', p)]) {
      await send('Profiler.enable');
      await send('Profiler.setSamplingInterval', { interval: 500 });
      await send('Profiler.start');
    }
    return new CpuWindow(host, renderer);
  }

  /** Stops both profiles; ms per key (per `keys`) by owner, largest first; `name` names the files kept. */
  async stop(keys: number, name = 'typing'): Promise<{ ext_host: Record<string, number>; renderer: Record<string, number> }> {
    const h = ((await this.host.send('Profiler.stop')) as { profile: Profile }).profile;
    const r = (await this.renderer.send('Profiler.stop')).profile as unknown as Profile;
    this.host.close();
    await this.renderer.detach();
    // For a closer look (Chrome DevTools' Performance panel opens them).
    const dir = process.env['MLN_CPU_PROFILE_DIR'];
    if (dir) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(`${dir}/${name}-ext-host.cpuprofile`, JSON.stringify(h));
      fs.writeFileSync(`${dir}/${name}-renderer.cpuprofile`, JSON.stringify(r));
    }
    return { ext_host: perKey(owners(h, hostOwner), keys), renderer: perKey(owners(r, rendererOwner), keys) };
  }
}

interface Proc { pid: number; session: number; cpuTicks: number; cmd: string[] }

function processes(): Proc[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields after the command: state ppid pgrp session … utime(11) stime(12), in clock ticks.
      return [{ pid: Number(pid), session: Number(f[3]), cpuTicks: Number(f[11]) + Number(f[12]), cmd: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') }];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/** The processes of the code-server that `launch()` started under `root` (one session), by role. */
function roles(root: string, procs = processes()): Map<string, Proc[]> {
  const server = procs.find((p) => p.cmd.some((a) => a.startsWith(root)) && p.cmd.includes('--bind-addr'));
  if (!server) throw new Error(`no code-server found under ${root}`);
  const out = new Map<string, Proc[]>();
  const add = (role: string, p: Proc) => out.set(role, [...(out.get(role) ?? []), p]);
  for (const p of procs) {
    // Chromium rewrites its command line into one string: match on the joined line.
    const line = p.cmd.join(' ');
    if (p.session === server.session && line.includes('--type=extensionHost')) add('ext_host', p);
    else if (p.session === server.session && line.includes('markdown-language-features')) add('markdown_server', p);
    // Chromium's page renderers (the workbench, and the webviews it hosts in the same process);
    // not the browser's own UI. WARNING: machine-wide, so the bench must run alone.
    else if (/chrom/.test(p.cmd[0] ?? '') && line.includes('--type=renderer') && !line.includes('--top-chrome-webui')) add('renderer', p);
  }
  return out;
}

/**
 * CPU time (user + system, from /proc) of the renderer, the extension host and the Markdown
 * language server between start() and stop(), in ms per key: cheap enough to take on every run,
 * with the preview open and with none, so the note shows what VS Code itself costs per key.
 */
export class ProcCpu {
  private constructor(private readonly root: string, private readonly before: Map<number, number>) {}

  static start(root: string): ProcCpu {
    const before = new Map<number, number>();
    for (const ps of roles(root).values()) for (const p of ps) before.set(p.pid, p.cpuTicks);
    return new ProcCpu(root, before);
  }

  stop(keys: number): Record<string, number> {
    const tickMs = 1000 / CLOCK_TICKS_PER_S;
    const out: Record<string, number> = {};
    for (const [role, ps] of roles(this.root)) {
      const ticks = ps.reduce((sum, p) => sum + p.cpuTicks - (this.before.get(p.pid) ?? 0), 0);
      out[role] = Math.round((ticks * tickMs) / keys);
    }
    return out;
  }
}

/**
 * Waits (at most `maxMs`) until the extension host has had a second with under 100 ms of CPU,
 * so a typing window does not count work left over from before it (a note's first full render
 * after it was reopened, the note index).
 */
export async function extensionHostQuiet(root: string, maxMs = 60_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const cpu = ProcCpu.start(root);
    await new Promise((r) => setTimeout(r, 1000));
    const busy = cpu.stop(1)['ext_host'] ?? 0;
    if (busy < 100 || Date.now() - t0 > maxMs) return Date.now() - t0;
  }
}

/** USER_HZ: Linux reports utime/stime in 1/100 s on every architecture it runs on here. */
const CLOCK_TICKS_PER_S = 100;

async function connectInspector(port: number): Promise<{ send: Send; close: () => void }> {
  let url: string | undefined;
  for (let i = 0; i < 50 && !url; i++) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
      url = list[0]?.webSocketDebuggerUrl;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!url) throw new Error(`the extension host's inspector did not open on port ${port}`);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  const send: Send = (method, params = {}) => new Promise((resolve, reject) => {
    const i = ++id;
    pending.set(i, { resolve, reject });
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  return { send, close: () => ws.close() };
}

/** Microseconds per owner: each sample goes to the innermost frame that has a script URL. */
function owners(p: Profile, owner: (url: string) => string): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map<string, number>();
  p.samples.forEach((leaf, i) => {
    let id: number | undefined = leaf;
    let name = byId.get(leaf)!.callFrame.functionName; // (idle), (garbage collector), (program)
    while (id !== undefined) {
      const url = byId.get(id)!.callFrame.url;
      if (url) { name = owner(url); break; }
      id = parent.get(id);
    }
    out.set(name, (out.get(name) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  return out;
}

function hostOwner(url: string): string {
  // Built-in extensions live under code-server's extensions/, installed ones (ML Notes) under
  // the harness's ext/ folder, as publisher.name-version.
  const ext = /\/ext(?:ensions)?\/([^/]+)\//.exec(url)?.[1];
  if (ext) return ext.replace(/-\d+\.\d+\.\d+$/, '').replace(/^ml-notes\.ml-notes$/, 'ml-notes');
  return /code-server\//.test(url) ? 'vscode' : url.startsWith('node:') || !url.includes('/') ? 'node' : 'other';
}

function rendererOwner(url: string): string {
  if (/ml-notes/.test(url)) return 'ml-notes webview';
  if (/\/webview\//.test(url)) return 'webview host';
  return /workbench|\/out\/vs\//.test(url) ? 'workbench' : 'other';
}

function perKey(us: Map<string, number>, keys: number): Record<string, number> {
  return Object.fromEntries([...us].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v / 1000 / keys)]));
}
