import * as tf from '@tensorflow/tfjs';
import { VariablesAdam } from '../optim';
import { Rng } from '../rng';
import { Pendulum, type Env } from './envs';
import { Mlp } from './nets';
import { Tracker, type RunOptions, type RunResult } from './common';

/** Fixed-size ring buffer of transitions (s, a, r, s', terminated). */
export class ReplayBuffer {
  private readonly s: Float32Array;
  private readonly a: Float32Array;
  private readonly r: Float32Array;
  private readonly s2: Float32Array;
  private readonly d: Float32Array;
  size = 0;
  private next = 0;
  constructor(readonly capacity: number, readonly obsSize: number, readonly actSize: number) {
    this.s = new Float32Array(capacity * obsSize);
    this.s2 = new Float32Array(capacity * obsSize);
    this.a = new Float32Array(capacity * actSize);
    this.r = new Float32Array(capacity);
    this.d = new Float32Array(capacity);
  }
  add(s: number[], a: number[], r: number, s2: number[], terminated: boolean): void {
    const i = this.next;
    this.s.set(s, i * this.obsSize);
    this.s2.set(s2, i * this.obsSize);
    this.a.set(a, i * this.actSize);
    this.r[i] = r;
    this.d[i] = terminated ? 1 : 0;
    this.next = (i + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }
  sample(n: number, rng: Rng): { s: tf.Tensor2D; a: tf.Tensor2D; r: tf.Tensor1D; s2: tf.Tensor2D; d: tf.Tensor1D } {
    const O = this.obsSize;
    const A = this.actSize;
    const s = new Float32Array(n * O);
    const s2 = new Float32Array(n * O);
    const a = new Float32Array(n * A);
    const r = new Float32Array(n);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const i = rng.int(this.size);
      s.set(this.s.subarray(i * O, i * O + O), k * O);
      s2.set(this.s2.subarray(i * O, i * O + O), k * O);
      a.set(this.a.subarray(i * A, i * A + A), k * A);
      r[k] = this.r[i];
      d[k] = this.d[i];
    }
    return { s: tf.tensor2d(s, [n, O]), a: tf.tensor2d(a, [n, A]), r: tf.tensor1d(r), s2: tf.tensor2d(s2, [n, O]), d: tf.tensor1d(d) };
  }
}

/** The four networks of DDPG and their optimisers. */
export interface DdpgNets {
  actor: Mlp;
  critic: Mlp;
  actorTarget: Mlp;
  criticTarget: Mlp;
  actorOpt: VariablesAdam;
  criticOpt: VariablesAdam;
}

/** The deterministic actor μ(s) = scale·tanh(net(s)). */
export function actorAction(net: Mlp, s: tf.Tensor2D, scale: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.tanh(net.apply(s)), scale) as tf.Tensor2D);
}

/** Critic targets y = r + γ (1 − d) Q'(s', μ'(s')) from the target networks. */
export function ddpgTargets(
  criticTarget: Mlp,
  actorTarget: Mlp,
  batch: { r: tf.Tensor1D; s2: tf.Tensor2D; d: tf.Tensor1D },
  gamma: number,
  scale: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const q2 = criticTarget.apply(tf.concat([batch.s2, actorAction(actorTarget, batch.s2, scale)], 1)).reshape([-1]);
    return tf.add(batch.r, tf.mul(tf.mul(tf.sub(1, batch.d), gamma), q2)) as tf.Tensor1D;
  });
}

/**
 * One DDPG update on a sampled batch: critic → y by mean squared error, actor up the critic
 * (minimise −mean Q(s, μ(s))), then both target networks θ' ← τθ + (1 − τ)θ'.
 */
export function ddpgUpdate(
  n: DdpgNets,
  batch: { s: tf.Tensor2D; a: tf.Tensor2D; r: tf.Tensor1D; s2: tf.Tensor2D; d: tf.Tensor1D },
  o: { gamma: number; tau: number; scale: number },
): void {
  tf.tidy(() => {
    const y = ddpgTargets(n.criticTarget, n.actorTarget, batch, o.gamma, o.scale);
    n.criticOpt.minimize(() => <tf.Scalar>tf.mean(tf.square(tf.sub(n.critic.apply(tf.concat([batch.s, batch.a], 1)).reshape([-1]), y))));
    n.actorOpt.minimize(() => tf.neg(tf.mean(n.critic.apply(tf.concat([batch.s, actorAction(n.actor, batch.s, o.scale)], 1)))) as tf.Scalar);
    n.actorTarget.copyFrom(n.actor, o.tau);
    n.criticTarget.copyFrom(n.critic, o.tau);
  });
}

