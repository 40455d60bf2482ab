/**
 * The note index re-reads a note's code only when its code or headings changed: `noteShape`
 * (the cheap test) and NoteIndex.update's three outcomes, checked against a fresh index of the
 * same text, including over random edits of the sample notes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NoteIndex } from '../../src/core/hover/noteIndex';
import { isPlainProse, noteShape } from '../../src/core/hover/noteShape';
import { kb, loadParser } from './hoverHelpers';

const NOTES = path.join(__dirname, '..', '..', 'notes');

const NOTE = [
  '# DDP 笔记', //                     0
  '', //                               1
  '分布式训练把模型复制到每张卡上。', //   2
  '每个进程处理数据的一部分。', //         3
  '', //                               4
  '## 初始化', //                        5
  '', //                               6
  '```python', //                      7
  'import torch.distributed as dist', // 8
  "dist.init_process_group('gloo')", // 9
  '```', //                            10
  '', //                               11
  '梯度同步', //                         12
  '---', //                            13
  '', //                               14
  '```python', //                      15
  'import torch.nn.functional as F', // 16
  'y = F.relu(x)', //                  17
  '```', //                            18
  '',
].join('\n');

const edit = (text: string, line: number, f: (l: string) => string | string[]): string => {
  const lines = text.split('\n');
  lines.splice(line, 1, ...[f(lines[line]!)].flat());
  return lines.join('\n');
};

/** Every link the index gives, for every curated entry: what hovers can show. */
function allLinks(index: NoteIndex): string {
  return JSON.stringify(kb.entries.map((e) => [e.name, index.linksFor(e, 1000)]).filter(([, l]) => l.length > 0));
}

async function fresh(notes: Record<string, string>): Promise<NoteIndex> {
  const index = new NoteIndex(await loadParser(), kb);
  for (const [k, t] of Object.entries(notes)) index.update(k, t);
  return index;
}

test('plain prose lines are those whose content no block rule reads', () => {
  for (const l of ['分布式训练把模型复制到每张卡上。', 'Adam 的 $\\beta_1$ 取 0.9，见 [论文](https://arxiv.org)。', '']) assert.ok(isPlainProse(l), l);
  for (const l of ['# 标题', '  缩进', '> 引用', '- 列表', '1. 列表', '2) 列表', '---', '===', '<details>', 'a > b', '```python', 'x ``` y', '| 表 |', '*强调*'])
    assert.ok(!isPlainProse(l), l);
});

test('the shape survives typing in a paragraph and changes with code, headings and paragraph breaks', () => {
  const shape = noteShape(NOTE);
  assert.equal(noteShape(edit(NOTE, 2, (l) => l + '每次同步梯度。')), shape, 'typing in a paragraph');
  assert.equal(noteShape(edit(NOTE, 3, () => '')), noteShape(edit(NOTE, 3, () => ' ')), 'blank is blank');
  const changed: [string, string][] = [
    ['a code line', edit(NOTE, 17, (l) => l + ' + 1')],
    ['a heading', edit(NOTE, 5, () => '## 初始化进程组')],
    ['a setext heading\'s text', edit(NOTE, 12, () => '梯度如何同步')],
    ['a paragraph split by a blank line', edit(NOTE, 3, () => '')],
    ['a new prose line (lines below move)', edit(NOTE, 3, (l) => [l, '新的一行。'])],
    ['prose turned into a heading', edit(NOTE, 2, (l) => '# ' + l)],
    ['prose turned into a fence', edit(NOTE, 3, () => '```python')],
  ];
  for (const [what, text] of changed) assert.notEqual(noteShape(text), shape, what);
});

test('where the scanner and CommonMark may read fences differently, every line counts', () => {
  // A fence mark indented four columns inside Python code (a docstring's Markdown) is code to
  // CommonMark but closes the fence for the line scanner, which would then take the code below
  // for prose.
  const note = '```python\ndef f():\n    """例子：\n    ```\n    """\nx = 1\n```\n';
  assert.notEqual(noteShape(note.replace('x = 1', 'x = 2')), noteShape(note));
});

