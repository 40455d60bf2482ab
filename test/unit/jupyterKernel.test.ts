/**
 * Jupyter kernels with real parts: Debian's ipykernel (python3-ipykernel) driven over ZeroMQ by
 * LocalKernel. Blocks share state; an interrupt keeps it; a restart clears it; a dying kernel is
 * reported; rich outputs arrive as display items and are sanitized by the one renderer;
 * tracebacks point at note lines; no kernel process is left after shutdown or when the host dies.
 * Runs from the sources (src/runner/kernels/jupyter_launcher.py); needs /usr/bin/python3 with ipykernel.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { findSnippets, type Snippet } from '../../src/core/snippets/snippets';
import { LocalKernel } from '../../src/runner/jupyter/localKernel';
import type { KernelSession } from '../../src/runner/jupyter/session';
import { startInKernel } from '../../src/runner/jupyter/kernelRun';
import { outputHtml, type SnippetOutput } from '../../src/runner/outputs';
import { kernelEnv } from '../../src/runner/runSnippet';
import { pidAlive } from './processes';

const REPO = join(__dirname, '..', '..');
const KERNELS = join(REPO, 'src', 'runner', 'kernels');
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';

const kernels: LocalKernel[] = [];
function newKernel(kernelArgs?: string[]): LocalKernel {
  const k = new LocalKernel({ interpreter: PY, launcher: join(KERNELS, 'jupyter_launcher.py'), matplotlibrc: join(KERNELS, 'matplotlibrc'), cwd: REPO, env: kernelEnv(), kernelArgs });
  kernels.push(k);
  return k;
}
after(async () => {
  await Promise.all(kernels.map((k) => k.shutdown()));
});

function note(...blocks: string[]): { text: string; all: Snippet[] } {
  const text = '# 笔记\n\n' + blocks.map((b, i) => `段落 ${i}。\n\n\`\`\`python {run #b${i}}\n${b}\n\`\`\`\n`).join('\n');
  return { text, all: findSnippets(text) };
}

async function run(k: KernelSession, all: Snippet[], i: number): Promise<SnippetOutput & { result: string }> {
  const started = startInKernel({ snippet: all[i]!, all, kernel: k, label: 'test' });
  const { result, output } = await started.done;
  return Object.assign(output, { result: result.status });
}

function textOf(out: SnippetOutput): string {
  return out.items.filter((i) => i.kind === 'text').map((i) => (i as { text: string }).text).join('');
}


async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe('Jupyter kernel (real ipykernel)', () => {
  it('keeps state across blocks and counts executions', async () => {
    const k = newKernel();
    const { all } = note('counter = 41', 'print(counter + 1)');
    const a = await run(k, all, 0);
    assert.equal(a.result, 'succeeded');
    const b = await run(k, all, 1);
    assert.equal(b.result, 'succeeded', JSON.stringify(b.items));
    assert.equal(textOf(b), '42\n');
    assert.equal(k.executionCount, 2);
    assert.equal(k.state, 'idle');
  });

  it('listeners hear a new In [n] while the block is still busy (the UI shows both), and the restart\'s reset', async () => {
    const k = newKernel();
    const { all } = note('import time\ntime.sleep(0.3)');
    await k.start();
    const heard: string[] = [];
    k.onDidChangeState((s) => heard.push(`${s} ${k.executionCount}`));
    await run(k, all, 0);
    // The kernel's busy status comes before its execute_input (which carries the count); a
    // startup busy/idle of the kernel's own may come first.
    assert.deepEqual(heard.slice(heard.lastIndexOf('busy 0')), ['busy 0', 'busy 1', 'idle 1'], heard.join(', '));
    heard.length = 0;
    await k.restart();
    assert.ok(heard.includes('restarting 0'), heard.join(', '));
    assert.equal(heard.at(-1), 'idle 0');
  });

  it('an interrupt stops the block and keeps the variables', async () => {
    const k = newKernel();
    const { all } = note('model = {"w": 3}', 'import time\nfor i in range(10_000):\n    time.sleep(0.05)', 'print(model["w"] * 2)');
    await run(k, all, 0);
    const started = startInKernel({ snippet: all[1]!, all, kernel: k, label: 'test' });
    await waitFor(() => k.state === 'busy', 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await started.process!.cancel();
    const { result } = await started.done;
    assert.equal(result.status, 'cancelled');
    const c = await run(k, all, 2);
    assert.equal(textOf(c), '6\n');
  });

  it('Interrupt Kernel (the kernel interrupted, not the run cancelled) stops the block without a failure', async () => {
    const k = newKernel();
    const { all } = note('kept = 5', 'import time\nwhile True:\n    time.sleep(0.05)', 'print(kept)');
    await run(k, all, 0);
    const started = startInKernel({ snippet: all[1]!, all, kernel: k, label: 'test' });
    await waitFor(() => k.state === 'busy', 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await k.interrupt();
    const { result, output } = await started.done;
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(output.items.filter((i) => i.kind === 'error'), []);
    assert.equal(textOf(await run(k, all, 2)), '5\n');
  });

  it('the block run right after a failing one is not aborted by the kernel (stop_on_error races the next request)', async () => {
    // ipykernel aborts execute requests that reach it while it is "aborting" after an error; the
    // window is one event-loop turn by default (a race on a loaded machine) — 2 s here makes it sure.
    const k = newKernel(['--Kernel.stop_on_error_timeout=2']);
    const { all } = note('kept = 7', 'raise ValueError("boom")', 'print(kept)');
    await run(k, all, 0);
    assert.equal((await run(k, all, 1)).result, 'failed');
    const next = await run(k, all, 2);
    assert.equal(next.result, 'succeeded');
    assert.equal(textOf(next), '7\n');
  });

  it('a restart clears the state; the error names the note line', async () => {
    const k = newKernel();
    const { text, all } = note('secret = 1', 'x = 1\nprint(secret)');
    await run(k, all, 0);
    await k.restart();
    assert.equal(k.executionCount, 0);
    const b = await run(k, all, 1);
    assert.equal(b.result, 'failed');
    const err = b.items.find((i) => i.kind === 'error') as { message: string; line?: number; stack?: string };
    assert.match(err.message, /NameError/);
    // The note's own line of `print(secret)` (1-based), found in the text, not by the runner.
    const expected = text.split('\n').indexOf('print(secret)') + 1;
    assert.equal(err.line, expected);
    assert.match(err.stack ?? '', new RegExp(`note line ${expected}`));
  });

  it('a kernel that dies is reported as dead', async () => {
    const k = newKernel();
    const { all } = note('import os\nos._exit(3)');
    const a = await run(k, all, 0);
    assert.equal(a.result, 'failed');
    const err = a.items.find((i) => i.kind === 'error') as { message: string };
    assert.match(err.message, /kernel died/);
    assert.equal(k.state, 'dead');
  });

  it('rich outputs: markdown, latex, sanitized html, png, svg, update_display_data, \\r progress', async () => {
    const k = newKernel();
    const { all } = note(
      [
        'from IPython.display import display, Markdown, Latex, HTML, SVG, Image',
        'import base64',
        'display(Markdown("**粗体** and $a^2$"))',
        'display(Latex(r"$$\\frac{1}{2}$$"))',
        'display(HTML("<b onclick=\\"alert(1)\\">hi</b><script>alert(2)</script>"))',
        'PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")',
        'display(Image(data=PNG, format="png"))',
        'display(SVG("<svg xmlns=\\"http://www.w3.org/2000/svg\\" width=\\"10\\" height=\\"10\\"><script>alert(3)</script><rect width=\\"10\\" height=\\"10\\"/></svg>"))',
        'h = display(Markdown("step 0"), display_id=True)',
        'h.update(Markdown("step 9"))',
        'import sys',
        'for i in range(5):',
        '    sys.stdout.write("\\r%d%%" % (i * 25)); sys.stdout.flush()',
        'print()',
      ].join('\n'),
    );
    const a = await run(k, all, 0);
    assert.equal(a.result, 'succeeded', JSON.stringify(a.items));
    const displays = a.items.filter((i) => i.kind === 'display' || i.kind === 'image').map((i) => (i as { mime: string }).mime);
    assert.deepEqual(displays, ['text/markdown', 'text/latex', 'text/html', 'image/png', 'image/svg+xml', 'text/markdown']);
    assert.equal(textOf(a), '100%\n');
    const html = outputHtml(a);
    assert.match(html, /<strong>粗体<\/strong>/);
    assert.match(html, /class="katex/);
    assert.match(html, /<b>hi<\/b>/);
    assert.doesNotMatch(html, /onclick|<script|alert\(2\)/);
    assert.match(html, /src="data:image\/png;base64,iVBOR/);
    // The SVG is shown through <img> (no script runs there), never inlined.
    assert.doesNotMatch(html, /<svg/);
    assert.match(html, /src="data:image\/svg\+xml;base64,/);
    assert.match(html, /step 9/);
    assert.doesNotMatch(html, /step 0/);
  });

  it('mlnotes.metric and mlnotes.table still work in a kernel', async () => {
    const k = newKernel();
    const { all } = note('import mlnotes\nfor s in range(3):\n    mlnotes.metric("loss", 1.0 / (s + 1), s)\nmlnotes.table(["a"], [[1]])\nprint("ok")');
    const a = await run(k, all, 0);
    assert.deepEqual(a.metrics['loss']!.map((p) => p[0]), [0, 1, 2]);
    assert.ok(a.items.some((i) => i.kind === 'table'));
    assert.equal(textOf(a), 'ok\n');
  });

  it('no kernel process is left after shutdown', async () => {
    const k = newKernel();
    const { all } = note('import os\nprint(os.getpid())');
    const a = await run(k, all, 0);
    const pid = Number(textOf(a).trim());
    assert.ok(pidAlive(pid));
    await k.shutdown();
    assert.equal(k.state, 'closed');
    assert.ok(await waitFor(() => !pidAlive(pid), 3000), 'kernel still alive after shutdown');
  });

  it('the kernel dies with the host that started it (SIGKILL, no cleanup ran)', async () => {
    const script = `
      const { LocalKernel } = require(${JSON.stringify(join(REPO, 'src/runner/jupyter/localKernel.ts'))});
      const { startInKernel } = require(${JSON.stringify(join(REPO, 'src/runner/jupyter/kernelRun.ts'))});
      const { findSnippets } = require(${JSON.stringify(join(REPO, 'src/core/snippets/snippets.ts'))});
      const k = new LocalKernel({ interpreter: ${JSON.stringify(PY)}, launcher: ${JSON.stringify(join(KERNELS, 'jupyter_launcher.py'))}, cwd: '/tmp', env: process.env });
      const all = findSnippets('\`\`\`python {run}\\nimport os\\nprint(os.getpid())\\n\`\`\`\\n');
      startInKernel({ snippet: all[0], all, kernel: k, label: 'x' }).done.then(({ output }) => {
        process.stdout.write('PID ' + output.items.find((i) => i.kind === 'text').text);
      });`;
    const host = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.ok(await waitFor(() => /PID \d+/.test(out), 30_000), 'the host never reported its kernel');
    const pid = Number(/PID (\d+)/.exec(out)![1]);
    assert.ok(pidAlive(pid));
    host.kill('SIGKILL');
    assert.ok(await waitFor(() => !pidAlive(pid), 5000), 'kernel outlived its host');
  });
});

describe('ml-notes run with a Jupyter kernel (needs npm run build)', () => {
  const CLI = join(REPO, 'dist', 'cli.js');
  const NOTE = [
    '# 状态',
    '',
    '```python {run #a}',
    'counter = 41',
    '```',
    '',
    '```python {run #b}',
    'print(counter + 1)',
    '```',
    '',
    '```python {run #bad}',
    'raise ValueError("坏")',
    '```',
    '',
  ].join('\n');
  const cli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolveRun) => {
      const dir = mkdtempSync(join(tmpdir(), 'mln-cli-'));
      const notePath = join(dir, 'note.md');
      writeFileSync(notePath, NOTE);
      const p = spawn(process.execPath, [CLI, 'run', notePath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolveRun({ code, stdout, stderr }));
    });

  it('runs the named blocks in one session, in the order named', async () => {
    const r = await cli(['--python', PY, '--kernel', 'jupyter', '--id', 'a', '--id', 'b']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '42\n');
  });

  it('--kernel process: each block alone, so the second fails (exit 1)', async () => {
    const r = await cli(['--python', PY, '--kernel', 'process', '--id', 'a', '--id', 'b']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NameError/);
  });

  it('a failing block: exit 1, the error in --json events', async () => {
    const r = await cli(['--python', PY, '--id', 'bad', '--json']);
    assert.equal(r.code, 1);
    const done = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; status?: string }).find((e) => e.type === 'done');
    assert.equal(done?.status, 'failed');
  });

  it('exit 2 for a missing block, and for --kernel jupyter without ipykernel', async () => {
    assert.equal((await cli(['--python', PY, '--id', 'nope'])).code, 2);
    // A Python without ipykernel: a venv of the same interpreter, without its site-packages.
    const venv = join(tmpdir(), `mln-noipk-${process.pid}`);
    execFileSync(PY, ['-m', 'venv', '--without-pip', venv]);
    const fake = join(venv, 'bin', 'python');
    const r = await cli(['--python', fake, '--kernel', 'jupyter', '--id', 'a']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ipykernel is not installed/);
  });

  it('exit 2 with the cause when --server refuses the connection or is not a Jupyter server; no token in the message', async () => {
    const token = randomBytes(8).toString('hex');
    // A port that was free a moment ago and has no listener now: the connection is refused.
    const closed = await new Promise<number>((resolvePort) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolvePort(p));
      });
    });
    const r = await cli(['--python', PY, '--id', 'a', '--server', `http://127.0.0.1:${closed}/?token=${token}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach the Jupyter server at http://127\\.0\\.0\\.1:${closed}/: ECONNREFUSED`));
    assert.equal(r.stdout, '');
    // Something listens there, but it is no Jupyter server (an HTTP server that answers 404).
    const http = await import('node:http');
    const other = http.createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((r2) => other.listen(0, '127.0.0.1', () => r2()));
    try {
      const port = (other.address() as AddressInfo).port;
      const r3 = await cli(['--python', PY, '--id', 'a', '--json', '--server', `http://127.0.0.1:${port}/?token=${token}`]);
      assert.equal(r3.code, 2, r3.stderr);
      assert.match(r3.stderr, /does not answer as a Jupyter server \(HTTP 404/);
      assert.ok(!(r.stderr + r3.stderr).includes(token), 'the token is in the message');
    } finally {
      other.close();
    }
  });
});

/**
 * The CLI's TypeScript blocks share one session per invocation (the built kernel on the cpu
 * backend). Every CLI is started with a marker in its environment, which the session inherits:
 * a process that still carries it once the CLI has exited was left behind.
 */
