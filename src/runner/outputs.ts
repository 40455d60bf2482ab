import { LTTB } from 'downsample';
import { escapeHtml } from '../core/markdown/html';
import type { Snippet } from '../core/snippets/snippets';
import type { KernelEvent, PlotSpec, RunStatus } from './protocol';
import type { RunResult } from './processRun';
import { applyCarriageReturns, displayHtml } from './richOutputs';

export type OutputItem =
  | { readonly kind: 'text'; readonly stream: 'stdout' | 'stderr'; text: string }
  | { readonly kind: 'plot'; readonly spec: PlotSpec; svg?: string }
  | { readonly kind: 'table'; readonly title?: string; readonly columns: readonly string[]; readonly rows: ReadonlyArray<ReadonlyArray<string | number>> }
  | { readonly kind: 'image'; readonly mime: string; readonly data: string; readonly title?: string; readonly displayId?: string }
  /** A Jupyter display (HTML, Markdown, LaTeX, SVG, Vega-Lite…), sanitized when rendered. `svg`: Vega-Lite drawn. */
  | { readonly kind: 'display'; readonly mime: string; readonly data: string; readonly displayId?: string; svg?: string }
  | { readonly kind: 'error'; readonly message: string; readonly line?: number; readonly stack?: string };

/** Everything one run of one snippet produced; persisted per note in the workspace cache. */
export interface SnippetOutput {
  readonly key: string;
  /** The code's `data-snippet` key when it ran: a different one means the code changed since. */
  readonly domKey: string;
  readonly lang: string;
  /** Ordinal of the block when it ran: an edited block (new key) finds its last output by it. */
  readonly index?: number;
  status: RunStatus;
  readonly startedAt: number;
  durationMs?: number;
  backend?: string;
  device?: string;
  exitCode?: number | null;
  progress?: { fraction?: number; message?: string };
  readonly items: OutputItem[];
  readonly metrics: Record<string, Array<[number, number]>>;
  /** Metric charts as drawn at the last update. */
  metricSvgs?: string[];
}

const MAX_TEXT = 200_000;

/**
 * Folds a kernel's output stream into a SnippetOutput. `mapLine` turns a line of the code that
 * ran into a 1-based line of the note.
 */
export class OutputCollector {
  readonly output: SnippetOutput;

  constructor(
    meta: { key: string; domKey: string; lang: string; index?: number },
    private readonly mapLine: (codeLine: number) => number | undefined,
  ) {
    this.output = { ...meta, status: 'running', startedAt: Date.now(), items: [], metrics: {} };
  }

  onLog(stream: 'stdout' | 'stderr', text: string): void {
    const items = this.output.items;
    const last = items[items.length - 1];
    if (last?.kind === 'text' && last.stream === stream) {
      last.text = applyCarriageReturns(last.text + text);
      if (last.text.length > MAX_TEXT) last.text = '…' + last.text.slice(-MAX_TEXT);
    } else {
      items.push({ kind: 'text', stream, text: applyCarriageReturns(text) });
    }
  }

  /** A Jupyter display_data / execute_result, shown as the best MIME type it has. */
  onDisplay(item: Extract<OutputItem, { kind: 'image' | 'display' }>): void {
    this.output.items.push(item);
  }

