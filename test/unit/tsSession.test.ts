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
import { findSnippets, type Snippet } from '../../src/core/snippets/snippets';
import { startInKernel } from '../../src/runner/jupyter/kernelRun';
import type { SnippetOutput } from '../../src/runner/outputs';
import { tfjsKernelEnv } from '../../src/runner/runSnippet';
import { distKernelPaths } from '../../src/cli/commands/run';
import { TsSession, tsModeFor } from '../../src/runner/tsSession/tsSession';
import { compileBlock } from '../../src/runner/tsSession/transform';

const REPO = join(__dirname, '..', '..');
const paths = distKernelPaths(join(REPO, 'dist'));

const sessions: TsSession[] = [];
function newSession(extra: { interruptGraceMs?: number } = {}): TsSession {
  const s = new TsSession({
    node: process.execPath,
    kernel: paths.tfjsKernel,
    cwd: REPO,
    env: tfjsKernelEnv({ paths, tfjsBackend: 'wasm', nativeModulePaths: [] }),
    ...extra,
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

function textOf(out: SnippetOutput): string {
  return out.items.filter((i) => i.kind === 'text').map((i) => (i as { text: string }).text).join('');
}

function errorOf(out: SnippetOutput): { message: string; line?: number } | undefined {
  return out.items.find((i) => i.kind === 'error') as { message: string; line?: number } | undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(() => assert.ok(existsSync(paths.tfjsKernel), 'run `npm run build` first'));

describe('TypeScript session (real processes)', () => {
  it('keeps tensors, plain variables, functions and classes between blocks', async () => {
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
});
