/**
 * npm run bench:ui -- [NOTE.md] [--small NOTE.md] [--keys N] [--builtin-keys N] [--no-builtin] [--profile] [--setting KEY=JSON]
 *
 * The preview as the user feels it, in the real workbench: code-server with the packaged
 * dist-vsix/ml-notes.vsix (test/e2e/harness.ts), driven through Chromium by Playwright. Opens
 * NOTE.md (default: the generated 8 000-line note of bench/largeNote.ts) and prints ONE JSON line:
 * ML Notes' preview figures, then, in the same session on the same note, VS Code's built-in
 * preview (`builtin_*`), and, in a second session, the figures on a small sample note (`small_*`).
 *
 * Everything is measured from outside the extension, through the DOM only, so the figures stay
 * comparable while the preview's webview and protocol change:
 *  - first/all content: from the click on the "Open Preview" command to the first moment the
 *    webview's document contains the note's first / last heading text (a MutationObserver in the
 *    content frame; the frame itself is found by polling every 50 ms, so ±50 ms until installed).
 *    Once the first heading shows, the editor jumps to the note's end (Ctrl+End), as a reader
 *    checking the whole note would: a preview that keeps only the part near its viewport in the
 *    DOM (ML Notes on a long note) shows the last heading only when scrolled there, and one that
 *    renders everything shows it once rendered, so "all content" is the same moment for both:
 *    the whole note is there and its end is reachable;
 *  - keystroke → preview: a unique anchor is typed at the start of a prose line (untimed), then
 *    N keys at a fixed 10 keys/s schedule; per key, the time from the moment the key was sent
 *    to the first DOM mutation in the webview after which the text reads anchor + keys so far +
 *    the line's own first character (so the key really landed at that spot);
 *  - echo: the same, against the editor's own DOM (`.view-lines`);
 *  - long frames: a requestAnimationFrame loop in the workbench page (code-server paints the
 *    webview in the workbench's renderer) counts frames over 100 ms from the first key until the
 *    preview showed the last one;
 *  - message bytes: JSON.stringify(event.data).length of every message the content frame
 *    receives from its host frame while typing.
 *  - host_command_ms / host_page_written_ms / host_page_ready_ms: from the same click to ML Notes'
 *    log lines saying the command reached the extension host, it wrote the page (with its first
 *    render in it) and the page said ready, so a slow first view shows which part was slow;
 *  - CPU ms per key (user + system time from /proc) of the workbench renderer, the extension host
 *    and the Markdown language server, typing in the middle with ML Notes' preview open and with
 *    no preview at all (the same keys, schedule and window: first key to 3 s after the last);
 *  - --profile: CPU ms from opening the note to all content, per owner, and CPU ms per key in the extension host and the workbench renderer, per owner (an
 *    extension, VS Code, GC, idle), over ML Notes' typing window in the middle (bench/cpuWindow.ts).
 * Timestamps are taken in each frame with performance.timeOrigin + now() and corrected by the
 * frame's measured offset to Date.now(), so Node and both frames share one clock.
 *
 * On a timeout or failure it still prints the figures it has, with an "error" field, and
 * always ends code-server's process group (harness close()).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- page callbacks run in the browser, and this tsconfig has no DOM types */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { launch, openQuickInput, waitFor, REPO, type VSCode } from '../test/e2e/harness';
import { CpuWindow, ProcCpu, extensionHostQuiet } from './cpuWindow';
import { makeLargeNote } from './largeNote';

// The browser globals the page callbacks below use (they run in Chromium, not in Node).
declare const window: any, document: any, MutationObserver: any, requestAnimationFrame: any;

const ML_OPEN = 'ML Notes: Open Preview to the Side';
const BUILTIN_OPEN = 'Markdown: Open Preview to the Side';
const KEY_INTERVAL_MS = 100; // 10 keys/s, a fast typist
const LONG_FRAME_MS = 100;
/** CPU is counted from the first key to this long after the last one was due (work a key leaves behind counts). */
const CPU_TAIL_MS = 3000;
const TOTAL_LIMIT_MS = 12 * 60_000;
const KEY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

interface Args { note?: string; small: string; keys: number; builtinKeys: number; builtin: boolean; profile: boolean; settings: Record<string, unknown> }

