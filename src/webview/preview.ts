import type { ChunkPayload, FromWebview, PreviewState, ToWebview } from '../shared/previewMessages';
// Copying a formula gives its LaTeX source (from the MathML annotation KaTeX writes).
import 'katex/contrib/copy-tex';
import { drawDiagrams } from './diagrams';
import { planOutputSlots } from '../shared/outputSlots';

declare function acquireVsCodeApi(): {
  postMessage(msg: FromWebview): void;
  setState(state: PreviewState): void;
  getState(): PreviewState | undefined;
};

const vscode = acquireVsCodeApi();
/** This script's nonce, for the scripts it loads later (mermaid) under the page's CSP. */
const scriptNonce = (document.currentScript as HTMLScriptElement | null)?.nonce || undefined;
const root = document.getElementById('mln-root')!;
const initial = JSON.parse(root.dataset['state'] ?? '{}') as PreviewState;
let state: PreviewState = vscode.getState() ?? initial;

/** Chunk elements by key; a chunk's block elements carry `data-rline` (relative) and `data-line` (absolute). */
const chunks = new Map<string, HTMLElement>();
/** Sorted [line, element] pairs for scroll sync, rebuilt lazily after each patch. */
let lineIndex: Array<{ line: number; el: HTMLElement }> | undefined;
let documentLineCount = 0;
/** Programmatic scrolls must not echo back to the editor. */
let ignoreScrollUntil = 0;
/** Snippet output HTML by `data-snippet` key and occurrence (`key:n`); shown right after the code block. */
let outputs: Readonly<Record<string, string>> = {};
/** The output HTML each slot shows now (a slot without an entry shows nothing yet). */
const slotHtml = new WeakMap<HTMLElement, string>();

function attachOutputs(): void {
  const pres = [...root.querySelectorAll<HTMLElement>('pre[data-snippet]')];
  const slots = pres.map((pre) => {
    const next = pre.nextElementSibling as HTMLElement | null;
    return next?.classList.contains('mln-output-slot') ? next : null;
  });
  const plan = planOutputSlots(
    pres.map((pre) => pre.dataset['snippet']!),
    slots.map((slot) => (slot ? (slotHtml.get(slot) ?? '') : undefined)),
    outputs,
  );
  plan.forEach((action, i) => {
    const pre = pres[i]!;
    let slot = slots[i] ?? null;
    if (action.kind === 'remove') slot?.remove();
    if (action.kind !== 'set') return;
    if (!slot) {
      slot = document.createElement('div');
      slot.className = 'mln-output-slot';
      pre.after(slot);
    }
    // Only touch the DOM when the output changed, so images don't flicker while a run streams.
    // The HTML was built by the extension's escaping output renderer (src/runner/outputs.ts).
    slot.innerHTML = action.html;
    slotHtml.set(slot, action.html);
  });
  lineIndex = undefined;
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'render':
      applyRender(msg.chunks, msg.reset, msg.version, msg.lineCount);
      if (msg.reset && state.line !== undefined) scrollToLine(state.line);
      state = { uri: msg.uri, line: state.uri === msg.uri ? state.line : 0 };
      vscode.setState(state);
      break;
    case 'scrollToLine':
      scrollToLine(msg.line);
      break;
    case 'outputs':
      outputs = msg.outputs;
      attachOutputs();
      break;
  }
});

function applyRender(payload: readonly ChunkPayload[], reset: boolean, version: number, lineCount: number): void {
  performance.mark('mln-patch-start');
  const t0 = performance.now();
  if (reset) {
    chunks.clear();
    root.replaceChildren();
  }
  const next: HTMLElement[] = [];
  const keep = new Set<string>();
  for (const c of payload) {
    let el = chunks.get(c.key);
    if (!el) {
      if (c.html === undefined) {
        vscode.postMessage({ type: 'needFullRender' });
        return;
      }
      el = document.createElement('div');
      el.className = 'mln-chunk';
      el.dataset['key'] = c.key;
      el.innerHTML = c.html;
      for (const b of el.querySelectorAll<HTMLElement>('[data-line]')) b.dataset['rline'] = b.dataset['line'];
      el.dataset['lineStart'] = '-1';
      chunks.set(c.key, el);
    }
    if (el.dataset['lineStart'] !== String(c.start)) {
      el.dataset['lineStart'] = String(c.start);
      for (const b of el.querySelectorAll<HTMLElement>('[data-rline]')) b.dataset['line'] = String(Number(b.dataset['rline']) + c.start);
    }
    keep.add(c.key);
    next.push(el);
  }
  // Keyed patch: move/insert only what changed, so unchanged chunks (and their images) stay put.
  // Elements that are no longer wanted are removed as the cursor meets them; otherwise every
  // chunk after an edit would be moved in front of the stale one (O(n) DOM moves per keystroke).
  const wanted = new Set(next);
  let cursor = root.firstElementChild;
  for (const el of next) {
    while (cursor && !wanted.has(cursor as HTMLElement)) {
      const after = cursor.nextElementSibling;
      cursor.remove();
      cursor = after;
    }
    if (cursor === el) {
      cursor = cursor.nextElementSibling;
    } else {
      root.insertBefore(el, cursor);
    }
  }
  while (cursor) {
    const after = cursor.nextElementSibling;
    cursor.remove();
    cursor = after;
  }
  for (const key of [...chunks.keys()]) if (!keep.has(key)) chunks.delete(key);
  void drawDiagrams(root, root.dataset['mermaid'], scriptNonce);
  attachOutputs();
  documentLineCount = lineCount;
  const ms = performance.now() - t0;
  performance.mark('mln-patch-end');
  performance.measure('mln-patch', 'mln-patch-start', 'mln-patch-end');
  document.body.dataset['mlnPatchMs'] = ms.toFixed(2);
  document.body.dataset['mlnVersion'] = String(version);
}

