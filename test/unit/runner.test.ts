import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSnippets, parseInfo, codeWithSetup } from '../../src/core/snippets/snippets';
import { startSnippet, type RunOptions } from '../../src/runner/runSnippet';
import { outputHtml, insertOutputs } from '../../src/runner/outputs';
import { distKernelPaths } from '../../src/cli/commands/run';
import { chooseDevice, probePython, torchMissing } from '../../src/runner/pythonProbe';
import { pidAlive } from './processes';

const DIST = join(__dirname, '..', '..', 'dist');
const paths = distKernelPaths(DIST);

/** Runs every snippet of a note text written to a temp folder; returns the outputs. */
function runNote(text: string, pick: (i: number) => boolean = () => true, extra: Partial<RunOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mln-runner-'));
  const notePath = join(dir, 'note.md');
  writeFileSync(notePath, text);
  const all = findSnippets(text);
  return all.filter((s) => pick(s.index)).map((snippet) =>
    startSnippet({ notePath, snippet, all, paths, node: process.execPath, tfjsBackend: 'auto', nativeModulePaths: [], timeoutMs: 60_000, ...extra }),
  );
}

function textOf(out: { items: ReadonlyArray<{ kind: string; text?: string }> }): string {
  return out.items.filter((i) => i.kind === 'text').map((i) => i.text).join('');
}

/** Alive and not a zombie waiting to be reaped by init. */

describe('snippet discovery', () => {
  it('parses info strings: {run}, attributes, MPE {cmd=true}', () => {
    assert.deepEqual(parseInfo('ts {run id=train timeout=60}'), { lang: 'ts', runnable: true, attrs: { id: 'train', timeout: '60' } });
    assert.deepEqual(parseInfo('python {run torchrun nproc=2}'), { lang: 'python', runnable: true, attrs: { torchrun: 'true', nproc: '2' } });
    assert.equal(parseInfo('js {cmd=true}').runnable, true);
    assert.equal(parseInfo('python').runnable, false);
    assert.equal(parseInfo('python {run=false}').runnable, false);
    assert.deepEqual(parseInfo('py {run with="setup, data" #main}').attrs, { with: 'setup, data', id: 'main' });
  });
  it('finds runnable blocks with lines, keys and kernels; ignores plain blocks', () => {
    const text = '# t\n\n```ts {run id=a}\nconsole.log(1)\n```\n\n```python\nx=1\n```\n\n- item\n  ```python {run}\n  print(2)\n  ```\n';
    const s = findSnippets(text);
    assert.deepEqual(s.map((x) => [x.key, x.kernel, x.fenceLine, x.codeLine]), [['a', 'tfjs', 2, 3], [`${s[1]!.domKey}:0`, 'python', 11, 12]]);
    assert.equal(s[1]!.code, 'print(2)\n');
  });
  it('with= prepends setup blocks and reports unknown ones', () => {
    const text = '```ts {run id=setup}\nconst a = 1;\n```\n\n```ts {run with=setup}\nconsole.log(a);\n```\n\n```ts {run with=nope}\n1\n```\n';
    const s = findSnippets(text);
    const c = codeWithSetup(s[1]!, s);
    assert.ok('code' in c && c.code === 'const a = 1;\nconsole.log(a);\n');
    assert.ok('error' in codeWithSetup(s[2]!, s));
  });
});

describe('outputs', () => {
  it('escape text and insert after their code block', () => {
    const html = outputHtml({ key: '#0', domKey: 'k', lang: 'ts', status: 'succeeded', startedAt: 0, durationMs: 1200, items: [{ kind: 'text', stream: 'stdout', text: '<script>x</script>' }], metrics: { loss: [[0, 1], [1, 0.5]] } });
    assert.ok(html.includes('&lt;script&gt;') && !html.includes('<script>'));
    assert.ok(html.includes('loss'));
    const page = insertOutputs('<pre class="mln-runnable" data-snippet="k" data-line="2"><code>x</code></pre><p>after</p>', new Map([['k:0', '<div id="o"></div>']]));
    assert.ok(page.includes('</pre><div id="o"></div><p>after</p>'));
  });
});

