/** Hover text: generated-index hovers say where they come from; labels use each language's colon. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { explainMarkdown, hoverMarkdown } from '../../src/core/hover/hoverMarkdown';
import { exportLines } from '../../src/core/hover/hoverMarkdown';
import { hoverAtMarker, kb } from './hoverHelpers';

const none = () => '';

test('a hover from the generated index shows the signature, the version it describes and no Chinese in English', async () => {
  const hit = await hoverAtMarker('import torch\ny = torch.logsumex|p(x, 1)\n');
  assert.ok(hit && !hit.entry);
  const en = hoverMarkdown(hit, kb, 'en', [], none);
  assert.match(en, /^\*\*`torch\.logsumexp`\*\* · function/);
  assert.match(en, /```python\ntorch\.logsumexp\(input, dim/);
  assert.match(en, /generated from torch 1\.13/);
  assert.match(en, /\(https:\/\/pytorch\.org\/docs\/1\.13\/search\.html\?q=torch\.logsumexp\)/);
  assert.doesNotMatch(en, /[\u4e00-\u9fff]/);
  const zh = hoverMarkdown(hit, kb, 'zh', [], none);
  assert.match(zh, /由 torch 1\.13\S* 自动生成/);
});

test('docstring text from the index cannot become links or HTML', async () => {
  const api = { name: 'torch.x', kind: 'function' as const, summary: 'See [here](javascript:alert(1)) <img src=x>', source: 'index' as const, version: 'torch 1.13.0' };
  const md = hoverMarkdown({ api, byName: false }, kb, 'en', [], none);
  assert.doesNotMatch(md, /[^\\]\[here\]/);
  assert.doesNotMatch(md, /[^\\]<img/);
});

test('section labels end in the language\'s own colon (issue 17)', () => {
  const entry = kb.get('torch.nn.BatchNorm2d')!;
  assert.ok(entry.zh.state && entry.counterparts?.length, 'an entry with state and counterparts');
  const hit = { api: kb.find(entry.name)!, entry, byName: false };
  const zh = hoverMarkdown(hit, kb, 'zh', [{ note: 'n.md', title: '标题', line: 0 }], none) + explainMarkdown(entry, kb, 'zh', [], none);
  // The Explain view shows both languages, so only the hover is checked for English alone.
  const en = hoverMarkdown(hit, kb, 'en', [{ note: 'n.md', title: 'Title', line: 0 }], none);
  assert.match(zh, /\*\*参数与状态\*\*：/);
  assert.match(zh, /\*\*对应接口\*\*：/);
  assert.match(zh, /笔记：标题/);
  assert.match(en, /\*\*Parameters and state\*\*: /);
  assert.match(en, /Note: Title/);
  // Within the zh hover's own labels (bold text and the note links) no ASCII colon follows a label.
  assert.doesNotMatch(hoverMarkdown(hit, kb, 'zh', [], none), /\*\*[^*\n]+\*\*:/);
  assert.doesNotMatch(en, /\*\*[^*\n]+\*\*：/);
  const ex = { api: 'tensorflow', v2: ['math.add'], v1: ['add'] };
  assert.ok(exportLines(ex, 'zh').every((l) => !/API: /.test(l)));
  assert.ok(exportLines(ex, 'zh').some((l) => /TF2 API：/.test(l)));
  assert.ok(exportLines(ex, 'en').some((l) => /TF2 API: /.test(l)));
});
