/**
 * A note's TypeScript session with real parts: the built kernel (dist/kernels/tfjs-kernel.js
 * --session, `npm run build` first) with the bundled tfjs on its wasm backend, driven by
 * TsSession through startInKernel, as the extension does. Blocks share bindings (tensors,
 * plain values, functions, classes, imports); re-running a `const` block works; an interrupt
 * stops an awaiting loop and keeps the state; restart clears it; a synchronous endless loop is
 * stopped by ending the session, which is reported and leaves no process; an error keeps the
 * session; killing the session's parent leaves no session process.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vm from 'node:vm';
import { findSnippets, type Snippet } from '../../src/core/snippets/snippets';
import { startInKernel } from '../../src/runner/jupyter/kernelRun';
import type { SnippetOutput } from '../../src/runner/outputs';
import { tfjsKernelEnv } from '../../src/runner/runSnippet';
import { distKernelPaths } from '../../src/cli/commands/run';
import { TsSession, tsModeFor } from '../../src/runner/tsSession/tsSession';
import { compileBlock } from '../../src/runner/tsSession/transform';
import { pidAlive } from './processes';

const REPO = join(__dirname, '..', '..');
const paths = distKernelPaths(join(REPO, 'dist'));

const sessions: TsSession[] = [];
function newSession(backend = 'wasm'): TsSession {
  const s = new TsSession({
    node: process.execPath,
    kernel: paths.tfjsKernel,
    cwd: REPO,
    env: tfjsKernelEnv({ paths, tfjsBackend: backend, nativeModulePaths: [] }),
  });
  sessions.push(s);
  return s;
}
after(async () => {
  await Promise.all(sessions.map((s) => s.shutdown()));
});

function note(...blocks: string[]): Snippet[] {
  const text = '# 笔记\n\n' + blocks.map((b, i) => `段落 ${i}。\n\n\`\`\`ts {run #b${i}}\n${b}\n\`\`\`\n`).join('\n');
  return findSnippets(text);
}

async function run(k: TsSession, all: Snippet[], i: number): Promise<SnippetOutput & { result: string }> {
  const started = startInKernel({ snippet: all[i]!, all, kernel: k, label: 'test' });
  const { result, output } = await started.done;
  return Object.assign(output, { result: result.status });
}

function textOf(out: SnippetOutput, stream: 'stdout' | 'stderr' = 'stdout'): string {
  return out.items.filter((i) => i.kind === 'text' && i.stream === stream).map((i) => (i as { text: string }).text).join('');
}

function errorOf(out: SnippetOutput): { message: string; line?: number } | undefined {
  return out.items.find((i) => i.kind === 'error') as { message: string; line?: number } | undefined;
}


async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Long enough for a loaded machine; a hang fails instead of blocking the run. */
const T = { timeout: 90_000 };

before(() => assert.ok(existsSync(paths.tfjsKernel), 'run `npm run build` first'));

