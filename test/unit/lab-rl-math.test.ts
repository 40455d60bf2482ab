/**
 * The RL lab's math pinned on tiny problems worked out by hand: GAE, returns and bootstrapping
 * on hand-made trajectories with terminations and truncations, the policy-gradient and PPO-clip
 * losses, TRPO's Fisher product, line search and KL-constrained step, and DDPG's targets, soft
 * update and one full update (Adam's first step moves every parameter by lr·sign(gradient), so
 * the signs of hand-computed gradients give the exact result). Sign checks: one step improves
 * the objective it claims to improve. No expected value comes from the code under test.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { rl, Rng, setBackend } from '../../src/lab';

before(async () => {
  await setBackend('wasm');
});

const close = (a: number, b: number, tol: number, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const closeAll = (a: ArrayLike<number>, b: number[], tol: number, what = ''): void => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) close(a[i], b[i], tol, `${what}[${i}]`);
};

/** An Mlp with the given flat parameters (single layer [in, out]: W row-major, then b). */
function linear(sizes: number[], flat: number[]): rl.Mlp {
  const m = new rl.Mlp(sizes, 'tanh', new Rng(0));
  m.setFlat(tf.tensor1d(flat));
  return m;
}
const flatOf = (m: rl.Mlp): number[] => Array.from(m.getFlat().dataSync());

describe('lab/rl math: returns, GAE and bootstrapping on a hand-made batch', () => {
  // Six steps: episode A terminates at t = 1; episode B is truncated at t = 4 (time limit);
  // episode C is cut by the batch end at t = 5. nextValues[1] = 9 belongs to a terminal state
  // and must not be used; nextValues[4] and [5] must be (bootstrapping).
  const batch = (): rl.Batch => ({
    obs: [[0], [1], [2], [3], [4], [5]],
    actions: [0, 0, 0, 0, 0, 0],
    rewards: [1, 2, 3, 4, 5, 6],
    terminated: [false, true, false, false, false, false],
    ends: [false, true, false, false, true, false],
    nextObs: [[1], [9], [3], [4], [7], [8]],
    logProbs: [0, 0, 0, 0, 0, 0],
  });
  const V = [0.5, 1, 1.5, 2, 2.5, 3];
  const NV = [1, 9, 2, 2.5, 7, 8];

  test('GAE(γ 0.9, λ 0.8): δ and the forward sums within each episode', () => {
    const g = 0.9;
    const gl = 0.9 * 0.8;
    const d = [1 + g * 1 - 0.5, 2 + 0 - 1, 3 + g * 2 - 1.5, 4 + g * 2.5 - 2, 5 + g * 7 - 2.5, 6 + g * 8 - 3];
    const want = [d[0] + gl * d[1], d[1], d[2] + gl * d[3] + gl * gl * d[4], d[3] + gl * d[4], d[4], d[5]];
    const { adv, ret } = rl.gae(batch(), V, NV, 0.9, 0.8);
    closeAll(adv, want, 1e-5, 'advantages');
    closeAll(ret, want.map((a, i) => a + V[i]), 1e-5, 'returns');
  });

  test('λ = 1, γ = 1: the terminated episode gets its Monte-Carlo return, λ = 0 gives the TD error', () => {
    const { ret } = rl.gae(batch(), V, NV, 1, 1);
    close(ret[0], 1 + 2, 1e-6, 'G₀ of the terminated episode');
    close(ret[2], 3 + 4 + 5 + 7, 1e-6, 'G₂ bootstrapped at the truncation');
    const { adv } = rl.gae(batch(), V, NV, 0.5, 0);
    closeAll(adv, [1 + 0.5 - 0.5, 1, 3 + 1 - 1.5, 4 + 1.25 - 2, 5 + 3.5 - 2.5, 6 + 4 - 3], 1e-6, 'TD errors');
  });

  test('advantages() takes V(s) and V(s′) from the critic: returns by hand with a linear critic', () => {
    // V(s) = 2s + 1 (a one-layer critic). Batch: s = 0 → s′ = 1 (r 1), terminal s = 1 → s′ = 5 (r 1).
    const critic = linear([1, 1], [2, 1]);
    const b: rl.Batch = { obs: [[0], [1]], actions: [0, 0], rewards: [1, 1], terminated: [false, true], ends: [false, true], nextObs: [[1], [5]], logProbs: [0, 0] };
    // γ 0.5, λ 1: δ₁ = 1 − V(1) = −2; δ₀ = 1 + 0.5·V(1) − V(0) = 1.5; A₀ = δ₀ + 0.5 δ₁ = 0.5.
    const { ret } = rl.advantages(b, critic, 0.5, 1);
    closeAll(ret, [0.5 + 1, -2 + 3], 1e-5, 'returns');
  });

  test('discounted returns and the REINFORCE baseline advantages', () => {
    closeAll(rl.discountedReturns([1, 1, 1], 0.5), [1.75, 1.5, 1], 1e-7);
    // G − V = [2, 0, 1]: mean 1, std √(2/3).
    const s = Math.sqrt(2 / 3);
    closeAll(rl.baselineAdvantages([3, 1, 2], [1, 1, 1]), [1 / s, -1 / s, 0], 1e-5);
  });

  test('collect records terminated vs truncated episode ends and the next observations', () => {
    // A scripted environment: episode 1 terminates after 2 steps, episode 2 is truncated after 3.
    let t = 0;
    let ep = 0;
    const env = {
      observationSize: 1,
      actionCount: 2,
      reset: () => ((t = 0), ep++, [ep * 10]),
      step: () => {
        t++;
        return { obs: [ep * 10 + t], reward: t, terminated: ep === 1 && t === 2, truncated: ep === 2 && t === 3 };
      },
    };
    const policy = new rl.Mlp([1, 2], 'tanh', new Rng(1));
    const tracker = new rl.Tracker({});
    const b = rl.collect(env, policy, new Rng(2), tracker, { obs: undefined, ret: 0, len: 0 }, 6);
    assert.deepEqual(b.obs, [[10], [11], [20], [21], [22], [30]]);
    assert.deepEqual(b.nextObs, [[11], [12], [21], [22], [23], [31]]);
    assert.deepEqual(b.terminated, [false, true, false, false, false, false]);
    assert.deepEqual(b.ends, [false, true, false, false, true, false]);
    assert.deepEqual(tracker.returns, [3, 6]);
  });
});

