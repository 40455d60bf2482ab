/**
 * Outputs as data: the schema every kernel event and stored output passes, the one escaping
 * renderer, the store (in-memory fakes for its files and trust), output identity, and the
 * live publisher. No processes, no VS Code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument, DomUtils } from 'htmlparser2';
import { findSnippets } from '../../src/core/snippets/snippets';
import { chartPoints, insertOutputs, metricPlots, OutputCollector, outputHtml, outputsForSnippets, ENGLISH_LABELS, type SnippetOutput } from '../../src/runner/outputs';
import { OutputStoreCore, type OutputFiles } from '../../src/runner/outputStore';
import { parseKernelEvent } from '../../src/runner/schema';
import { wireReplacer } from '../../src/runner/protocol';
import { LivePublisher } from '../../src/runner/livePublisher';
import { effectiveTimeoutMs, kernelEnv } from '../../src/runner/runSnippet';

/** What a cloned repository can plant in `.ml-notes/outputs/` (each field was an injection point). */
const PLANTED = {
  version: 1,
  note: 'toy.md',
  outputs: {
    evil: {
      key: 'evil',
      domKey: 'snx',
      lang: 'ts',
      status: '<form action="https://evil.example/"><input name=q></form>',
      startedAt: 0,
      items: [{ kind: 'error', message: 'boom', line: '<style>body{display:none}</style>' }],
      metrics: { loss: [[0, '<img src="https://evil.example/track.gif">']] },
    },
    sneaky: {
      key: 'sneaky',
      domKey: 'sny',
      lang: 'ts',
      status: 'succeeded',
      startedAt: 0,
      items: [
        { kind: 'text', stream: 'stdout', text: '<meta http-equiv="refresh" content="0;url=https://evil.example/">' },
        { kind: 'table', title: '<b>t</b>', columns: ['<form>'], rows: [['<style>x</style>', 1]] },
        { kind: 'image', mime: 'text/html', data: 'PGZvcm0+' },
      ],
      metrics: {},
    },
    ok: { key: 'ok', domKey: 'snz', lang: 'ts', status: 'succeeded', startedAt: 0, items: [{ kind: 'text', stream: 'stdout', text: 'hello' }], metrics: { loss: [[0, 1], [1, 'NaN'], [2, 'Infinity']] } },
  },
};

function memoryFiles(initial: Record<string, string> = {}): OutputFiles & { data: Map<string, string>; reads: string[]; syncWrites: number } {
  const data = new Map(Object.entries(initial));
  const reads: string[] = [];
  const files = {
    data,
    reads,
    syncWrites: 0,
    read: async (note: string) => {
      reads.push(note);
      const t = data.get(note);
      return t === undefined ? undefined : new TextEncoder().encode(t);
    },
    write: async (note: string, bytes: Uint8Array) => void data.set(note, new TextDecoder().decode(bytes)),
    writeSync: (note: string, bytes: Uint8Array) => {
      files.syncWrites++;
      data.set(note, new TextDecoder().decode(bytes));
    },
    delete: async (note: string) => void data.delete(note),
  };
  return files;
}

function store(files: OutputFiles, trusted: { value: boolean }, logs: string[] = []): OutputStoreCore {
  return new OutputStoreCore({ files, isTrusted: () => trusted.value, log: { warn: (m) => logs.push(m), error: (m) => logs.push(m) }, onDidChange: () => undefined, saveDelayMs: 5 });
}

function output(partial: Partial<SnippetOutput> & { key: string }): SnippetOutput {
  return { domKey: 'd', lang: 'ts', status: 'succeeded', startedAt: 0, items: [], metrics: {}, ...partial };
}

/** Elements of rendered output HTML, parsed as a browser's innerHTML would. */
function elementsOf(html: string): Array<{ name: string; attribs: Record<string, string> }> {
  return DomUtils.findAll(() => true, parseDocument(html).children);
}