test('update: unchanged for prose, new sections for moved or renamed headings, a re-read for code', async () => {
  const index = await fresh({ 'ddp.md': NOTE });
  const relu = kb.get('torch.nn.functional.relu')!;
  assert.deepEqual(index.linksFor(relu), [{ note: 'ddp.md', title: 'DDP 笔记', section: '梯度同步', line: 12 }]);

  assert.equal(index.update('ddp.md', edit(NOTE, 2, (l) => l + '每次同步梯度。')), 'unchanged');

  const moved = edit(NOTE, 3, (l) => [l, '新的一行。']);
  assert.equal(index.update('ddp.md', moved), 'sections');
  assert.deepEqual(index.linksFor(relu), [{ note: 'ddp.md', title: 'DDP 笔记', section: '梯度同步', line: 13 }]);

  const renamed = edit(moved, 0, () => '# DDP 入门');
  assert.equal(index.update('ddp.md', renamed), 'sections');
  assert.equal(index.linksFor(relu)[0]?.title, 'DDP 入门');

  // The same headings and blocks in another order: the second block moves to the first section.
  const lines = renamed.split('\n');
  const reordered = [...lines.slice(0, 13), ...lines.slice(16, 20), '', ...lines.slice(13, 15), ...lines.slice(20)].join('\n');
  assert.equal(index.update('ddp.md', reordered), 'indexed');
  assert.deepEqual(index.linksFor(relu), [{ note: 'ddp.md', title: 'DDP 入门', section: '初始化', line: 6 }]);
  assert.equal(index.update('ddp.md', renamed), 'indexed');

  const noRelu = edit(renamed, 18, () => 'y = x');
  assert.equal(index.update('ddp.md', noRelu), 'indexed');
  assert.deepEqual(index.linksFor(relu), []);

  // A heading's code span links the section even without code: a heading edit that adds one is a re-read.
  const headed = edit(noRelu, 6, () => '## `F.relu` 与初始化');
  assert.equal(index.update('ddp.md', headed), 'indexed');
  assert.equal(index.linksFor(relu)[0]?.section, 'F.relu 与初始化');
  assert.equal(allLinks(index), allLinks(await fresh({ 'ddp.md': headed })));
});

/** A small deterministic generator (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('after random edits of real notes the incremental index equals a fresh one', async () => {
  const rand = rng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const files = fs.readdirSync(NOTES).filter((f) => /^0[4-7]-/.test(f)).sort();
  const notes: Record<string, string> = {};
  for (const f of files) notes[f] = fs.readFileSync(path.join(NOTES, f), 'utf8');
  const index = await fresh(notes);
  // Insertions that matter to CommonMark somewhere and mostly not elsewhere, like real typing.
  const pieces = ['字', 'x', ' ', '#', '# ', '`', '```', '-', '=', '> ', '<', '1. ', '    ', '(', '_'];
  const outcomes = new Map<string, number>();
  for (let step = 0; step < 80; step++) {
    const f = pick(files);
    const lines = notes[f]!.split('\n');
    // Half the edits land on lines that are not plain prose (headings, code, fences).
    const structural = lines.map((l, i) => (isPlainProse(l) ? -1 : i)).filter((i) => i >= 0);
    const at = rand() < 0.5 ? pick(structural) : Math.floor(rand() * lines.length);
    const kind = rand();
    if (kind < 0.55) {
      const l = lines[at]!;
      const col = rand() < 0.5 ? l.length : Math.floor(rand() * (l.length + 1));
      lines[at] = l.slice(0, col) + pick(pieces) + l.slice(col);
    } else if (kind < 0.7) lines.splice(at, 0, pick(['', '新的一行。', '---', '===', '## 新节']));
    else if (kind < 0.85) lines.splice(at, 1);
    else lines.splice(at, 0, lines[at]!);
    notes[f] = lines.join('\n');
    const outcome = index.update(f, notes[f]!);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    assert.deepEqual(index.entry(f), (await fresh({ [f]: notes[f]! })).entry(f), `step ${step}: ${outcome} after an edit of ${f} at line ${at}`);
  }
  assert.equal(allLinks(index), allLinks(await fresh(notes)));
  // The edits exercised all three paths, so the equality above covers each of them.
  for (const o of ['unchanged', 'sections', 'indexed']) assert.ok((outcomes.get(o) ?? 0) > 0, `${o}: ${JSON.stringify([...outcomes])}`);
});
