/** Hover text: generated-index hovers say where they come from; labels use each language's colon. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { explainMarkdown, exportLines, hoverMarkdown, localizeExample } from '../../src/core/hover/hoverMarkdown';
import { inlineMathToText, texToText } from '../../src/core/hover/mathText';
import { KnowledgeBase } from '../../src/core/kb/knowledgeBase';
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

test('examples keep their own language\'s half of bilingual comments', () => {
  const ex = "t = x  # 每个进程 / every process\ny = f(t)  # 只有中文\nz = 1  # plain";
  assert.equal(localizeExample(ex, 'en'), 't = x  # every process\ny = f(t)\nz = 1  # plain');
  assert.equal(localizeExample(ex, 'zh'), 't = x  # 每个进程\ny = f(t)  # 只有中文\nz = 1  # plain');
  // Every curated example shown in English is free of Chinese.
  for (const e of kb.entries) assert.doesNotMatch(localizeExample(e.example, 'en'), /[\u4e00-\u9fff]/, e.name);
  const dropout = kb.get('torch.nn.Dropout')!;
  const en = hoverMarkdown({ api: kb.find(dropout.name)!, entry: dropout, byName: false }, kb, 'en', [], none);
  assert.doesNotMatch(en, /[\u4e00-\u9fff]/);
  assert.match(en, /# train\(\): zeroes at random/);
});

test('validate asks for the English half of a Chinese example comment', () => {
  const good = kb.get('torch.nn.ReLU')!;
  const bad = { ...good, name: 'x.Bad', counterparts: [], example: 'y = f(x)\nz = g(y)  # 只有中文' };
  assert.match(new KnowledgeBase([{ area: 't', entries: [bad] }]).validate().join('\n'), /x\.Bad: example comment has Chinese without an English half/);
});

test('inline math in prose renders as readable text, not raw TeX', () => {
  assert.equal(texToText('\\lfloor (L + 2p - d(k-1) - 1)/s \\rfloor + 1'), '⌊ (L + 2p − d(k−1) − 1)/s ⌋ + 1');
  assert.equal(texToText('\\theta \\leftarrow \\theta - \\eta \\hat m/(\\sqrt{\\hat v}+\\epsilon)'), 'θ ← θ − η m̂/(√(v̂)+ε)');
  assert.equal(texToText('\\mathrm{softmax}(QK^\\top/\\sqrt{d})V'), 'softmax(QKᵀ/√d)V');
  assert.equal(texToText('-[y\\log p + (1-y)\\log(1-p)]'), '−[y log p + (1−y)log(1−p)]');
  assert.equal(inlineMathToText('rate $\\eta_t = \\eta_0\\gamma^t$ and `$HOME`'), 'rate `ηₜ = η₀γᵗ` and `$HOME`');
  for (const e of kb.entries) {
    for (const lang of ['zh', 'en'] as const) {
      const md = hoverMarkdown({ api: kb.find(e.name)!, entry: e, byName: false }, kb, lang, [], none);
      const prose = md.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
      assert.doesNotMatch(prose, /\$[^$\n]*\\[a-zA-Z]+[^$\n]*\$/, `${e.name} (${lang}) shows raw TeX`);
    }
  }
});
