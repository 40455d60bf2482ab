/**
 * Run lifetimes with real processes: Stop and timeouts end everything a snippet started (even
 * what left the process group), kernels die with the process that started them, figures and
 * NaN metrics arrive, and the probe cannot be hijacked from the working directory.
 * Needs `npm run build` (dist/kernels, dist/cli.js) and /usr/bin/python3 with torch.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSnippets } from '../../src/core/snippets/snippets';
import { startSnippet, type RunOptions } from '../../src/runner/runSnippet';
import { distKernelPaths } from '../../src/cli/commands/run';
import { probePython } from '../../src/runner/pythonProbe';
import { pidAlive } from './processes';

const REPO = join(__dirname, '..', '..');
const DIST = join(REPO, 'dist');
const paths = distKernelPaths(DIST);
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';
const py = { python: { interpreter: PY, device: 'cpu' } };

function runNote(text: string, extra: Partial<RunOptions> = {}, dir = mkdtempSync(join(tmpdir(), 'mln-life-'))) {
  const notePath = join(dir, 'note.md');
  writeFileSync(notePath, text);
  const all = findSnippets(text);
  return startSnippet({ notePath, snippet: all[0]!, all, paths, node: process.execPath, tfjsBackend: 'cpu', nativeModulePaths: [], timeoutMs: 60_000, ...extra });
}

function textOf(out: { items: ReadonlyArray<{ kind: string; text?: string }> }): string {
  return out.items.filter((i) => i.kind === 'text').map((i) => i.text).join('');
}

/** Alive and not a zombie. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForText(get: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  for (let t = 0; t < ms; t += 50) {
    const m = re.exec(get());
    if (m) return m;
    await sleep(50);
  }
  throw new Error(`no ${re} in: ${get().slice(-500)}`);
}

before(() => {
  assert.ok(existsSync(paths.tfjsKernel) && existsSync(join(DIST, 'cli.js')), 'run `npm run build` first');
  assert.equal(spawnSync(PY, ['-c', 'import torch, matplotlib'], { encoding: 'utf8' }).status, 0, `${PY} needs torch and matplotlib`);
});

describe('stop and timeout end every process a run started', () => {
  // The grandchild starts its own session (a data-loader server, TensorBoard) and keeps the
  // kernel's stdout open: it is outside the process group, and stdio never closes by itself.
  for (const [lang, code] of [
    ['ts', "import { spawn } from 'node:child_process';\nconst c = spawn('setsid', ['sleep', '300'], { stdio: 'inherit' });\nconsole.log('grandchild', c.pid);\nwhile (true) {}"],
    ['python', 'import subprocess, time\nc = subprocess.Popen(["setsid", "sleep", "300"])\nprint("grandchild", c.pid, flush=True)\nwhile True:\n    time.sleep(1)'],
  ] as const) {
    it(`${lang}: a setsid grandchild with timeout=3 ends within 5 s, and nothing survives`, { timeout: 30_000 }, async () => {
      const run = runNote('```' + lang + ' {run timeout=3}\n' + code + '\n```\n', py);
      const m = await waitForText(() => textOf(run.collector.output), /grandchild (\d+)/);
      const grandchild = Number(m[1]);
      const { result } = await run.done;
      assert.equal(result.status, 'timedOut');
      // The bound: a 3-second limit ends the run in at most 5 s (it took 60 s).
      assert.ok(result.durationMs <= 5000, `ended after ${result.durationMs} ms`);
      for (let i = 0; i < 10 && pidAlive(grandchild); i++) await sleep(50);
      assert.equal(pidAlive(grandchild), false, 'the setsid grandchild was ended too');
    });
  }

  it('a background process left behind by a finished snippet does not survive the run', { timeout: 30_000 }, async () => {
    const run = runNote('```python {run}\nimport subprocess\nc = subprocess.Popen(["setsid", "sleep", "300"], stdout=subprocess.DEVNULL)\nprint("bg", c.pid, flush=True)\n```\n', py);
    const { result, output } = await run.done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items));
    const pid = Number(/bg (\d+)/.exec(textOf(output))![1]);
    for (let i = 0; i < 10 && pidAlive(pid); i++) await sleep(50);
    assert.equal(pidAlive(pid), false);
  });

  it('Stop interrupts first: the Python kernel flushes its open figures', { timeout: 30_000 }, async () => {
    const run = runNote('```python {run}\nimport time\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nprint("ready", flush=True)\ntime.sleep(300)\n```\n', py);
    await waitForText(() => textOf(run.collector.output), /ready/);
    await run.process!.cancel();
    const { result, output } = await run.done;
    assert.equal(result.status, 'cancelled');
    assert.equal(output.items.filter((i) => i.kind === 'image').length, 1, 'KeyboardInterrupt ran the finally that shows the figure');
  });
});

describe('kernels die with the process that started them', () => {
  it('killNow (deactivate) ends the kernel and what it started, synchronously', { timeout: 30_000 }, async () => {
    const run = runNote('```python {run}\nimport os, subprocess, time\nc = subprocess.Popen(["setsid", "sleep", "300"])\nprint("pids", os.getpid(), c.pid, flush=True)\nwhile True:\n    time.sleep(1)\n```\n', py);
    const m = await waitForText(() => textOf(run.collector.output), /pids (\d+) (\d+)/);
    const pids = [Number(m[1]), Number(m[2])];
    run.process!.killNow();
    // The host may be gone right after deactivate, so nothing may wait for the event loop: the
    // setsid grandchild (outside the group) must end without this test yielding to it.
    const t0 = Date.now();
    while (pidAlive(pids[1]!) && Date.now() - t0 < 1000) {
      // busy wait on purpose: no await
    }
    assert.equal(pidAlive(pids[1]!), false, 'the grandchild was killed by killNow itself');
    for (let i = 0; i < 20 && pidAlive(pids[0]!); i++) await sleep(25);
    assert.equal(pidAlive(pids[0]!), false);
    assert.equal((await run.done).result.status, 'cancelled');
  });

  for (const [label, info, code, kernels] of [
    ['python', 'python {run}', 'import os, time\nprint("kernel", os.getpid(), flush=True)\nwhile True:\n    time.sleep(1)', 1],
    // A synchronous loop blocks the kernel's own timers: the watchdog must not depend on them.
    ['ts', 'ts {run}', "console.log('kernel', process.pid);\nwhile (true) {}", 1],
    // Ranks' parent is torchrun, which has no watchdog: they watch the runner's pid.
    ['torchrun', 'python {run torchrun nproc=2}', 'import os, time\nprint("kernel", os.getpid(), flush=True)\nwhile True:\n    time.sleep(1)', 2],
  ] as const) {
    it(`${label}: kill -9 of the parent leaves no kernel within 3 s`, { timeout: 60_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mln-host-'));
      writeFileSync(join(dir, 'note.md'), '```' + info + '\n' + code + '\n```\n');
      // A stand-in for the extension host: starts the run and prints what the kernel prints.
      const host = join(dir, 'host.ts');
      writeFileSync(
        host,
        `import { findSnippets } from ${JSON.stringify(join(REPO, 'src/core/snippets/snippets'))};
import { startSnippet } from ${JSON.stringify(join(REPO, 'src/runner/runSnippet'))};
import { distKernelPaths } from ${JSON.stringify(join(REPO, 'src/cli/commands/run'))};
import { readFileSync } from 'node:fs';
const text = readFileSync(${JSON.stringify(join(dir, 'note.md'))}, 'utf8');
const all = findSnippets(text);
startSnippet({ notePath: ${JSON.stringify(join(dir, 'note.md'))}, snippet: all[0]!, all, paths: distKernelPaths(${JSON.stringify(DIST)}), node: process.execPath, tfjsBackend: 'cpu', nativeModulePaths: [], timeoutMs: 0,
  python: { interpreter: ${JSON.stringify(PY)}, device: 'cpu' }, onLog: (_s, t) => process.stdout.write(t) });
`,
      );
      const parent = spawn(process.execPath, ['--import', 'tsx', host], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const pids = (): number[] => [...out.matchAll(/kernel (\d+)/g)].map((m) => Number(m[1]));
      await waitForText(() => (pids().length >= kernels ? out : ''), /kernel/, 50_000);
      assert.ok(pids().every(pidAlive));
      parent.kill('SIGKILL');
      for (let t = 0; t < 3000 && pids().some(pidAlive); t += 50) await sleep(50);
      const left = pids().filter(pidAlive);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      assert.deepEqual(left, [], 'every kernel ended by itself after its parent died');
    });
  }
});

describe('Python figures and metrics', () => {
  it('16 figures shown in a loop all arrive', { timeout: 60_000 }, async () => {
    // Saved and closed in a loop (a figure per epoch): gc.collect() frees each closed figure at
    // once, as a busy loop's collections do sooner or later, and CPython hands the next figure
    // the same id(). With id()-based de-duplication 13 of 16 arrived.
    const code = 'import gc\nimport matplotlib.pyplot as plt\nfor i in range(16):\n    plt.figure(figsize=(3, 2))\n    plt.plot([0, i])\n    plt.savefig(f"fig{i}.png")\n    plt.close()\n    gc.collect()';
    const { result, output } = await runNote('```python {run}\n' + code + '\n```\n', py).done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items).slice(0, 1000));
    assert.equal(output.items.filter((i) => i.kind === 'image').length, 16);
  });

  it('NaN and ±Infinity metrics come through `ml-notes run --json` (Python and TypeScript)', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mln-nan-'));
    const note = join(dir, 'nan.md');
    writeFileSync(
      note,
      '```python {run id=py}\nimport mlnotes\nfor i, v in enumerate([1.0, float("nan"), float("inf"), float("-inf")]):\n    mlnotes.metric("loss", v, i)\n```\n\n' +
        "```ts {run id=ts}\nimport { metric } from 'ml-notes';\n[1, NaN, Infinity, -Infinity].forEach((v, i) => metric('loss', v, i));\n```\n",
    );
    const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'run', note, '--json', '--python', PY, '--backend', 'cpu'], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout.slice(-2000));
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; snippet: string; value?: unknown; text?: string });
    for (const snippet of ['py', 'ts']) {
      assert.deepEqual(lines.filter((l) => l.type === 'metric' && l.snippet === snippet).map((l) => l.value), [1, 'NaN', 'Infinity', '-Infinity'], snippet);
    }
    assert.ok(!lines.some((l) => l.type === 'log' && /MLN|"type"/.test(l.text ?? '')), 'no raw protocol text in the output');
  });

  it('an invalid event line is dropped, with a reason, and not shown as text', { timeout: 30_000 }, async () => {
    const reasons: string[] = [];
    const run = runNote('```python {run}\nimport sys\nsys.stdout.write("\\x1eMLN " + \'{"type":"error","message":"x","line":"<b>"}\' + "\\n")\nprint("after")\n```\n', { ...py, onInvalidEvent: (r) => reasons.push(r) });
    const { result, output } = await run.done;
    assert.equal(result.status, 'succeeded');
    assert.equal(reasons.length, 1);
    assert.doesNotMatch(textOf(output), /MLN/);
    assert.match(textOf(output), /after/);
  });
});

describe('small things that went wrong', () => {
  it('a TypeScript run reports its backend in one line; optional backends not installed are notes only', { timeout: 60_000 }, async () => {
    const events: Array<{ type: string; detail?: string; notes?: readonly string[] }> = [];
    const empty = mkdtempSync(join(tmpdir(), 'mln-native-'));
    const run = runNote("```ts {run}\nconsole.log('hi');\n```\n", { tfjsBackend: 'auto', nativeModulePaths: [empty], onEvent: (e) => events.push(e) });
    const { result } = await run.done;
    assert.equal(result.status, 'succeeded');
    const backend = events.find((e) => e.type === 'backend')!;
    assert.equal(backend.detail, undefined, 'nothing to say on the output line');
    assert.ok(backend.notes?.some((n) => /tfjs-node-gpu .*Cannot find module/.test(n)), JSON.stringify(backend));
  });

  it('a missing working directory is reported as such, not as a missing interpreter', async () => {
    const text = '```python {run}\nprint(1)\n```\n';
    const all = findSnippets(text);
    const notePath = join(tmpdir(), 'mln-no-such-dir', 'deeper', 'note.md');
    const { result, output } = await startSnippet({ notePath, snippet: all[0]!, all, paths, node: process.execPath, tfjsBackend: 'cpu', nativeModulePaths: [], timeoutMs: 60_000, ...py }).done;
    assert.equal(result.status, 'failed');
    assert.match(JSON.stringify(output.items), /working directory .* does not exist/);
  });

  it('a time limit above 2³¹ ms does not fire at once', { timeout: 30_000 }, async () => {
    const { result, output } = await runNote('```python {run}\nimport time\ntime.sleep(0.3)\nprint("slept")\n```\n', { ...py, timeoutMs: 2 ** 32 }).done;
    assert.equal(result.status, 'succeeded', JSON.stringify(output.items));
  });

  it('nproc is bounded', async () => {
    const { result, output } = await runNote('```python {run torchrun nproc=100000}\nprint(1)\n```\n', py).done;
    assert.equal(result.status, 'failed');
    assert.match(JSON.stringify(output.items), /nproc=100000: a torchrun block runs 1 to \d+ processes/);
  });

  it('`ml-notes run --id` without a value is an error, not "run everything"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mln-cli-'));
    const note = join(dir, 'n.md');
    const marker = join(dir, 'ran');
    writeFileSync(note, "```js {run}\nrequire('node:fs').writeFileSync(" + JSON.stringify(marker) + ", 'x');\n```\n");
    const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'run', note, '--id'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--id needs a value/);
    assert.equal(existsSync(marker), false, 'nothing ran');
  });

  it('the probe runs isolated: a torch.py in its working directory is not imported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mln-probe-'));
    const marker = join(dir, 'hijacked');
    writeFileSync(join(dir, 'torch.py'), `open(${JSON.stringify(marker)}, "w").write("x")\n__version__ = "evil"\n`);
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = dir; // the probe's neutral working directory is the temp folder
    try {
      const probe = await probePython(PY);
      assert.ok(probe.ok, probe.ok ? '' : probe.error);
      assert.notEqual(probe.info.torch, 'evil');
      assert.equal(existsSync(marker), false);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
  });
});
