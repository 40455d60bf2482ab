/** Kernel events travel on stdout as lines starting with this marker (it survives process trees such as torchrun's). */
export const EVENT_MARKER = '\u001eMLN ';

/**
 * Events a kernel sends to the runner, one JSON object per line on file descriptor 3 (stdout and
 * stderr stay plain text). Shared by the TypeScript and Python kernels.
 */
export type KernelEvent =
  /** `detail`: one line worth showing (a native backend that failed to load); `notes`: for a verbose log only. */
  | { readonly type: 'backend'; readonly backend: string; readonly device: string; readonly detail?: string; readonly notes?: readonly string[] }
  | { readonly type: 'metric'; readonly name: string; readonly value: number; readonly step?: number }
  | { readonly type: 'progress'; readonly fraction?: number; readonly message?: string }
  | { readonly type: 'plot'; readonly spec: PlotSpec }
  | { readonly type: 'table'; readonly title?: string; readonly columns: readonly string[]; readonly rows: ReadonlyArray<ReadonlyArray<string | number>> }
  | { readonly type: 'image'; readonly mime: 'image/png' | 'image/svg+xml'; readonly data: string; readonly title?: string }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string; readonly line?: number; readonly errorType?: string };

/** A chart described by its data; the runner draws it with Vega-Lite. */
export type PlotSpec =
  | {
      readonly kind: 'line';
      readonly title?: string;
      readonly x?: string;
      readonly y?: string;
      /** Series name → points. */
      readonly series: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>>;
      readonly logY?: boolean;
    }
  | {
      readonly kind: 'scatter';
      readonly title?: string;
      /** Group name (e.g. "data", "samples") → 2-D points. */
      readonly groups: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>>;
    }
  | { readonly kind: 'histogram'; readonly title?: string; readonly values: readonly number[]; readonly bins?: number }
  /**
   * A Vega-Lite spec a Jupyter kernel displayed (JSON). Never sent as a kernel event (the event
   * schema has no such kind); drawn with data loading refused, so it reads no file or URL.
   */
  | { readonly kind: 'vegalite'; readonly title?: string; readonly json: string };

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timedOut';

/**
 * JSON has no NaN or ±Infinity (Python's `json.dumps` writes bare `NaN`, which no JSON parser
 * reads; `JSON.stringify` writes `null`). On the wire and on disk they travel as these strings,
 * so a diverging loss keeps its points. Use as `JSON.stringify(value, wireReplacer)`.
 */
export function wireReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}