describe('lab/rl math: policy-gradient and PPO-clip losses', () => {
  test('policy-gradient loss −mean(log π Â) − β H by hand; one step raises π of a positive-advantage action', () => {
    // Logits [0, 0] and [ln 3, 0]: π = (½, ½) and (¾, ¼).
    const logits = tf.tensor2d([[0, 0], [Math.log(3), 0]]);
    const mask = tf.tensor2d([[1, 0], [0, 1]]);
    const adv = tf.tensor1d([1, -2]);
    const lp = [Math.log(0.5), Math.log(0.25)];
    close(rl.policyGradientLoss(logits, mask, adv).dataSync()[0], -(lp[0] * 1 + lp[1] * -2) / 2, 1e-6, 'loss');
    const H = [Math.LN2, -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))];
    close(rl.policyGradientLoss(logits, mask, adv, 0.1).dataSync()[0], -(lp[0] - 2 * lp[1]) / 2 - 0.1 * (H[0] + H[1]) / 2, 1e-6, 'with entropy');
    // Sign: a linear policy, state [1], action 0 with advantage +1: π(0) must rise after one step.
    const pol = linear([1, 2], [0, 0, 0, 0]);
    const opt = new rl.VariablesAdam(pol.vars, 0.01);
    const s = tf.tensor2d([[1]]);
    opt.minimize(() => rl.policyGradientLoss(pol.apply(s), tf.tensor2d([[1, 0]]), tf.tensor1d([1])));
    const z = pol.apply(s).dataSync();
    assert.ok(z[0] > z[1], `logits after one step ${z[0]}, ${z[1]}`);
  });

  test('PPO-clip: min(r Â, clip(r) Â) for r = 1.5, 0.5 and Â = ±1 by hand; no gradient where clipped', () => {
    const logits = tf.zeros([4, 2]) as tf.Tensor2D; // log π = ln ½ for every action
    const mask = tf.tensor2d([[1, 0], [1, 0], [1, 0], [1, 0]]);
    const ratios = [1.5, 0.5, 1.5, 0.5];
    const oldLogp = tf.tensor1d(ratios.map((r) => Math.log(0.5) - Math.log(r)));
    const adv = tf.tensor1d([1, 1, -1, -1]);
    // ε = 0.2: min(1.5, 1.2) = 1.2; min(0.5, 0.8) = 0.5; min(−1.5, −1.2) = −1.5; min(−0.5, −0.8) = −0.8.
    close(rl.ppoClipLoss(logits, mask, oldLogp, adv, 0.2).dataSync()[0], -(1.2 + 0.5 - 1.5 - 0.8) / 4, 1e-6, 'loss');
    const g = tf.grad((l: tf.Tensor) => rl.ppoClipLoss(l as tf.Tensor2D, mask, oldLogp, adv, 0.2))(logits).arraySync() as number[][];
    // Rows 0 and 3 are clipped (flat); rows 1 and 2 are not: d(−r Â/4)/dz₀ = −Â r (1 − ½)/4.
    closeAll(g[0], [0, 0], 1e-7, 'clipped row 0');
    closeAll(g[3], [0, 0], 1e-7, 'clipped row 3');
    closeAll(g[1], [-(0.5 * 0.5) / 4, (0.5 * 0.5) / 4], 1e-6, 'row 1');
    closeAll(g[2], [(1.5 * 0.5) / 4, -(1.5 * 0.5) / 4], 1e-6, 'row 2');
  });
});

