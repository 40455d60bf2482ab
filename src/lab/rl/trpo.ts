import * as tf from '@tensorflow/tfjs';
import { VariablesAdam } from '../optim';
import { Rng } from '../rng';
import { type Mlp } from './nets';
import { advantages, collect, discreteSetup, regress, type Batch, type DiscreteSetupOptions, type RunResult } from './common';

/**
 * Conjugate gradient for A x = b with A symmetric positive definite, given only x ↦ Ax.
 * Works on Float64Arrays; stops after `iters` or when the residual² < tol.
 */
export function conjugateGradient(Av: (v: Float64Array) => Float64Array, b: Float64Array, iters = 10, tol = 1e-10): Float64Array {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  const dot = (u: Float64Array, v: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i] * v[i];
    return s;
  };
  let rr = dot(r, r);
  for (let k = 0; k < iters && rr > tol; k++) {
    const Ap = Av(p);
    const alpha = rr / dot(p, Ap);
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * Ap[i];
    }
    const rr2 = dot(r, r);
    const beta = rr2 / rr;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    rr = rr2;
  }
  return x;
}

export interface PolicyOptimOptions extends DiscreteSetupOptions {
  gamma?: number;
  lambda?: number;
  /** Environment steps per iteration. */
  batchSteps?: number;
  criticLr?: number;
  criticEpochs?: number;
}

export interface TrpoOptions extends PolicyOptimOptions, TrpoUpdateOptions {
  /** Called after each policy update with its statistics. */
  onUpdate?: (u: LineSearchResult) => void;
}

export interface PolicyOptimResult extends RunResult {
  policy: Mlp;
  critic: Mlp;
}

function fitCritic(critic: Mlp, opt: VariablesAdam, b: Batch, ret: Float32Array, epochs: number, rng: Rng): void {
  const n = b.obs.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    rng.shuffle(idx);
    for (let k = 0; k < n; k += 64) {
      const mb = idx.slice(k, k + 64);
      tf.tidy(() => {
        const o = tf.tensor2d(mb.map((i) => b.obs[i]));
        regress(opt, critic, o, tf.tensor1d(mb.map((i) => ret[i])));
      });
    }
  }
}

/**
 * Fisher-vector product F v + damping·v of a categorical policy on `obs`, exactly:
 * F = (1/N) Σ Jᵀ M J with J = ∂logits/∂θ (forward mode) and M = diag(p) − ppᵀ the softmax
 * Fisher at the old probabilities `probs` [N, A].
 */
export function fisherVectorProduct(policy: Mlp, obs: tf.Tensor2D, probs: tf.Tensor2D, v: Float64Array, damping = 0): Float64Array {
  const N = obs.shape[0];
  const fv = tf.tidy(() => {
    const dv = policy.unflatten(tf.tensor1d(Float32Array.from(v)));
    const { dout } = policy.jvp(obs, dv);
    // M·Jv = p ⊙ Jv − p (pᵀJv); then Jᵀ(·) as the gradient of Σ logits ⊙ stop(M·Jv).
    const mjv = tf.sub(tf.mul(probs, dout), tf.mul(probs, tf.sum(tf.mul(probs, dout), 1, true)));
    const { grads } = tf.variableGrads(() => tf.div(tf.sum(tf.mul(policy.apply(obs), mjv)), N) as tf.Scalar, policy.vars);
    return tf.concat(policy.vars.map((w) => grads[w.name].reshape([-1])));
  });
  const vals = fv.dataSync();
  fv.dispose();
  return Float64Array.from(vals, (x, i) => x + damping * v[i]);
}

export interface LineSearchResult {
  accepted: boolean;
  /** Fraction of the full step taken (0 when rejected). */
  stepFraction: number;
  kl: number;
  improvement: number;
}

/**
 * TRPO's backtracking line search: tries fractions 1, ½, ¼, … of the full step (`evaluate`
 * applies one and measures it) and accepts the first with mean KL ≤ maxKl and a positive
 * surrogate improvement.
 */
