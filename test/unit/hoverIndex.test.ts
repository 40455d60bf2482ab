/**
 * The generated torch index: it is what src/core/kb/torch_index.py prints for the installed
 * torch (Debian's python3-torch 1.13 here), so regenerating it changes nothing; and the
 * KnowledgeBase answers from it only for names it holds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiIndex } from '../../src/core/kb/apiIndex';
import { KnowledgeBase } from '../../src/core/kb/knowledgeBase';
import type { IndexFile } from '../../src/core/kb/types';

const ROOT = path.join(__dirname, '..', '..');
const SHIPPED = path.join(ROOT, 'kb', 'index-torch.json');
const PYTHON = '/usr/bin/python3';

function torchVersion(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

test('the shipped index is what the generator prints for the installed torch', { skip: torchVersion() === undefined ? 'no torch for /usr/bin/python3' : false }, () => {
  const shipped = JSON.parse(fs.readFileSync(SHIPPED, 'utf8')) as IndexFile;
  if (shipped.version !== torchVersion()) return; // another torch: regenerating would change it, by design
  const r = spawnSync(PYTHON, ['-I', path.join(ROOT, 'src', 'core', 'kb', 'torch_index.py')], { cwd: os.tmpdir(), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, fs.readFileSync(SHIPPED, 'utf8'), 'kb/index-torch.json is stale: regenerate it');
});

test('index entries: public names and defining-module aliases, with version, base and return type', () => {
  const file = JSON.parse(fs.readFileSync(SHIPPED, 'utf8')) as IndexFile;
  const index = new ApiIndex([file]);
  assert.ok(index.size > 2500, `${index.size} names`);
  const cat = index.get('torch.cat');
  assert.equal(cat?.returns, 'torch.Tensor');
  assert.match(cat?.version ?? '', /^torch \d+\.\d+/);
  assert.equal(index.get('torch.nn.modules.linear.Linear')?.name, 'torch.nn.Linear');
  assert.equal(index.get('torch.nn.Linear')?.base, 'torch.nn.Module');
  assert.equal(index.get('torch.float32')?.type, 'torch.dtype');
  // Subclasses list only what they define: inherited members are found through the base.
  assert.equal(index.get('torch.nn.Sequential.to'), undefined);
  const kb = new KnowledgeBase([], index);
  assert.equal(kb.memberOf('torch.nn.Sequential', 'to')?.name, 'torch.nn.Module.to');
  assert.equal(kb.memberOf('torch.optim.AdamW', 'zero_grad')?.name, 'torch.optim.Optimizer.zero_grad');
  assert.ok(kb.isA('torch.optim.lr_scheduler.StepLR', 'torch.optim.lr_scheduler.LRScheduler'));
  assert.equal(kb.find('torch.no_such_thing'), undefined);
});