describe('lab/rl math: TRPO', () => {
  test('Fisher-vector product Jᵀ(diag p − ppᵀ)J v by hand on a linear softmax policy', () => {
    // W = 0, b = (ln 3, 0): π = (¾, ¼) at every state; M = diag p − ppᵀ = 3/16 [[1, −1], [−1, 1]].
    // logits = x W + b, so for v = e(W₁₁): J v = (x, 0), M J v = 3x/16 (1, −1), Jᵀ(·) = 3x/16 (x, −x, 1, −1).
    const pol = linear([1, 2], [0, 0, Math.log(3), 0]);
    const obs = tf.tensor2d([[1], [2]]);
    const probs = tf.softmax(pol.apply(obs)) as tf.Tensor2D;
    const m = 3 / 16;
    const per = (x: number): number[] => [m * x * x, -m * x * x, m * x, -m * x];
    const want = per(1).map((v, i) => (v + per(2)[i]) / 2);
    closeAll(rl.fisherVectorProduct(pol, obs, probs, Float64Array.from([1, 0, 0, 0])), want, 1e-6, 'Fv');
    const damped = rl.fisherVectorProduct(pol, obs, probs, Float64Array.from([1, 0, 0, 0]), 0.1);
    closeAll(damped, [want[0] + 0.1, want[1], want[2], want[3]], 1e-6, 'Fv + λv');
  });

  test('line search: the first of 1, ½, ¼ … with KL ≤ δ and a positive improvement; none → rejected', () => {
    const tried: number[] = [];
    const r = rl.backtrackingLineSearch((f) => (tried.push(f), { kl: 0.05 * f * f, improvement: f }), 0.01);
    assert.deepEqual(tried, [1, 0.5, 0.25]);
    assert.deepEqual(r, { accepted: true, stepFraction: 0.25, kl: 0.05 / 16, improvement: 0.25 });
    const bad = rl.backtrackingLineSearch(() => ({ kl: 0, improvement: -1 }), 0.01, 4);
    assert.equal(bad.accepted, false);
    assert.equal(bad.stepFraction, 0);
  });

  test('one update on a bandit takes the natural-gradient step to the KL boundary: Δz = a(1, −1), ½ a² ·2·(3/16)·2 = δ', () => {
    // One state, π = (¾, ¼), advantages +1 for action 0 and −1 for action 1 (two samples each).
    // The surrogate's logit gradient is ∝ (1, −1), an eigenvector of M with eigenvalue 2·3/16,
    // so the natural step is along it with ½ Δzᵀ M Δz = δ; logits are W + b, J Jᵀ = 2I.
    const delta = 1e-3;
    const pol = linear([1, 2], [0, 0, Math.log(3), 0]);
    const obs = tf.tensor2d([[1], [1], [1], [1]]);
    const actionMask = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
    const oldLogp = tf.tensor1d([Math.log(0.75), Math.log(0.75), Math.log(0.25), Math.log(0.25)]);
    const adv = tf.tensor1d([1, 1, -1, -1]);
    const u = rl.trpoUpdate(pol, { obs, actionMask, adv, oldLogp }, { maxKl: delta, damping: 1e-6 });
    assert.equal(u.accepted, true);
    assert.equal(u.stepFraction, 1);
    const [w1, w2, b1, b2] = flatOf(pol);
    const dz = [w1 + b1 - Math.log(3), w2 + b2];
    close(dz[0], -dz[1], 1e-4 * Math.abs(dz[0]), 'Δz antisymmetric');
    close(dz[0], Math.sqrt((2 * delta) / (4 * (3 / 16))), 0.03 * Math.sqrt((2 * delta) / 0.75), 'step length');
    // The true KL(old‖new), by hand from the new logits, is within the trust region and close to it.
    const z = [Math.log(3) + dz[0], dz[1]];
    const lse = Math.log(Math.exp(z[0]) + Math.exp(z[1]));
    const kl = 0.75 * (Math.log(0.75) - (z[0] - lse)) + 0.25 * (Math.log(0.25) - (z[1] - lse));
    assert.ok(kl <= delta && kl > 0.9 * delta, `KL ${kl}`);
    close(u.kl, kl, 1e-5, 'reported KL');
    assert.ok(u.improvement > 0);
  });

  test('a step past the trust region is halved, and a rejected update leaves the policy unchanged', () => {
    // π = (0.9, 0.1), advantages favour action 1, δ = 0.5: the quadratic model sizes Δz = a(−1, 1)
    // with ½ a²·2·0.09·2 = δ, a = √(2δ/0.36) ≈ 1.67, but the true KL of that step is ≈ 0.98 > δ;
    // half of it (KL ≈ 0.19) fits. With one try only, the update is rejected.
    const batch = () => ({
      obs: tf.tensor2d([[1], [1]]),
      actionMask: tf.tensor2d([[1, 0], [0, 1]]),
      adv: tf.tensor1d([-1, 1]),
      oldLogp: tf.tensor1d([Math.log(0.9), Math.log(0.1)]),
    });
    const start = [0, 0, Math.log(9), 0];
    const pol = linear([1, 2], start);
    const u = rl.trpoUpdate(pol, batch(), { maxKl: 0.5, backtracks: 1, damping: 1e-6 });
    assert.equal(u.accepted, false);
    assert.ok(u.kl > 0.5, `KL of the full step ${u.kl}`);
    closeAll(flatOf(pol), start, 1e-6, 'restored');
    const pol2 = linear([1, 2], start);
    const u2 = rl.trpoUpdate(pol2, batch(), { maxKl: 0.5, backtracks: 3, damping: 1e-6 });
    assert.equal(u2.accepted, true);
    assert.equal(u2.stepFraction, 0.5);
    const [w1, w2, b1, b2] = flatOf(pol2);
    const a = Math.sqrt((2 * 0.5) / 0.36) / 2;
    close(w1 + b1 - (w2 + b2), Math.log(9) - 2 * a, 0.02, 'logit gap after the half step');
  });
});