export function backtrackingLineSearch(
  evaluate: (fraction: number) => { kl: number; improvement: number },
  maxKl: number,
  backtracks = 10,
): LineSearchResult {
  let frac = 1;
  let kl = 0;
  let improvement = 0;
  for (let k = 0; k < backtracks; k++, frac *= 0.5) {
    ({ kl, improvement } = evaluate(frac));
    if (kl <= maxKl && improvement > 0) return { accepted: true, stepFraction: frac, kl, improvement };
  }
  return { accepted: false, stepFraction: 0, kl, improvement };
}

export interface TrpoUpdateOptions {
  /** KL trust region δ. Default 0.01. */
  maxKl?: number;
  cgIters?: number;
  damping?: number;
  backtracks?: number;
}

/**
 * One TRPO policy update on a batch: g = ∇ surrogate E[π/π_old Â], x ≈ F⁻¹g by conjugate
 * gradient, full step √(2δ/xᵀFx)·x (the quadratic model's KL is then δ), then the line
 * search. Leaves the policy at the accepted step, or unchanged when none is accepted.
 */
export function trpoUpdate(
  policy: Mlp,
  batch: { obs: tf.Tensor2D; actionMask: tf.Tensor2D; adv: tf.Tensor1D; oldLogp: tf.Tensor1D },
  o: TrpoUpdateOptions = {},
): LineSearchResult {
  const { obs, actionMask: mask, adv, oldLogp } = batch;
  const delta = o.maxKl ?? 0.01;
  const damping = o.damping ?? 0.1;
  const oldProbs = tf.tidy(() => tf.softmax(policy.apply(obs))) as tf.Tensor2D;
  const surrogate = (): tf.Scalar =>
    tf.tidy(() => {
      const lp = tf.sum(tf.mul(tf.logSoftmax(policy.apply(obs)), mask), 1);
      return tf.mean(tf.mul(tf.exp(tf.sub(lp, oldLogp)), adv)) as tf.Scalar;
    });
  const meanKl = (): number =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(policy.apply(obs));
      return tf.mean(tf.sum(tf.mul(oldProbs, tf.sub(tf.log(tf.add(oldProbs, 1e-12)), logp)), 1)).dataSync()[0];
    });
  const g = tf.tidy(() => {
    const { grads } = tf.variableGrads(surrogate, policy.vars);
    return tf.concat(policy.vars.map((v) => grads[v.name].reshape([-1]))).dataSync();
  });
  const fvp = (v: Float64Array): Float64Array => fisherVectorProduct(policy, obs, oldProbs, v, damping);
  const x = conjugateGradient(fvp, Float64Array.from(g), o.cgIters ?? 10);
  const Fx = fvp(x);
  let quad = 0;
  for (let i = 0; i < x.length; i++) quad += x[i] * Fx[i];
  const stepScale = Math.sqrt((2 * delta) / Math.max(quad, 1e-12));
  const old = policy.getFlat();
  const oldVals = old.dataSync();
  const base = surrogate().dataSync()[0];
  const result = backtrackingLineSearch(
    (frac) => {
      const t = tf.tensor1d(Float32Array.from(oldVals, (w, i) => w + frac * stepScale * x[i]));
      policy.setFlat(t);
      t.dispose();
      return { kl: meanKl(), improvement: surrogate().dataSync()[0] - base };
    },
    delta,
    o.backtracks ?? 10,
  );
  if (!result.accepted) policy.setFlat(old);
  tf.dispose([old, oldProbs]);
  return result;
}

/**
 * TRPO (Schulman et al. 2015) for a categorical policy: GAE advantages, {@link trpoUpdate} per
 * batch (exact Fisher-vector products Fv = Jᵀ M J v, conjugate gradient, step to the KL
 * boundary, backtracking line search), critic fitted by regression.
 */
