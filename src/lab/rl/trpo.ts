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

export interface TrpoOptions extends PolicyOptimOptions {
  /** KL trust region δ. Default 0.01. */
  maxKl?: number;
  cgIters?: number;
  damping?: number;
  /** Backtracking steps of the line search. Default 10. */
  backtracks?: number;
  /** Called after each policy update with its statistics. */
  onUpdate?: (u: { kl: number; improvement: number; accepted: boolean; stepFraction: number }) => void;
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
 * TRPO (Schulman et al. 2015) for a categorical policy: g = ∇ surrogate, x = F⁻¹g by conjugate
 * gradient with exact Fisher-vector products Fv = Jᵀ M J v (J = ∂logits/∂θ by forward mode,
 * M = diag(p) − ppᵀ the softmax Fisher), step √(2δ/xᵀFx)·x, then a backtracking line search
 * that accepts the first step with mean KL ≤ δ and a positive surrogate improvement.
 */
export async function trpo(o: TrpoOptions = {}): Promise<PolicyOptimResult> {
  const { env, rng, nA, policy, critic, tr, state } = discreteSetup(o);
  const cOpt = new VariablesAdam(critic.vars, o.criticLr ?? 3e-3);
  const delta = o.maxKl ?? 0.01;
  const damping = o.damping ?? 0.1;
  while (!tr.done) {
    const b = collect(env, policy, rng, tr, state, o.batchSteps ?? 2000);
    const { adv: advN, ret } = advantages(b, critic, o.gamma ?? 0.99, o.lambda ?? 0.97);
    const obs = tf.tensor2d(b.obs);
    const mask = tf.oneHot(tf.tensor1d(b.actions, 'int32'), nA);
    const advT = tf.tensor1d(advN);
    const oldLogp = tf.tensor1d(b.logProbs);
    const oldProbs = tf.tidy(() => tf.softmax(policy.apply(obs)));
    const surrogate = (): tf.Scalar =>
      tf.tidy(() => {
        const lp = tf.sum(tf.mul(tf.logSoftmax(policy.apply(obs)), mask), 1);
        return tf.mean(tf.mul(tf.exp(tf.sub(lp, oldLogp)), advT)) as tf.Scalar;
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
    const N = b.obs.length;
    const fvp = (v: Float64Array): Float64Array => {
      const fv = tf.tidy(() => {
        const dv = policy.unflatten(tf.tensor1d(Float32Array.from(v)));
        const { dout } = policy.jvp(obs, dv);
        // M·Jv for the softmax Fisher: p ⊙ Jv − p (pᵀJv).
        const p = oldProbs;
        const mjv = tf.sub(tf.mul(p, dout), tf.mul(p, tf.sum(tf.mul(p, dout), 1, true)));
        const { grads } = tf.variableGrads(() => tf.div(tf.sum(tf.mul(policy.apply(obs), mjv)), N) as tf.Scalar, policy.vars);
        return tf.concat(policy.vars.map((w) => grads[w.name].reshape([-1])));
      });
      const vals = fv.dataSync();
      fv.dispose();
      return Float64Array.from(vals, (x, i) => x + damping * v[i]);
    };
    const gd = Float64Array.from(g);
    const x = conjugateGradient(fvp, gd, o.cgIters ?? 10);
    const Fx = fvp(x);
    let quad = 0;
    for (let i = 0; i < x.length; i++) quad += x[i] * Fx[i];
    const stepScale = Math.sqrt((2 * delta) / Math.max(quad, 1e-12));
    const old = policy.getFlat();
    const oldVals = old.dataSync();
    const base = surrogate().dataSync()[0];
    let accepted = false;
    let frac = 1;
    let kl = 0;
    let improvement = 0;
    for (let k = 0; k < (o.backtracks ?? 10); k++, frac *= 0.5) {
      const cand = Float32Array.from(oldVals, (w, i) => w + frac * stepScale * x[i]);
      const t = tf.tensor1d(cand);
      policy.setFlat(t);
      t.dispose();
      kl = meanKl();
      improvement = surrogate().dataSync()[0] - base;
      if (kl <= delta && improvement > 0) {
        accepted = true;
        break;
      }
    }
    if (!accepted) policy.setFlat(old);
    old.dispose();
    o.onUpdate?.({ kl, improvement, accepted, stepFraction: accepted ? frac : 0 });
    tf.dispose([obs, mask, advT, oldLogp, oldProbs]);
    fitCritic(critic, cOpt, b, ret, o.criticEpochs ?? 5, rng);
    await tr.breathe();
  }
  cOpt.dispose();
  return { ...tr.result(), policy, critic };
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
          const mask = tf.oneHot(tf.tensor1d(mb.map((i) => b.actions[i]), 'int32'), nA);
          const A = tf.tensor1d(mb.map((i) => advN[i]));
          const oldLp = tf.tensor1d(mb.map((i) => b.logProbs[i]));
          pOpt.minimize(() => {
            const logp = tf.logSoftmax(policy.apply(ob));
            const ratio = tf.exp(tf.sub(tf.sum(tf.mul(logp, mask), 1), oldLp));
            const surr = tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), A));
            const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1));
            return tf.neg(tf.mean(tf.add(surr, tf.mul(ent, o.entropyCoef ?? 0)))) as tf.Scalar;
          });
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
