/**
 * npm run bench:runner   (after `npm run build`)
 *
 * 1. Metric charts: drawing a 100,000-step metric with Vega-Lite from every point (what live
 *    updates did) next to drawing it from the LTTB-downsampled series they draw now, same run.
 * 2. Stored outputs: sixteen Matplotlib figures (Debian's /usr/bin/python3) kept as base64 inside
 *    the outputs JSON next to the same outputs with the images as PNG files.
 * 3. Stop: how long a `timeout=3` run takes to end when it started a setsid grandchild that holds
 *    its stdout (the issue measured 60 s before run lifetimes), also when the snippet ignores
 *    SIGINT and SIGTERM (the SIGKILL step).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findSnippets } from '../src/core/snippets/snippets';
import { distKernelPaths } from '../src/cli/commands/run';
import { metricPlots, type SnippetOutput } from '../src/runner/outputs';
import { OutputStoreCore, type OutputFiles } from '../src/runner/outputStore';
import type { PlotSpec } from '../src/runner/protocol';
import { startSnippet } from '../src/runner/runSnippet';

const DIST = join(__dirname, '..', 'dist');
// Vega is ESM with top-level await: load the built plotter as the extension does.
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<{ renderPlot(spec: PlotSpec): Promise<string> }>;

async function timeIt(fn: () => Promise<unknown>, runs = 3): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - t0) / runs;
}

async function charts(): Promise<void> {
  const { renderPlot } = await dynamicImport(pathToFileURL(join(DIST, 'kernels', 'plot.mjs')).href);
  const pts: Array<[number, number]> = Array.from({ length: 100_000 }, (_, i) => [i, Math.exp(-i / 20_000) + 0.05 * Math.sin(i / 37)]);
  const output = { metrics: { loss: pts } } as unknown as SnippetOutput;
  const full: PlotSpec = { kind: 'line', title: 'loss', y: 'loss', series: { loss: pts } };
  const thinned = metricPlots(output)[0]!;
  const msFull = await timeIt(() => renderPlot(full), 2);
  const msThin = await timeIt(() => renderPlot(thinned), 5);
  const n = (thinned as unknown as { series: Record<string, unknown[]> }).series['loss']!.length;
  console.log(`metric chart, 100000 steps: all points ${msFull.toFixed(0)} ms; LTTB ${n} points ${msThin.toFixed(0)} ms (×${(msFull / msThin).toFixed(0)})`);
}

function memoryFiles(withAttachments: boolean): OutputFiles & { bytes(): number } {
  const data = new Map<string, Uint8Array>();
  const blobs = new Map<string, Uint8Array>();
  return {
    read: async (n) => data.get(n),
    write: async (n, d) => void data.set(n, d),
    delete: async (n) => void data.delete(n),
    attachments: withAttachments
      ? { read: async (_n, k) => blobs.get(k), write: async (_n, k, d) => void blobs.set(k, d), list: async () => [...blobs.keys()], delete: async (_n, k) => void blobs.delete(k) }
      : undefined,
    bytes: () => [...data.values(), ...blobs.values()].reduce((s, d) => s + d.length, 0),
  };
}

async function storage(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mln-bench-'));
  const text = '```python {run}\nimport numpy as np\nimport matplotlib.pyplot as plt\nfor i in range(16):\n    x = np.linspace(0, 10, 400)\n    plt.figure(figsize=(6, 4))\n    plt.plot(x, np.sin(x * (i + 1)))\n    plt.scatter(np.random.randn(300), np.random.randn(300), s=4)\n    plt.show()\n```\n';
  writeFileSync(join(dir, 'note.md'), text);
  const all = findSnippets(text);
  const run = startSnippet({ notePath: join(dir, 'note.md'), snippet: all[0]!, all, paths: distKernelPaths(DIST), node: process.execPath, tfjsBackend: 'cpu', nativeModulePaths: [], timeoutMs: 120_000, python: { interpreter: '/usr/bin/python3', device: 'cpu' } });
  const { output } = await run.done;
  const sizes: number[] = [];
  for (const attach of [false, true]) {
    const files = memoryFiles(attach);
    const store = new OutputStoreCore({ files, isTrusted: () => true, log: console, onDidChange: () => undefined });
    await store.set('note', output);
    await store.flush();
    sizes.push(files.bytes());
  }
  const images = output.items.filter((i) => i.kind === 'image').length;
  console.log(`stored outputs, ${images} figures: images inside the JSON ${(sizes[0]! / 1e6).toFixed(2)} MB; JSON + PNG files ${(sizes[1]! / 1e6).toFixed(2)} MB`);
}

async function stops(): Promise<void> {
  for (const [label, lang, code] of [
    ['TypeScript', 'ts', "import { spawn } from 'node:child_process';\nspawn('setsid', ['sleep', '300'], { stdio: 'inherit' });\nwhile (true) {}"],
    ['Python', 'python', 'import subprocess, time\nsubprocess.Popen(["setsid", "sleep", "300"])\nwhile True:\n    time.sleep(1)'],
    ['Python ignoring SIGINT and SIGTERM', 'python', 'import signal, subprocess, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsubprocess.Popen(["setsid", "sleep", "300"])\nwhile True:\n    time.sleep(1)'],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'mln-bench-'));
    const text = '```' + lang + ' {run timeout=3}\n' + code + '\n```\n';
    writeFileSync(join(dir, 'n.md'), text);
    const all = findSnippets(text);
    const { result } = await startSnippet({ notePath: join(dir, 'n.md'), snippet: all[0]!, all, paths: distKernelPaths(DIST), node: process.execPath, tfjsBackend: 'cpu', nativeModulePaths: [], timeoutMs: 600_000, python: { interpreter: '/usr/bin/python3', device: 'cpu' } }).done;
    console.log(`timeout=3 with a setsid grandchild, ${label}: ${result.status} after ${(result.durationMs / 1000).toFixed(2)} s`);
  }
}

void (async () => {
  await charts();
  await storage();
  await stops();
})();