describe('TypeScript kernel (real processes)', () => {
  before(() => assert.ok(existsSync(paths.tfjsKernel), 'run `npm run build` first'));

  it('runs TensorFlow.js on wasm and streams output, metrics and plots', async () => {
    const note = [
      '# n',
      '',
      '```ts {run}',
      "import * as tf from '@tensorflow/tfjs';",
      "import { metric, plot } from 'ml-notes';",
      'const x = tf.tensor2d([[1, 2], [3, 4]]);',
      "console.log('sum', x.sum().dataSync()[0]);",
      "for (let i = 0; i < 3; i++) metric('loss', 1 / (i + 1), i);",
      "plot.scatter({ title: 's', groups: { data: x } });",
      '```',
    ].join('\n');
    const [run] = runNote(note);
    const { result, output } = await run!.done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items));
    assert.match(textOf(output), /sum 10/);
    assert.equal(output.backend, 'wasm');
    assert.deepEqual(output.metrics['loss']!.map((p) => p[1]), [1, 0.5, 1 / 3]);
    assert.ok(output.items.some((i) => i.kind === 'plot'));
  });

  it('an op the wasm backend lacks (gather gradient) still runs', async () => {
    const note = "```ts {run}\nimport * as tf from '@tensorflow/tfjs';\nconst w = tf.variable(tf.ones([4, 2]));\nconst g = tf.grad((v: tf.Tensor) => tf.gather(v, [0, 2]).sum())(w);\nconsole.log(Array.from(g.dataSync()).join(','));\n```";
    const { result, output } = await runNote(note)[0]!.done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items));
    assert.match(textOf(output), /1,1,0,0,1,1,0,0/);
  });

  it('a throwing snippet fails with its error at the note line', async () => {
    const note = '# title\n\ntext\n\n```ts {run}\nconst a = 1;\nconst b: any = undefined;\nb.boom();\n```\n';
    const { result, output } = await runNote(note)[0]!.done;
    assert.equal(result.status, 'failed');
    const err = output.items.find((i) => i.kind === 'error') as { message: string; line?: number; stack?: string };
    assert.match(err.message, /Cannot read properties of undefined/);
    assert.equal(err.line, 8, 'b.boom() is on line 8 of the note');
    assert.match(err.stack ?? '', /note line 8/, 'the stack is mapped to note lines too');
  });

  it('line numbers stay right through with= setup blocks', async () => {
    const note = '```ts {run id=setup}\nconst f = () => { throw new Error("in setup"); };\n```\n\n```ts {run with=setup}\nconsole.log(1);\nf();\n```\n';
    const { output } = await runNote(note, (i) => i === 1)[0]!.done;
    const err = output.items.find((i) => i.kind === 'error') as { line?: number };
    assert.equal(err.line, 2, 'the throw is on line 2 of the note, inside the setup block');
  });

  it('Stop ends an endless snippet and the processes it started, within a second or so', async () => {
    const note = "```ts {run}\nimport { spawn } from 'node:child_process';\nconst c = spawn('sleep', ['300']);\nconsole.log('child', c.pid);\nwhile (true) {}\n```";
    const run = runNote(note)[0]!;
    let childPid: number | undefined;
    for (let i = 0; i < 200 && childPid === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const m = /child (\d+)/.exec(textOf(run.collector.output));
      if (m) childPid = Number(m[1]);
    }
    assert.ok(childPid, 'the snippet started');
    const t0 = Date.now();
    await run.process!.cancel();
    const stopMs = Date.now() - t0;
    const { result } = await run.done;
    assert.equal(result.status, 'cancelled');
    // A behaviour bound, not a benchmark: SIGTERM, then SIGKILL after 500 ms.
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    for (let i = 0; i < 20 && pidAlive(childPid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pidAlive(childPid), false, 'the grandchild was ended with the process group');
  });

  it('a timeout ends a runaway snippet and says so', async () => {
    const { result, output } = await runNote('```ts {run timeout=1}\nwhile (true) {}\n```')[0]!.done;
    assert.equal(result.status, 'timedOut');
    assert.ok(output.items.some((i) => i.kind === 'error' && /time limit/.test((i as { message: string }).message)));
  });

  it('a syntax error is reported, and an out-of-memory crash fails cleanly', async () => {
    const [syntax] = runNote('```ts {run}\nconst x: number = ;\n```');
    const s = await syntax!.done;
    assert.equal(s.result.status, 'failed');
    assert.ok(s.output.items.some((i) => i.kind === 'error' && (i as { line?: number }).line === 2));
    const oom = runNote('```js {run}\nconst a = []; while (true) a.push(new Array(1e6).fill(1));\n```', () => true, {
      env: { NODE_OPTIONS: '--max-old-space-size=64' },
    });
    const o = await oom[0]!.done;
    assert.equal(o.result.status, 'failed');
    assert.match(textOf(o.output) + JSON.stringify(o.output.items), /heap|memory/i);
  });

  it('a language without a kernel fails with a clear message', async () => {
    const { result, output } = await runNote('```rust {run}\nfn main() {}\n```')[0]!.done;
    assert.equal(result.status, 'failed');
    assert.match(JSON.stringify(output.items), /no kernel runs 'rust'/);
  });
});

