/**
 * node --import tsx bench/lab_mutants.ts [--list] [NAME…]
 *
 * Mutation check of the lab's tests: injects one plausible bug at a time into src/lab, runs
 * test/unit/lab-*.test.ts, restores the file, and prints which mutants the tests caught.
 * Edits the working tree while it runs (restored in `finally`); run it on a clean tree.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

interface Mutant {
  name: string;
  file: string;
  find: string;
  replace: string;
}

const D = 'src/lab/diffusion/';
const R = 'src/lab/rl/';
const mutants: Mutant[] = [
  { name: 'c_skip numerator σ² instead of σ_data²', file: D + 'edm.ts', find: 'cSkip: (sigmaData * sigmaData) / v', replace: 'cSkip: (sigma * sigma) / v' },
  { name: 'c_out divided by v instead of √v', file: D + 'edm.ts', find: 'cOut: (sigma * sigmaData) / Math.sqrt(v)', replace: 'cOut: (sigma * sigmaData) / v' },
  { name: 'c_noise ln σ/2', file: D + 'edm.ts', find: 'cNoise: Math.log(sigma) / 4', replace: 'cNoise: Math.log(sigma) / 2' },
  { name: 'training target × c_out instead of ÷', file: D + 'edm.ts', find: 'return (x0 - c.cSkip * x) / c.cOut;', replace: 'return (x0 - c.cSkip * x) * c.cOut;' },
  { name: 'EDM steps i/n instead of i/(n−1)', file: D + 'edm.ts', find: '(a + (i / (n - 1)) * (b - a)) ** rho', replace: '(a + (i / n) * (b - a)) ** rho' },
  { name: 'ODE slope: −ṡ/s instead of +ṡ/s', file: D + 'samplers.ts', find: 'sd / sg + ds / s', replace: 'sd / sg - ds / s' },
  { name: 'Heun corrector slope at t instead of t_next', file: D + 'samplers.ts', find: 'const d2 = odeSlope(D, sch, xe, tn);', replace: 'const d2 = odeSlope(D, sch, xe, t);' },
  { name: 'Heun average without ½', file: D + 'samplers.ts', find: 'return tf.add(x, tf.mul(tf.add(d, d2), 0.5 * (tn - t))) as tf.Tensor2D;', replace: 'return tf.add(x, tf.mul(tf.add(d, d2), tn - t)) as tf.Tensor2D;' },
  { name: 'stochastic sampler: D at t instead of t̂', file: D + 'samplers.ts', find: 'const d = tf.div(tf.sub(xHat, D(xHat, tHat)), tHat);', replace: 'const d = tf.div(tf.sub(xHat, D(xHat, t)), tHat);' },
  { name: 'churn noise std t̂ − t instead of √(t̂² − t²)', file: D + 'samplers.ts', find: 'Math.sqrt(tHat * tHat - t * t)', replace: '(tHat - t)' },
  { name: 'churn noise ignores S_noise', file: D + 'samplers.ts', find: 'tf.randomNormal(x.shape, 0, sNoise,', replace: 'tf.randomNormal(x.shape, 0, 1,' },
  { name: 'DDPM posterior mean: (1 − β) instead of √(1 − β)', file: D + 'samplers.ts', find: '(Math.sqrt(1 - beta) * (1 - alphaBarPrev))', replace: '((1 - beta) * (1 - alphaBarPrev))' },
  { name: 'DDPM posterior mean: ᾱ_prev instead of √ᾱ_prev', file: D + 'samplers.ts', find: '(Math.sqrt(alphaBarPrev) * beta)', replace: '(alphaBarPrev * beta)' },
  { name: 'DDPM posterior variance β instead of β̃', file: D + 'samplers.ts', find: 'variance: ((1 - alphaBarPrev) / (1 - alphaBar)) * beta,', replace: 'variance: beta,' },
  { name: 'DDPM one step starts at level 1 (returns the noise)', file: D + 'samplers.ts', find: 'n === 1 ? T - 1 :', replace: 'n === 1 ? 0 :' },
  { name: 'Langevin drift α instead of α/2', file: D + 'samplers.ts', find: 'tf.mul(score, alpha / 2)', replace: 'tf.mul(score, alpha)' },
  { name: 'Langevin noise α instead of √α', file: D + 'samplers.ts', find: 'tf.mul(z, Math.sqrt(alpha))', replace: 'tf.mul(z, alpha)' },
  { name: 'reverse SDE and PF ODE swap g² and g²/2', file: D + 'samplers.ts', find: 'stochastic ? g2 : g2 / 2', replace: 'stochastic ? g2 / 2 : g2' },
  { name: 'GAE ignores episode ends', file: R + 'common.ts', find: 'const cont = b.ends[t] ? 0 : 1;', replace: 'const cont = 1;' },
  { name: 'GAE bootstraps through terminal states', file: R + 'common.ts', find: 'const boot = b.terminated[t] ? 0 : nextValues[t];', replace: 'const boot = nextValues[t];' },
  { name: 'collect: truncation recorded as termination', file: R + 'common.ts', find: 'b.terminated.push(r.terminated);', replace: 'b.terminated.push(r.terminated || r.truncated);' },
  { name: 'advantages bootstrap from V(s) instead of V(s′)', file: R + 'common.ts', find: 'valuesOf(critic, b.nextObs)', replace: 'valuesOf(critic, b.obs)' },
  { name: 'returns without γ', file: R + 'common.ts', find: 'g = rewards[t] + gamma * g;', replace: 'g = rewards[t] + g;' },
  { name: 'policy-gradient loss sign flip', file: R + 'common.ts', find: 'return tf.neg(tf.mean(tf.add(tf.mul(lp, adv), tf.mul(ent, entropyCoef)))) as tf.Scalar;', replace: 'return tf.mean(tf.add(tf.mul(lp, adv), tf.mul(ent, entropyCoef))) as tf.Scalar;' },
  { name: 'entropy bonus sign flip', file: R + 'common.ts', find: 'tf.mul(ent, entropyCoef)))) as tf.Scalar;', replace: 'tf.mul(ent, -entropyCoef)))) as tf.Scalar;' },
  { name: 'REINFORCE baseline V − G instead of G − V', file: R + 'pg.ts', find: 'Float32Array.from(G, (g, t) => g - V[t])', replace: 'Float32Array.from(G, (g, t) => V[t] - g)' },
  { name: 'REINFORCE update with negated advantages', file: R + 'pg.ts', find: 'pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, advT));', replace: 'pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, tf.neg(advT) as tf.Tensor1D));' },
  { name: 'actor-critic update with negated advantages', file: R + 'pg.ts', find: 'pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, advT, beta));', replace: 'pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, tf.neg(advT) as tf.Tensor1D, beta));' },
  { name: 'PPO max instead of min', file: R + 'trpo.ts', find: 'const surr = tf.minimum(', replace: 'const surr = tf.maximum(' },
  { name: 'PPO ratio inverted', file: R + 'trpo.ts', find: 'const ratio = tf.exp(tf.sub(tf.sum(tf.mul(logp, actionMask), 1), oldLogp));', replace: 'const ratio = tf.exp(tf.sub(oldLogp, tf.sum(tf.mul(logp, actionMask), 1)));' },
  { name: 'TRPO line search ignores the KL limit', file: R + 'trpo.ts', find: 'if (kl <= maxKl && improvement > 0)', replace: 'if (improvement > 0)' },
  { name: 'Fisher product without −ppᵀ', file: R + 'trpo.ts', find: 'const mjv = tf.sub(tf.mul(probs, dout), tf.mul(probs, tf.sum(tf.mul(probs, dout), 1, true)));', replace: 'const mjv = tf.mul(probs, dout);' },
  { name: 'TRPO step √(δ/xᵀFx) instead of √(2δ/xᵀFx)', file: R + 'trpo.ts', find: 'Math.sqrt((2 * delta) / Math.max(quad, 1e-12))', replace: 'Math.sqrt(delta / Math.max(quad, 1e-12))' },
  { name: 'TRPO keeps a rejected step', file: R + 'trpo.ts', find: 'if (!result.accepted) policy.setFlat(old);', replace: 'if (!result.accepted) void old;' },
  { name: 'DDPG actor sign (descends Q)', file: R + 'ddpg.ts', find: 'n.actorOpt.minimize(() => tf.neg(tf.mean(', replace: 'n.actorOpt.minimize(() => tf.mul(1, tf.mean(' },
  { name: 'DDPG without target networks', file: R + 'ddpg.ts', find: 'const y = ddpgTargets(n.criticTarget, n.actorTarget,', replace: 'const y = ddpgTargets(n.critic, n.actor,' },
  { name: 'DDPG target ignores terminal flags', file: R + 'ddpg.ts', find: 'tf.mul(tf.mul(tf.sub(1, batch.d), gamma), q2)', replace: 'tf.mul(gamma, q2)' },
  { name: 'soft update with 1 − τ', file: R + 'nets.ts', find: 'tf.add(tf.mul(other.getFlat(), tau), tf.mul(this.getFlat(), 1 - tau))', replace: 'tf.add(tf.mul(other.getFlat(), 1 - tau), tf.mul(this.getFlat(), tau))' },
];

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
if (args.includes('--list')) {
  mutants.forEach((m, i) => process.stdout.write(`${i + 1}. ${m.name}\n`));
  process.exit(0);
}
const chosen = args.length ? mutants.filter((m) => args.some((a) => m.name.includes(a))) : mutants;
const tests = fs.readdirSync(path.join(root, 'test/unit')).filter((f) => /^lab-.*\.test\.ts$/.test(f)).map((f) => path.join('test/unit', f));
let caught = 0;
const missed: string[] = [];
for (const m of chosen) {
  const file = path.join(root, m.file);
  const orig = fs.readFileSync(file, 'utf8');
  const count = orig.split(m.find).length - 1;
  if (count !== 1) throw new Error(`${m.name}: pattern found ${count} times in ${m.file}`);
  const t0 = Date.now();
  let failed: boolean;
  let detail = '';
  try {
    fs.writeFileSync(file, orig.replace(m.find, m.replace));
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...tests], { cwd: root, encoding: 'utf8', timeout: 600_000 });
    failed = r.status !== 0;
    detail = (r.stdout.match(/^\s*not ok \d+ - .*$/gm) ?? []).map((l) => l.trim()).slice(0, 3).join(' | ');
  } finally {
    fs.writeFileSync(file, orig);
  }
  if (failed) caught++;
  else missed.push(m.name);
  process.stdout.write(`${failed ? 'CAUGHT' : 'MISSED'}  ${m.name}  (${((Date.now() - t0) / 1000).toFixed(0)} s)${detail ? '  ' + detail : ''}\n`);
}
process.stdout.write(`\nmutation score: ${caught}/${chosen.length} caught${missed.length ? '; missed: ' + missed.join('; ') : ''}\n`);
