/**
 * Hovers in a note's TypeScript blocks: TensorFlow.js and the `ml-notes` snippet API resolved
 * through the blocks' imports, receivers typed from declarations, and silence for JavaScript's
 * own objects, strings, comments and code that imports neither.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hoverMarkdown } from '../../src/core/hover/hoverMarkdown';
import { NoteIndex } from '../../src/core/hover/noteIndex';
import { hoverAtMarker, kb, loadParser, nameAt } from './hoverHelpers';

const TF = "import * as tf from '@tensorflow/tfjs';\n";
/** A note with one ```ts block holding `code`; the `|` marker is where the hover is. */
const note = (code: string, fence = 'ts {run}') => `# 笔记\n\n正文。\n\n\`\`\`${fence}\n${code}\n\`\`\`\n`;
const at = (code: string, fence?: string) => nameAt(note(code, fence), 'markdown');

test('module members resolve through `import * as tf`', async () => {
  assert.equal(await at(`${TF}const y = tf.ti|dy(() => tf.square(x));`), 'tfjs.tidy');
  assert.equal(await at(`${TF}const opt = tf.train.ad|am(1e-3);`), 'tfjs.train.adam');
  assert.equal(await at(`${TF}const opt = tf.tra|in.adam(1e-3);`), 'tfjs.train');
  assert.equal(await at(`${TF}const l = tf.layers.den|se({ units: 1 });`), 'tfjs.layers.dense');
  assert.equal(await at(`${TF}const w = tf.varia|ble(tf.zeros([2]));`), 'tfjs.variable');
  assert.equal(await at(`${TF}t|f.matMul(a, b);`), 'tfjs');
  assert.equal(await at(`${TF}tf.matM|ul(a, b);`, 'typescript'), 'tfjs.matMul');
});

test('named imports, renamed imports and require', async () => {
  assert.equal(await at("import { tidy, train as T } from '@tensorflow/tfjs';\nti|dy(() => 1);"), 'tfjs.tidy');
  assert.equal(await at("import { tidy, train as T } from '@tensorflow/tfjs';\nconst o = T.sg|d(0.1);"), 'tfjs.train.sgd');
  assert.equal(await at("const tf = require('@tensorflow/tfjs');\ntf.gr|ad(f);", 'js'), 'tfjs.grad');
  assert.equal(await at("import * as tf from '@tensorflow/tfjs-node';\ntf.gra|ds(f);"), 'tfjs.grads');
});

test('members of typed values: factories, annotations, casts, own functions, chains', async () => {
  const hit = await hoverAtMarker(note(`${TF}const opt = tf.train.adam(1e-3);\nopt.minim|ize(() => loss() as tf.Scalar);`), 'markdown');
  assert.equal(hit?.api.name, 'tfjs.train.Optimizer.minimize');
  assert.equal(hit?.byName, false);
  assert.equal(await at(`${TF}const m = tf.sequential();\nm.a|dd(tf.layers.dense({ units: 1 }));`), 'tfjs.Sequential.add');
  assert.equal(await at(`${TF}const m = tf.sequential();\nawait m.fi|t(xs, ys, { epochs: 5 });`), 'tfjs.LayersModel.fit', 'through the Sequential → LayersModel base');
  assert.equal(await at(`${TF}function makeActor(): tf.Sequential { return tf.sequential(); }\nconst actor = makeActor();\nactor.dispo|se();`), 'tfjs.LayersModel.dispose');
  assert.equal(await at(`${TF}function f(x: tf.Tensor2D) {\n  return x.dataSy|nc();\n}`), 'tfjs.Tensor.dataSync');
  assert.equal(await at(`${TF}const y = (critic.apply(sa) as tf.Tensor).s|ub(target);`), 'tfjs.sub');
  assert.equal(await at(`${TF}let x = tf.tidy(() => noise.mul(2)) as tf.Tensor2D;\nx.dispo|se();`), 'tfjs.Tensor.dispose');
  assert.equal(await at(`${TF}const m = build() as tf.Sequential;\nm.a|dd(layer);`), 'tfjs.Sequential.add', 'a cast types the declared name');
  assert.equal(await at(`${TF}const z = tf.randomNormal([4, 2]).squa|re();`), 'tfjs.square');
  assert.equal(await at(`${TF}const s = tf.tensor2d([[1]]);\nconst l = s.sub(1).square().me|an();`), 'tfjs.mean', 'each call in a chain gives a tensor');
  assert.equal(await at(`${TF}const opt = tf.train.adam();\nconst c = opt.minimize(() => l, true)!;\nc.dataSy|nc();`), 'tfjs.Tensor.dataSync');
  assert.equal(await at(`${TF}const t: tf.Tensor = tf.zeros([2]);\nt.sha|pe;`), 'tfjs.Tensor.shape');
  assert.equal(await at(`${TF}function f(x: tf.Tens|or2D) {}`), 'tfjs.Tensor', 'rank-typed tensor types are the Tensor class');
  // Typed receivers without that member stay silent rather than borrow a tensor's.
  assert.equal(await at(`${TF}const opt = tf.train.adam();\nopt.dataSy|nc();`), undefined);
});