function parseArgs(argv: string[]): Args {
  const a: Args = { small: path.join(REPO, 'notes', '02-diffusion-sde.md'), keys: 20, builtinKeys: 10, builtin: true, profile: false, settings: {} };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    if (v === '--small') a.small = path.resolve(argv[++i]!);
    else if (v === '--keys') a.keys = Math.min(26, Math.max(1, Number(argv[++i])));
    else if (v === '--builtin-keys') a.builtinKeys = Math.min(26, Math.max(1, Number(argv[++i])));
    else if (v === '--no-builtin') a.builtin = false;
    else if (v === '--profile') a.profile = true;
    else if (v === '--setting') {
      // --setting mlNotes.preview.diagnostics=false: a user setting for both sessions (value is JSON).
      const [key, ...rest] = argv[++i]!.split('=');
      a.settings[key!] = JSON.parse(rest.join('='));
    }
    else if (v.startsWith('--')) throw new Error(`unknown option ${v}`);
    else a.note = path.resolve(v);
  }
  return a;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
}

// ---------------------------------------------------------------- the note

/** Lines (0-based) that start a plain prose paragraph: first character a letter, outside code and display math. */
function proseLines(text: string): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  let fence: string | null = null;
  let math = false;
  let i = 0;
  if (lines[0]?.trim() === '---') { // front matter
    i = 1;
    while (i < lines.length && lines[i]!.trim() !== '---') i++;
    i++;
  }
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    const t = l.trim();
    const f = /^(`{3,}|~{3,})/.exec(t);
    if (fence) { if (f && t.startsWith(fence)) fence = null; continue; }
    if (f) { fence = f[1]!; continue; }
    if (math) { if (t.endsWith('$$') || t === '\\]') math = false; continue; }
    if (t === '$$' || (t.startsWith('$$') && !t.slice(2).includes('$$')) || t === '\\[') { math = true; continue; }
    if (/^\p{L}/u.test(l)) out.push(i);
  }
  return out;
}

/** A run of plain text (letters, digits, spaces) of a heading, as it reads in any renderer. */
function plainRun(line: string): string | null {
  const body = line.replace(/^#+\s*/, '');
  const runs = body.split(/[^\p{L}\p{N} ]+/u).map((s) => s.trim()).filter((s) => s.length >= 2);
  runs.sort((a, b) => b.length - a.length);
  return runs[0] ?? null;
}

export function headingNeedles(text: string): { first: string; last: string } {
  const heads = text.split('\n').filter((l) => /^#{1,6}\s/.test(l)).map(plainRun).filter((s): s is string => !!s);
  const fallback = text.split('\n').map(plainRun).filter((s): s is string => !!s);
  const first = heads[0] ?? fallback[0];
  const last = heads[heads.length - 1] ?? fallback[fallback.length - 1];
  if (!first || !last) throw new Error('the note has no plain text to look for in the preview');
  return { first, last };
}

// ---------------------------------------------------------------- in-page code

/**
 * Installed into a frame: watches the DOM under `rootSelector` and records, for each target
 * string, the first time (frame clock) the text of a mutated block contains it. Mutated blocks are
 * read, not the whole document, so the observer costs little even on a 4 MB preview; a node with
 * many children (the document root) is read through the nodes added to it instead.
 */
export const INSTALL_WATCH = (arg: { id: string; targets: string[]; rootSelector: string; messages: boolean }): boolean => {
  const w = window as any;
  const now = () => performance.timeOrigin + performance.now();
  w.__mlnBench = w.__mlnBench || {};
  const old = w.__mlnBench[arg.id];
  if (old) old.observer.disconnect();
  const root = document.querySelector(arg.rootSelector);
  if (!root) return false;
  const st: any = { seen: arg.targets.map(() => 0), targets: arg.targets, root, observer: null };
  const check = (text: string | null | undefined, t: number) => {
    if (!text) return;
    for (let i = 0; i < arg.targets.length; i++) if (!st.seen[i] && text.includes(arg.targets[i]!)) st.seen[i] = t;
  };
  const readable = (n: any): boolean => n && n.nodeType === 1 && n !== document.body && n !== document.documentElement &&
    n.childElementCount < 64;
  st.observer = new MutationObserver((records: any[]) => {
    const t = now();
    for (const r of records) {
      let n: any = r.type === 'characterData' ? r.target.parentNode : r.target;
      // Read the enclosing block (a paragraph, a line), so a text split over siblings still matches.
      if (n && n.nodeType === 1 && readable(n.parentNode) && n.childElementCount < 64) n = n.parentNode;
      if (readable(n)) check(n.textContent, t);
      else for (const a of r.addedNodes as any) check(a.textContent, t);
    }
  });
  st.observer.observe(root, { subtree: true, childList: true, characterData: true });
  check(root.textContent, now()); // what is already there
  if (arg.messages) {
    // WARNING: VS Code writes a webview's document with document.open(), which erases window
    // listeners but keeps `window`: a fresh listener is added on every install, and only the
    // newest one (its token) records, so none is lost or counted twice.
    const token = {};
    const prev = w.__mlnBenchMessages;
    w.__mlnBenchMessages = { on: prev ? prev.on : false, sizes: prev ? prev.sizes : [], token };
    window.addEventListener('message', (e: any) => {
      const m = w.__mlnBenchMessages;
      // Every message counts: the host's arrive with a null-like source in code-server's nested frames.
      if (!m.on || m.token !== token) return;
      let n = 0;
      try { n = JSON.stringify(e.data)?.length ?? 0; } catch { n = -1; }
      m.sizes.push(n);
    });
  }
  w.__mlnBench[arg.id] = st;
  return true;
};

export const READ_WATCH = ({ id, full }: { id: string; full: boolean }): { seen: number[]; offset: number; fallback: boolean } | null => {
  const st = (window as any).__mlnBench?.[id];
  if (full && st && st.root.isConnected && st.seen.some((t: number) => !t)) {
    // Safety net for a DOM change the observer missed: read the whole text (costly, so rarely).
    const text = st.root.textContent || '';
    const t = performance.timeOrigin + performance.now();
    st.seen.forEach((v: number, i: number) => { if (!v && text.includes(st.targets[i])) { st.seen[i] = t; st.fallback = true; } });
  }
  // A watched root that left the document (document.open(), a replaced body) is no watch at all.
  // offset: this frame's clock minus Date.now(), to put its timestamps on Node's clock.
  return st && st.root.isConnected
    ? { seen: st.seen as number[], offset: performance.timeOrigin + performance.now() - Date.now(), fallback: !!st.fallback }
    : null;
};

const STOP_WATCH = (id: string): void => {
  const st = (window as any).__mlnBench?.[id];
  if (st) st.observer.disconnect();
};

const MESSAGES = (on: boolean | null): number[] => {
  const m = (window as any).__mlnBenchMessages;
  if (!m) return [];
  if (on !== null) { m.on = on; if (on) m.sizes = []; }
  return m.sizes as number[];
};

/** Workbench page: rAF loop recording frame gaps, and keydown times (the browser's event timestamps). */
const FRAMES = ({ cmd, longMs }: { cmd: string; longMs: number }): { long: number[]; max: number; keys: number[]; offset: number } => {
  const w = window as any;
  const f = w.__mlnBenchFrames || (w.__mlnBenchFrames = { on: false, long: [], max: 0, keys: [], last: 0 });
  if (cmd === 'start') {
    f.on = true; f.long = []; f.max = 0; f.keys = []; f.last = 0;
    if (!f.listening) {
      f.listening = true;
      window.addEventListener('keydown', (e: any) => { if (f.on) f.keys.push(performance.timeOrigin + e.timeStamp); }, true);
    }
    const tick = (t: number) => {
      if (!f.on) return;
      if (f.last) { const d = t - f.last; if (d > f.max) f.max = d; if (d > longMs) f.long.push(d); }
      f.last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  } else f.on = false;
  return { long: f.long, max: f.max, keys: f.keys, offset: performance.timeOrigin + performance.now() - Date.now() };
};

/**
 * Runs `fn(arg)` in a page or frame. WARNING: tsx compiles this file with esbuild's keepNames,
 * which wraps inner named functions in `__name(...)` calls that do not exist in the page; the
 * function is therefore sent as source with a no-op `__name` in scope, and `arg` as JSON.
 */
export function inPage<A, R>(target: Page | Frame, fn: (a: A) => R, arg: A): Promise<R> {
  return target.evaluate(`((__name) => (${fn.toString()})(${JSON.stringify(arg)}))((f) => f)`) as Promise<R>;
}

// ---------------------------------------------------------------- workbench helpers

/** Picks `title` in the command palette; returns Date.now() of the click that runs it. */
async function runCommandTimed(vs: VSCode, title: string): Promise<number> {
  const { page } = vs;
  await openQuickInput(page, 'F1');
  await page.locator('.quick-input-widget input.input').fill(`>${title}`);
  const row = await waitFor(`command palette row "${title}"`, async () => {
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    const n = await rows.count();
    for (let i = 0; i < n; i++) {
      const label = (await rows.nth(i).locator('.label-name').first().textContent().catch(() => null))?.trim();
      if (label === title) return rows.nth(i);
    }
    return undefined;
  }, 30_000, 150);
  const t0 = Date.now();
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  return t0;
}

/** Waits until the workbench renderer paints a frame again (it can be busy for a minute laying out a huge preview). */
async function settle(page: Page, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    page.evaluate('new Promise((r) => requestAnimationFrame(() => r(1)))'),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the workbench did not paint for ${timeoutMs} ms`)), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
}

