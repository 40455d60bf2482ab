import { escapeHtml } from '../core/markdown/html';
import type { KernelEvent, PlotSpec, RunStatus } from './protocol';
import type { RunResult } from './processRun';

export type OutputItem =
  | { readonly kind: 'text'; readonly stream: 'stdout' | 'stderr'; text: string }
  | { readonly kind: 'plot'; readonly spec: PlotSpec; svg?: string }
  | { readonly kind: 'table'; readonly title?: string; readonly columns: readonly string[]; readonly rows: ReadonlyArray<ReadonlyArray<string | number>> }
  | { readonly kind: 'image'; readonly mime: string; readonly data: string; readonly title?: string }
  | { readonly kind: 'error'; readonly message: string; readonly line?: number; readonly stack?: string };

/** Everything one run of one snippet produced; persisted per note in the workspace cache. */
export interface SnippetOutput {
  readonly key: string;
  /** The code's `data-snippet` key when it ran: a different one means the code changed since. */
  readonly domKey: string;
  readonly lang: string;
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
    meta: { key: string; domKey: string; lang: string },
    private readonly mapLine: (codeLine: number) => number | undefined,
  ) {
    this.output = { ...meta, status: 'running', startedAt: Date.now(), items: [], metrics: {} };
  }

  onLog(stream: 'stdout' | 'stderr', text: string): void {
    const items = this.output.items;
    const last = items[items.length - 1];
    if (last?.kind === 'text' && last.stream === stream) {
      last.text += text;
      if (last.text.length > MAX_TEXT) last.text = '…' + last.text.slice(-MAX_TEXT);
    } else {
      items.push({ kind: 'text', stream, text });
    }
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

/** Metric series as line charts (one per metric), ready for the plotter. */
export function metricPlots(output: SnippetOutput): PlotSpec[] {
  return Object.entries(output.metrics).map(([name, pts]) => ({ kind: 'line', title: name, y: name, series: { [name]: pts } }));
}

/** Draws every plot that has no SVG yet (the plotter is loaded only when needed). */
export async function drawPlots(output: SnippetOutput, plot: (spec: PlotSpec) => Promise<string>): Promise<void> {
  for (const item of output.items) if (item.kind === 'plot' && item.svg === undefined) item.svg = await plot(item.spec).catch((e: Error) => `<!-- ${e.message} -->`);
}

function svgImg(svg: string, alt: string): string {
  return `<img class="mln-plot" alt="${escapeHtml(alt)}" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`;
}

const STATUS_TEXT: Record<RunStatus, string> = {
  queued: '⏳ queued', running: '⟳ running', succeeded: '✓ done', failed: '✗ failed', cancelled: '■ stopped', timedOut: '⏱ timed out',
};

/**
 * The HTML shown under a code block. Charts and images are `<img>` data URLs, so nothing in an
 * output can run script in the preview. `metricSvgs` are the drawn metric charts.
 */
export function outputHtml(output: SnippetOutput, opts: { stale?: boolean } = {}): string {
  const head = [STATUS_TEXT[output.status]];
  if (output.durationMs !== undefined) head.push(`${(output.durationMs / 1000).toFixed(1)} s`);
  if (output.backend) head.push(`${output.backend} · ${output.device ?? ''}`);
  if (output.status === 'running' && output.progress?.fraction !== undefined) head.push(`${Math.round(output.progress.fraction * 100)}%`);
  if (output.progress?.message && output.status === 'running') head.push(output.progress.message);
  const parts: string[] = [
    `<div class="mln-output-head">${escapeHtml(head.join(' · '))}${opts.stale ? ' <span class="mln-output-stale">code changed since this run</span>' : ''}</div>`,
  ];
  for (const item of output.items) {
    switch (item.kind) {
      case 'text':
        parts.push(`<pre class="mln-output-text${item.stream === 'stderr' ? ' mln-stderr' : ''}">${escapeHtml(item.text)}</pre>`);
        break;
      case 'plot':
        if (item.svg?.startsWith('<svg')) parts.push(svgImg(item.svg, item.spec.title ?? item.spec.kind));
        break;
      case 'table':
        parts.push(
          `<table class="mln-output-table">${item.title ? `<caption>${escapeHtml(item.title)}</caption>` : ''}<thead><tr>${item.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>` +
            item.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(typeof c === 'number' ? formatNumber(c) : String(c))}</td>`).join('')}</tr>`).join('') +
            '</tbody></table>',
        );
        break;
      case 'image':
        if (item.mime === 'image/png' || item.mime === 'image/svg+xml') {
          parts.push(`<img class="mln-output-image" alt="${escapeHtml(item.title ?? 'figure')}" src="data:${item.mime};base64,${item.data.replace(/[^A-Za-z0-9+/=]/g, '')}">`);
        }
        break;
      case 'error':
        parts.push(
          `<div class="mln-output-error">${item.line !== undefined ? `<span class="mln-output-line">line ${item.line}</span> ` : ''}${escapeHtml(item.message)}` +
            (item.stack ? `<pre>${escapeHtml(item.stack)}</pre>` : '') + '</div>',
        );
        break;
    }
  }
  for (const svg of output.metricSvgs ?? []) if (svg.startsWith('<svg')) parts.push(svgImg(svg, 'metric'));
  const lastMetrics = Object.entries(output.metrics);
  if (lastMetrics.length) {
    parts.push(
      '<table class="mln-output-table mln-metrics"><thead><tr><th>metric</th><th>last</th><th>steps</th></tr></thead><tbody>' +
        lastMetrics.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${formatNumber(v[v.length - 1]![1])}</td><td>${v.length}</td></tr>`).join('') +
        '</tbody></table>',
    );
  }
  return `<div class="mln-output" data-status="${output.status}">${parts.join('')}</div>`;
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4);
}

/** Inserts each snippet's output HTML after its code block in rendered note HTML. */
export function insertOutputs(html: string, byDomKey: ReadonlyMap<string, string>): string {
  if (byDomKey.size === 0) return html;
  return html.replace(/<pre([^>]*) data-snippet="([^"]+)"([^>]*)>([\s\S]*?)<\/pre>/g, (m, _a: string, key: string) => {
    const out = byDomKey.get(key);
    return out ? m + out : m;
  });
}