test('unknown receivers: a tfjs member name of one family is a labelled guess, several or JavaScript names none', async () => {
  const hit = await hoverAtMarker(note(`${TF}const v = loss.dataSy|nc()[0];`), 'markdown');
  assert.equal(hit?.api.name, 'tfjs.Tensor.dataSync');
  assert.equal(hit?.byName, true);
  // `add` is a Sequential's and a tensor's; `dispose` a tensor's, a model's and an optimizer's.
  assert.equal(await at(`${TF}thing.ad|d(layer);`), undefined);
  assert.equal(await at(`${TF}[a, b].forEach((m) => m.dispo|se());`), undefined);
  assert.equal(await at(`${TF}Math.sq|rt(2);`), undefined);
  assert.equal(await at(`${TF}process.dataSy|nc();`), undefined, 'JavaScript\'s own objects get no guess');
  assert.equal(await at(`${TF}console.lo|g(x);`), undefined);
  assert.equal(await at(`${TF}const r = rets.ma|p((v) => v * 2);`), undefined);
  assert.equal(await at(`${TF}env.st|ep(action);`), undefined);
});

test('strings, comments, other packages and blocks without the import stay silent', async () => {
  assert.equal(await at(`${TF}const s = 'tf.ti|dy';`), undefined);
  assert.equal(await at("import { tidy } from '@tensorflow/tfjs';\nconst s = 'ti|dy';"), undefined);
  assert.equal(await at("import { tidy } from '@tensorflow/tfjs';\n// ti|dy frees tensors"), undefined);
  assert.equal(await at(`${TF}// call tf.ti|dy here`), undefined);
  assert.equal(await at(`${TF}/* tf.ti|dy */`), undefined);
  assert.equal(await at(`${TF}console.log(\`tf.ti|dy \${n}\`);`), undefined);
  assert.equal(await at(`${TF}console.log(\`n = \${tf.memo|ry().numTensors}\`);`), 'tfjs.memory', 'a template literal\'s ${…} is code');
  assert.equal(await at('tf.ti|dy(() => 1);'), undefined, 'no import: tf is not known to be tfjs');
  assert.equal(await at("import * as tf from 'my-tensors';\ntf.ti|dy(() => 1);"), undefined);
});

test('the ml-notes snippet API', async () => {
  const IMPORT = "import { metric, plot } from 'ml-notes';\n";
  assert.equal(await at(`${IMPORT}metr|ic('loss', 0.5, step);`), 'mlnotes.metric');
  assert.equal(await at(`${IMPORT}plot.li|ne({ series: { a: xs } });`), 'mlnotes.plot.line');
  assert.equal(await at(`${IMPORT}plo|t.scatter({ groups: {} });`), 'mlnotes.plot');
  assert.equal(await at("import * as mln from 'ml-notes';\nmln.tab|le(['a'], [[1]]);"), 'mlnotes.table');
});

test('imports of earlier TypeScript blocks count; ranges are note positions', async () => {
  const src = "# 笔记\n\n```ts\nimport * as tf from '@tensorflow/tfjs';\n```\n\n```python\nimport torch\n```\n\n> ```ts\n> const y = tf.ti|dy(() => tf.zeros([1]));\n> ```\n";
  const hit = await hoverAtMarker(src, 'markdown');
  assert.equal(hit?.api.name, 'tfjs.tidy');
  assert.deepEqual(hit?.range, { startLine: 11, startCol: 15, endLine: 11, endCol: 19 });
});

test('TypeScript entries show TypeScript and are never matched in Python', async () => {
  const hit = await hoverAtMarker(note(`${TF}tf.ti|dy(() => 1);`), 'markdown');
  const md = hoverMarkdown(hit!, kb, 'en', [], () => '');
  assert.match(md, /```typescript\ntf\.tidy</);
  assert.match(md, /\/\/ freed when tidy returns/);
  assert.match(md, /signature as in the current docs/);
  assert.doesNotMatch(md, /```python/);
  // A Python `x.dispose()` or `.dataSync()` is not tfjs's; Keras's `fit` stays Keras's.
  assert.equal(await nameAt('import torch\ny = f()\ny.dataSy|nc()'), undefined);
  assert.equal(await nameAt('import tensorflow as tf\nm = build()\nm.fi|t(x, y)'), 'tensorflow.keras.Model.fit');
});

test('notes whose TypeScript blocks use an API are linked from its hover, at the section', async () => {
  const notes = new NoteIndex(await loadParser(), kb);
  notes.update('ddpg.md', "# DDPG\n\n## 软更新\n\n```ts {run}\nimport * as tf from '@tensorflow/tfjs';\ntf.tidy(() => tf.zeros([1]));\n```\n");
  notes.update('other.md', "# Other\n\n```ts\n// tf.tidy in a comment\nconst tidy = 1;\n```\n");
  const links = notes.linksFor(kb.get('tfjs.tidy'));
  assert.deepEqual(links.map((l) => [l.note, l.section]), [['ddpg.md', '软更新']]);
});