describe('stored outputs (planted files)', () => {
  it('untrusted: the file is never read, nothing is shown', async () => {
    const files = memoryFiles({ 'file:///ws/toy.md': JSON.stringify(PLANTED) });
    const s = store(files, { value: false });
    const got = await s.get('file:///ws/toy.md');
    assert.equal(got.size, 0);
    assert.deepEqual(files.reads, [], 'not even read');
  });

  it('trusted: invalid outputs are dropped with a log line; what passes renders as text only', async () => {
    const files = memoryFiles({ 'file:///ws/toy.md': JSON.stringify(PLANTED) });
    const logs: string[] = [];
    const got = await store(files, { value: true }, logs).get('file:///ws/toy.md');
    assert.deepEqual([...got.keys()], ['ok'], 'the forged status, line and metric and the non-image mime are rejected');
    assert.equal(logs.filter((l) => /dropped a stored output/.test(l)).length, 2, logs.join('\n'));
    const ok = got.get('ok')!;
    assert.ok(Number.isNaN(ok.metrics['loss']![1]![1]) && ok.metrics['loss']![2]![1] === Infinity, 'NaN and Infinity survive the file');
  });

  it('trust granted later: reload reads the file', async () => {
    const files = memoryFiles({ 'file:///ws/toy.md': JSON.stringify(PLANTED) });
    const trusted = { value: false };
    const s = store(files, trusted);
    assert.equal((await s.get('file:///ws/toy.md')).size, 0);
    trusted.value = true;
    s.reload();
    assert.equal((await s.get('file:///ws/toy.md')).size, 1);
  });

  it('the renderer escapes every field even when handed unvalidated data', () => {
    // The renderer is the last line: it must hold even if a caller skipped the schema.
    for (const raw of Object.values(PLANTED.outputs)) {
      const html = outputHtml(raw as unknown as SnippetOutput);
      const els = elementsOf(html);
      const tags = new Set(els.map((e) => e.name));
      for (const bad of ['form', 'input', 'style', 'meta', 'script', 'b']) assert.ok(!tags.has(bad), `<${bad}> from ${raw.key}: ${html}`);
      for (const img of els.filter((e) => e.name === 'img')) assert.match(img.attribs['src'] ?? '', /^data:image\/(png|svg\+xml);base64,/);
      assert.deepEqual([...new Set(els.flatMap((e) => Object.keys(e.attribs)))].filter((a) => !['class', 'alt', 'src', 'data-status'].includes(a)), []);
    }
  });

  it('saves pending changes synchronously on dispose, with NaN/Infinity kept', async () => {
    const files = memoryFiles();
    const s = new OutputStoreCore({ files, isTrusted: () => true, log: { warn: () => undefined, error: () => undefined }, onDidChange: () => undefined, saveDelayMs: 60_000 });
    await s.set('n', output({ key: 'a', metrics: { loss: [[0, NaN], [1, -Infinity]] } }));
    s.dispose();
    assert.equal(files.syncWrites, 1);
    const back = await store(files, { value: true }).get('n');
    const loss = back.get('a')!.metrics['loss']!;
    assert.ok(Number.isNaN(loss[0]![1]) && loss[1]![1] === -Infinity);
  });

  it('untrusted: nothing is written', async () => {
    const files = memoryFiles();
    const s = store(files, { value: false });
    await s.set('n', output({ key: 'a' }));
    await s.flush();
    s.dispose();
    assert.equal(files.data.size, 0);
  });
});

