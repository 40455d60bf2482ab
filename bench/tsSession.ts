/**
 * node --import tsx bench/tsSession.ts   (after `npm run build`)
 *
 * A note's TypeScript block run in the note's session (backend loaded once, bindings kept) next
 * to the same block in a fresh process each time (`{run fresh}`), same run, wasm backend: the
 * time from Run to the finished output, median of 5 after one warm-up each.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSnippets } from '../src/core/snippets/snippets';
import { distKernelPaths } from '../src/cli/commands/run';
import { startInKernel } from '../src/runner/jupyter/kernelRun';
import { startSnippet, tfjsKernelEnv } from '../src/runner/runSnippet';
import { TsSession } from '../src/runner/tsSession/tsSession';

const paths = distKernelPaths(join(__dirname, '..', 'dist'));
const dir = mkdtempSync(join(tmpdir(), 'mln-bench-ts-'));
const notePath = join(dir, 'note.md');
const text = "```ts {run #b}\nimport * as tf from '@tensorflow/tfjs';\nconst x = tf.randomNormal([256, 256]);\nconsole.log(x.matMul(x).mean().dataSync()[0].toFixed(3));\n```\n";
writeFileSync(notePath, text);
const all = findSnippets(text);
const snippet = all[0]!;

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

async function main(): Promise<void> {
  const session = new TsSession({ node: process.execPath, kernel: paths.tfjsKernel, cwd: dir, env: tfjsKernelEnv({ paths, tfjsBackend: 'wasm', nativeModulePaths: [] }) });
  const inSession = await median(async () => {
    const { result } = await startInKernel({ snippet, all, kernel: session, label: 'bench' }).done;
    if (result.status !== 'succeeded') throw new Error(`session run ${result.status}`);
  });
  await session.shutdown();
  const fresh = await median(async () => {
    const { result } = await startSnippet({ notePath, snippet, all, paths, node: process.execPath, tfjsBackend: 'wasm', nativeModulePaths: [], timeoutMs: 60_000 }).done;
    if (result.status !== 'succeeded') throw new Error(`process run ${result.status}`);
  });
  console.log(`TypeScript block, Run → finished output (median of 5, wasm): session ${inSession.toFixed(0)} ms · fresh process ${fresh.toFixed(0)} ms (reference) · ${(fresh / inSession).toFixed(1)}× faster in the session`);
}

void main();
