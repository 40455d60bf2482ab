/**
 * The editor's math colouring (syntaxes/*.tmLanguage.json) tokenized with the same TextMate
 * engine VS Code uses (vscode-textmate + vscode-oniguruma), injected into VS Code's own Markdown
 * grammar. That grammar ships with VS Code, so it is read from the code-server install the e2e
 * tests use (scripts/install.sh); without it these tests are skipped.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as tm from 'vscode-textmate';
import { findInlineMath } from '../../src/core/markdown/mathSyntax';

const ROOT = path.join(__dirname, '..', '..');
const MARKDOWN_GRAMMAR = path.join(ROOT, '.vscode-test/code-server/node_modules/code-server/lib/vscode/extensions/markdown-basics/syntaxes/markdown.tmLanguage.json');
const skip = fs.existsSync(MARKDOWN_GRAMMAR) ? false : 'VS Code\'s Markdown grammar is not installed (run scripts/install.sh)';

interface Token {
  text: string;
  start: number;
  end: number;
  scopes: string[];
}

/** Our grammars, by scope name, as package.json contributes them. */
function contributedGrammars(): { byScope: Map<string, string>; injections: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { grammars: { scopeName: string; path: string; injectTo?: string[] }[] } };
  const byScope = new Map<string, string>();
  const injections: string[] = [];
  for (const g of pkg.contributes.grammars) {
    byScope.set(g.scopeName, path.join(ROOT, g.path));
    if (g.injectTo?.includes('text.html.markdown')) injections.push(g.scopeName);
  }
  return { byScope, injections };
}

async function markdownGrammar(withMath: boolean): Promise<tm.IGrammar> {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer).catch((e: unknown) => {
    if (!String(e).includes('already')) throw e; // loaded by an earlier call
  });
  const ours = contributedGrammars();
  const registry = new tm.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => {
      const file = scope === 'text.html.markdown' ? MARKDOWN_GRAMMAR : ours.byScope.get(scope);
      return file ? tm.parseRawGrammar(fs.readFileSync(file, 'utf8'), file) : null;
    },
    getInjections: (scope) => (withMath && scope === 'text.html.markdown' ? ours.injections : undefined),
  });
  return (await registry.loadGrammar('text.html.markdown'))!;
}

let withMath: tm.IGrammar;
let plain: tm.IGrammar;

function tokenize(grammar: tm.IGrammar, text: string): Token[][] {
  let stack = tm.INITIAL;
  return text.split('\n').map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), start: t.startIndex, end: t.endIndex, scopes: t.scopes }));
  });
}

/** [start, end) ranges of one line covered by `scope`, adjacent tokens merged. */
function ranges(tokens: Token[], scope: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const t of tokens) {
    if (!t.scopes.includes(scope)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === t.start) last[1] = t.end;
    else out.push([t.start, t.end]);
  }
  return out;
}

const has = (tokens: Token[], scope: string) => tokens.some((t) => t.scopes.includes(scope));
const scopesOf = (tokens: Token[], text: string) => tokens.find((t) => t.text === text)?.scopes ?? [];