function getLineIndex(): Array<{ line: number; el: HTMLElement }> {
  if (!lineIndex) {
    lineIndex = [];
    let last = -1;
    for (const el of root.querySelectorAll<HTMLElement>('[data-line]')) {
      const line = Number(el.dataset['line']);
      // Nested elements (li inside ul) share or follow their parent's line; keep lines increasing.
      if (line > last) {
        lineIndex.push({ line, el });
        last = line;
      }
    }
  }
  return lineIndex;
}

function absTop(el: HTMLElement): number {
  return el.getBoundingClientRect().top + window.scrollY;
}

/** The element at or before `line` and the first one after it. */
function bracket(line: number): { prev?: { line: number; el: HTMLElement }; next?: { line: number; el: HTMLElement } } {
  const idx = getLineIndex();
  let lo = 0;
  let hi = idx.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (idx[mid]!.line <= line) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return { prev: found >= 0 ? idx[found] : undefined, next: idx[found + 1] };
}

/** Scroll so that the (fractional) source line is at the top, interpolating inside tall blocks. */
function scrollToLine(line: number): void {
  const { prev, next } = bracket(Math.floor(line));
  let y = 0;
  if (prev) {
    const top = absTop(prev.el);
    const height = prev.el.getBoundingClientRect().height;
    const endLine = next ? next.line : documentLineCount;
    const span = Math.max(1, endLine - prev.line);
    const frac = Math.min(1, Math.max(0, (line - prev.line) / span));
    if (next && frac >= 1) y = absTop(next.el);
    else y = top + height * frac;
  }
  ignoreScrollUntil = Date.now() + 150;
  window.scrollTo({ top: Math.max(0, y - 8) });
}

/** The (fractional) source line at the top of the viewport. */
function lineAtTop(): number {
  const idx = getLineIndex();
  if (idx.length === 0) return 0;
  const y = window.scrollY + 8;
  let lo = 0;
  let hi = idx.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (absTop(idx[mid]!.el) <= y) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const cur = idx[found]!;
  const top = absTop(cur.el);
  const height = Math.max(1, cur.el.getBoundingClientRect().height);
  const nextLine = idx[found + 1]?.line ?? documentLineCount;
  const frac = Math.min(1, Math.max(0, (y - top) / height));
  return cur.line + frac * Math.max(0, nextLine - cur.line);
}

let scrollTimer: number | undefined;
window.addEventListener(
  'scroll',
  () => {
    if (Date.now() < ignoreScrollUntil) return;
    if (scrollTimer !== undefined) return;
    scrollTimer = window.setTimeout(() => {
      scrollTimer = undefined;
      const line = lineAtTop();
      state = { ...state, line };
      vscode.setState(state);
      vscode.postMessage({ type: 'revealLine', line });
    }, 50);
  },
  { passive: true },
);

document.addEventListener('dblclick', (event) => {
  const el = (event.target as Element | null)?.closest<HTMLElement>('[data-line]');
  if (el) vscode.postMessage({ type: 'dblclick', line: Number(el.dataset['line']) });
});

/**
 * Links are opened by the extension. WARNING: VS Code's webview host listens for clicks on the
 * window too and opens every link it sees, resolved against the webview's own URL (in browser
 * VS Code a relative link became a "Not found" tab): stop the event here, not only its default.
 */
function onLinkClick(event: MouseEvent): void {
  const a = (event.target as Element | null)?.closest('a');
  if (!a) return;
  const href = a.getAttribute('href');
  if (!href) return;
  event.preventDefault();
  event.stopPropagation();
  if (event.type === 'auxclick' && event.button !== 1) return;
  if (href.startsWith('#')) {
    let id = href.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch {
      // a malformed escape: look the id up as written
    }
    document.getElementById(id)?.scrollIntoView({ block: 'center' });
    return;
  }
  vscode.postMessage({ type: 'openLink', href });
}
document.addEventListener('click', onLinkClick);
document.addEventListener('auxclick', onLinkClick);

vscode.postMessage({ type: 'ready' });