  /** update_display_data: the display with this id is replaced where it is. True when this output holds it. */
  updateDisplay(displayId: string, item: Extract<OutputItem, { kind: 'image' | 'display' }>): boolean {
    let found = false;
    const items = this.output.items;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if ((it.kind === 'image' || it.kind === 'display') && it.displayId === displayId) {
        items[i] = item;
        found = true;
      }
    }
    return found;
  }

  /** clear_output: what the block showed so far goes (metrics stay: they are a series, not a display). */
  clearItems(): void {
    this.output.items.length = 0;
  }

  onEvent(e: KernelEvent): void {
    switch (e.type) {
      case 'backend':
        this.output.backend = e.backend;
        this.output.device = e.device;
        break;
      case 'metric':
        (this.output.metrics[e.name] ??= []).push([e.step ?? (this.output.metrics[e.name]?.length ?? 0), e.value]);
        break;
      case 'progress':
        this.output.progress = { fraction: e.fraction, message: e.message };
        break;
      case 'plot':
        this.output.items.push({ kind: 'plot', spec: e.spec });
        break;
      case 'table':
        this.output.items.push({ kind: 'table', title: e.title, columns: e.columns, rows: e.rows });
        break;
      case 'image':
        this.output.items.push({ kind: 'image', mime: e.mime, data: e.data, title: e.title });
        break;
      case 'error':
        this.output.items.push({ kind: 'error', message: e.message, stack: e.stack && this.noteLines(e.stack), line: e.line === undefined ? undefined : this.mapLine(e.line) });
        break;
    }
  }

  /** Stack frames in the snippet (`snippet.ts:12:5`, `"<snippet>", line 12`) point at note lines instead. */
  private noteLines(stack: string): string {
    return stack
      .replace(/snippet\.ts:(\d+)/g, (m, n: string) => {
        const line = this.mapLine(Number(n));
        return line === undefined ? m : `note line ${line}`;
      })
      .replace(/"<snippet>", line (\d+)/g, (m, n: string) => {
        const line = this.mapLine(Number(n));
        return line === undefined ? m : `note line ${line}`;
      });
  }

  finish(result: RunResult): SnippetOutput {
    this.output.status = result.status;
    this.output.durationMs = result.durationMs;
    this.output.exitCode = result.exitCode;
    if (result.spawnError) this.output.items.push({ kind: 'error', message: result.spawnError });
    else if (result.status === 'timedOut') this.output.items.push({ kind: 'error', message: `stopped: time limit reached after ${(result.durationMs / 1000).toFixed(1)} s` });
    else if (result.status === 'failed' && !this.output.items.some((i) => i.kind === 'error')) {
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      this.output.items.push({ kind: 'error', message: `the snippet's process ended with ${how}` });
    }
    return this.output;
  }
}

/** Most points a metric chart is drawn from: Vega's cost grows with points, the picture does not. */
export const MAX_CHART_POINTS = 800;

/**
 * A series thinned for drawing: Largest-Triangle-Three-Buckets over the finite points keeps
 * the shape (spikes included); NaN/±Inf steps become NaN points, which the chart draws as gaps.
 */
export function chartPoints(pts: ReadonlyArray<readonly [number, number]>, max = MAX_CHART_POINTS): Array<[number, number]> {
  const good: Array<[number, number]> = [];
  const bad: Array<[number, number]> = [];
  for (const [x, y] of pts) {
    if (!Number.isFinite(x)) continue;
    (Number.isFinite(y) ? good : bad).push([x, y]);
  }
  const thinned = good.length > max ? (LTTB(good, max) as Array<[number, number]>) : good;
  if (bad.length === 0) return thinned;
  const gaps = bad.length > max / 4 ? bad.filter((_, i) => i % Math.ceil(bad.length / (max / 4)) === 0) : bad;
  return [...thinned, ...gaps.map(([x]): [number, number] => [x, NaN])].sort((a, b) => a[0] - b[0]);
}

/** Metric series as line charts (one per metric), downsampled, ready for the plotter. */
export function metricPlots(output: SnippetOutput): PlotSpec[] {
  return Object.entries(output.metrics).map(([name, pts]) => ({ kind: 'line', title: name, y: name, series: { [name]: chartPoints(pts) } }));
}

/**
 * Which stored output belongs to which block of the note's current text: by key (id, else
 * content + occurrence, see Snippet.key), so edits elsewhere move nothing. A block whose code
 * changed has a new key; it shows the output left by the block at its position, marked stale,
 * if no current block claims that output. Keys of the result are `domKey:occurrence`, the
 * same the preview computes for its code blocks.
 */