// Debian's python3-torch (see FACTS.md); CI installs it.
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('Python kernel (real interpreter with torch)', () => {
  before(() => assert.ok(hasTorch, `${PY} must have torch (apt-get install python3-torch)`));
  const py = { python: { interpreter: PY, device: 'cpu' } };

  it('runs autograd and shows Matplotlib figures without changing the snippet', async () => {
    const note = [
      '```python {run}',
      'import torch',
      'import matplotlib.pyplot as plt',
      'x = torch.ones(2, 2, requires_grad=True)',
      'out = ((x + 2) * (x + 2) * 3).mean()',
      'out.backward()',
      'print("grad", x.grad[0, 0].item())',
      'plt.plot([0, 1, 2], [1, 0.5, 0.2])',
      'plt.show()',
      'import mlnotes',
      'mlnotes.metric("loss", 0.5, 1)',
      'print("device", mlnotes.device)',
      '```',
    ].join('\n');
    const { result, output } = await runNote(note, () => true, py)[0]!.done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items).slice(0, 2000));
    assert.match(textOf(output), /grad 4\.5/);
    assert.match(textOf(output), /device cpu/);
    const img = output.items.find((i) => i.kind === 'image') as { mime: string; data: string } | undefined;
    assert.ok(img, 'the figure became an image');
    assert.equal(Buffer.from(img.data, 'base64').subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(output.metrics['loss'], [[1, 0.5]]);
  });

  it('a raising snippet fails at the right note line', async () => {
    const note = '# t\n\n```python {run}\nimport math\nx = 1\nraise ValueError("bad value")\n```\n';
    const { result, output } = await runNote(note, () => true, py)[0]!.done;
    assert.equal(result.status, 'failed');
    const err = output.items.find((i) => i.kind === 'error') as { message: string; line?: number };
    assert.match(err.message, /ValueError: bad value/);
    assert.equal(err.line, 6);
  });

  it('Stop and timeout end an endless Python snippet', async () => {
    const run = runNote('```python {run}\nprint("start", flush=True)\nwhile True:\n    pass\n```', () => true, py)[0]!;
    for (let i = 0; i < 100 && !/start/.test(textOf(run.collector.output)); i++) await new Promise((r) => setTimeout(r, 50));
    await run.process!.cancel();
    assert.equal((await run.done).result.status, 'cancelled');
    const t = await runNote('```python {run timeout=1}\nwhile True:\n    pass\n```', () => true, py)[0]!.done;
    assert.equal(t.result.status, 'timedOut');
  });

  it('Python without torch: the probe says so and what to install', async () => {
    // A real Python that cannot see the system's dist-packages (where torch lives).
    const dir = mkdtempSync(join(tmpdir(), 'mln-notorch-'));
    const wrapper = join(dir, 'python-no-torch');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${PY} -S "$@"\n`, { mode: 0o755 });
    const probe = await probePython(wrapper);
    assert.ok(probe.ok, probe.ok ? '' : probe.error);
    assert.equal(probe.info.torch, undefined);
    const why = torchMissing(probe.info, 'import torch\nprint(torch.ones(1))\n');
    assert.match(why ?? '', /has no PyTorch .*pip install torch.*python3-torch.*mlNotes\.python\.interpreter/);
    assert.equal(torchMissing(probe.info, 'print(1)\n'), undefined, 'a snippet without torch may still run');
    const withTorch = await probePython(PY);
    assert.ok(withTorch.ok && withTorch.info.torch, 'the real interpreter has torch');
    assert.deepEqual(chooseDevice('auto', withTorch.info), withTorch.info.cuda.available ? chooseDevice('cuda', withTorch.info) : { device: 'cpu', label: 'cpu' });
  });

  it('no such interpreter: a clear failure', async () => {
    const { result, output } = await runNote('```python {run}\nprint(1)\n```', () => true, { python: { interpreter: '/nonexistent/python3', device: 'cpu' } })[0]!.done;
    assert.equal(result.status, 'failed');
    assert.match(JSON.stringify(output.items), /not found/);
  });

  it('DDP: two processes over gloo through torchrun, all ranks shown', { timeout: 120_000 }, async () => {
    const note = [
      '```python {run torchrun nproc=2}',
      'import os, torch, torch.distributed as dist',
      'dist.init_process_group("gloo")',
      'r, w = dist.get_rank(), dist.get_world_size()',
      't = torch.tensor([float(r + 1)])',
      'dist.all_reduce(t)',
      'print(f"rank {r}/{w} sum {t.item()}")',
      'dist.destroy_process_group()',
      '```',
    ].join('\n');
    const { result, output } = await runNote(note, () => true, py)[0]!.done;
    const text = textOf(output);
    assert.equal(result.status, 'succeeded', text.slice(-2000));
    assert.match(text, /\[default0\]:rank 0\/2 sum 3\.0/);
    assert.match(text, /\[default1\]:rank 1\/2 sum 3\.0/);
  });

  it('DDP: Stop ends every rank', { timeout: 120_000 }, async () => {
    const note = '```python {run torchrun nproc=2}\nimport os, time\nprint("rank", os.environ["RANK"], "pid", os.getpid(), flush=True)\ntime.sleep(300)\n```';
    const run = runNote(note, () => true, py)[0]!;
    let pids: number[] = [];
    for (let i = 0; i < 600 && pids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pids = [...textOf(run.collector.output).matchAll(/rank \d pid (\d+)/g)].map((m) => Number(m[1]));
    }
    assert.equal(pids.length, 2, 'both ranks started');
    await run.process!.cancel();
    assert.equal((await run.done).result.status, 'cancelled');
    for (let i = 0; i < 20 && pids.some(pidAlive); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(pidAlive), [], 'no rank outlives Stop');
  });

  it('DDP: a rank that crashes ends the others and fails the run', { timeout: 120_000 }, async () => {
    const note = [
      '```python {run torchrun nproc=2}',
      'import os, time, torch.distributed as dist',
      'dist.init_process_group("gloo")',
      'if dist.get_rank() == 1:',
      '    raise RuntimeError("rank one exploded")',
      'time.sleep(300)',
      '```',
    ].join('\n');
    const t0 = Date.now();
    const { result, output } = await runNote(note, () => true, py)[0]!.done;
    assert.equal(result.status, 'failed');
    assert.match(JSON.stringify(output.items), /rank one exploded/);
    assert.ok(Date.now() - t0 < 100_000, 'the sleeping rank did not run to its end');
  });
});