describe('ml-notes run with a TypeScript session (needs npm run build)', () => {
  const CLI = join(REPO, 'dist', 'cli.js');
  const NOTE = [
    '# 会话',
    '',
    '```ts {run #a}',
    'const w = 2',
    '```',
    '',
    '```ts {run #b}',
    'console.log(w * 21)',
    '```',
    '',
    '```ts {run #slow}',
    "console.log('session', process.pid)",
    'await new Promise((r) => setTimeout(r, 60_000))',
    '```',
    '',
  ].join('\n');
  /** Live processes whose environment carries `marker`. */
  const carrying = (marker: string): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`MLN_TEST_MARKER=${marker}`) && pidAlive(pid);
        } catch {
          return false;
        }
      });
  const cli = (args: string[], signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string; left: number[] }> =>
    new Promise((resolveRun) => {
      const dir = mkdtempSync(join(tmpdir(), 'mln-cli-ts-'));
      const notePath = join(dir, 'note.md');
      writeFileSync(notePath, NOTE);
      const marker = randomBytes(8).toString('hex');
      const p = spawn(process.execPath, [CLI, 'run', notePath, '--backend', 'cpu', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLN_TEST_MARKER: marker } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // The slow block is running in the session: now the CLI is told to stop.
        if (signal && /session \d+/.test(stdout)) p.kill(signal);
      });
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // Looked at the moment the CLI has exited: the session's own watchdog (which ends it
      // within 0.5 s of its parent's death) must not be what cleans up.
      p.on('exit', (code) => resolveRun({ code, stdout, stderr, left: carrying(marker) }));
    });

  it('blocks share bindings in one invocation; no session process is left', async () => {
    const r = await cli(['--id', 'a', '--id', 'b']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '42\n');
    assert.match(r.stderr, /TypeScript session/);
    assert.deepEqual(r.left, []);
  });

  it('--kernel process: each block alone, so the second fails with a ReferenceError (exit 1)', async () => {
    const r = await cli(['--kernel', 'process', '--id', 'a', '--id', 'b']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ReferenceError: w is not defined/);
    assert.deepEqual(r.left, []);
  });

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal} during a block: the session is shut down before the CLI exits (exit ${code})`, async () => {
      const r = await cli(['--id', 'a', '--id', 'slow', '--id', 'b'], signal);
      assert.equal(r.code, code, r.stderr);
      const pid = Number(/session (\d+)/.exec(r.stdout)?.[1]);
      assert.ok(pid > 0, r.stdout);
      assert.equal(pidAlive(pid), false);
      assert.deepEqual(r.left, []);
      // No block runs after the signal: block b would print a line "42" (the session's pid,
      // printed above, may contain 42 too: it failed CI once as "session 5742").
      assert.doesNotMatch(r.stdout, /^42$/m);
    });
  }

  it('exit 2 when the session\'s backend cannot load', async (t) => {
    try {
      require.resolve('@tensorflow/tfjs-node-gpu');
      t.skip('@tensorflow/tfjs-node-gpu is installed here');
      return;
    } catch {
      // not installed: the backend cannot load
    }
    const r = await cli(['--id', 'a', '--backend', 'tensorflow-gpu']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the TypeScript session did not start: the tensorflow-gpu backend is not available/);
    assert.deepEqual(r.left, []);
  });
});

describe('Jupyter kernel time limit', () => {
  it('a block past its time limit is interrupted (timedOut) and the kernel keeps its state', async () => {
    const k = newKernel();
    const { all } = note('kept = "yes"', 'import time\nwhile True:\n    time.sleep(0.05)', 'print(kept)');
    await run(k, all, 0);
    const { result, output } = await startInKernel({ snippet: all[1]!, all, kernel: k, label: 'test', timeoutMs: 1500 }).done;
    assert.equal(result.status, 'timedOut');
    assert.ok(output.items.some((i) => i.kind === 'error' && /time limit/.test(i.message)));
    assert.equal(textOf(await run(k, all, 2)), 'yes\n');
  });
});

describe('Vega-Lite displays (needs npm run build: dist/kernels/plot.mjs)', () => {
  it('are drawn to SVG; a spec that loads data from a file or URL is refused and shown as text', async () => {
    const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<{ renderPlot(spec: unknown): Promise<string> }>;
    const { renderPlot } = await dynamicImport(pathToFileURL(join(REPO, 'dist', 'kernels', 'plot.mjs')).href);
    // A local file the spec points at: with loading allowed, its rows would become points.
    const csv = join(mkdtempSync(join(tmpdir(), 'mln-vl-')), 'secret.csv');
    writeFileSync(csv, 'a,b\n1,2\n3,4\n');
    const k = newKernel();
    const { all } = note(
      [
        'from IPython.display import display',
        'display({"application/vnd.vegalite.v5+json": {"data": {"values": [{"a": 1, "b": 2}, {"a": 2, "b": 5}]}, "mark": "bar", "encoding": {"x": {"field": "a", "type": "ordinal"}, "y": {"field": "b", "type": "quantitative"}}}}, raw=True)',
        `display({"application/vnd.vegalite.v5+json": {"data": {"url": ${JSON.stringify(csv)}, "format": {"type": "csv"}}, "mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}, "y": {"field": "b", "type": "quantitative"}}}}, raw=True)`,
      ].join('\n'),
    );
    const out = await run(k, all, 0);
    const { drawPlots } = await import('../../src/runner/outputs');
    await drawPlots(out, (spec) => renderPlot(spec));
    const [good, bad] = out.items.filter((i) => i.kind === 'display') as Array<{ svg?: string }>;
    assert.match(good!.svg ?? '', /^<svg/);
    assert.match(good!.svg ?? '', /role-mark/);
    // Drawn without its data: the symbol container is empty (no point from the file).
    assert.match(bad!.svg ?? '', /aria-roledescription="symbol mark container"\/>/);
    assert.match(outputHtml(out), /<img class="mln-plot"/);
  });
});