export function outputsForSnippets(
  snippets: readonly Snippet[],
  stored: ReadonlyMap<string, SnippetOutput>,
): Array<{ slot: string; snippet: Snippet; output: SnippetOutput; stale: boolean }> {
  const claimed = new Set(snippets.map((s) => s.key).filter((k) => stored.has(k)));
  const orphanByIndex = new Map<number, SnippetOutput>();
  for (const [k, o] of stored) if (!claimed.has(k) && o.index !== undefined && !orphanByIndex.has(o.index)) orphanByIndex.set(o.index, o);
  const seen = new Map<string, number>();
  const result: Array<{ slot: string; snippet: Snippet; output: SnippetOutput; stale: boolean }> = [];
  for (const s of snippets) {
    const n = seen.get(s.domKey) ?? 0;
    seen.set(s.domKey, n + 1);
    const exact = stored.get(s.key);
    const output = exact ?? orphanByIndex.get(s.index);
    if (output) result.push({ slot: `${s.domKey}:${n}`, snippet: s, output, stale: output.domKey !== s.domKey });
  }
  return result;
}

const undrawable = new WeakSet<OutputItem>();

/** Draws every plot that has no SVG yet (the plotter is loaded only when needed). */
export async function drawPlots(output: SnippetOutput, plot: (spec: PlotSpec) => Promise<string>): Promise<void> {
  for (const item of output.items) {
    if (item.kind === 'plot' && item.svg === undefined) item.svg = await plot(item.spec).catch((e: Error) => `<!-- ${e.message} -->`);
    else if (item.kind === 'display' && item.mime.startsWith('application/vnd.vegalite') && item.svg === undefined && !undrawable.has(item)) {
      // A spec that cannot be drawn (bad JSON, data from a URL) stays shown as its source.
      const svg = await plot({ kind: 'vegalite', json: item.data }).catch(() => undefined);
      if (svg?.startsWith('<svg')) item.svg = svg;
      else undrawable.add(item);
    }
  }
}

function svgImg(svg: string, alt: string): string {
  return `<img class="mln-plot" alt="${escapeHtml(alt)}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`;
}

/** The words the renderer writes around the data; the extension passes them localized. */
export interface OutputLabels {
  readonly status: Readonly<Record<RunStatus, string>>;
  /** "line 30" before an error message. */
  line(line: number): string;
  /** "note line 30" inside a mapped stack trace. */
  noteLine(line: number): string;
  readonly stale: string;
  readonly metric: string;
  readonly last: string;
  readonly steps: string;
  /** "2 NaN/Inf" in the metrics table. */
  nonFinite(count: number): string;
  readonly figure: string;
}

export const ENGLISH_LABELS: OutputLabels = {
  status: { queued: '⏳ queued', running: '⟳ running', succeeded: '✓ done', failed: '✗ failed', cancelled: '■ stopped', timedOut: '⏱ timed out' },
  line: (n) => `line ${n}`,
  noteLine: (n) => `note line ${n}`,
  stale: 'code changed since this run',
  metric: 'metric',
  last: 'last',
  steps: 'steps',
  nonFinite: (n) => `${n} NaN/Inf`,
  figure: 'figure',
};