export interface DdpgOptions extends RunOptions {
  env?: Env<number> & { actionSize: number };
  /** Largest action magnitude (Pendulum: 2). */
  actionScale?: number;
  gamma?: number;
  tau?: number;
  actorLr?: number;
  criticLr?: number;
  batchSize?: number;
  bufferSize?: number;
  /** Uniformly random actions for the first steps. Default 1000. */
  startSteps?: number;
  /** Std of the Gaussian exploration noise, as a fraction of actionScale. Default 0.1. */
  noise?: number;
  hidden?: number;
  /** After training, run this many episodes with the deterministic actor (no noise). Default 0. */
  evalEpisodes?: number;
}

export interface DdpgResult extends RunResult {
  actor: Mlp;
  critic: Mlp;
  /** Mean return of the evaluation episodes (when evalEpisodes > 0). */
  evalReturn?: number;
}

/**
 * DDPG (Lillicrap et al. 2016) for one-dimensional continuous actions: deterministic actor
 * μ(s) = scale·tanh(·), critic Q(s, a), replay buffer, target networks updated by
 * θ' ← τθ + (1 − τ)θ', Gaussian exploration noise. Defaults for Pendulum-v1.
 */
export async function ddpg(o: DdpgOptions = {}): Promise<DdpgResult> {
  const env = o.env ?? new Pendulum();
  const rng = new Rng(o.seed ?? 0);
  const scale = o.actionScale ?? Pendulum.maxTorque;
  const gamma = o.gamma ?? 0.99;
  const tau = o.tau ?? 0.005;
  const B = o.batchSize ?? 128;
  const h = o.hidden ?? 64;
  const O = env.observationSize;
  const actor = new Mlp([O, h, h, 1], 'relu', rng, 0.1);
  const critic = new Mlp([O + 1, h, h, 1], 'relu', rng);
  const actorT = new Mlp([O, h, h, 1], 'relu', rng);
  const criticT = new Mlp([O + 1, h, h, 1], 'relu', rng);
  actorT.copyFrom(actor);
  criticT.copyFrom(critic);
  const aOpt = new VariablesAdam(actor.vars, o.actorLr ?? 1e-3);
  const cOpt = new VariablesAdam(critic.vars, o.criticLr ?? 1e-3);
  const buf = new ReplayBuffer(o.bufferSize ?? 100000, O, 1);
  const tr = new Tracker(o);
  const startSteps = o.startSteps ?? 1000;
  const noise = (o.noise ?? 0.1) * scale;
  const nets: DdpgNets = { actor, critic, actorTarget: actorT, criticTarget: criticT, actorOpt: aOpt, criticOpt: cOpt };
  let obs = env.reset(rng);
  let ret = 0;
  let len = 0;
  let pi = actor.snapshot();
  while (!tr.done) {
    const a =
      tr.steps < startSteps
        ? rng.uniform(-scale, scale)
        : Math.max(-scale, Math.min(scale, scale * Math.tanh(pi(obs)[0]) + rng.normal(0, noise)));
    const r = env.step(a);
    tr.steps++;
    buf.add(obs, [a], r.reward, r.obs, r.terminated);
    ret += r.reward;
    len++;
    obs = r.obs;
    if (r.terminated || r.truncated) {
      tr.episodeDone(ret, len);
      obs = env.reset(rng);
      ret = 0;
      len = 0;
    }
    if (buf.size >= B && tr.steps >= Math.min(startSteps, 1000)) {
      tf.tidy(() => ddpgUpdate(nets, buf.sample(B, rng), { gamma, tau, scale }));
      pi = actor.snapshot();
    }
    await tr.breathe();
  }
  aOpt.dispose();
  cOpt.dispose();
  actorT.dispose();
  criticT.dispose();
  let evalReturn: number | undefined;
  if ((o.evalEpisodes ?? 0) > 0 && !o.signal?.aborted) {
    const greedy = actor.snapshot();
    const erng = new Rng((o.seed ?? 0) + 1000);
    let total = 0;
    for (let e = 0; e < o.evalEpisodes!; e++) {
      let s = env.reset(erng);
      for (;;) {
        const r = env.step(scale * Math.tanh(greedy(s)[0]));
        total += r.reward;
        s = r.obs;
        if (r.terminated || r.truncated) break;
      }
    }
    evalReturn = total / o.evalEpisodes!;
  }
  return { ...tr.result(), actor, critic, evalReturn };
}