describe('which way a Python block runs', () => {
  const block = (info: string): Snippet => findSnippets('```python ' + info + '\nx = 1\n```\n')[0]!;
  it('torchrun and {run fresh} blocks get a process; the setting and a missing ipykernel fall back to one', async () => {
    const { pythonModeFor } = await import('../../src/runner/jupyter/kernelRun');
    assert.deepEqual(pythonModeFor(block('{run}'), 'jupyter', true), { mode: 'jupyter' });
    assert.deepEqual(pythonModeFor(block('{run torchrun nproc=2}'), 'jupyter', true), { mode: 'process', why: 'torchrun' });
    assert.deepEqual(pythonModeFor(block('{run fresh}'), 'jupyter', true), { mode: 'process', why: 'fresh' });
    assert.deepEqual(pythonModeFor(block('{run}'), 'process', true), { mode: 'process', why: 'setting' });
    assert.deepEqual(pythonModeFor(block('{run}'), 'jupyter', false), { mode: 'process', why: 'noIpykernel' });
  });
});

describe('kernel variables', () => {
  it('lists the user\'s variables with shape/dtype/device for tensors, without an In [n]', async () => {
    const { kernelVariables } = await import('../../src/runner/jupyter/variables');
    const k = newKernel();
    const { all } = note('import torch, math\nlr = 0.001\nx = torch.zeros(64, 3, dtype=torch.float32)\nname = "扩散"\ndef f(): pass');
    const a = await run(k, all, 0);
    assert.equal(a.result, 'succeeded', JSON.stringify(a.items));
    const vars = await kernelVariables(k);
    const byName = new Map(vars.map((v) => [v.name, v]));
    assert.deepEqual([...byName.keys()].sort(), ['lr', 'name', 'x']);
    assert.equal(byName.get('lr')!.value, '0.001');
    assert.equal(byName.get('x')!.shape, '[64, 3]');
    assert.equal(byName.get('x')!.dtype, 'torch.float32');
    assert.equal(byName.get('x')!.device, 'cpu');
    assert.equal(byName.get('x')!.type, 'torch.Tensor');
    assert.equal(byName.get('name')!.value, "'扩散'");
    assert.equal(k.executionCount, 1);
  });
});

