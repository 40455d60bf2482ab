import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import katex from 'katex';
import { build } from 'esbuild';
import { FORMULAS, TOPICS, defaultText, snippetFile, toSnippetBody } from '../../src/core/formulas/library';
import { KATEX_COMMANDS } from '../../src/core/formulas/completion';
import { findMathRegions } from '../../src/core/formulas/mathRegions';

const ROOT = path.resolve(__dirname, '..', '..');
const CJK = /[\u4e00-\u9fff]/;

/** VS Code's snippet grammar, as far as the library uses it: escapes, `${n:default}`, `${n}`, `$n`. */
function expandSnippet(snippet: string): string {
  const defaults = new Map<string, string>();
  let i = 0;
  const parse = (stopAtBrace: boolean): string => {
    let out = '';
    while (i < snippet.length) {
      const c = snippet[i]!;
      if (c === '\\' && '\\$}'.includes(snippet[i + 1] ?? '')) {
        out += snippet[i + 1];
        i += 2;
      } else if (c === '}' && stopAtBrace) {
        i++;
        return out;
      } else if (c === '$' && snippet[i + 1] === '{') {
        const m = /^\$\{(\d+)(:?)/.exec(snippet.slice(i))!;
        i += m[0].length;
        const inner = m[2] ? parse(true) : (i++, defaults.get(m[1]!) ?? '');
        if (m[2] && !defaults.has(m[1]!)) defaults.set(m[1]!, inner);
        out += m[2] ? inner : inner;
      } else if (c === '$' && /\d/.test(snippet[i + 1] ?? '')) {
        const m = /^\$(\d+)/.exec(snippet.slice(i))!;
        i += m[0].length;
        out += defaults.get(m[1]!) ?? '';
      } else {
        assert.notEqual(c, '$', `unescaped $ in ${snippet}`);
        out += c;
        i++;
      }
    }
    return out;
  };
  return parse(false);
}

/** TeX with spacing, sizing and trailing punctuation removed, to compare formulas loosely. */
function normalize(tex: string): string {
  return tex
    .replace(/\\(?:label|tag)\{[^}]*\}/g, '')
    .replace(/\\[,;:!]|\\q?quad|\\ |\s+|\\(?:big|Big|bigg|Bigg)[lr]?(?![a-zA-Z])|\\left|\\right/g, '')
    .replace(/[.,]+$/, '');
}

describe('formula library', () => {
  it('has at least 80 formulas with unique prefixes, in every topic', () => {
    assert.ok(FORMULAS.length >= 80, `${FORMULAS.length} formulas`);
    assert.equal(new Set(FORMULAS.map((f) => f.prefix)).size, FORMULAS.length, 'prefixes are unique');
    for (const t of TOPICS) assert.ok(FORMULAS.some((f) => f.topic === t.id), t.id);
    for (const f of FORMULAS) {
      assert.match(f.prefix, /^[a-z0-9][a-z0-9-]*$/, f.prefix);
      assert.ok(f.en.length > 2 && !CJK.test(f.en), `English title of ${f.prefix}`);
      assert.ok(CJK.test(f.zh), `Chinese title of ${f.prefix}`);
    }
  });

  it('every formula renders with KaTeX (tab stops replaced by their defaults)', () => {
    for (const f of FORMULAS) {
      const tex = defaultText(f.body);
      assert.doesNotThrow(() => katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: 'error' }), `${f.prefix}: ${tex}`);
    }
  });

  it('the snippet bodies expand (in VS Code snippet syntax) to the same TeX', () => {
    for (const f of FORMULAS) assert.equal(expandSnippet(toSnippetBody(f.body)), defaultText(f.body), f.prefix);
    assert.equal(toSnippetBody('\\frac{«1:a»}{«2»}\\\\ «0»'), '\\\\frac{$' + '{1:a}\\}{$' + '{2}\\}\\\\\\\\ $0');
  });

  it('covers the formulas the issue asks for', () => {
    const required = [
      'fm-path', 'smld-noise', 'ddpm-xt', 'ddpm-post', 'ddpm-loss', 'ddim-step', 'edm-precond', 'edm-coeffs', 'edm-steps',
      'edm-heun', 'edm-churn', 'sde-vp', 'sde-ve', 'sde-rev', 'pf-ode', 'dsm', 'langevin', 'tweedie',
      'return', 'bellman-v', 'bellman-q', 'pg-theorem', 'reinforce-baseline', 'advantage', 'td-error', 'actor-update',
      'critic-update', 'dpg', 'soft-update', 'trpo-surrogate', 'trpo', 'npg', 'ppo-clip', 'gae', 'kimi-loss',
      'kl', 'gauss', 'elbo', 'softmax', 'cross-entropy', 'expect', 'argmin', 'argmax',
    ];
    const have = new Set(FORMULAS.map((f) => f.prefix));
    for (const p of required) assert.ok(have.has(p), p);
  });

  it("covers the sample notes' main formulas", () => {
    // Snippets whose formula appears (up to spacing and sizing) among each note's display formulas.
    const expected: Record<string, string[]> = {
      '01-edm-unified-diffusion.md': ['fm-kernel', 'edm-xt', 'edm-ode', 'edm-precond', 'edm-loss', 'edm-lognormal', 'edm-steps'],
      '02-diffusion-sde.md': ['sde-fwd', 'fokker-planck', 'sde-rev', 'pf-ode', 'sde-vp', 'sde-ve', 'sde-subvp', 'euler-maruyama', 'sde-loss', 'reverse-diffusion', 'langevin-corrector'],
      '03-score-based-smld.md': ['ebm', 'esm', 'ism', 'dsm', 'dsm-gauss', 'ssm', 'langevin'],
      '04-pytorch-ddp-quickstart.md': ['grad-avg'],
      '06-pytorch-autograd.md': ['vjp'],
      '07-nn-vs-functional.md': ['dropout', 'batchnorm', 'ema'],
      '08-ddpg.md': ['dpg-offpolicy', 'ddpg-target', 'ddpg-critic', 'ddpg-actor'],
      '09-actor-critic.md': ['pg-theorem', 'qac-actor', 'critic-q', 'baseline-opt', 'advantage', 'a2c-actor', 'td-error', 'offpolicy-ac'],
      '10-kimi-k1.5-rl.md': ['kimi-obj', 'kl-reg-rl', 'kl-opt-policy', 'kimi-loss', 'logz-approx', 'kimi-grad', 'kimi-len'],
      '11-trpo.md': ['perf-diff', 'trpo-local', 'trpo-bound', 'trpo', 'fisher', 'npg', 'trpo-linesearch', 'ppo-clip'],
      '12-policy-gradient.md': ['softmax-policy', 'softmax-grad', 'avg-value', 'avg-reward', 'pg-sum', 'traj-prob', 'reinforce', 'reinforce-update', 'pg-baseline'],
    };
    const byPrefix = new Map(FORMULAS.map((f) => [f.prefix, f]));
    for (const [note, prefixes] of Object.entries(expected)) {
      const display = findMathRegions(fs.readFileSync(path.join(ROOT, 'notes', note), 'utf8')).filter((r) => r.display).map((r) => normalize(r.tex));
      for (const p of prefixes) {
        const n = normalize(defaultText(byPrefix.get(p)!.body));
        assert.ok(display.some((dd) => dd.includes(n) || n.includes(dd)), `${note}: snippet ${p} matches one of its formulas`);
      }
    }
  });
});