async function gotoLine(vs: VSCode, base: string, line1: number): Promise<void> {
  const { page } = vs;
  await settle(page, 180_000);
  await vs.focusEditor(vs.editorOf(base));
  await openQuickInput(page, 'Control+G');
  await page.locator('.quick-input-widget input.input').fill(`:${line1}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.keyboard.press('Home');
}

/** Webview content frames (inner frames of `iframe.webview`): every frame below the main one that is not a webview host. */
function candidateFrames(page: Page): Frame[] {
  return page.frames().filter((f) => f !== page.mainFrame() && !f.isDetached());
}

/**
 * Installs `targets` watches in every webview frame until one of them contains targets[0]
 * (polling every 50 ms); returns that frame. Frames are re-instrumented when a new one appears.
 */
export async function findWebviewWith(page: Page, id: string, targets: string[], timeoutMs: number): Promise<Frame> {
  let round = 0;
  // What each round saw, for the error if it never finds the text (a bench run missed a
  // preview that its failure screenshot shows: these say which frame said what).
  let seen: string[] = [];
  return waitFor(`a webview frame showing "${targets[0]}"`, async () => {
    seen = [];
    let failure: unknown;
    const full = ++round % 20 === 0;
    for (const f of candidateFrames(page)) {
      try {
        // A frame keeps its Frame object across navigations: (re)install when its document has no watch.
        let r = await inPage(f, READ_WATCH, { id, full });
        if (!r && (await inPage(f, INSTALL_WATCH, { id, targets, rootSelector: 'body', messages: true }))) r = await inPage(f, READ_WATCH, { id, full });
        if (r?.fallback) fallbacks.add(id);
        if (r && r.seen[0]) return f;
        seen.push(`${f.name() || f.url().slice(-40)}: ${r ? 'watching, not seen' : 'no watch (no body)'}`);
      } catch (e) {
        // Detached or navigating: the next round sees its successor. Anything else is reported.
        if (!/detached|destroyed|navigat|closed/i.test(String(e))) failure = e;
        seen.push(`${f.name() || f.url().slice(-40)}: ${String(e).split('\n')[0]!.slice(0, 120)}`);
      }
    }
    if (failure) throw failure;
    return undefined;
  }, timeoutMs, 50).catch(async (e: unknown) => {
    throw new Error(`${String(e)}; frames in the last round: ${seen.join(' | ') || 'none'}; hosts: ${await hostsSay(page, targets[0]!)}`);
  });
}

/**
 * For the error above: what each webview host frame sees in its content frames through the DOM
 * (same origin), independent of which frames Playwright tracks.
 */
async function hostsSay(page: Page, target: string): Promise<string> {
  const out: string[] = [];
  for (const f of candidateFrames(page)) {
    const said = await inPage(f, (t: string) => [...document.querySelectorAll('iframe')].map((i: any) => {
      let doc: any;
      try { doc = i.contentDocument; } catch { return `${i.id}: cross-origin`; }
      if (!doc) return `${i.id}: no document`;
      const text = doc.body?.textContent ?? '';
      return `${i.id}: ${doc.readyState}, ${text.length} chars, ${text.includes(t) ? 'has' : 'lacks'} the text`;
    }).join(', '), target).catch((err: unknown) => String(err).split('\n')[0]!.slice(0, 80));
    if (said) out.push(`${f.name() || f.url().slice(-40)} [${f.parentFrame() === page.mainFrame() ? 'top' : 'nested'}] -> ${said}`);
  }
  return out.join(' | ') || 'none';
}

/** Watches whose figure came from the full-text safety net (reported as a warning: less precise). */
const fallbacks = new Set<string>();

/**
 * The watch's times on Node's clock (0: not seen). `full` also runs the full-text safety net:
 * never while typing is timed, where reading a 4 MB document would itself make long frames.
 */
async function readWatch(f: Frame, id: string, full = false): Promise<number[]> {
  const r = await inPage(f, READ_WATCH, { id, full });
  if (!r) throw new Error(`watch ${id} is gone from the frame (the webview reloaded its document?)`);
  if (r.fallback) fallbacks.add(id);
  return r.seen.map((t) => (t ? t - r.offset : 0));
}

// ---------------------------------------------------------------- measurements

interface OpenResult { first_content_ms: number; all_content_ms: number | null; frame: Frame; clickedAt: number }

export async function measureOpen(vs: VSCode, title: string, needles: { first: string; last: string }, id: string, timeoutMs: number, base: string): Promise<OpenResult> {
  const t0 = await runCommandTimed(vs, title);
  const frame = await findWebviewWith(vs.page, id, [needles.first, needles.last], timeoutMs);
  await vs.focusEditor(vs.editorOf(base));
  await vs.page.keyboard.press('Control+End');
  let round = 0;
  await waitFor(`the last heading "${needles.last}" in the preview`, async () => {
    const s = await readWatch(frame, id, ++round % 10 === 0);
    return s[1] ? s : undefined;
  }, Math.max(5_000, timeoutMs - (Date.now() - t0)), 100).catch(() => undefined);
  const last = await readWatch(frame, id);
  return {
    first_content_ms: Math.round(last[0]! - t0),
    all_content_ms: last[1] ? Math.round(last[1] - t0) : null,
    frame,
    clickedAt: t0,
  };
}

/**
 * ML Notes' own log lines (its output channel's file under the session's logs) at or after
 * `since`, with their times on Node's clock (VS Code writes local time, to the millisecond).
 */
function extensionLog(vs: VSCode, since: number): Array<{ t: number; text: string }> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/ML Notes\.log$/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(vs.root, 'ud', 'logs'));
  return files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').flatMap((l) => {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) \[\w+\] (.*)$/.exec(l);
    const t = m ? new Date(`${m[1]}T${m[2]}`).getTime() : NaN;
    return m && t >= since - 1000 ? [{ t, text: m[3]! }] : [];
  }));
}

/** When the extension wrote the preview's page and when that page said ready, from its log. */
function pageStages(vs: VSCode, clickedAt: number): Record<string, number | string | null> {
  const lines = extensionLog(vs, clickedAt);
  const received = lines.find((l) => /^preview: command received/.test(l.text));
  const written = lines.find((l) => /^preview: page of .* written in/.test(l.text));
  const ready = lines.find((l) => /^preview: page ready/.test(l.text));
  return {
    host_command_ms: received ? received.t - clickedAt : null,
    host_page_written_ms: written ? written.t - clickedAt : null,
    host_page_ready_ms: ready ? ready.t - clickedAt : null,
    host_page_log: written ? written.text : null,
  };
}

interface TypingResult {
  keystroke_ms: number[];
  cpu_ms_per_key?: { ext_host: Record<string, number>; renderer: Record<string, number> };
  proc_cpu_ms_per_key?: Record<string, number>;
  echo_ms: number[];
  long_frames: number[];
  max_frame_ms: number;
  window_ms: number;
  keys_per_s: number;
  message_sizes: number[];
  missing_preview: number;
  missing_echo: number;
}

/**
 * Types `anchor` at the start of 0-based `line` (untimed, waits until the preview shows it), then
 * `nKeys` keys at 10 keys/s, and measures each key's echo and preview latency.
 */
async function measureTyping(
  vs: VSCode, base: string, text: string, line: number, anchor: string, nKeys: number, frameHint: Frame, waitMs: number,
  cpu: { profile: boolean; proc: boolean } = { profile: false, proc: false },
): Promise<TypingResult> {
  const { page } = vs;
  const keys = KEY_ALPHABET.slice(0, nKeys);
  const next = text.split('\n')[line]![0]!; // the line's own first character: the key landed before it
  const targets = [anchor + next, ...[...keys].map((_, i) => anchor + keys.slice(0, i + 1) + next)];
  const id = `type-${anchor}`;

  await gotoLine(vs, base, line + 1);
  await inPage(page, INSTALL_WATCH, { id, targets, rootSelector: '.part.editor', messages: false });
  await page.keyboard.type(anchor, { delay: 20 });
  await waitFor(`the anchor ${anchor} in the editor`, async () => (await readWatch(page.mainFrame(), id))[0], 10_000, 50);
  // The frame may have been replaced since it was opened: find the one that shows the anchor.
  let frame = frameHint;
  const ok = await inPage(frame, INSTALL_WATCH, { id, targets, rootSelector: 'body', messages: true }).catch(() => false);
  if (!ok || !(await waitFor('anchor in the preview', async () => (await readWatch(frame, id))[0], waitMs, 50).catch(() => 0))) {
    frame = await findWebviewWith(page, id, targets, waitMs);
  }
  await sleep(300); // let the anchor's own render settle
  if (cpu.proc) await extensionHostQuiet(vs.root);
  await inPage(page, INSTALL_WATCH, { id, targets, rootSelector: '.part.editor', messages: false });
  await inPage(frame, INSTALL_WATCH, { id, targets, rootSelector: 'body', messages: true });
  await inPage(frame, MESSAGES, true);
  await inPage(page, FRAMES, { cmd: 'start', longMs: LONG_FRAME_MS });
  const profiler = cpu.profile ? await CpuWindow.start(vs) : undefined;
  const procCpu = cpu.proc ? ProcCpu.start(vs.root) : undefined;

  // Fire each key at its scheduled time, without waiting for the previous one to be handled:
  // a typist does not wait for a busy renderer, so queueing delay counts in the latency.
  const sent: number[] = [];
  const presses: Promise<void>[] = [];
  const start = Date.now() + 50;
  for (let i = 0; i < nKeys; i++) {
    const at = start + i * KEY_INTERVAL_MS;
    const d = at - Date.now();
    if (d > 0) await sleep(d);
    sent.push(Date.now());
    presses.push(page.keyboard.press(keys[i]!));
  }
  await Promise.all(presses);
  const last = nKeys;
  const previewSeen = await waitFor('the last key in the preview', async () => {
    const s = await readWatch(frame, id);
    return s[last] ? s : undefined;
  }, waitMs, 50).catch(() => readWatch(frame, id, true)); // timed out: one full read tells a missed change from a missing key
  const cpuMs = await profiler?.stop(nKeys);
  let procMs: Record<string, number> | undefined;
  if (procCpu) {
    await sleep(Math.max(0, sent[0]! + nKeys * KEY_INTERVAL_MS + CPU_TAIL_MS - Date.now()));
    procMs = procCpu.stop(nKeys);
  }
  const frames = await inPage(page, FRAMES, { cmd: 'stop', longMs: LONG_FRAME_MS });
  const messages = await inPage(frame, MESSAGES, false);
  const echoSeen = await readWatch(page.mainFrame(), id);
  await inPage(page, STOP_WATCH, id);
  await inPage(frame, STOP_WATCH, id);

  // A longer prefix shown implies the shorter ones: a key coalesced with the next one gets the
  // time both appeared.
  const latencies = (seen: number[]) => {
    const out: number[] = [];
    let missing = 0;
    for (let i = 0; i < nKeys; i++) {
      let t = 0;
      for (let j = i + 1; j <= nKeys && !t; j++) t = seen[j]!;
      if (t) out.push(t - sent[i]!);
      else missing++;
    }
    return { out, missing };
  };
  const p = latencies(previewSeen);
  const e = latencies(echoSeen);
  const keyTimes = frames.keys.map((t) => t - frames.offset);
  const lastShown = previewSeen[last] || Date.now();
  return {
    keystroke_ms: p.out,
    cpu_ms_per_key: cpuMs,
    proc_cpu_ms_per_key: procMs,
    echo_ms: e.out,
    long_frames: frames.long,
    max_frame_ms: frames.max,
    window_ms: lastShown - sent[0]!,
    keys_per_s: keyTimes.length > 1 ? (keyTimes.length - 1) / ((keyTimes[keyTimes.length - 1]! - keyTimes[0]!) / 1000) : 0,
    message_sizes: messages,
    missing_preview: p.missing,
    missing_echo: e.missing,
  };
}

/** CPU per key (ProcCpu) over the same schedule and window as measureTyping's, with no preview open. */
async function measureCpuNoPreview(vs: VSCode, base: string, text: string, line: number, anchor: string, nKeys: number): Promise<Record<string, number>> {
  const { page } = vs;
  const keys = KEY_ALPHABET.slice(0, nKeys);
  const next = text.split('\n')[line]![0]!;
  const id = `type-${anchor}`;
  await gotoLine(vs, base, line + 1);
  await inPage(page, INSTALL_WATCH, { id, targets: [anchor + next], rootSelector: '.part.editor', messages: false });
  await page.keyboard.type(anchor, { delay: 20 });
  await waitFor(`the anchor ${anchor} in the editor`, async () => (await readWatch(page.mainFrame(), id))[0], 10_000, 50);
  await inPage(page, STOP_WATCH, id);
  await sleep(300);
  await extensionHostQuiet(vs.root);
  const cpu = ProcCpu.start(vs.root);
  const start = Date.now() + 50;
  const presses: Promise<void>[] = [];
  for (let i = 0; i < nKeys; i++) {
    const d = start + i * KEY_INTERVAL_MS - Date.now();
    if (d > 0) await sleep(d);
    presses.push(page.keyboard.press(keys[i]!));
  }
  await Promise.all(presses);
  await sleep(Math.max(0, start + nKeys * KEY_INTERVAL_MS + CPU_TAIL_MS - Date.now()));
  return cpu.stop(nKeys);
}

async function closeAllReverting(vs: VSCode, base: string): Promise<void> {
  const { page } = vs;
  await vs.focusEditor(vs.editorOf(base));
  await runCommandTimed(vs, 'File: Revert File');
  await waitFor('the note reverted (no dirty tab)', async () => (await page.locator('.tabs-container .tab.dirty').count()) === 0, 10_000, 100);
  await runCommandTimed(vs, 'View: Close All Editors');
  await waitFor('no editor open', async () => (await page.locator('.tabs-container .tab').count()) === 0, 10_000, 100);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t00 = Date.now();
  const result: Record<string, unknown> = {};
  const warnings: string[] = [];
  const text = args.note ? fs.readFileSync(args.note, 'utf8') : makeLargeNote();
  const smallText = fs.readFileSync(args.small, 'utf8');
  const base = args.note ? path.basename(args.note) : 'bench-large-note.md';
  const smallBase = `small-${path.basename(args.small)}`;
  result.note = args.note ? path.relative(REPO, args.note) : 'bench/largeNote.ts makeLargeNote()';
  result.note_lines = text.split('\n').length;
  result.small_note = path.relative(REPO, args.small);
  if (Object.keys(args.settings).length) result.settings = args.settings;
  result.keys_per_position = args.keys;

  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-bench-ui-ws-'));
  fs.writeFileSync(path.join(ws, base), text);
  fs.writeFileSync(path.join(ws, smallBase), smallText);
  const needles = headingNeedles(text);
  const prose = proseLines(text);
  if (prose.length < 3) throw new Error('the note needs at least 3 prose lines (starting with a letter) to type into');
  const n = text.split('\n').length;
  const pick = (at: number) => prose.find((l) => l >= at) ?? prose[prose.length - 1]!;
  const positions: Array<[string, number]> = [['start', pick(2)], ['middle', pick(Math.floor(n / 2))], ['end', prose.filter((l) => l <= n - 3).pop() ?? prose[prose.length - 1]!]];
  result.lines_typed = Object.fromEntries(positions.map(([k, l]) => [k, l + 1]));

  let vs: VSCode | undefined;
  let timer: NodeJS.Timeout | undefined;
  const body = async () => {
    vs = await launch({ name: 'bench-ui', workspace: ws, settings: args.settings });
    vs.page.setDefaultTimeout(60_000); // a loaded 2-core machine, and a built-in preview that blocks the renderer
    result.startup_ms = Date.now() - t00;

    // ML Notes' preview on the note (--profile: the CPU from opening the note to all content, in ms).
    const openCpu = args.profile ? await CpuWindow.start(vs) : undefined;
    await vs.openFile(base);
    const open = await measureOpen(vs, ML_OPEN, needles, 'open-ml', 180_000, base);
    if (openCpu) result.cpu_profile_ms_open = await openCpu.stop(1, 'open');
    result.first_content_ms = open.first_content_ms;
    result.all_content_ms = open.all_content_ms;
    Object.assign(result, pageStages(vs, open.clickedAt));
    if (open.all_content_ms === null) warnings.push('ML Notes: the last heading never appeared');
    let longFrames = 0;
    let maxFrame = 0;
    let windowMs = 0;
    const echo: number[] = [];
    const messages: number[] = [];
    const rates: number[] = [];
    for (const [where, line] of positions) {
      const middle = where === 'middle';
      const r = await measureTyping(vs, base, text, line, `zqmln${where[0]}x`, args.keys, open.frame, 60_000, { profile: args.profile && middle, proc: middle });
      if (r.cpu_ms_per_key) result.cpu_profile_ms_per_key_middle = r.cpu_ms_per_key;
      if (r.proc_cpu_ms_per_key) result.cpu_ms_per_key_middle = r.proc_cpu_ms_per_key;
      result[`keystroke_p50_ms_${where}`] = pct(r.keystroke_ms, 50);
      result[`keystroke_p95_ms_${where}`] = pct(r.keystroke_ms, 95);
      result[`keystroke_max_ms_${where}`] = pct(r.keystroke_ms, 100);
      if (r.missing_preview) warnings.push(`ML Notes ${where}: ${r.missing_preview} of ${args.keys} keys never showed in the preview`);
      if (r.missing_echo) warnings.push(`ML Notes ${where}: ${r.missing_echo} of ${args.keys} keys never showed in the editor`);
      longFrames += r.long_frames.length;
      maxFrame = Math.max(maxFrame, r.max_frame_ms);
      windowMs += r.window_ms;
      echo.push(...r.echo_ms);
      messages.push(...r.message_sizes);
      rates.push(r.keys_per_s);
    }
    result.echo_p50_ms = pct(echo, 50);
    result.echo_p95_ms = pct(echo, 95);
    result.long_frames = longFrames;
    result.max_frame_ms = Math.round(maxFrame);
    result.typing_window_s = +(windowMs / 1000).toFixed(1);
    result.keys_per_s_min = +Math.min(...rates).toFixed(1);
    result.message_count = messages.length;
    result.message_bytes_p50 = pct(messages, 50);
    result.message_bytes_max = pct(messages, 100);
    // Protocol-neutral: whatever the messages look like, what one keystroke costs in bytes.
    result.message_bytes_per_key = Math.round(messages.reduce((a, b) => a + b, 0) / (positions.length * args.keys));
    if (!messages.length) warnings.push('no message reached the preview frame while typing');
    await closeAllReverting(vs, base);

    // The same typing with no preview open: what VS Code (and ML Notes' diagnostics) cost per key.
    await vs.openFile(base);
    result.cpu_ms_per_key_middle_preview_closed = await measureCpuNoPreview(vs, base, text, positions[1]![1], 'zqmlnnx', args.keys);
    await closeAllReverting(vs, base);

    // VS Code's built-in preview, same session, same note (it runs with ML Notes' markdown-it plugin).
    if (args.builtin) {
      await vs.openFile(base);
      // The editor reopens where it was left; start from the top, as the first pass did.
      await vs.focusEditor(vs.editorOf(base));
      await vs.page.keyboard.press('Control+Home');
      const b = await measureOpen(vs, BUILTIN_OPEN, needles, 'open-builtin', 240_000, base);
      result.builtin_first_content_ms = b.first_content_ms;
      result.builtin_all_content_ms = b.all_content_ms;
      const [, mid] = positions[1]!;
      const r = await measureTyping(vs, base, text, mid, 'zqmlnbx', args.builtinKeys, b.frame, 120_000);
      result.builtin_keystroke_p50_ms = pct(r.keystroke_ms, 50);
      result.builtin_keystroke_p95_ms = pct(r.keystroke_ms, 95);
      result.builtin_echo_p95_ms = pct(r.echo_ms, 95);
      result.builtin_long_frames = r.long_frames.length;
      result.builtin_typing_window_s = +(r.window_ms / 1000).toFixed(1);
      result.builtin_message_bytes_p50 = pct(r.message_sizes, 50);
      result.builtin_message_bytes_per_key = Math.round(r.message_sizes.reduce((a, b) => a + b, 0) / args.builtinKeys);
      if (r.missing_preview) warnings.push(`built-in: ${r.missing_preview} of ${args.builtinKeys} keys never showed in the preview`);
      if (!(b.first_content_ms > 0) || !r.keystroke_ms.length) warnings.push('built-in preview figures are empty');
    }

    // A small note: the issue wants it to stay as fast as before (p50 ≈ 90 ms). In a session of
    // its own: opened in the first session after the big note, its ML Notes preview was not found
    // within 120 s in two runs (cause not yet known), and a fresh session keeps it uncontaminated.
    await vs.close();
    vs = await launch({ name: 'bench-ui-small', workspace: ws, settings: args.settings });
    vs.page.setDefaultTimeout(60_000);
    await vs.openFile(smallBase);
    const sNeedles = headingNeedles(smallText);
    const s = await measureOpen(vs, ML_OPEN, sNeedles, 'open-small', 120_000, smallBase);
    result.small_first_content_ms = s.first_content_ms;
    const sProse = proseLines(smallText);
    const sLine = sProse.find((l) => l >= smallText.split('\n').length / 2) ?? sProse[0]!;
    const r = await measureTyping(vs, smallBase, smallText, sLine, 'zqmlnsx', args.keys, s.frame, 30_000);
    result.small_keystroke_p50_ms = pct(r.keystroke_ms, 50);
    result.small_keystroke_p95_ms = pct(r.keystroke_ms, 95);
    result.small_echo_p95_ms = pct(r.echo_ms, 95);
    if (r.missing_preview) warnings.push(`small note: ${r.missing_preview} of ${args.keys} keys never showed in the preview`);
  };
  try {
    await Promise.race([
      body(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`bench:ui exceeded ${TOTAL_LIMIT_MS / 60_000} min`)), TOTAL_LIMIT_MS); }),
    ]);
  } catch (e) {
    result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
    await (vs as VSCode | undefined)?.screenshot('bench-ui-failure').catch(() => undefined);
  } finally {
    clearTimeout(timer);
    await (vs as VSCode | undefined)?.close();
    fs.rmSync(ws, { recursive: true, force: true });
  }
  for (const id of fallbacks) warnings.push(`${id}: the observer missed a change; a full-text read (±1 s) found it`);
  if (warnings.length) result.warnings = warnings;
  result.total_s = Math.round((Date.now() - t00) / 1000);
  result.cpus = os.cpus().length;
  result.load1 = +os.loadavg()[0]!.toFixed(1);
  console.log(JSON.stringify(result));
  process.exit(result.error ? 1 : 0);
}

if (require.main === module) void main();
