/**
 * Draws the runner's charts with Vega-Lite, to SVG. Built as an ES module of its own
 * (dist/kernels/plot.mjs) because Vega is ESM-only; the extension and the CLI load it with a
 * dynamic import when a run has something to draw.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PlotSpec } from './protocol';

const WIDTH = 520;
const HEIGHT = 260;

/** Neutral greys stay readable on light and dark preview themes alike. */
const CONFIG = {
  background: 'transparent',
  axis: { labelColor: '#8a8a8a', titleColor: '#8a8a8a', gridColor: '#8a8a8a33', domainColor: '#8a8a8a', tickColor: '#8a8a8a' },
  legend: { labelColor: '#8a8a8a', titleColor: '#8a8a8a' },
  title: { color: '#8a8a8a', fontSize: 13 },
  view: { stroke: 'transparent' },
};

function toVegaLite(spec: Exclude<PlotSpec, { kind: 'vegalite' }>): TopLevelSpec {
  const base = { width: WIDTH, height: HEIGHT, config: CONFIG, ...(spec.title ? { title: spec.title } : {}) };
  switch (spec.kind) {
    case 'line': {
      const values = Object.entries(spec.series).flatMap(([series, pts]) => pts.map(([x, y]) => ({ series, x, y })));
      return {
        ...base,
        data: { values },
        mark: { type: 'line', interpolate: 'linear', strokeWidth: 1.6 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: spec.x ?? 'step' },
          y: { field: 'y', type: 'quantitative', title: spec.y ?? (Object.keys(spec.series).length === 1 ? Object.keys(spec.series)[0] : 'value'), scale: spec.logY ? { type: 'log' } : { zero: false } },
          color: { field: 'series', type: 'nominal', title: null },
        },
      } as TopLevelSpec;
    }
    case 'scatter': {
      const values = Object.entries(spec.groups).flatMap(([group, pts]) => pts.map(([x, y]) => ({ group, x, y })));
      return {
        ...base,
        height: WIDTH * 0.75,
        data: { values },
        mark: { type: 'circle', size: 8, opacity: 0.6 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', scale: { zero: false } },
          color: { field: 'group', type: 'nominal', title: null },
        },
      } as TopLevelSpec;
    }
    case 'histogram':
      return {
        ...base,
        data: { values: spec.values.map((v) => ({ v })) },
        mark: 'bar',
        encoding: {
          x: { field: 'v', type: 'quantitative', bin: { maxbins: spec.bins ?? 40 }, title: 'value' },
          y: { aggregate: 'count', type: 'quantitative' },
        },
      } as TopLevelSpec;
  }
}

/** Refuses every load: a displayed spec brings its data inline or has none (no file, no URL). */
const NO_LOADS = {
  ...vega.loader(),
  load: () => Promise.reject(new Error('charts from a kernel may not load data')),
  sanitize: () => Promise.reject(new Error('charts from a kernel may not load data')),
  http: () => Promise.reject(new Error('charts from a kernel may not load data')),
  file: () => Promise.reject(new Error('charts from a kernel may not load data')),
} as unknown as ReturnType<typeof vega.loader>;

export async function renderPlot(spec: PlotSpec): Promise<string> {
  const vl = spec.kind === 'vegalite' ? ({ config: CONFIG, ...(JSON.parse(spec.json) as object) } as TopLevelSpec) : toVegaLite(spec);
  const view = new vega.View(vega.parse(compile(vl).spec), { renderer: 'none', loader: NO_LOADS });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