const STATUSES = new Set<RunStatus>(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timedOut']);

/**
 * The one renderer of outputs to HTML (preview and export). An output is data that a snippet
 * or a planted `.ml-notes/outputs` file controls, so every string in it is escaped here and
 * nothing else builds output markup; charts and images are `<img>` data URLs, which run no
 * script. `metricSvgs` are the drawn metric charts.
 */
export function outputHtml(output: SnippetOutput, opts: { stale?: boolean; labels?: OutputLabels } = {}): string {
  const L = opts.labels ?? ENGLISH_LABELS;
  const status: RunStatus = STATUSES.has(output.status) ? output.status : 'failed';
  const head = [L.status[status]];
  if (Number.isFinite(output.durationMs)) head.push(`${(output.durationMs! / 1000).toFixed(1)} s`);
  if (output.backend) head.push(`${output.backend} · ${output.device ?? ''}`);
  const fraction = output.progress?.fraction;
  if (status === 'running' && fraction !== undefined && Number.isFinite(fraction)) head.push(`${Math.round(fraction * 100)}%`);
  if (output.progress?.message && status === 'running') head.push(output.progress.message);
  const parts: string[] = [
    `<div class="mln-output-head">${escapeHtml(head.join(' · '))}${opts.stale ? ` <span class="mln-output-stale">${escapeHtml(L.stale)}</span>` : ''}</div>`,
  ];
  for (const item of output.items) {
    switch (item.kind) {
      case 'text':
        parts.push(`<pre class="mln-output-text${item.stream === 'stderr' ? ' mln-stderr' : ''}">${escapeHtml(String(item.text).replace(/\r/g, ''))}</pre>`);
        break;
      case 'display':
        if (typeof item.mime === 'string' && typeof item.data === 'string') parts.push(displayHtml(item.mime, item.data, item.svg));
        break;
      case 'plot':
        if (typeof item.svg === 'string' && item.svg.startsWith('<svg')) parts.push(svgImg(item.svg, item.spec.title ?? item.spec.kind));
        break;
      case 'table':
        parts.push(
          `<table class="mln-output-table">${item.title ? `<caption>${escapeHtml(item.title)}</caption>` : ''}<thead><tr>${item.columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join('')}</tr></thead><tbody>` +
            item.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(typeof c === 'number' ? formatNumber(c) : String(c))}</td>`).join('')}</tr>`).join('') +
            '</tbody></table>',
        );
        break;
      case 'image':
        if ((item.mime === 'image/png' || item.mime === 'image/jpeg' || item.mime === 'image/svg+xml') && typeof item.data === 'string') {
          parts.push(`<img class="mln-output-image" alt="${escapeHtml(item.title ?? L.figure)}" src="data:${item.mime};base64,${item.data.replace(/[^A-Za-z0-9+/=]/g, '')}">`);
        }
        break;
      case 'error': {
        const line = Number.isInteger(item.line) ? `<span class="mln-output-line">${escapeHtml(L.line(item.line!))}</span> ` : '';
        const stack = item.stack ? `<pre>${escapeHtml(item.stack.replace(/note line (\d+)/g, (_m, n: string) => L.noteLine(Number(n))))}</pre>` : '';
        parts.push(`<div class="mln-output-error">${line}${escapeHtml(String(item.message))}${stack}</div>`);
        break;
      }
    }
  }
  for (const svg of output.metricSvgs ?? []) if (typeof svg === 'string' && svg.startsWith('<svg')) parts.push(svgImg(svg, L.metric));
  const lastMetrics = Object.entries(output.metrics);
  if (lastMetrics.length) {
    const anyBad = lastMetrics.some(([, v]) => v.some((p) => !Number.isFinite(p[1])));
    parts.push(
      `<table class="mln-output-table mln-metrics"><thead><tr><th>${escapeHtml(L.metric)}</th><th>${escapeHtml(L.last)}</th><th>${escapeHtml(L.steps)}</th>${anyBad ? '<th></th>' : ''}</tr></thead><tbody>` +
        lastMetrics
          .map(([k, v]) => {
            const bad = v.filter((p) => !Number.isFinite(p[1])).length;
            const last = v.length ? formatNumber(v[v.length - 1]![1]) : '';
            return `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(last)}</td><td>${v.length}</td>${anyBad ? `<td>${bad ? escapeHtml(L.nonFinite(bad)) : ''}</td>` : ''}</tr>`;
          })
          .join('') +
        '</tbody></table>',
    );
  }
  return `<div class="mln-output" data-status="${escapeHtml(status)}">${parts.join('')}</div>`;
}

function formatNumber(x: number): string {
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4);
}

/** Inserts each snippet's output HTML (by `domKey:occurrence`, see outputsForSnippets) after its code block. */
export function insertOutputs(html: string, bySlot: ReadonlyMap<string, string>): string {
  if (bySlot.size === 0) return html;
  const seen = new Map<string, number>();
  return html.replace(/<pre([^>]*) data-snippet="([^"]+)"([^>]*)>([\s\S]*?)<\/pre>/g, (m, _a: string, key: string) => {
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const out = bySlot.get(`${key}:${n}`);
    return out ? m + out : m;
  });
}
