/** Note linking: the index finds the sample notes' sections for APIs, and hovers end with the links. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NoteIndex, headingText } from '../../src/core/hover/noteIndex';
import { hoverMarkdown } from '../../src/core/hover/hoverMarkdown';
import { kb, loadParser, hoverAtMarker } from './hoverHelpers';

const NOTES = path.join(__dirname, '..', '..', 'notes');

async function sampleIndex(): Promise<NoteIndex> {
  const index = new NoteIndex(await loadParser(), kb);
  for (const f of fs.readdirSync(NOTES).filter((n) => n.endsWith('.md'))) index.update(f, fs.readFileSync(path.join(NOTES, f), 'utf8'));
  return index;
}

test('heading text drops numbering and code ticks', () => {
  assert.equal(headingText('2. 不同点'), '不同点');
  assert.equal(headingText('2.4 train/eval 行为:Dropout 和 BatchNorm'), 'train/eval 行为:Dropout 和 BatchNorm');
  assert.equal(headingText('`@tf_export` 在做什么'), '@tf_export 在做什么');
});

test('sample notes are linked at the right sections', async () => {
  const index = await sampleIndex();
  const link = (name: string) => index.linksFor(kb.get(name)!);
  const dropout = link('torch.nn.functional.dropout');
  assert.equal(dropout[0]?.note, '07-nn-vs-functional.md');
  assert.match(dropout[0]?.section ?? '', /Dropout/);
  const tfExport = link('tensorflow.python.util.tf_export.tf_export');
  assert.equal(tfExport[0]?.note, '05-tf-export.md');
  assert.equal(tfExport[0]?.line, 0, 'the title names @tf_export');
  assert.ok(link('torch.utils.data.distributed.DistributedSampler')[0]?.note.startsWith('04-'));
  assert.ok(link('torch.autograd.grad')[0]?.note.startsWith('06-'));
  assert.ok(link('torch.nn.functional.conv2d').some((l) => l.note.startsWith('07-')));
  const retain = link('torch.Tensor.backward.retain_graph')[0];
  assert.equal(retain?.note, '06-pytorch-autograd.md');
  assert.match(retain?.section ?? '', /retain_graph/);
});

test('re-indexing a note replaces its mentions; removing it drops them', async () => {
  const index = await sampleIndex();
  const conv = kb.get('torch.nn.functional.conv2d')!;
  index.update('mine.md', '# Mine\n\n## `F.conv2d` 笔记\n\ntext\n');
  assert.deepEqual(index.linksFor(conv)[0], { note: 'mine.md', title: 'Mine', section: 'F.conv2d 笔记', line: 2 });
  index.update('mine.md', '# Mine\n\nnothing\n');
  assert.ok(!index.linksFor(conv).some((l) => l.note === 'mine.md'));
  index.update('mine.md', '# Mine\n\n```python\nimport torch.nn.functional as F\nF.conv2d(x, w)\n```\n');
  assert.ok(index.linksFor(conv).some((l) => l.note === 'mine.md'));
  index.remove('mine.md');
  assert.ok(!index.linksFor(conv).some((l) => l.note === 'mine.md'));
});

test('a hover ends with links to the notes, labelled by title and section', async () => {
  const index = await sampleIndex();
  const hit = await hoverAtMarker('import torch.nn.functional as F\ny = F.drop|out(x, 0.5)\n');
  assert.ok(hit);
  const zh = hoverMarkdown(hit, kb, 'zh', index.linksFor(hit.entry), (l) => `${l.note}#L${l.line + 1}`);
  assert.match(zh, /\[笔记：nn\.Xxx 与 nn\.functional\.xxx.*§.*Dropout.*\]\(07-nn-vs-functional\.md#L\d+\)/);
  assert.match(zh, /易错点/);
  const en = hoverMarkdown(hit, kb, 'en', [], () => '');
  assert.match(en, /\*\*Pitfalls\*\*/);
  assert.match(en, /training/);
  assert.doesNotMatch(en, /笔记/);
});