export async function trpo(o: TrpoOptions = {}): Promise<PolicyOptimResult> {
  const { env, rng, nA, policy, critic, tr, state } = discreteSetup(o);
  const cOpt = new VariablesAdam(critic.vars, o.criticLr ?? 3e-3);
  while (!tr.done) {
    const b = collect(env, policy, rng, tr, state, o.batchSteps ?? 2000);
    const { adv: advN, ret } = advantages(b, critic, o.gamma ?? 0.99, o.lambda ?? 0.97);
    const obs = tf.tensor2d(b.obs);
    const actionMask = tf.oneHot(tf.tensor1d(b.actions, 'int32'), nA) as tf.Tensor2D;
    const adv = tf.tensor1d(advN);
    const oldLogp = tf.tensor1d(b.logProbs);
    const u = trpoUpdate(policy, { obs, actionMask, adv, oldLogp }, o);
    o.onUpdate?.(u);
    tf.dispose([obs, actionMask, adv, oldLogp]);
    fitCritic(critic, cOpt, b, ret, o.criticEpochs ?? 5, rng);
    await tr.breathe();
  }
  cOpt.dispose();
  return { ...tr.result(), policy, critic };
}

/**
 * PPO-clip's loss −mean(min(r Â, clip(r, 1 − ε, 1 + ε) Â)) − β mean H, r = π(a|s)/π_old(a|s),
 * from logits [N, A], one-hot actions, old log-probabilities and advantages.
 */
export function ppoClipLoss(
  logits: tf.Tensor2D,
  actionMask: tf.Tensor2D,
  oldLogp: tf.Tensor1D,
  adv: tf.Tensor1D,
  clip: number,
  entropyCoef = 0,
): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const ratio = tf.exp(tf.sub(tf.sum(tf.mul(logp, actionMask), 1), oldLogp));
    const surr = tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), adv));
    const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1));
    return tf.neg(tf.mean(tf.add(surr, tf.mul(ent, entropyCoef)))) as tf.Scalar;
  });
}

export interface PpoOptions extends PolicyOptimOptions {
  clip?: number;
  epochs?: number;
  minibatch?: number;
  lr?: number;
  entropyCoef?: number;
}

/**
 * PPO-clip (Schulman et al. 2017) for a categorical policy: GAE advantages, several epochs of
 * minibatch Adam on −E[min(r Â, clip(r, 1 ± ε) Â)] − β H, critic fitted by regression.
 */
export async function ppo(o: PpoOptions = {}): Promise<PolicyOptimResult> {
  const { env, rng, nA, policy, critic, tr, state } = discreteSetup(o);
  const pOpt = new VariablesAdam(policy.vars, o.lr ?? 3e-4);
  const cOpt = new VariablesAdam(critic.vars, o.criticLr ?? 1e-3);
  const eps = o.clip ?? 0.2;
  const mbSize = o.minibatch ?? 64;
  while (!tr.done) {
    const b = collect(env, policy, rng, tr, state, o.batchSteps ?? 2048);
    const { adv: advN, ret } = advantages(b, critic, o.gamma ?? 0.99, o.lambda ?? 0.95);
    const n = b.obs.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let e = 0; e < (o.epochs ?? 10); e++) {
      rng.shuffle(idx);
      for (let k = 0; k < n; k += mbSize) {
        const mb = idx.slice(k, k + mbSize);
        tf.tidy(() => {
          const ob = tf.tensor2d(mb.map((i) => b.obs[i]));
          const mask = tf.oneHot(tf.tensor1d(mb.map((i) => b.actions[i]), 'int32'), nA) as tf.Tensor2D;
          const A = tf.tensor1d(mb.map((i) => advN[i]));
          const oldLp = tf.tensor1d(mb.map((i) => b.logProbs[i]));
          pOpt.minimize(() => ppoClipLoss(policy.apply(ob), mask, oldLp, A, eps, o.entropyCoef ?? 0));
          regress(cOpt, critic, ob, tf.tensor1d(mb.map((i) => ret[i])));
        });
      }
      await tr.breathe();
    }
  }
  pOpt.dispose();
  cOpt.dispose();
  return { ...tr.result(), policy, critic };
}
