import * as tf from '@tensorflow/tfjs';
import { VariablesAdam } from '../optim';
import { type Mlp } from './nets';
import { advantages, collect, discreteSetup, logProbOf, normalize, regress, valuesOf, type DiscreteSetupOptions, type RunResult } from './common';

export interface PgOptions extends DiscreteSetupOptions {
  gamma?: number;
  lr?: number;
  criticLr?: number;
}

export interface PgResult extends RunResult {
  policy: Mlp;
  critic: Mlp;
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
    const n = b.rewards.length;
    const G = new Float32Array(n);
    let g = 0;
    for (let t = n - 1; t >= 0; t--) {
      g = b.rewards[t] + gamma * g;
      G[t] = g;
    }
    const V = valuesOf(critic, b.obs);
    const adv = normalize(G.map((v, t) => v - V[t]));
    tf.tidy(() => {
      const obs = tf.tensor2d(b.obs);
      const acts = tf.tensor1d(b.actions, 'int32');
      const advT = tf.tensor1d(adv);
      pOpt.minimize(() => <tf.Scalar>tf.neg(tf.mean(tf.mul(logProbOf(policy, obs, acts, nA), advT))));
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
      const acts = tf.tensor1d(b.actions, 'int32');
      const advT = tf.tensor1d(advN);
      pOpt.minimize(() => {
        const logits = policy.apply(obs);
        const logp = tf.logSoftmax(logits);
        const lp = tf.sum(tf.mul(logp, tf.oneHot(acts, nA)), 1);
        const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1));
        return tf.neg(tf.mean(tf.add(tf.mul(lp, advT), tf.mul(ent, beta)))) as tf.Scalar;
      });
      regress(vOpt, critic, obs, tf.tensor1d(ret));
    });
    await tr.breathe();
  }
  pOpt.dispose();
  vOpt.dispose();
  return { ...tr.result(), policy, critic };
}
