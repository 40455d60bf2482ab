import type { FromWebview, PatchMessage, PreviewState, ToWebview } from '../shared/previewMessages';
// Copying a formula gives its LaTeX source (from the MathML annotation KaTeX writes).
import 'katex/contrib/copy-tex';
import { drawDiagrams } from './diagrams';
import { PreviewView } from './previewView';
import { ScrollIntent } from './scrollIntent';

/**
 * The preview page's entry: wires the page (VS Code's API, the window's scroll, clicks) to
 * `PreviewView`, which holds the patch logic.
 */

declare function acquireVsCodeApi(): {
  postMessage(msg: FromWebview): void;
  setState(state: PreviewState): void;
  getState(): PreviewState | undefined;
};

const vscode = acquireVsCodeApi();
/** This script's nonce, for the scripts it loads later (mermaid) under the page's CSP. */
const scriptNonce = (document.currentScript as HTMLScriptElement | null)?.nonce || undefined;
const root = document.getElementById('mln-root')!;
const idle = (fn: () => void): void => {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 500 });
  else setTimeout(fn, 0);
};
const view = new PreviewView(root, vscode, {
  drawDiagrams: (scope) => void drawDiagrams(scope, root.dataset['mermaid'], scriptNonce),
  idle,
  frame: (fn) => void requestAnimationFrame(fn),
});
/** Only the reader's scrolls move the editor (and stop the page following it). */
const intent = new ScrollIntent(window);
/** The line the editor last scrolled to, until the reader scrolls the preview. */
let editorLine: number | undefined;

window.addEventListener('message', (event: MessageEvent<ToWebview>) => onMessage(event.data));

function onMessage(msg: ToWebview): void {
  performance.mark('mln-patch-start');
  const changed = view.handle(msg);
  if (changed) {
    performance.mark('mln-patch-end');
    performance.measure('mln-patch', 'mln-patch-start', 'mln-patch-end');
  }
  // The first chunks of a full render are those around the editor's visible line: scroll there
  // at once (the line the editor was scrolled to since the page was made, if it was).
  const renderLine = editorLine ?? view.state.line;
  if (changed && msg.type === 'render' && renderLine !== undefined) scrollToLine(renderLine);
  // HTML that arrives after the editor's last scroll (a long note's pending chunks, filled
  // nearest the reader first) changes heights around its line: the preview follows it until
  // the reader scrolls. A patch moves that line only with new HTML above it; a keystroke's
  // patch below it leaves it be (following reads layout: a full one, on every key).
  else if (changed && editorLine !== undefined && (msg.type === 'fill' || (msg.type === 'patch' && movesLine(msg, editorLine)))) scrollToLine(editorLine);
  if (msg.type === 'scrollToLine' && msg.uri === view.uri) {
    editorLine = msg.line;
    scrollToLine(msg.line);
  }
}

/** Whether the patch brings HTML for a chunk that starts above `line` (so heights there change). */
function movesLine(msg: PatchMessage, line: number): boolean {
  return msg.insert.some((op) => op.html !== undefined && op.start < line);
}

function absTop(el: Element): number {
  return el.getBoundingClientRect().top + window.scrollY;
}

/** Scroll so that the (fractional) source line is at the top, interpolating inside tall blocks. */
function scrollToLine(line: number): void {
  // A virtual page may hold only a placeholder there: measure the real chunks.
  view.reveal({ line: Math.floor(line) });
  const { prev, next } = view.bracket(Math.floor(line));
  let y = 0;
  if (prev) {
    const top = absTop(prev.el);
    const height = prev.el.getBoundingClientRect().height;
    const endLine = next ? next.line : view.lineCount;
    const span = Math.max(1, endLine - prev.line);
    const frac = Math.min(1, Math.max(0, (line - prev.line) / span));
    if (next && frac >= 1) y = absTop(next.el);
    else y = top + height * frac;
  }
  window.scrollTo({ top: Math.max(0, y - 8) });
}

/** The (fractional) source line at the top of the viewport: the chunk there, then its block. */
function lineAtTop(): number {
  const chunks = view.chunks();
  const y = window.scrollY + 8;
  let lo = 0;
  let hi = chunks.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (absTop(chunks[mid]!.el) <= y) {
      at = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (at < 0) return 0;
  const c = chunks[at]!;
  let j = -1;
  for (let i = 0; i < c.lines.length; i++) if (absTop(c.lines[i]!) <= y) j = i;
  if (j < 0) return c.start;
  const el = c.lines[j]!;
  const line = c.start + c.rlines[j]!;
  const nextLine = j + 1 < c.lines.length ? c.start + c.rlines[j + 1]! : (chunks[at + 1]?.start ?? view.lineCount);
  const top = absTop(el);
  const height = Math.max(1, el.getBoundingClientRect().height);
  const frac = Math.min(1, Math.max(0, (y - top) / height));
  return line + frac * Math.max(0, nextLine - line);
}

/** A virtual page follows the viewport once per frame, however many scroll events came. */
const followViewport = (): void => view.scheduleWindow();
window.addEventListener('resize', followViewport, { passive: true });

let scrollTimer: number | undefined;
window.addEventListener(
  'scroll',
  () => {
    followViewport();
    if (!intent.byReader()) return;
    editorLine = undefined;
    if (scrollTimer !== undefined) return;
    scrollTimer = window.setTimeout(() => {
      scrollTimer = undefined;
      const line = lineAtTop();
      view.state = { ...view.state, line };
      vscode.setState(view.state);
      vscode.postMessage({ type: 'revealLine', uri: view.uri, version: view.version, line });
    }, 50);
  },
  { passive: true },
);

document.addEventListener('dblclick', (event) => {
  const line = event.target instanceof Element ? view.lineOf(event.target) : undefined;
  if (line !== undefined) vscode.postMessage({ type: 'dblclick', uri: view.uri, version: view.version, line });
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
    view.reveal({ id });
    document.getElementById(id)?.scrollIntoView({ block: 'center' });
    return;
  }
  vscode.postMessage({ type: 'openLink', uri: view.uri, version: view.version, href });
}
document.addEventListener('click', onLinkClick);
document.addEventListener('auxclick', onLinkClick);

// The note's first render, when the host wrote it into the page (a data block, never markup).
const embedded = document.getElementById('mln-embed')?.textContent;
if (embedded) {
  try {
    onMessage(JSON.parse(embedded) as ToWebview);
  } catch {
    // Unreadable: `ready` then says the page shows nothing, and the host sends a full render.
  }
}
view.ready();