describe('stored images', () => {
  // A real (1×1) PNG.
  const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

  function withAttachments() {
    const files = memoryFiles();
    const blobs = new Map<string, Uint8Array>();
    const f: OutputFiles = {
      ...files,
      attachments: {
        read: async (_n, name) => blobs.get(name),
        write: async (_n, name, data) => void blobs.set(name, data),
        list: async () => [...blobs.keys()],
        delete: async (_n, name) => void blobs.delete(name),
      },
    };
    return { files, blobs, f };
  }

  it('are files of their own (PNG bytes), not base64 inside the JSON, and come back on load', async () => {
    const { files, blobs, f } = withAttachments();
    const s = store(f, { value: true });
    await s.set('n', output({ key: 'a', items: [{ kind: 'image', mime: 'image/png', data: PNG, title: 'fig' }] }));
    await s.flush();
    const json = files.data.get('n')!;
    assert.ok(!json.includes(PNG.slice(0, 40)), 'no base64 in the JSON');
    const [name, bytes] = [...blobs.entries()][0]!;
    assert.match(name, /^[0-9a-f]{32}\.png$/);
    assert.equal(Buffer.from(bytes).subarray(1, 4).toString(), 'PNG');
    const back = await store(f, { value: true }).get('n');
    assert.deepEqual(back.get('a')!.items, [{ kind: 'image', mime: 'image/png', title: 'fig', data: PNG }]);
    await s.clear('n', 'a');
    await s.flush();
    assert.equal(blobs.size, 0, 'an image no output refers to is removed');
  });

  it('a planted file name cannot leave the folder', () => {
    const bad = { key: 'k', domKey: 'd', lang: 'py', status: 'succeeded', startedAt: 0, metrics: {}, items: [{ kind: 'image', mime: 'image/png', file: '../../.ssh/id_rsa.png' }] };
    const { f } = withAttachments();
    const s = store({ ...f, read: async () => new TextEncoder().encode(JSON.stringify({ version: 1, note: 'n', outputs: { k: bad } })) }, { value: true });
    return s.get('n').then((m) => assert.equal(m.size, 0));
  });
});

describe('kernel events', () => {
  it('NaN and ±Infinity travel as strings and come back as numbers', () => {
    const line = JSON.stringify({ type: 'metric', name: 'loss', value: NaN, step: 3 }, wireReplacer);
    assert.equal(line, '{"type":"metric","name":"loss","value":"NaN","step":3}');
    for (const [wire, want] of [['"NaN"', NaN], ['"Infinity"', Infinity], ['"-Infinity"', -Infinity], ['2.5', 2.5]] as const) {
      const r = parseKernelEvent(`{"type":"metric","name":"l","value":${wire}}`);
      assert.ok('event' in r && r.event.type === 'metric' && Object.is(r.event.value, want), JSON.stringify(r));
    }
  });

  it('invalid events are rejected: bare NaN, unknown type, wrong field types, non-image mime', () => {
    for (const bad of ['{"type":"metric","name":"l","value":NaN}', '{"type":"html","html":"<b>"}', '{"type":"error","message":"x","line":"<b>"}', '{"type":"image","mime":"text/html","data":"AA=="}', '{"type":"image","mime":"image/png","data":"<svg onload=x>"}']) {
      assert.ok('error' in parseKernelEvent(bad), bad);
    }
  });

  it('a collector keeps NaN/Inf points; the chart gets gaps, the table counts them', () => {
    const c = new OutputCollector({ key: 'k', domKey: 'd', lang: 'py' }, () => undefined);
    for (const [i, v] of [1, 0.5, NaN, Infinity, 0.2].entries()) c.onEvent({ type: 'metric', name: 'loss', value: v, step: i });
    assert.equal(c.output.metrics['loss']!.length, 5);
    const series = (metricPlots(c.output)[0] as unknown as { series: Record<string, Array<[number, number]>> }).series['loss']!;
    assert.deepEqual(series.map((p) => p[0]), [0, 1, 2, 3, 4]);
    assert.ok(Number.isNaN(series[2]![1]) && Number.isNaN(series[3]![1]), 'non-finite points become gaps (NaN), never Infinity in a scale');
    const html = outputHtml({ ...c.output, status: 'succeeded' });
    assert.match(html, /2 NaN\/Inf/);
  });
});

describe('chart downsampling', () => {
  it('LTTB keeps at most the limit, the ends, and a lone spike', () => {
    const pts: Array<[number, number]> = Array.from({ length: 100_000 }, (_, i) => [i, Math.sin(i / 1000)]);
    pts[54_321] = [54_321, 50];
    const out = chartPoints(pts, 800);
    assert.ok(out.length <= 800, String(out.length));
    assert.deepEqual(out[0], [0, 0]);
    assert.equal(out[out.length - 1]![0], 99_999);
    assert.ok(out.some((p) => p[1] === 50), 'the spike (a diverging step) is kept');
  });
});