describe('remote kernel on a Jupyter Server (Debian jupyter-server, 127.0.0.1, token)', () => {
  it('blocks share state there; the kernel is gone from /api/kernels after shutdown; a wrong token is refused', async () => {
    const { RemoteKernel, parseServerUrl } = await import('../../src/runner/jupyter/remoteKernel');
    const token = randomBytes(16).toString('hex');
    const port = await new Promise<number>((resolvePort) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolvePort(p));
      });
    });
    const root = mkdtempSync(join(tmpdir(), 'mln-jserver-'));
    const server = spawn(PY, ['-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--ServerApp.token=${token}`, `--ServerApp.root_dir=${root}`, '--ServerApp.port_retries=0', ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let log = '';
    server.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const base = `http://127.0.0.1:${port}/`;
      const api = async (path: string, t = token): Promise<Response> => fetch(base + path, { headers: { Authorization: `token ${t}` } });
      assert.ok(await waitFor(() => /is running at|Jupyter Server .* is running/.test(log), 30_000), 'jupyter server did not start:\n' + log);
      const { baseUrl, token: parsed } = parseServerUrl(`${base}?token=${token}`);
      assert.equal(parsed, token);
      const k = new RemoteKernel({ baseUrl, token: parsed });
      const { all } = note('counter = 41', 'print(counter + 1)', '1/0');
      assert.equal((await run(k, all, 0)).result, 'succeeded');
      const b = await run(k, all, 1);
      assert.equal(textOf(b), '42\n');
      const c = await run(k, all, 2);
      assert.equal(c.result, 'failed');
      const id = k.id!;
      const before = (await (await api('api/kernels')).json()) as Array<{ id: string }>;
      assert.ok(before.some((x) => x.id === id));
      await k.shutdown();
      const after = (await (await api('api/kernels')).json()) as Array<{ id: string }>;
      assert.ok(!after.some((x) => x.id === id), 'the kernel is still on the server');
      // Without the right token the server refuses, and the error does not echo the token.
      const bad = new RemoteKernel({ baseUrl, token: 'wrong-' + token });
      await assert.rejects(bad.start(), (e: Error) => !e.message.includes(token));
      assert.equal(bad.state, 'dead');
    } finally {
      try {
        process.kill(-server.pid!, 'SIGTERM');
      } catch {
        // gone
      }
    }
  });
});

