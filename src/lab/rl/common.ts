import * as tf from '@tensorflow/tfjs';
import { VariablesAdam } from '../optim';
import { Rng } from '../rng';
import { CartPole, type Env } from './envs';
import { Mlp, softmax } from './nets';

/** What `onEpisode` receives after every finished episode. */
export interface EpisodeInfo {
  episode: number;
  return: number;
  length: number;
  /** Environment steps so far. */
  totalSteps: number;
  /** Mean return of the last `window` episodes. */
  average: number;
}

export interface RunOptions {
  seed?: number;
  /** Stop when this many episodes are done. */
  maxEpisodes?: number;
  /** Stop when this many environment steps are done. */
  maxSteps?: number;
  /** Stop once the mean of the last `window` returns reaches this. */
  targetReturn?: number;
  /** Window of the moving average. Default 100 (Gymnasium's "solved" convention). */
  window?: number;
  onEpisode?: (info: EpisodeInfo) => void;
  /** Checked between updates; the run stops (without throwing) when aborted. */
  signal?: AbortSignal;
}

export interface RunResult {
  returns: number[];
  episodes: number;
  steps: number;
  seconds: number;
  /** Whether targetReturn was reached. */
  solved: boolean;
  /** Moving average at the end. */
  average: number;
}

/** Book-keeping shared by all algorithms: returns, moving average, stop rules, yielding. */
export class Tracker {
  readonly returns: number[] = [];
  steps = 0;
  private readonly start = performance.now();
  private lastYield = performance.now();
  constructor(readonly o: RunOptions) {}

  get window(): number {
    return this.o.window ?? 100;
  }

  get average(): number {
    const w = this.returns.slice(-this.window);
    return w.length ? w.reduce((a, b) => a + b, 0) / w.length : -Infinity;
  }

  get solved(): boolean {
    return this.o.targetReturn !== undefined && this.returns.length >= this.window && this.average >= this.o.targetReturn;
  }

  episodeDone(ret: number, length: number): void {
    this.returns.push(ret);
    this.o.onEpisode?.({ episode: this.returns.length, return: ret, length, totalSteps: this.steps, average: this.average });
  }

  get done(): boolean {
    return (
      !!this.o.signal?.aborted ||
      this.solved ||
      (this.o.maxEpisodes !== undefined && this.returns.length >= this.o.maxEpisodes) ||
      (this.o.maxSteps !== undefined && this.steps >= this.o.maxSteps)
    );
  }

  /** Lets timers and abort events run every ~50 ms. */
  async breathe(): Promise<void> {
    if (performance.now() - this.lastYield > 50) {
      await new Promise<void>((r) => setImmediate(r));
      this.lastYield = performance.now();
    }
  }

  result(): RunResult {
    return {
      returns: this.returns,
      episodes: this.returns.length,
      steps: this.steps,
      seconds: (performance.now() - this.start) / 1000,
      solved: this.solved,
      average: this.average,
    };
  }
}

/** A batch of transitions from a discrete policy. */
export interface Batch {
  obs: number[][];
  actions: number[];
  rewards: number[];
  /** Value target after the step: 0 if terminated, else bootstrapped by the caller. */
  terminated: boolean[];
  /** Episode ended here (terminated or truncated). */
  ends: boolean[];
  /** Observation after each step (for bootstrapping at truncation and batch ends). */
  nextObs: number[][];
  logProbs: number[];
}

/**
 * Runs a discrete policy for `nSteps` steps (or until an episode ends when `oneEpisode`),
 * continuing the episode in progress in `state`.
 */
export function collect(
  env: Env<number>,
  policy: Mlp,
  rng: Rng,
  tracker: Tracker,
  state: { obs: number[] | undefined; ret: number; len: number },
  nSteps: number,
  oneEpisode = false,
): Batch {
  const pi = policy.snapshot();
  const b: Batch = { obs: [], actions: [], rewards: [], terminated: [], ends: [], nextObs: [], logProbs: [] };
  for (let i = 0; i < nSteps; i++) {
    if (!state.obs) {
      state.obs = env.reset(rng);
      state.ret = 0;
      state.len = 0;
    }
    const p = softmax(pi(state.obs));
    const a = rng.categorical(p);
    const r = env.step(a);
    tracker.steps++;
    state.ret += r.reward;
    state.len++;
    b.obs.push(state.obs);
    b.actions.push(a);
    b.rewards.push(r.reward);
    b.terminated.push(r.terminated);
    b.ends.push(r.terminated || r.truncated);
    b.nextObs.push(r.obs);
    b.logProbs.push(Math.log(p[a]));
    state.obs = r.obs;
    if (r.terminated || r.truncated) {
      tracker.episodeDone(state.ret, state.len);
      state.obs = undefined;
      if (oneEpisode) break;
    }
  }
  return b;
}