describe('lab/rl math: DDPG', () => {
  test('soft update θ′ ← τθ + (1 − τ)θ′ and a hard copy, on exact numbers', () => {
    const online = linear([1, 1], [2, 4]);
    const target = linear([1, 1], [10, 20]);
    target.copyFrom(online, 0.25);
    closeAll(flatOf(target), [0.25 * 2 + 0.75 * 10, 0.25 * 4 + 0.75 * 20], 1e-5, 'soft');
    target.copyFrom(online);
    closeAll(flatOf(target), [2, 4], 0, 'copy');
  });

  test('critic targets y = r + γ(1 − d) Q′(s′, μ′(s′)) from the target networks', () => {
    // Q′(s, a) = s + 2a + 0.5, μ′(s) = 2 tanh(0.5 s): at s′ = 2, μ′ = 2 tanh 1.
    const criticT = linear([2, 1], [1, 2, 0.5]);
    const actorT = linear([1, 1], [0.5, 0]);
    const y = rl.ddpgTargets(criticT, actorT, { r: tf.tensor1d([1, 1]), s2: tf.tensor2d([[2], [2]]), d: tf.tensor1d([0, 1]) }, 0.9, 2);
    closeAll(y.dataSync(), [1 + 0.9 * (2 + 2 * 2 * Math.tanh(1) + 0.5), 1], 1e-5, 'y');
  });

  test('one update: critic towards the target-network y, actor up the critic, then soft updates', () => {
    // Online critic Q(s, a) = −s + a + 3, online actor μ(s) = 2 tanh(0·s + 0); target critic
    // s + 2a + 0.5, target actor 2 tanh(0.5 s). Batch s = 1, a = 0.5, r = 1, s′ = 2, not terminal.
    // Q(1, 0.5) = 2.5 and y = 1 + 0.9(2 + 4 tanh 1 + 0.5) ≈ 5.99 > Q, so every critic gradient
    // 2(Q − y)(s, a, 1) is negative: Adam's first step adds lr to each. (With the online networks
    // y would be 1 + 0.9(−2 + 0 + 3) = 1.9 < Q: the opposite signs.) The actor's loss −Q has
    // ∂/∂(w, b) = −(∂Q/∂a)·2(1 − tanh²0)(s, 1) < 0, so both actor parameters also gain lr.
    const lr = 1e-3;
    const tau = 0.1;
    const n: rl.DdpgNets = {
      actor: linear([1, 1], [0, 0]),
      critic: linear([2, 1], [-1, 1, 3]),
      actorTarget: linear([1, 1], [0.5, 0]),
      criticTarget: linear([2, 1], [1, 2, 0.5]),
      actorOpt: undefined as unknown as rl.VariablesAdam,
      criticOpt: undefined as unknown as rl.VariablesAdam,
    };
    n.actorOpt = new rl.VariablesAdam(n.actor.vars, lr);
    n.criticOpt = new rl.VariablesAdam(n.critic.vars, lr);
    const batch = { s: tf.tensor2d([[1]]), a: tf.tensor2d([[0.5]]), r: tf.tensor1d([1]), s2: tf.tensor2d([[2]]), d: tf.tensor1d([0]) };
    rl.ddpgUpdate(n, batch, { gamma: 0.9, tau, scale: 2 });
    const critic = [-1 + lr, 1 + lr, 3 + lr];
    const actor = [lr, lr];
    closeAll(flatOf(n.critic), critic, 1e-6, 'critic');
    closeAll(flatOf(n.actor), actor, 1e-6, 'actor');
    closeAll(flatOf(n.criticTarget), [1, 2, 0.5].map((v, i) => tau * critic[i] + (1 - tau) * v), 1e-6, 'critic target');
    closeAll(flatOf(n.actorTarget), [0.5, 0].map((v, i) => tau * actor[i] + (1 - tau) * v), 1e-6, 'actor target');
    // Sign check: the actor's step raised Q(s, μ(s)) under the critic.
    const q = (m: number[]): number => critic[0] * 1 + critic[1] * 2 * Math.tanh(m[0] + m[1]) + critic[2];
    assert.ok(q(actor) > q([0, 0]));
  });
});