describe('Jupyter kernelspec discovery (a kernelspec installed with ipykernel into a temp prefix)', () => {
  it('finds the specs Jupyter would, in its order; an ipykernel spec runs a block with its Python and env', async () => {
    const { findKernelSpecs, kernelSpecDirs } = await import('../../src/runner/jupyter/kernelSpecs');
    const home = mkdtempSync(join(tmpdir(), 'mln-home-'));
    const prefix = mkdtempSync(join(tmpdir(), 'mln-prefix-'));
    // A real spec, written by ipykernel itself (display name in Chinese, one env variable).
    execFileSync(PY, ['-m', 'ipykernel', 'install', '--prefix', prefix, '--name', 'mln-test', '--display-name', '扩散 (ML)', '--env', 'MLN_SPEC_VAR', 'from-spec'], { stdio: 'ignore', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
    const fromPrefix = join(prefix, 'share', 'jupyter');
    // The user's data dir: IRkernel's spec (IRkernel/IRkernel inst/kernelspec/kernel.json, not an
    // ipykernel one), a broken kernel.json, and a second "mln-test" that the earlier dir hides.
    const user = join(home, '.local', 'share', 'jupyter', 'kernels');
    for (const [name, json] of [
      ['ir', '{"argv": ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],\n "display_name":"R",\n "language":"R"\n}\n'],
      ['broken', '{"argv": '],
      ['mln-test', JSON.stringify({ argv: ['/nowhere/python', '-m', 'ipykernel_launcher', '-f', '{connection_file}'], display_name: 'hidden', language: 'python' })],
    ] as const) {
      mkdirSync(join(user, name), { recursive: true });
      writeFileSync(join(user, name, 'kernel.json'), json);
    }
    const dirs = kernelSpecDirs({ env: { JUPYTER_PATH: fromPrefix }, platform: 'linux', home });
    assert.deepEqual(dirs, [join(fromPrefix, 'kernels'), user, '/usr/local/share/jupyter/kernels', '/usr/share/jupyter/kernels']);
    assert.deepEqual(kernelSpecDirs({ env: { JUPYTER_DATA_DIR: '/d', JUPYTER_PATH: '/a:/b' }, platform: 'linux', home: '/h' }).slice(0, 3), ['/a/kernels', '/b/kernels', '/d/kernels']);
    const specs = findKernelSpecs(dirs.slice(0, 2));
    const byName = new Map(specs.map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()].sort(), ['ir', 'mln-test']);
    const spec = byName.get('mln-test')!;
    assert.equal(spec.displayName, '扩散 (ML)');
    assert.equal(spec.python, PY);
    assert.deepEqual(spec.env, { MLN_SPEC_VAR: 'from-spec' });
    assert.deepEqual(spec.kernelArgs, []);
    assert.equal(byName.get('ir')!.python, undefined);
    assert.equal(byName.get('ir')!.language, 'R');

    // The spec as the extension uses it: its Python, flags and env around our launcher.
    const k = new LocalKernel({ interpreter: spec.python!, pythonArgs: spec.pythonArgs, kernelArgs: spec.kernelArgs, launcher: join(KERNELS, 'jupyter_launcher.py'), cwd: REPO, env: { ...kernelEnv(), ...spec.env } });
    kernels.push(k);
    const { all } = note('import os, sys\nprint(os.environ["MLN_SPEC_VAR"], sys.executable)');
    const out = await run(k, all, 0);
    assert.equal(out.result, 'succeeded', JSON.stringify(out.items));
    assert.equal(textOf(out), `from-spec ${PY}\n`);
  });
});