/**
 * Generalised advantage estimation over a batch that may hold several episodes. Truncated
 * episode ends and the batch end bootstrap from V(next obs); terminations do not.
 */
export function gae(b: Batch, values: ArrayLike<number>, nextValues: ArrayLike<number>, gamma: number, lambda: number): { adv: Float32Array; ret: Float32Array } {
  const n = b.rewards.length;
  const adv = new Float32Array(n);
  const ret = new Float32Array(n);
  let last = 0;
  for (let t = n - 1; t >= 0; t--) {
    const boot = b.terminated[t] ? 0 : nextValues[t];
    const delta = b.rewards[t] + gamma * boot - values[t];
    const cont = b.ends[t] ? 0 : 1;
    last = delta + gamma * lambda * cont * last;
    adv[t] = last;
    ret[t] = last + values[t];
  }
  return { adv, ret };
}

export function normalize(a: Float32Array): Float32Array {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  s = Math.sqrt(s / a.length) + 1e-8;
  return a.map((v) => (v - m) / s);
}

/** Values of a critic on many observations, as a JS array. */
export function valuesOf(critic: Mlp, obs: number[][]): Float32Array {
  if (obs.length === 0) return new Float32Array(0);
  return tf.tidy(() => critic.apply(tf.tensor2d(obs)).reshape([-1]).dataSync() as Float32Array);
}

/** Discounted returns G_t = r_t + γ G_{t+1} of one episode (G after its last step is 0). */
export function discountedReturns(rewards: ArrayLike<number>, gamma: number): Float32Array {
  const G = new Float32Array(rewards.length);
  let g = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    g = rewards[t] + gamma * g;
    G[t] = g;
  }
  return G;
}

/**
 * The policy-gradient loss −mean(log π(a|s) Â) − β mean H(π(·|s)) from logits [N, A], one-hot
 * actions and advantages: minimising it ascends E[log π Â] (REINFORCE, actor-critic).
 */
export function policyGradientLoss(logits: tf.Tensor2D, actionMask: tf.Tensor2D, adv: tf.Tensor1D, entropyCoef = 0): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const lp = tf.sum(tf.mul(logp, actionMask), 1);
    const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1));
    return tf.neg(tf.mean(tf.add(tf.mul(lp, adv), tf.mul(ent, entropyCoef)))) as tf.Scalar;
  });
}

export const defaultDiscreteEnv = (): CartPole => new CartPole();

/** What every discrete on-policy algorithm starts from. */
export interface DiscreteSetupOptions extends RunOptions {
  env?: Env<number> & { actionCount: number };
  hidden?: number;
}

/**
 * Environment, seeded RNG, tanh policy (small last layer: near-uniform start) and value
 * networks, the run tracker and the episode in progress.
 */
export function discreteSetup(o: DiscreteSetupOptions) {
  const env = o.env ?? new CartPole();
  const rng = new Rng(o.seed ?? 0);
  const h = o.hidden ?? 64;
  const nA = env.actionCount;
  const policy = new Mlp([env.observationSize, h, h, nA], 'tanh', rng, 0.01);
  const critic = new Mlp([env.observationSize, h, h, 1], 'tanh', rng);
  const tr = new Tracker(o);
  const state = { obs: undefined as number[] | undefined, ret: 0, len: 0 };
  return { env, rng, nA, policy, critic, tr, state };
}

/** GAE over a batch with the critic's values; advantages normalised, returns as critic targets. */
export function advantages(b: Batch, critic: Mlp, gamma: number, lambda: number): { adv: Float32Array; ret: Float32Array } {
  const { adv, ret } = gae(b, valuesOf(critic, b.obs), valuesOf(critic, b.nextObs), gamma, lambda);
  return { adv: adv.length > 1 ? normalize(adv) : adv, ret };
}

/** One Adam step of the critic towards `target` (mean squared error). */
export function regress(opt: VariablesAdam, critic: Mlp, obs: tf.Tensor2D, target: tf.Tensor1D): void {
  opt.minimize(() => tf.mean(tf.square(tf.sub(critic.apply(obs).reshape([-1]), target))) as tf.Scalar);
}
