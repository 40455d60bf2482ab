/** The knowledge base: complete in both languages, cross-references resolve, coverage. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { KnowledgeBase } from '../../src/core/kb/knowledgeBase';
import { KB_FILES } from '../../src/core/kb/bundled';
import type { KbEntry } from '../../src/core/kb/types';
import { kb } from './hoverHelpers';

test('every entry is complete in both languages and every reference resolves', () => {
  assert.deepEqual(kb.validate(), []);
});

test('at least 150 entries, covering every area the hovers promise', () => {
  assert.ok(kb.entries.length >= 150, `${kb.entries.length} entries`);
  const must = [
    'tensorflow.python.util.tf_export.tf_export', 'tensorflow.python.util.tf_export.api_export', 'tensorflow.python.util.tf_export.keras_export',
    'tensorflow.python.util.tf_export.estimator_export', 'functools.partial',
    'torch.nn.Conv2d', 'torch.nn.ConvTranspose2d', 'torch.nn.Linear', 'torch.nn.ReLU', 'torch.nn.Dropout', 'torch.nn.functional.dropout2d',
    'torch.nn.BatchNorm2d', 'torch.nn.LayerNorm', 'torch.nn.MaxPool2d', 'torch.nn.Embedding', 'torch.nn.CrossEntropyLoss',
    'torch.nn.functional.interpolate', 'torch.nn.functional.pad', 'torch.nn.Flatten', 'torch.nn.functional.unfold',
    'torch.Tensor.requires_grad', 'torch.Tensor.backward', 'torch.Tensor.grad', 'torch.Tensor.detach', 'torch.no_grad', 'torch.enable_grad',
    'torch.inference_mode', 'torch.Tensor.grad_fn', 'torch.Tensor.backward.retain_graph', 'torch.autograd.grad', 'torch.Tensor.is_leaf',
    'torch.optim.Optimizer.zero_grad', 'torch.distributed.init_process_group', 'torch.nn.parallel.DistributedDataParallel',
    'torch.utils.data.distributed.DistributedSampler', 'torch.utils.data.distributed.DistributedSampler.set_epoch', 'os.environ.LOCAL_RANK',
    'torch.distributed.all_reduce', 'torch.distributed.barrier', 'torch.distributed.destroy_process_group', 'torch.distributed.run',
    'torch.optim.SGD', 'torch.optim.Adam', 'torch.optim.lr_scheduler.CosineAnnealingLR',
  ];
  for (const n of must) assert.ok(kb.get(n), `missing ${n}`);
});

test('module and functional counterparts point at each other', () => {
  let pairs = 0;
  for (const e of kb.entries) {
    for (const c of e.counterparts ?? []) {
      assert.ok(kb.get(c)?.counterparts?.includes(e.name), `${e.name} <-> ${c}`);
      pairs++;
    }
  }
  assert.ok(pairs >= 100, `${pairs} counterpart links`);
  assert.deepEqual(kb.get('torch.nn.Dropout')?.counterparts, ['torch.nn.functional.dropout']);
});

test('validate catches incomplete entries, dangling references and one-way counterparts', () => {
  const good = kb.get('torch.nn.ReLU')!;
  const broken: KbEntry = { ...good, name: 'x.Broken', counterparts: ['torch.nn.functional.relu', 'x.Missing'], example: 'one line', en: { ...good.en, pitfalls: [] } };
  const problems = new KnowledgeBase([{ area: 't', entries: [broken, kb.get('torch.nn.functional.relu')!, good] }]).validate().join('\n');
  assert.match(problems, /x\.Broken: example has 1 lines/);
  assert.match(problems, /x\.Broken: en\.pitfalls is empty/);
  assert.match(problems, /reference x\.Missing does not resolve/);
  assert.match(problems, /counterpart torch\.nn\.functional\.relu does not point back/);
});

test('members shared by two entries are ambiguous and match nothing by name', () => {
  const a = kb.get('torch.optim.Optimizer.step')!;
  const b: KbEntry = { ...a, name: 'torch.optim.lr_scheduler.LRScheduler.step', aliases: [] };
  const two = new KnowledgeBase([{ area: 't', entries: [a, b] }]);
  assert.equal(two.member('step'), undefined);
  assert.equal(new KnowledgeBase([{ area: 't', entries: [a] }]).member('step'), a);
});

test('search finds entries by short name and by summary words in either language', () => {
  assert.equal(kb.search('conv2d', 'en')[0]?.name.endsWith('onv2d'), true);
  assert.ok(kb.search('dropout training', 'en').some((e) => e.name === 'torch.nn.Dropout'));
  assert.ok(kb.search('梯度', 'zh').length > 0);
  // Either language, whatever the reader's: Chinese words in an English UI and the reverse.
  assert.ok(kb.search('卷积', 'en').some((e) => e.name === 'torch.nn.Conv2d'));
  assert.ok(kb.search('convolution', 'zh').some((e) => e.name === 'torch.nn.Conv2d'));
  assert.equal(KB_FILES.length, 10);
});
