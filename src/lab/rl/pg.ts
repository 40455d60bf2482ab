import * as tf from '@tensorflow/tfjs';
import { VariablesAdam } from '../optim';
import { type Mlp } from './nets';
import { advantages, collect, discreteSetup, discountedReturns, normalize, policyGradientLoss, regress, valuesOf, type DiscreteSetupOptions, type RunResult } from './common';

export interface PgOptions extends DiscreteSetupOptions {
  gamma?: number;
  lr?: number;
  criticLr?: number;
}

export interface PgResult extends RunResult {
  policy: Mlp;
  critic: Mlp;
}

/** REINFORCE's advantages G_t − V(s_t), normalised to mean 0 and std 1 (one is left as is). */
export function baselineAdvantages(G: ArrayLike<number>, V: ArrayLike<number>): Float32Array {
  const a = Float32Array.from(G, (g, t) => g - V[t]);
  return a.length > 1 ? normalize(a) : a;
}

/**
 * REINFORCE with a learned state-value baseline (Williams 1992; Sutton & Barto §13.4): after each
 * episode, ∇J ≈ Σ_t ∇log π(a_t|s_t) (G_t − V(s_t)) with normalised advantages; V is fitted
 * to G_t by regression. Defaults for CartPole-v1.
 */
export async function reinforce(o: PgOptions = {}): Promise<PgResult> {
  const { env, rng, nA, policy, critic, tr, state } = discreteSetup(o);
  const gamma = o.gamma ?? 0.99;
  const pOpt = new VariablesAdam(policy.vars, o.lr ?? 3e-3);
  const vOpt = new VariablesAdam(critic.vars, o.criticLr ?? 1e-2);
  while (!tr.done) {
    const b = collect(env, policy, rng, tr, state, 100000, true);
    const G = discountedReturns(b.rewards, gamma);
    const adv = baselineAdvantages(G, valuesOf(critic, b.obs));
    tf.tidy(() => {
      const obs = tf.tensor2d(b.obs);
      const mask = tf.oneHot(tf.tensor1d(b.actions, 'int32'), nA) as tf.Tensor2D;
      const advT = tf.tensor1d(adv);
      pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, advT));
      regress(vOpt, critic, obs, tf.tensor1d(G));
    });
    await tr.breathe();
  }
  pOpt.dispose();
  vOpt.dispose();
  return { ...tr.result(), policy, critic };
}

export interface ActorCriticOptions extends PgOptions {
  /** Steps per update (n-step rollout). Default 64. */
  nSteps?: number;
  /** GAE λ; 0 gives the one-step TD advantage r + γV(s') − V(s). Default 0.95. */
  lambda?: number;
  entropyCoef?: number;
}

/**
 * Advantage actor-critic (A2C with one environment): every nSteps steps, the critic's TD/GAE
 * advantage replaces REINFORCE's Monte-Carlo return; truncation bootstraps from V(s'),
 * termination does not. Loss = −log π · Â − β H(π) for the actor, (R − V)² for the critic.
 */
export async function actorCritic(o: ActorCriticOptions = {}): Promise<PgResult> {
  const { env, rng, nA, policy, critic, tr, state } = discreteSetup(o);
  const beta = o.entropyCoef ?? 0.0;
  const pOpt = new VariablesAdam(policy.vars, o.lr ?? 1e-3);
  const vOpt = new VariablesAdam(critic.vars, o.criticLr ?? 3e-3);
  while (!tr.done) {
    const b = collect(env, policy, rng, tr, state, o.nSteps ?? 64);
    const { adv: advN, ret } = advantages(b, critic, o.gamma ?? 0.99, o.lambda ?? 0.95);
    tf.tidy(() => {
      const obs = tf.tensor2d(b.obs);
      const mask = tf.oneHot(tf.tensor1d(b.actions, 'int32'), nA) as tf.Tensor2D;
      const advT = tf.tensor1d(advN);
      pOpt.minimize(() => policyGradientLoss(policy.apply(obs), mask, advT, beta));
      regress(vOpt, critic, obs, tf.tensor1d(ret));
    });
    await tr.breathe();
  }
  pOpt.dispose();
  vOpt.dispose();
  return { ...tr.result(), policy, critic };
}
