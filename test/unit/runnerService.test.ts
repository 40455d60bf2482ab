/**
 * The runner's lifecycle (RunnerCore, which RunnerService wraps in VS Code UI) with small
 * in-memory fakes: a store, a plotter and processes whose end the test decides.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findSnippets } from '../../src/core/snippets/snippets';
import { OutputCollector, MAX_CHART_POINTS, type SnippetOutput } from '../../src/runner/outputs';
import type { ProcessRun, RunResult } from '../../src/runner/processRun';
import type { PlotSpec } from '../../src/runner/protocol';
import { RunnerCore } from '../../src/runner/runnerCore';
import type { StartedRun } from '../../src/runner/runSnippet';

const NOTE = 'file:///ws/note.md';
const TEXT = '```python {run}\nprint(1)\n```\n\n```python {run id=b}\nprint(2)\n```\n';

function fakeStore() {
  const notes = new Map<string, Map<string, SnippetOutput>>();
  const map = (n: string) => notes.get(n) ?? notes.set(n, new Map()).get(n)!;
  return {
    notes,
    sets: 0,
    get: async (n: string) => map(n),
    async set(n: string, o: SnippetOutput) {
      this.sets++;
      map(n).set(o.key, o);
    },
    clear: async (n: string, k: string) => void map(n).delete(k),
  };
}

/** A started run whose process ends when the test calls `end`. */
function fakeRun(snippet: ReturnType<typeof findSnippets>[number]) {
  const calls = { cancel: 0, killNow: 0 };
  let end!: (r: RunResult) => void;
  const collector = new OutputCollector({ key: snippet.key, domKey: snippet.domKey, lang: snippet.lang, index: snippet.index }, () => undefined);
  const done = new Promise<RunResult>((r) => (end = r)).then((result) => ({ result, output: collector.finish(result) }));
  const process = {
    cancel: async () => {
      calls.cancel++;
      end({ status: 'cancelled', exitCode: null, signal: 'SIGINT', durationMs: 1 });
    },
    killNow: () => void calls.killNow++,
  } as unknown as ProcessRun;
  const started: StartedRun = { process, collector, done };
  return { started, calls, collector, end: (status: RunResult['status'] = 'succeeded') => end({ status, exitCode: 0, signal: null, durationMs: 5 }) };
}

function core(store = fakeStore(), plotted: PlotSpec[] = []) {
  const changes = { n: 0 };
  const c = new RunnerCore({
    outputs: store,
    plot: async (s) => {
      plotted.push(s);
      return '<svg/>';
    },
    log: { error: (m, e) => assert.fail(`${m}: ${String(e)}`) },
    onDidChangeRuns: () => changes.n++,
    liveUpdateMs: 1_000_000,
  });
  return { c, store, plotted, changes };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RunnerCore with fakes', () => {
  it('killAll (deactivate) kills every run synchronously, without waiting', async () => {
    const { c } = core();
    const all = findSnippets(TEXT);
    const runs = all.map(fakeRun);
    all.forEach((s, i) => void c.run(NOTE, s, all, () => runs[i]!.started));
    await tick();
    c.killAll();
    assert.deepEqual(runs.map((r) => r.calls.killNow), [1, 1]);
    runs.forEach((r) => r.end('cancelled'));
  });

  it('the final output is stored once the run ends; metric charts are drawn from at most the downsampling limit', async () => {
    const { c, store, plotted } = core();
    const all = findSnippets(TEXT);
    const run = fakeRun(all[0]!);
    const p = c.run(NOTE, all[0]!, all, () => run.started);
    await tick();
    for (let i = 0; i < 100_000; i++) run.collector.onEvent({ type: 'metric', name: 'loss', value: 1 / (i + 1), step: i });
    run.end();
    const r = await p;
    assert.ok(r !== 'alreadyRunning' && r.result.status === 'succeeded');
    const saved = store.notes.get(NOTE)!.get(all[0]!.key)!;
    assert.equal(saved.status, 'succeeded');
    assert.deepEqual(saved.metricSvgs, ['<svg/>']);
    const drawn = plotted.filter((s) => s.kind === 'line') as unknown as Array<{ series: Record<string, unknown[]> }>;
    assert.ok(drawn.length > 0 && drawn.every((s) => s.series['loss']!.length <= MAX_CHART_POINTS), 'never all 100,000 points');
    assert.equal(c.isRunning(NOTE, all[0]!.key), false);
  });

  it('the same block twice at once: the second is refused', async () => {
    const { c } = core();
    const all = findSnippets(TEXT);
    const run = fakeRun(all[0]!);
    const first = c.run(NOTE, all[0]!, all, () => run.started);
    let startedAgain = false;
    assert.equal(await c.run(NOTE, all[0]!, all, () => ((startedAgain = true), fakeRun(all[0]!).started)), 'alreadyRunning');
    assert.equal(startedAgain, false);
    run.end();
    await first;
  });

  it('Stop cancels only the runs of that note and block, and waits for them', async () => {
    const { c } = core();
    const all = findSnippets(TEXT);
    const a = fakeRun(all[0]!);
    const b = fakeRun(all[1]!);
    const pa = c.run(NOTE, all[0]!, all, () => a.started);
    const pb = c.run(NOTE, all[1]!, all, () => b.started);
    await tick();
    await c.stop(NOTE, all[1]!.key);
    assert.deepEqual([a.calls.cancel, b.calls.cancel], [0, 1]);
    assert.equal(((await pb) as { result: RunResult }).result.status, 'cancelled');
    a.end();
    await pa;
  });

  it("running an edited block drops its previous code's output (it no longer piles up)", async () => {
    const store = fakeStore();
    const { c } = core(store);
    const before = findSnippets('```python {run}\nprint("old")\n```\n');
    const old = fakeRun(before[0]!);
    const p0 = c.run(NOTE, before[0]!, before, () => old.started);
    old.end();
    await p0;
    const after = findSnippets('```python {run}\nprint("new")\n```\n');
    const run = fakeRun(after[0]!);
    const p1 = c.run(NOTE, after[0]!, after, () => run.started);
    run.end();
    await p1;
    assert.deepEqual([...store.notes.get(NOTE)!.keys()], [after[0]!.key]);
  });
});