describe('math colouring in the Markdown editor (TextMate injection grammars)', { skip }, () => {
  before(async () => {
    withMath = await markdownGrammar(true);
    plain = await markdownGrammar(false);
  });

  const LOSS = '损失 \\(\\mathbb{E}_{t} \\| \\epsilon - \\epsilon_\\theta(x_t, t) \\|^2\\) 最小';

  it("`_…_` inside \\(…\\) is math, not italics (VS Code's Markdown grammar alone shows italics)", () => {
    const [before] = tokenize(plain, LOSS);
    assert.ok(has(before!, 'markup.italic.markdown'), 'premise: the plain Markdown grammar italicises part of the formula');
    const [line] = tokenize(withMath, LOSS);
    assert.ok(!has(line!, 'markup.italic.markdown'));
    const start = LOSS.indexOf('\\(');
    const end = LOSS.indexOf('\\)') + 2;
    assert.deepEqual(ranges(line!, 'markup.math.inline.markdown'), [[start, end]]);
    assert.deepEqual(ranges(line!, 'meta.embedded.math.markdown'), [[start + 2, end - 2]]);
  });

  it('LaTeX inside math gets LaTeX scopes: commands, scripts, numbers, variables', () => {
    const [line] = tokenize(withMath, LOSS);
    assert.ok(scopesOf(line!, 'epsilon').includes('support.function.math.tex'));
    assert.ok(scopesOf(line!, '_').includes('keyword.operator.script.math.tex'));
    assert.ok(scopesOf(line!, '2').includes('constant.numeric.math.tex'));
    assert.ok(scopesOf(line!, 'x').includes('variable.other.math.tex'));
  });

  // Each line's coloured spans must be exactly the formulas the preview renders (findInlineMath,
  // the preview's own scanner). Lines are kept to one paragraph line: the grammar is line-based.
  const SAME_AS_PREVIEW = [
    '噪声$\\epsilon$，其中第$i$个样本 $x_i$',
    'It costs $5 and $10.',
    '价格是$5，数量是$10。',
    '$(a+b)^2$ 与 $(x_t,t)$',
    '转义 \\$5 不是公式，$ x$ 和 $x $ 是公式（Typora 的写法）',
    '价值是 $-$16，结果为$\\approx$0.5，误差约$\\pm$2%',
    '参数$\\theta $，来输出概率值：$p(y=1|x;\\theta)$',
    'costs $5 and $x$，100$ 和 200$',
    '可以读为\\[pæk\\]学习，第\\(II\\)部分，但 \\(x_t\\) 是公式',
    '行内 $$\\sum_{i=1}^n x_i$$ 显示',
    'GitLab 风格 $`\\alpha_t`$ 公式',
    '代码 `$x$` 不是公式，但 $y$ 是',
    '括号 \\(x^2\\) 与 \\[\\int_0^1 f\\] 与 \\(注\\) 与 \\[1, 2\\] 与 \\(\\text{注}\\)',
    // From blairstar/The_Art_of_DPM, DPMInteractive/RenderMarkdownZh.py (a Chinese diffusion note):
    // citations in escaped brackets stay text.
    '扩散模型[\\[1\\]](#dpm)[\\[2\\]](#ddpm)是当前图像生成和视频生成使用的主要方式',
    '从反向逐步采样得到各个随机变量$Z_T \\ldots Z_2,Z_1,X$的样本。同时也可通过贝叶斯公式确定$q(x)$。',
    '\\(a\\\\) b\\) 与 \\(\\alpha_{t}\\)',
  ];
  for (const text of SAME_AS_PREVIEW) {
    it(`colours what the preview renders: ${text}`, () => {
      const [line] = tokenize(withMath, text);
      const expected = findInlineMath(text).map((m) => [m.start, m.end]);
      assert.deepEqual(ranges(line!, 'markup.math.inline.markdown'), expected);
    });
  }

  it('hand-checked: money and citations are not math, Chinese-adjacent formulas are', () => {
    assert.deepEqual(ranges(tokenize(withMath, 'It costs $5 and $10.')[0]!, 'markup.math.inline.markdown'), []);
    assert.deepEqual(ranges(tokenize(withMath, '参考\\[1\\]和\\(注\\)')[0]!, 'markup.math.inline.markdown'), []);
    assert.deepEqual(ranges(tokenize(withMath, '第$i$个')[0]!, 'markup.math.inline.markdown'), [[1, 4]]);
  });

  it('math in headings, list items and quotes', () => {
    for (const text of ['# 标题 $x_t$', '- 列表 $x_t$', '> 引用 $x_t$', '1. 编号 \\(x_t\\)']) {
      const [line] = tokenize(withMath, text);
      assert.ok(scopesOf(line!, 'x').includes('meta.embedded.math.markdown'), `${text}: ${JSON.stringify(line)}`);
    }
  });

  const BLOCKS: Array<[string, string]> = [
    ['$$', '$$\nq(x_t \\mid x_0) = \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1-\\bar\\alpha_t) I)\n$$\n之后 _斜体_'],
    ['\\[', '\\[\nq(x_t \\mid x_0) = \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1-\\bar\\alpha_t) I)\n\\]\n之后 _斜体_'],
    ['\\begin{align}', '\\begin{align}\nq(x_t \\mid x_0) &= \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1-\\bar\\alpha_t) I)\n\\end{align}\n之后 _斜体_'],
    ['```math', '```math\nq(x_t \\mid x_0) = \\mathcal{N}(x_t; \\sqrt{\\bar\\alpha_t}\\, x_0, (1-\\bar\\alpha_t) I)\n```\n之后 _斜体_'],
  ];
  for (const [name, text] of BLOCKS) {
    it(`a ${name} block is math up to its closing line, and Markdown after it`, () => {
      const [open, body, close, after] = tokenize(withMath, text);
      assert.ok(body!.every((t) => t.scopes.includes('meta.embedded.math.markdown')), JSON.stringify(body));
      assert.ok(has(body!, 'markup.math.block.markdown'));
      assert.ok(!has(body!, 'markup.italic.markdown'));
      assert.ok(scopesOf(body!, 'mathcal').includes('support.function.math.tex'));
      assert.ok(has(open!, 'markup.math.block.markdown') || has(open!, 'markup.fenced_code.block.markdown'));
      assert.ok(!has(after!, 'markup.math.block.markdown') && has(after!, 'markup.italic.markdown'), JSON.stringify(after));
      void close;
    });
  }

  it('a blank line ends an unclosed $$ (as in the preview), so typing $$ does not colour the rest of the note', () => {
    const lines = tokenize(withMath, '$$\nx_1 + x_2\n\n后文 _斜体_ 与 $y$');
    assert.ok(has(lines[1]!, 'meta.embedded.math.markdown'));
    assert.ok(!has(lines[3]!, 'markup.math.block.markdown'));
    assert.ok(has(lines[3]!, 'markup.italic.markdown'));
    assert.deepEqual(ranges(lines[3]!, 'markup.math.inline.markdown').length, 1);
  });

  it('a citation line \\[1\\] and an unknown environment are not math blocks', () => {
    const lines = tokenize(withMath, '\\[1\\] 引文\n\n\\begin{itemize}\n_x_');
    assert.ok(!has(lines[0]!, 'markup.math.block.markdown'));
    assert.ok(!has(lines[2]!, 'markup.math.block.markdown'));
  });

  it('math inside code spans and fenced code stays code', () => {
    const lines = tokenize(withMath, '`$x$` 与 `\\(y\\)`\n\n```python\nprice = "$5 and $x$"\n```');
    assert.ok(!has(lines[0]!, 'markup.math.inline.markdown'));
    assert.ok(!has(lines[3]!, 'markup.math.inline.markdown'));
  });
});
