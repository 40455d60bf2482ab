/**
 * `ml-notes explain --batch [--json]` (spawned as a user would run it) and the introspection of
 * the user's own torch behind `source: "introspected"`, against Debian's torch 1.13 at
 * /usr/bin/python3 (skipped where it is absent).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { introspectTorch, torchIndexScriptNear } from '../../src/core/kb/introspect';

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-I', '-c', 'import importlib.util,sys; sys.exit(importlib.util.find_spec("torch") is None)']).status === 0;
const skipNoTorch = hasTorch ? false : `no torch for ${PYTHON}`;

const SRC = `import torch
import torch.nn.functional as F

y = F.conv2d(x, w)
z = torch.logsumexp(y, 1)
steps = 0
`;

function workdir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-explain-'));
  fs.writeFileSync(path.join(dir, 'train.py'), SRC);
  return dir;
}

function explainBatch(input: string, args: string[], env: NodeJS.ProcessEnv = {}): { lines: string[]; status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), 'explain', '--batch', ...args], {
    input,
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  return { lines: r.stdout.split('\n').filter(Boolean), status: r.status, stderr: r.stderr };
}

test('explain --batch --json: one JSON line per position, with source and version, or none', () => {
  const dir = workdir();
  const f = path.join(dir, 'train.py');
  const { lines, status, stderr } = explainBatch(`${f}:4:7\n${f}:5:11\r\n\n${f}:6:2\n${path.join(dir, 'missing.py')}:1:1\nnot a position\n`, ['--json', '--lang', 'en']);
  assert.equal(status, 0, stderr);
  const out = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(out.length, 5, 'blank lines are skipped, every other line answered');
  assert.deepEqual({ ...out[0], markdown: undefined }, { position: `${f}:4:7`, qualifiedName: 'torch.nn.functional.conv2d', source: 'kb', version: 'current docs', markdown: undefined });
  assert.match(String(out[0]!.markdown), /torch\.nn\.functional\.conv2d\(input, weight/);
  assert.equal(out[1]!.position, `${f}:5:11`, 'a CRLF line end is not part of the position');
  assert.equal(out[1]!.qualifiedName, 'torch.logsumexp');
  assert.equal(out[1]!.source, 'index');
  assert.equal(out[1]!.version, 'torch 1.13.0a0');
  assert.match(String(out[1]!.markdown), /generated from torch 1\.13\.0a0/);
  assert.deepEqual(out[2], { position: `${f}:6:2`, none: true }, 'a user counter `steps` gets no hover');
  assert.equal(out[3]!.none, true);
  assert.match(String(out[3]!.error), /cannot read/);
  assert.deepEqual(out[4], { position: 'not a position', none: true, error: 'not FILE:LINE:COL' });
});

test('explain --batch without --json: tab-separated name, source, version', () => {
  const dir = workdir();
  const f = path.join(dir, 'train.py');
  const { lines } = explainBatch(`${f}:4:7\n${f}:6:2\n`, []);
  assert.deepEqual(lines, [`${f}:4:7\ttorch.nn.functional.conv2d\tkb\tcurrent docs`, `${f}:6:2\t-`]);
});

test('introspection reads the installed torch, is cached per interpreter and version, and is reused', { skip: skipNoTorch, timeout: 120_000 }, async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-cache-'));
  const script = torchIndexScriptNear(path.join(ROOT, 'no-dist-here'));
  const first = await introspectTorch({ interpreter: PYTHON, script, cacheDir });
  assert.ok(first.ok, first.ok ? '' : first.reason);
  assert.equal(first.cached, false);
  assert.equal(first.index.source, 'introspected');
  assert.match(first.index.version, /^1\.13\./);
  assert.match(first.index.entries['torch.logsumexp']?.signature ?? '', /^torch\.logsumexp\(input, dim/);
  assert.equal(first.index.entries['torch.nn.Linear']?.base, 'torch.nn.Module');
  assert.ok(path.basename(first.file).includes(first.index.version), 'the cache file is named by the torch version');
  // Mark the cached copy: a second run must read it rather than introspect again.
  const cached = JSON.parse(fs.readFileSync(first.file, 'utf8')) as { entries: Record<string, { summary?: string }> };
  cached.entries['torch.logsumexp']!.summary = 'CACHED COPY';
  fs.writeFileSync(first.file, JSON.stringify(cached));
  const second = await introspectTorch({ interpreter: PYTHON, script, cacheDir });
  assert.ok(second.ok);
  assert.equal(second.cached, true);
  assert.equal(second.index.entries['torch.logsumexp']?.summary, 'CACHED COPY');

  // The CLI labels such hovers as introspected, with the version.
  const dir = workdir();
  const f = path.join(dir, 'train.py');
  const { lines, stderr } = explainBatch(`${f}:5:11\n`, ['--json', '--lang', 'en', '--python', PYTHON], { XDG_CACHE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'mln-xdg-')) });
  const out = JSON.parse(lines[0]!) as Record<string, string>;
  assert.equal(out.source, 'introspected', stderr);
  assert.equal(out.version, `torch ${first.index.version}`);
  assert.match(out.markdown!, /as installed for your Python interpreter/);
});

test('introspection fails cleanly: no interpreter, no torch', { timeout: 60_000 }, async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-cache-'));
  const script = torchIndexScriptNear(path.join(ROOT, 'no-dist-here'));
  const none = await introspectTorch({ interpreter: path.join(cacheDir, 'no-python'), script, cacheDir });
  assert.deepEqual(none, { ok: false, reason: `no Python interpreter at '${path.join(cacheDir, 'no-python')}'` });
  // A Python without torch: -I hides PYTHONPATH, so an interpreter is made torch-less by a venv.
  const venv = path.join(cacheDir, 'venv');
  if (spawnSync('python3', ['-m', 'venv', '--without-pip', venv]).status !== 0) return;
  const noTorch = await introspectTorch({ interpreter: path.join(venv, 'bin', 'python'), script, cacheDir });
  assert.equal(noTorch.ok, false);
  assert.match(noTorch.ok ? '' : noTorch.reason, /torch is not installed/);
  assert.deepEqual(fs.readdirSync(cacheDir), ['venv'], 'nothing is cached for it');
});