describe('output identity', () => {
  const block = (code: string, attrs = '') => '```python {run' + attrs + '}\n' + code + '\n```\n';

  it('two identical blocks keep separate outputs', () => {
    const text = block('print(1)') + '\ntext\n\n' + block('print(1)');
    const s = findSnippets(text);
    assert.notEqual(s[0]!.key, s[1]!.key);
    const stored = new Map([
      [s[0]!.key, output({ key: s[0]!.key, domKey: s[0]!.domKey, items: [{ kind: 'text', stream: 'stdout', text: 'FIRST' }] })],
      [s[1]!.key, output({ key: s[1]!.key, domKey: s[1]!.domKey, items: [{ kind: 'text', stream: 'stdout', text: 'SECOND' }] })],
    ]);
    const slots = new Map(outputsForSnippets(s, stored).map((o) => [o.slot, outputHtml(o.output)]));
    const page = insertOutputs(`<pre data-snippet="${s[0]!.domKey}">a</pre><p>x</p><pre data-snippet="${s[1]!.domKey}">b</pre>`, slots);
    assert.ok(page.indexOf('FIRST') < page.indexOf('<p>x</p>') && page.indexOf('SECOND') > page.indexOf('<p>x</p>'), page);
  });

  it('an output stays with its block when a block is inserted above', () => {
    const before = block('print("a")') + block('print("b")');
    const s0 = findSnippets(before);
    const stored = new Map([[s0[1]!.key, output({ key: s0[1]!.key, domKey: s0[1]!.domKey, index: 1 })]]);
    const after = findSnippets(block('print("new")') + before);
    const found = outputsForSnippets(after, stored);
    assert.deepEqual(found.map((o) => [o.snippet.code, o.stale]), [['print("b")\n', false]]);
  });

  it('an edited block keeps its last output, marked stale', () => {
    const s0 = findSnippets(block('print("a")'));
    const stored = new Map([[s0[0]!.key, output({ key: s0[0]!.key, domKey: s0[0]!.domKey, index: 0 })]]);
    const found = outputsForSnippets(findSnippets(block('print("a!")')), stored);
    assert.deepEqual(found.map((o) => o.stale), [true]);
  });
});

describe('renderer labels', () => {
  it('status, line and stack words come from the labels passed in', () => {
    const zh = { ...ENGLISH_LABELS, status: { ...ENGLISH_LABELS.status, failed: '✗ 失败' }, line: (n: number) => `第 ${n} 行`, noteLine: (n: number) => `笔记第 ${n} 行` };
    const html = outputHtml(output({ key: 'k', status: 'failed', items: [{ kind: 'error', message: 'E', line: 30, stack: 'File note line 30' }] }), { labels: zh });
    assert.match(html, /✗ 失败/);
    assert.match(html, /第 30 行/);
    assert.match(html, /File 笔记第 30 行/);
  });
});

describe('live publishing', () => {
  it('one publish in flight: ticks during a slow publish are skipped; finish publishes once more', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    const pub = new LivePublisher(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => (release = r));
      running--;
    }, 1_000_000);
    pub.tick();
    pub.tick();
    pub.tick();
    assert.equal(calls, 1);
    assert.equal(pub.skipped, 2);
    const done = pub.finish();
    release!();
    await new Promise((r) => setImmediate(r));
    release!();
    await done;
    assert.equal(calls, 2, 'the final state was published after the one in flight');
    assert.equal(maxRunning, 1);
  });
});

describe('run limits and environment', () => {
  it("a note's timeout= shortens the user's limit but never lengthens it", () => {
    assert.equal(effectiveTimeoutMs('3', 600_000), 3000);
    assert.equal(effectiveTimeoutMs('99999', 600_000), 600_000);
    assert.equal(effectiveTimeoutMs(undefined, 600_000), 600_000);
    assert.equal(effectiveTimeoutMs('abc', 600_000), 600_000);
  });

  it("kernels don't inherit the host's NODE_OPTIONS, VSCODE_* or ELECTRON_*", () => {
    const env = kernelEnv({ PATH: '/bin', NODE_OPTIONS: '--require /ws/evil.js', VSCODE_IPC_HOOK: '/tmp/x.sock', ELECTRON_RUN_AS_NODE: '1', HOME: '/h' });
    assert.deepEqual(env, { PATH: '/bin', HOME: '/h' });
  });
});