describe('generated files', () => {
  it('snippets/formulas.code-snippets and katexCommands.json are what the build generates', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-formulas-'));
    try {
      fs.mkdirSync(path.join(tmp, 'src/core/formulas'), { recursive: true });
      fs.mkdirSync(path.join(tmp, 'snippets'));
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/katex/package.json'), 'utf8')).version as string;
      const out = path.join(tmp, 'gen.cjs');
      await build({
        entryPoints: [path.join(ROOT, 'scripts/generate-formula-data.ts')], outfile: out, bundle: true, platform: 'node',
        format: 'cjs', logLevel: 'warning', define: { __VERSION__: JSON.stringify(version) },
      });
      execFileSync(process.execPath, [out, tmp], { env: { ...process.env, KATEX_VERSION: version } });
      for (const f of ['snippets/formulas.code-snippets', 'src/core/formulas/katexCommands.json']) {
        assert.equal(fs.readFileSync(path.join(ROOT, f), 'utf8'), fs.readFileSync(path.join(tmp, f), 'utf8'), `${f} is stale: run npm run build`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the snippet file holds every formula, described in English and Chinese', () => {
    const file = JSON.parse(fs.readFileSync(path.join(ROOT, 'snippets/formulas.code-snippets'), 'utf8')) as Record<string, { prefix: string; body: string; description: string }>;
    assert.deepEqual(file, JSON.parse(JSON.stringify(snippetFile())));
    for (const s of Object.values(file)) {
      assert.ok(/[a-z]/i.test(s.description) && CJK.test(s.description), s.description);
    }
  });

  it("the KaTeX command list comes from KaTeX's tables", () => {
    assert.equal(KATEX_COMMANDS.katex, (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/katex/package.json'), 'utf8')) as { version: string }).version);
    assert.ok(KATEX_COMMANDS.commands.length > 500, `${KATEX_COMMANDS.commands.length} commands`);
    const by = new Map(KATEX_COMMANDS.commands.map((c) => [c.name, c]));
    assert.equal(by.get('varepsilon')?.char, 'ε');
    assert.equal(by.get('alpha')?.char, 'α');
    assert.equal(by.get('frac')?.args, 2);
    assert.equal(by.get('sqrt')?.args, 1);
    for (const n of ['mathbb', 'operatorname', 'boldsymbol', 'begin', 'tfrac', 'underbrace', 'xrightarrow', 'argmax']) assert.ok(by.has(n), n);
    assert.ok(!by.has('foobar'), 'only what KaTeX defines');
    const envs = new Set(KATEX_COMMANDS.environments.map((e) => e.name));
    for (const e of ['aligned', 'pmatrix', 'cases', 'array', 'align*']) assert.ok(envs.has(e), e);
    // Every symbol in the list is one KaTeX accepts in math.
    for (const c of KATEX_COMMANDS.commands.filter((x) => x.kind === 'symbol')) {
      assert.doesNotThrow(() => katex.renderToString('\\' + c.name + '{x}'.repeat(c.args), { throwOnError: true, strict: 'ignore' }), c.name);
    }
  });
});
