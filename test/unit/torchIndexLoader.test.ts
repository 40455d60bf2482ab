/**
 * When the user's torch is read for hovers: once, on the first hover, never while processes may
 * not run (an untrusted workspace) — then when trust is granted — and anew after the interpreter
 * changes, dropping a result that arrives too late.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IntrospectResult } from '../../src/core/kb/introspect';
import { TorchIndexLoader } from '../../src/core/kb/torchIndexLoader';
import type { IndexFile } from '../../src/core/kb/types';

const index = (version: string): IndexFile => ({ generatedBy: 't', package: 'torch', version, entries: {}, source: 'introspected' });

function fake(trusted: boolean) {
  const state = { trusted, interpreter: '/venv/bin/python', runs: [] as string[], used: [] as (string | undefined)[], release: [] as (() => void)[] };
  const loader = new TorchIndexLoader({
    mayRun: () => state.trusted,
    interpreter: async () => state.interpreter,
    introspect: (interpreter) => {
      state.runs.push(interpreter);
      const version = interpreter === '/venv/bin/python' ? '2.5.1' : '1.13.0';
      return new Promise<IntrospectResult>((resolve) => state.release.push(() => resolve({ ok: true, index: index(version), cached: false, file: 'f' })));
    },
    use: (i) => state.used.push(i?.version),
    log: () => {},
  });
  const settle = async () => {
    for (const r of state.release.splice(0)) r();
    await loader.whenIdle();
  };
  return { state, loader, settle };
}

test('nothing runs before a hover, and then only once', async () => {
  const { state, loader, settle } = fake(true);
  assert.deepEqual(state.runs, []);
  loader.request();
  loader.request();
  await new Promise((r) => setImmediate(r));
  await settle();
  loader.request();
  await settle();
  assert.deepEqual(state.runs, ['/venv/bin/python']);
  assert.deepEqual(state.used, ['2.5.1']);
});

test('an untrusted workspace spawns nothing until trust is granted', async () => {
  const { state, loader, settle } = fake(false);
  loader.request();
  loader.allowed(); // a trust event while still not allowed changes nothing
  await settle();
  assert.deepEqual(state.runs, []);
  state.trusted = true;
  loader.allowed();
  await new Promise((r) => setImmediate(r));
  await settle();
  assert.deepEqual(state.runs, ['/venv/bin/python']);
  assert.deepEqual(state.used, ['2.5.1']);
});

test('trust granted before any hover starts nothing', async () => {
  const { state, loader, settle } = fake(true);
  loader.allowed();
  await settle();
  assert.deepEqual(state.runs, []);
});

test('another interpreter: back to the shipped index, the late result dropped, the next hover reads the new one', async () => {
  const { state, loader, settle } = fake(true);
  loader.request();
  await new Promise((r) => setImmediate(r));
  loader.reset(); // while the first read is still running
  state.interpreter = '/usr/bin/python3';
  await settle();
  assert.deepEqual(state.used, [undefined], 'the 2.5.1 result arrived after the reset and is not used');
  loader.request();
  await new Promise((r) => setImmediate(r));
  await settle();
  assert.deepEqual(state.runs, ['/venv/bin/python', '/usr/bin/python3']);
  assert.deepEqual(state.used, [undefined, '1.13.0']);
});
