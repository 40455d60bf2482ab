/** Name resolution for hovers: import forms, shadowing, decorators, strings, notes' code blocks. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hoverAtMarker, nameAt } from './hoverHelpers';

const CONV = 'torch.nn.functional.conv2d';

test('every import form resolves', async () => {
  assert.equal(await nameAt('import torch.nn as nn\nnn.Con|v2d(1, 2, 3)\n'), 'torch.nn.Conv2d');
  assert.equal(await nameAt('from torch import nn\nnn.Dro|pout(0.1)\n'), 'torch.nn.Dropout');
  assert.equal(await nameAt('import torch.nn.functional as F\nF.con|v2d(x, w)\n'), CONV);
  assert.equal(await nameAt('from torch.nn import functional as F\nF.con|v2d(x, w)\n'), CONV);
  assert.equal(await nameAt('import torch\ntorch.nn.functional.con|v2d(x, w)\n'), CONV);
  assert.equal(await nameAt('from torch.nn.parallel import DistributedDataParallel as DDP\nm = D|DP(model)\n'), 'torch.nn.parallel.DistributedDataParallel');
  assert.equal(await nameAt('import tensorflow as tf\ntf.compat.v1.app.r|un(main)\n'), 'tensorflow.compat.v1.app.run');
  assert.equal(await nameAt('from tensorflow.python.util.tf_export import tf_export\n@tf_ex|port("a.b")\ndef f(): pass\n'), 'tensorflow.python.util.tf_export.tf_export');
  assert.equal(await nameAt('from functools import partial\np = par|tial(f, 1)\n'), 'functools.partial');
  assert.equal(await nameAt('import functools\np = functools.par|tial(f, 1)\n'), 'functools.partial');
  assert.equal(await nameAt('import torch.distributed as dist\ndist.all_re|duce(t)\n'), 'torch.distributed.all_reduce');
  assert.equal(await nameAt('from torch.nn import *\nx = Line|ar(2, 3)\n'), 'torch.nn.Linear');
});

test('names inside import statements resolve to what they spell', async () => {
  assert.equal(await nameAt('import torch.nn.functional as |F\n'), 'torch.nn.functional');
  assert.equal(await nameAt('from torch.nn.parallel import Distributed|DataParallel as DDP\n'), 'torch.nn.parallel.DistributedDataParallel');
  assert.equal(await nameAt('import torch.n|n as nn\n'), 'torch.nn');
});

test('aliases, assignments and nested scopes', async () => {
  assert.equal(await nameAt('import torch.nn as nn\nG = nn.functional\ny = G.re|lu(x)\n'), 'torch.nn.functional.relu');
  assert.equal(await nameAt('import torch.nn.functional as F\nclass Net:\n    def forward(self, x):\n        return F.dro|pout(x, 0.5, training=self.training)\n'), 'torch.nn.functional.dropout');
  // Module names bound after a function still resolve inside it (they exist when it runs).
  assert.equal(await nameAt('def f(x):\n    return F.re|lu(x)\nimport torch.nn.functional as F\n'), 'torch.nn.functional.relu');
  assert.equal(await nameAt('def f():\n    import torch.nn as nn\n    return nn.Line|ar(1, 2)\n'), 'torch.nn.Linear');
});

test('shadowing hides imports', async () => {
  assert.equal(await nameAt('import torch.nn.functional as F\ndef f(F):\n    return F.con|v2d(x)\n'), undefined);
  assert.equal(await nameAt('import torch.nn.functional as F\nF = my_module\nF.con|v2d(x)\n'), undefined);
  assert.equal(await nameAt('import torch.nn.functional as F\nfor F in things:\n    F.con|v2d(x)\n'), undefined);
  assert.equal(await nameAt('import torch.nn.functional as F\ndef g():\n    F = 3\n    return F.re|lu\n'), undefined);
  // Before the import, at module level, the name is not bound yet.
  assert.equal(await nameAt('F.con|v2d(x)\nimport torch.nn.functional as F\n'), undefined);
  // The user's own tf_export (note 05, section 6) is not TensorFlow's.
  assert.equal(await nameAt('import functools\ntf_export = functools.partial(api_export, api_name="x")\n@tf_ex|port(v1=["app.run"])\ndef run(): pass\n'), undefined);
});

test('decorators with arguments list the exported public names', async () => {
  const base = 'from tensorflow.python.util.tf_export import tf_export, keras_export\n';
  const v1only = await hoverAtMarker(base + "@tf_ex|port(v1=['app.run'])\ndef run(main=None, argv=None): pass\n");
  assert.deepEqual(v1only?.exports, { api: 'tensorflow', v2: [], v1: ['app.run'] });
  const both = await hoverAtMarker(base + "@tf_exp|ort('math.add', 'add')\ndef add(x, y): pass\n");
  assert.deepEqual(both?.exports, { api: 'tensorflow', v2: ['math.add', 'add'], v1: ['math.add', 'add'] });
  const keras = await hoverAtMarker(base + "@keras_ex|port('keras.layers.Dense')\nclass Dense: pass\n");
  assert.deepEqual(keras?.exports, { api: 'keras', v2: ['keras.layers.Dense'], v1: ['keras.layers.Dense'] });
  const bare = await hoverAtMarker(base + 'x = tf_ex|port\n');
  assert.equal(bare?.exports, undefined);
  assert.equal(bare?.api.name, 'tensorflow.python.util.tf_export.tf_export');
});

test('methods on values of unknown type match by name, marked as such', async () => {
  const back = await hoverAtMarker('loss = model(x).sum()\nloss.back|ward()\n');
  assert.equal(back?.api.name, 'torch.Tensor.backward');
  assert.equal(back?.byName, true);
  assert.equal(await nameAt('y = x.deta|ch()\n'), 'torch.Tensor.detach');
  // Not called and not typed: a property is only explained when the receiver is known.
  assert.equal(await nameAt('print(p.gr|ad)\n'), undefined);
  assert.equal(await nameAt('for p in model.parameters():\n    print(p.gr|ad)\nmodel = torch.nn.Linear(2, 2)\nimport torch\n'), undefined);
  assert.equal(await nameAt('import torch\nmodel = torch.nn.Linear(2, 2)\nfor p in model.parameters():\n    print(p.gr|ad)\n'), 'torch.Tensor.grad');
  assert.equal(await nameAt('t.requires_gr|ad_()\n'), 'torch.Tensor.requires_grad_');
  assert.equal(await nameAt('model(x).sum().back|ward()\n'), 'torch.Tensor.backward');
  assert.equal(await nameAt('sampler.set_ep|och(3)\n'), 'torch.utils.data.distributed.DistributedSampler.set_epoch');
  assert.equal(await nameAt('loss.backward(retain_gr|aph=True)\n'), 'torch.Tensor.backward.retain_graph');
  assert.equal(await nameAt('optimizer.st|ep()\n'), 'torch.optim.Optimizer.step');
});

test('unknown names, strings and comments give nothing', async () => {
  assert.equal(await nameAt('import numpy as np\nnp.su|m(x)\n'), undefined);
  assert.equal(await nameAt('import torch.nn.functional as F\ns = "F.con|v2d"\n'), undefined);
  assert.equal(await nameAt('import torch.nn.functional as F\n# F.con|v2d here\n'), undefined);
  assert.equal(await nameAt('x = unknown_na|me\n'), undefined);
  assert.equal(await nameAt('def for|ward(self): pass\n'), undefined);
});

test('notes: python blocks, indented and quoted, with imports from earlier blocks', async () => {
  const note = [
    '# Note', '', '```python', 'import torch.nn.functional as F', '```', '',
    '- item', '', '  ```py {run}', '  y = F.con|v2d(x, w)', '  ```', '',
  ].join('\n');
  const hit = await hoverAtMarker(note, 'markdown');
  assert.equal(hit?.api.name, CONV);
  assert.deepEqual(hit?.range, { startLine: 9, startCol: 8, endLine: 9, endCol: 14 });
  const quoted = '```python\nimport torch\n```\n\n> ```python\n> with torch.no_gr|ad():\n>     pass\n> ```\n';
  assert.equal(await nameAt(quoted, 'markdown'), 'torch.no_grad');
  // Prose and non-Python blocks get nothing.
  assert.equal(await nameAt('```python\nimport torch.nn.functional as F\n```\nF.con|v2d in prose\n', 'markdown'), undefined);
  assert.equal(await nameAt('```js\nimport torch.nn.functional as F\nF.con|v2d\n```\n', 'markdown'), undefined);
  // A later block's imports do not reach back.
  assert.equal(await nameAt('```python\nF.con|v2d(x)\n```\n```python\nimport torch.nn.functional as F\n```\n', 'markdown'), undefined);
});

test('notes: inline code in prose hovers, through the note\'s imports or the usual short names', async () => {
  assert.equal(await nameAt('# 卷积\n\n用 `nn.Con|v2d` 做卷积。\n', 'markdown'), 'torch.nn.Conv2d');
  const hit = await hoverAtMarker('这里 `F.dro|pout(x, 0.5)` 只在训练时生效。\n', 'markdown');
  assert.equal(hit?.api.name, 'torch.nn.functional.dropout');
  assert.deepEqual(hit?.range, { startLine: 0, startCol: 6, endLine: 0, endCol: 13 });
  assert.equal(await nameAt('`n|n.Conv2d`\n', 'markdown'), 'torch.nn');
  // The note's own import wins over the convention.
  assert.equal(await nameAt('```python\nimport torch.nn.functional as G\n```\n\nUse `G.re|lu`.\n', 'markdown'), 'torch.nn.functional.relu');
  // Not in a code span, not a known name, or inside a non-Python block: nothing.
  assert.equal(await nameAt('nn.Con|v2d in plain prose\n', 'markdown'), undefined);
  assert.equal(await nameAt('`my.Con|v2d`\n', 'markdown'), undefined);
  assert.equal(await nameAt('```js\nconst s = `nn.Con|v2d`;\n```\n', 'markdown'), undefined);
  assert.equal(await nameAt('    indented `nn.Con|v2d` code\n', 'markdown'), undefined);
});