describe('sample notes run (CLI path)', () => {
  it('the autograd and nn-vs-functional notes print what they promise', { timeout: 180_000 }, async () => {
    const notes = join(__dirname, '..', '..', 'notes');
    for (const [name, expect] of [
      ['06-pytorch-autograd.md', /4\.5000/],
      ['07-nn-vs-functional.md', /conv2d outputs match: True/],
      ['04-pytorch-ddp-quickstart.md', /\[default0\]:params in sync: True/],
    ] as const) {
      const text = readFileSync(join(notes, name), 'utf8');
      const all = findSnippets(text);
      assert.ok(all.length >= 1, name);
      let printed = '';
      for (const snippet of all) {
        const run = startSnippet({ notePath: join(notes, name), snippet, all, paths, node: process.execPath, tfjsBackend: 'auto', nativeModulePaths: [], timeoutMs: 120_000, python: { interpreter: PY, device: 'cpu' } });
        const { result, output } = await run.done;
        assert.equal(result.status, 'succeeded', `${name} ${snippet.key}: ${JSON.stringify(output.items).slice(0, 1500)}`);
        printed += textOf(output);
      }
      assert.match(printed, expect);
    }
  });
});

describe('the EDM note quotes what its sampler block prints', () => {
  // notes/01-edm-unified-diffusion.md states these figures in its prose under the edm-samplers
  // block (seeded noise, so they reproduce); the note allows 1 in the fourth decimal between the
  // wasm and cpu backends, and quotes three decimals.
  const QUOTED: ReadonlyArray<readonly [nfe: number, euler: number, heun: number, decimals: number]> = [
    [9, 0.44, 1.80, 2],
    [17, 0.253, 0.325, 3],
    [35, 0.134, 0.059, 3],
    [71, 0.077, 0.037, 3],
  ];
  it('RMSE per NFE and the reference clusters match the note', { timeout: 180_000 }, async () => {
    const notePath = join(__dirname, '..', '..', 'notes', '01-edm-unified-diffusion.md');
    const text = readFileSync(notePath, 'utf8');
    const all = findSnippets(text);
    const snippet = all.find((s) => s.id === 'edm-samplers');
    assert.ok(snippet, 'edm-samplers block');
    const run = startSnippet({ notePath, snippet, all, paths, node: process.execPath, tfjsBackend: 'auto', nativeModulePaths: [], timeoutMs: 150_000 });
    const { result, output } = await run.done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items).slice(0, 1500));
    const printed = textOf(output);
    assert.match(printed, /参考解 Heun N=256: NFE=511, 各簇占比=\[0\.507, 0\.302, 0\.191\], 簇内std=0\.298/);
    for (const [nfe, euler, heun, decimals] of QUOTED) {
      const m = new RegExp(`NFE=${nfe}: .*Euler=([\\d.]+)\\s+Heun=([\\d.]+)`).exec(printed);
      assert.ok(m, `NFE=${nfe} line in ${printed}`);
      const tol = 0.5 * 10 ** -decimals + 1e-4;
      assert.ok(Math.abs(Number(m[1]) - euler) <= tol, `NFE=${nfe} Euler ${m[1]} vs quoted ${euler}`);
      assert.ok(Math.abs(Number(m[2]) - heun) <= tol, `NFE=${nfe} Heun ${m[2]} vs quoted ${heun}`);
    }
  });
});
