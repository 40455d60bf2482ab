/**
 * Mermaid diagrams in the preview: `<pre class="mermaid">` holds the escaped source (rendered in
 * the extension host like any code); the mermaid library draws it here, under the page's CSP,
 * with `securityLevel: 'strict'` (mermaid sanitizes labels and disables click handlers).
 */
interface MermaidApi {
  initialize(config: Record<string, unknown>): void;
  render(id: string, text: string): Promise<{ svg: string }>;
}

let loading: Promise<MermaidApi> | undefined;
let counter = 0;
/** Drawn SVG by theme + source, so a chunk re-created by an edit elsewhere does not flicker. */
const drawn = new Map<string, string>();
let initializedTheme: string | undefined;

function load(src: string, nonce: string | undefined): Promise<MermaidApi> {
  loading ??= new Promise<MermaidApi>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    if (nonce) script.nonce = nonce;
    script.onload = () => {
      const api = (globalThis as unknown as { mlnMermaid?: MermaidApi }).mlnMermaid;
      if (api) resolve(api);
      else reject(new Error('mermaid did not load'));
    };
    script.onerror = () => reject(new Error('mermaid did not load'));
    document.head.appendChild(script);
  });
  return loading;
}

function theme(): string {
  const cls = document.body.classList;
  return cls.contains('vscode-dark') || (cls.contains('vscode-high-contrast') && !cls.contains('vscode-high-contrast-light')) ? 'dark' : 'default';
}

/** Draws every not-yet-drawn diagram under `scope`. */
export async function drawDiagrams(scope: ParentNode, src: string | undefined, nonce: string | undefined): Promise<void> {
  const blocks = [...scope.querySelectorAll<HTMLElement>('pre.mermaid:not([data-mln-drawn])')];
  if (blocks.length === 0 || !src) return;
  let api: MermaidApi;
  try {
    api = await load(src, nonce);
  } catch {
    for (const pre of blocks) pre.dataset['mlnDrawn'] = 'failed';
    return;
  }
  const t = theme();
  if (initializedTheme !== t) {
    api.initialize({ startOnLoad: false, securityLevel: 'strict', theme: t });
    initializedTheme = t;
  }
  for (const pre of blocks) {
    if (pre.dataset['mlnDrawn']) continue;
    const source = pre.textContent ?? '';
    pre.dataset['mlnDrawn'] = 'pending';
    const key = t + '\u0000' + source;
    try {
      let svg = drawn.get(key);
      if (svg === undefined) {
        svg = (await api.render(`mln-mermaid-${++counter}`, source)).svg;
        drawn.set(key, svg);
      }
      const figure = document.createElement('div');
      figure.className = 'mln-mermaid-diagram';
      figure.innerHTML = svg;
      pre.dataset['mlnSource'] = source;
      pre.replaceChildren(figure);
      pre.dataset['mlnDrawn'] = 'ok';
    } catch (e) {
      // A diagram with a syntax error keeps its source, with mermaid's message under it.
      pre.dataset['mlnDrawn'] = 'error';
      const err = document.createElement('div');
      err.className = 'mln-mermaid-error';
      err.textContent = e instanceof Error ? e.message : String(e);
      pre.after(err);
      document.getElementById(`dmln-mermaid-${counter}`)?.remove();
    }
  }
}