describe('TypeScript session (real processes)', () => {
  it('keeps tensors, plain variables, functions and classes between blocks', T, async () => {
    const k = newSession();
    const all = note(
      "import * as tf from '@tensorflow/tfjs';\nconst w = tf.scalar(2);\nlet steps: number = 40;\nfunction double(x: number): number { return 2 * x; }\nclass Box { constructor(readonly v: number) {} }",
      'console.log(w.mul(21).dataSync()[0], steps + 2, double(21), new Box(42).v);',
    );
    const a = await run(k, all, 0);
    assert.equal(a.result, 'succeeded', JSON.stringify(a.items));
    const b = await run(k, all, 1);
    assert.equal(b.result, 'succeeded', JSON.stringify(b.items));
    assert.equal(textOf(b).trim(), '42 42 42 42');
    assert.equal(b.backend, 'wasm');
    assert.equal(k.executionCount, 2);
  });

  it('re-runs a block that declares const, and reports to ml-notes from a later block', T, async () => {
    const k = newSession();
    const all = note("import { metric } from 'ml-notes';\nconst x: number = 1;\nconst { y, z = 3 } = { y: 2 };", 'metric("loss", x + y + z);\nconsole.log(x, y, z);');
    for (let n = 0; n < 2; n++) {
      const a = await run(k, all, 0);
      assert.equal(a.result, 'succeeded', JSON.stringify(a.items));
    }
    const b = await run(k, all, 1);
    assert.equal(b.result, 'succeeded', JSON.stringify(b.items));
    assert.equal(textOf(b).trim(), '1 2 3');
    assert.deepEqual(b.metrics['loss'], [[0, 6]]);
  });

  it('an error (or a syntax error) fails its block, not the session; its line is the note line', T, async () => {
    const k = newSession();
    const all = note('const before = 7;\nthrow new Error("boom");', 'const = ;', 'console.log(before);');
    const a = await run(k, all, 0);
    assert.equal(a.result, 'failed');
    const err = errorOf(a);
    assert.equal(err?.message, 'boom');
    const text = '# 笔记\n\n' + ['const before = 7;\nthrow new Error("boom");'].map((b) => `段落 0。\n\n\`\`\`ts {run #b0}\n${b}\n\`\`\`\n`).join('');
    assert.equal(err?.line, text.split('\n').findIndex((l) => l.startsWith('throw')) + 1);
    const pid = k.pid;
    const b = await run(k, all, 1);
    assert.equal(b.result, 'failed');
    assert.match(errorOf(b)?.message ?? '', /syntax error/i);
    const c = await run(k, all, 2);
    assert.equal(c.result, 'succeeded', JSON.stringify(c.items));
    assert.equal(textOf(c).trim(), '7');
    // A rejection nobody awaits (tfjs-backend-wasm's own handler would end the process on it).
    const stray = note('void Promise.reject(new Error("stray"));\nawait new Promise((r) => setTimeout(r, 50));', 'console.log(before + 1);');
    const d = await run(k, stray, 0);
    assert.match(errorOf(d)?.message ?? '', /stray/);
    const e = await run(k, stray, 1);
    assert.equal(textOf(e).trim(), '8', JSON.stringify(e.items));
    assert.equal(k.pid, pid);
  });

  it('interrupt stops an awaiting loop (timer awaits, then settled-promise awaits) and keeps the state', T, async () => {
    const k = newSession();
    const all = note(
      "import * as tf from '@tensorflow/tfjs';\nconst w = tf.variable(tf.scalar(5));\nlet steps = 0;",
      'for (;;) { steps++; if (steps === 3) console.log("looping"); await new Promise((r) => setTimeout(r, 1)); }',
      // On the wasm backend `data()` settles without a macrotask: this loop never yields to the event loop.
      'for (;;) { steps++; if (steps % 1000 === 0) console.log("spinning"); const l = w.square(); await l.data(); l.dispose(); }',
      'console.log(w.dataSync()[0], steps > 3);',
    );
    assert.equal((await run(k, all, 0)).result, 'succeeded');
    const pid = k.pid;
    for (const [i, marker] of [[1, 'looping'], [2, 'spinning']] as const) {
      const started = startInKernel({ snippet: all[i]!, all, kernel: k, label: 'test' });
      await until(() => textOf(started.collector.output).includes(marker), marker);
      await started.process!.cancel();
      const { result, output } = await started.done;
      assert.equal(result.status, 'cancelled');
      assert.equal(errorOf(output), undefined, JSON.stringify(output.items));
      assert.equal(k.state, 'idle');
    }
    const d = await run(k, all, 3);
    assert.equal(d.result, 'succeeded', JSON.stringify(d.items));
    assert.equal(textOf(d).trim(), '5 true');
    assert.equal(k.pid, pid);
    // Interrupt while idle stops async work a finished block left running.
    const bg = note('let bg = 0;\nvoid (async () => { for (;;) { bg++; await new Promise((r) => setTimeout(r, 1)); } })();', 'const seen = bg;\nawait new Promise((r) => setTimeout(r, 300));\nconsole.log(bg > seen ? "still running" : "stopped");');
    assert.equal((await run(k, bg, 0)).result, 'succeeded');
    assert.equal(textOf(await run(k, bg, 1)).trim(), 'still running');
    await k.interrupt();
    const after = await run(k, bg, 1);
    assert.equal(textOf(after).trim(), 'stopped', JSON.stringify(after.items));
  });

  it('restart clears the bindings and the execution count', T, async () => {
    const k = newSession();
    const all = note('const kept = 1;', 'console.log(typeof kept);');
    assert.equal((await run(k, all, 0)).result, 'succeeded');
    assert.equal(textOf(await run(k, all, 1)).trim(), 'number');
    const pid = k.pid!;
    // The UI (status bar, CodeLens) hears of the count going back to 0 while it restarts.
    const heard: string[] = [];
    k.onDidChangeState((s) => heard.push(`${s} ${k.executionCount}`));
    await k.restart();
    assert.deepEqual(heard, ['restarting 2', 'restarting 0', 'idle 0']);
    assert.equal(k.executionCount, 0);
    assert.equal(pidAlive(pid), false);
    const b = await run(k, all, 1);
    assert.equal(textOf(b).trim(), 'undefined');
    assert.equal(k.executionCount, 1);
  });

  it('a synchronous endless loop is stopped by ending the session: reported, no process left, a new session next run', T, async () => {
    const k = newSession();
    const all = note('const lost = 1;', 'while (true) {}', 'console.log(typeof lost);');
    assert.equal((await run(k, all, 0)).result, 'succeeded');
    const pid = k.pid!;
    const started = startInKernel({ snippet: all[1]!, all, kernel: k, label: 'test' });
    await until(() => k.state === 'busy', 'busy');
    await started.process!.cancel();
    const { result, output } = await started.done;
    assert.equal(result.status, 'cancelled');
    assert.match(errorOf(output)?.message ?? '', /session was ended: its variables are lost/);
    assert.equal(k.state, 'dead');
    await until(() => !pidAlive(pid), 'the session process to be gone');
    const c = await run(k, all, 2);
    assert.equal(c.result, 'succeeded', JSON.stringify(c.items));
    assert.equal(textOf(c).trim(), 'undefined');
    assert.match(textOf(c, 'stderr'), /new TypeScript session/);
    assert.notEqual(k.pid, pid);
  });

  it('killing the session\'s parent leaves no session process, even while a block spins', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mln-ts-parent-'));
    const script = join(dir, 'parent.ts');
    writeFileSync(
      script,
      `import { TsSession } from ${JSON.stringify(join(REPO, 'src/runner/tsSession/tsSession'))};
import { tfjsKernelEnv } from ${JSON.stringify(join(REPO, 'src/runner/runSnippet'))};
const paths = ${JSON.stringify(paths)};
const s = new TsSession({ node: process.execPath, kernel: paths.tfjsKernel, cwd: ${JSON.stringify(REPO)}, env: tfjsKernelEnv({ paths, tfjsBackend: 'wasm', nativeModulePaths: [] }) });
s.start().then(() => {
  void s.execute('while (true) {}', () => undefined);
  setTimeout(() => console.log('PID ' + s.pid), 300);
});
`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.setEncoding('utf8');
    parent.stdout.on('data', (d: string) => (out += d));
    await until(() => /PID \d+/.test(out), 'the session pid', 60_000);
    const pid = Number(/PID (\d+)/.exec(out)![1]);
    assert.ok(pidAlive(pid));
    parent.kill('SIGKILL');
    await until(() => !pidAlive(pid), 'the session process to end after its parent');
  });

  it('the sample notes\' TypeScript blocks run one after another in one session', { timeout: 120_000 }, async () => {
    // Real material with clashing top-level names (tf, metric, plot, helpers): each block re-declares them.
    const k = newSession();
    for (const name of ['09-actor-critic.md', '10-kimi-k1.5-rl.md', '11-trpo.md', '12-policy-gradient.md', 'README.md']) {
      const all = findSnippets(readFileSync(join(REPO, 'notes', name), 'utf8'));
      const ts = all.filter((x) => x.kernel === 'tfjs');
      assert.ok(ts.length >= 1, name);
      for (const snippet of ts) {
        const { result, output } = await startInKernel({ snippet, all, kernel: k, label: 'test' }).done;
        assert.equal(result.status, 'succeeded', `${name} ${snippet.key}: ${JSON.stringify(output.items).slice(0, 1500)}`);
      }
    }
  });

  it('a session whose backend cannot load fails the block with the reason; its process has ended', T, async () => {
    // tfjs-node is not installed here (FACTS.md), so asking for it fails as a user would see it.
    const k = newSession('tensorflow');
    const out = await run(k, note('console.log(1);'), 0);
    assert.equal(out.result, 'failed');
    assert.match(errorOf(out)?.message ?? '', /the tensorflow backend is not available/);
    assert.equal(k.state, 'dead');
    assert.equal(k.pid, undefined);
  });

  it('blocks run fresh with {run fresh}, their own backend=, or the process setting', () => {
    assert.deepEqual(tsModeFor({}, 'session'), { mode: 'session' });
    assert.equal(tsModeFor({ fresh: 'true' }, 'session').mode, 'process');
    assert.equal(tsModeFor({ fresh: 'false' }, 'session').mode, 'session');
    assert.equal(tsModeFor({ backend: 'cpu' }, 'session').mode, 'process');
    assert.equal(tsModeFor({}, 'process').mode, 'process');
  });
});

describe('TypeScript session block transform', () => {
  it('declares top-level names as bindings, keeps lines, leaves nested and kept-local names alone', () => {
    const src = "import tf, { a as b } from 'x';\nconst { c, d: [e] } = o;\nfunction f() { const inner = 1; return inner; }\nclass G {}\nfor (const h of []) {}\nconst console = 1;\nthrow new Error('line 7');";
    const block = compileBlock(src, { keepLocal: (n) => n === 'console' });
    assert.deepEqual([...block.bindings].sort(), ['G', 'b', 'c', 'e', 'f', 'tf']);
    assert.equal(typeof vm.runInNewContext(block.script), 'function');
    assert.equal(block.script.split('\n').length, src.split('\n').length + 1);
    assert.equal(block.script.split('\n')[6], "throw new Error('line 7');");
  });
});
