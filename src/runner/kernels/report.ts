import { EVENT_MARKER, wireReplacer, type KernelEvent, type PlotSpec } from '../protocol';

/** Writes one event line for the runner. */
export function emit(event: KernelEvent): void {
  process.stdout.write(EVENT_MARKER + JSON.stringify(event, wireReplacer) + '\n');
}

interface TensorLike {
  arraySync(): unknown;
  shape: number[];
}

type Points = ReadonlyArray<readonly [number, number]> | TensorLike;
type Values = readonly number[] | TensorLike;

function isTensor(x: unknown): x is TensorLike {
  return typeof x === 'object' && x !== null && typeof (x as TensorLike).arraySync === 'function';
}

/** `[[x, y], …]` from an array of pairs or an [N, 2] tensor; at most `max` points (evenly thinned). */
function points(p: Points, max = 4000): Array<[number, number]> {
  const arr = (isTensor(p) ? p.arraySync() : p) as Array<[number, number]>;
  if (!Array.isArray(arr)) throw new TypeError('expected an array of [x, y] pairs or an [N, 2] tensor');
  const step = Math.max(1, Math.ceil(arr.length / max));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < arr.length; i += step) out.push([Number(arr[i]![0]), Number(arr[i]![1])]);
  return out;
}

function values(v: Values): number[] {
  const arr = (isTensor(v) ? (v.arraySync() as unknown[]).flat(Infinity) : v) as number[];
  return arr.map(Number);
}

/**
 * The API a snippet imports from `ml-notes` (and `ml-notes/lab`): metrics, progress, plots,
 * tables and images that appear under the code block in the preview.
 */
export function createReporter(_tf: unknown) {
  const series: Record<string, Array<[number, number]>> = {};
  return {
    /** A scalar per step (loss, return…); the runner charts every metric by name. */
    metric(name: string, value: number, step?: number): void {
      const s = (series[name] ??= []);
      const x = step ?? s.length;
      s.push([x, value]);
      emit({ type: 'metric', name, value: Number(value), step: x });
    },
    progress(fraction?: number, message?: string): void {
      emit({ type: 'progress', fraction, message });
    },
    plot: {
      line(spec: { title?: string; x?: string; y?: string; logY?: boolean; series: Record<string, Points | Values> }): void {
        const s: Record<string, Array<[number, number]>> = {};
        for (const [k, v] of Object.entries(spec.series)) {
          const arr = isTensor(v) ? (v.shape.length === 1 ? values(v) : points(v)) : (v as unknown[]);
          s[k] = typeof arr[0] === 'number' ? (arr as number[]).map((y, i) => [i, y]) : points(arr as Points);
        }
        const out: PlotSpec = { kind: 'line', title: spec.title, x: spec.x, y: spec.y, logY: spec.logY, series: s };
        emit({ type: 'plot', spec: out });
      },
      scatter(spec: { title?: string; groups: Record<string, Points> }): void {
        const groups: Record<string, Array<[number, number]>> = {};
        for (const [k, v] of Object.entries(spec.groups)) groups[k] = points(v);
        emit({ type: 'plot', spec: { kind: 'scatter', title: spec.title, groups } });
      },
      histogram(spec: { title?: string; values: Values; bins?: number }): void {
        emit({ type: 'plot', spec: { kind: 'histogram', title: spec.title, values: values(spec.values).slice(0, 20000), bins: spec.bins } });
      },
    },
    table(columns: string[], rows: Array<Array<string | number>>, title?: string): void {
      emit({ type: 'table', title, columns, rows: rows.slice(0, 500) });
    },
    image(data: string | Uint8Array, mime: 'image/png' | 'image/svg+xml' = 'image/png', title?: string): void {
      const b64 = typeof data === 'string' ? data : Buffer.from(data).toString('base64');
      emit({ type: 'image', mime, data: b64, title });
    },
  };
}
