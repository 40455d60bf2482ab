import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import { timeSteps } from './edm';
import { ddpmDiscrete, edm, vpLinear, type Schedule } from './schedules';

/**
 * A denoiser in EDM's convention: the estimate of x_0 from x = x_0 + σε (unscaled, s = 1).
 * `sigma` is one noise level for the whole batch. Must not dispose `x`.
 */
export type Denoiser = (x: tf.Tensor2D, sigma: number) => tf.Tensor2D;

export interface SampleResult {
  x: tf.Tensor2D;
  /** Number of denoiser evaluations. */
  nfe: number;
}

interface Common {
  /** Checked between steps; an aborted signal throws its reason. */
  signal?: AbortSignal;
  /** Called after each step with the step index and the noise level reached. */
  onStep?: (step: number, sigma: number) => void;
}

export interface OdeOptions extends Common {
  /** Number of σ levels before 0 (EDM's N). Default 18. */
  steps?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  rho?: number;
  /** Explicit σ levels, decreasing, ending in 0 (overrides steps/sigmaMin/sigmaMax/rho). */
  sigmas?: number[];
  /** σ(t), s(t) of the ODE being integrated. Default EDM (σ = t, s = 1). */
  schedule?: Schedule;
}

function check(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}

/** Swaps `next` in for `cur`, disposing `cur` unless it is the caller's input. */
function replace(cur: tf.Tensor2D, next: tf.Tensor2D, keep: tf.Tensor2D): tf.Tensor2D {
  if (cur !== keep && cur !== next) cur.dispose();
  return next;
}

/**
 * dx/dt of EDM's ODE (eq. 4): (σ̇/σ + ṡ/s) x − (σ̇ s/σ) D(x/s; σ), for a general schedule.
 */
function odeSlope(D: Denoiser, sch: Schedule, x: tf.Tensor2D, t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const sg = sch.sigma(t);
    const sd = sch.sigmaDeriv(t);
    const s = sch.s(t);
    const ds = sch.sDeriv(t);
    const den = D(s === 1 ? x : (tf.div(x, s) as tf.Tensor2D), sg);
    return tf.sub(tf.mul(x, sd / sg + ds / s), tf.mul(den, (sd * s) / sg)) as tf.Tensor2D;
  });
}

/** The deterministic sampler shared by Euler and Heun (EDM Algorithm 1). */
function odeSample(D: Denoiser, noise: tf.Tensor2D, o: OdeOptions, heun: boolean): SampleResult {
  const sch = o.schedule ?? edm();
  const sigmas = o.sigmas ?? timeSteps(o.steps ?? 18, { sigmaMin: o.sigmaMin, sigmaMax: o.sigmaMax, rho: o.rho });
  const ts = sigmas.map((sg) => sch.sigmaInv(sg));
  let nfe = 0;
  let x = tf.tidy(() => tf.mul(noise, sigmas[0] * sch.s(ts[0]))) as tf.Tensor2D;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    check(o.signal);
    const t = ts[i];
    const tn = ts[i + 1];
    const next = tf.tidy(() => {
      if (!Number.isFinite(tn)) {
        // σ = 0 is not on this schedule's time axis: the Euler step in σ lands on s·D(x/s; σ).
        const s = sch.s(t);
        nfe++;
        return tf.mul(D(tf.div(x, s) as tf.Tensor2D, sch.sigma(t)), sch.s(sch.tMin)) as tf.Tensor2D;
      }
      const d = odeSlope(D, sch, x, t);
      nfe++;
      const xe = tf.add(x, tf.mul(d, tn - t)) as tf.Tensor2D;
      if (!heun || sigmas[i + 1] === 0) return xe;
      const d2 = odeSlope(D, sch, xe, tn);
      nfe++;
      return tf.add(x, tf.mul(tf.add(d, d2), 0.5 * (tn - t))) as tf.Tensor2D;
    });
    x = replace(x, next, noise);
    o.onStep?.(i, sigmas[i + 1]);
  }
  return { x, nfe };
}

/** Euler (1st order; with the EDM schedule this is DDIM). `noise` is standard normal. */
export function euler(D: Denoiser, noise: tf.Tensor2D, options: OdeOptions = {}): SampleResult {
  return odeSample(D, noise, options, false);
}

/** Heun's 2nd-order method, EDM Algorithm 1 (2N − 1 evaluations for N steps). */
export function heun(D: Denoiser, noise: tf.Tensor2D, options: OdeOptions = {}): SampleResult {
  return odeSample(D, noise, options, true);
}

export interface StochasticOptions extends Common {
  steps?: number;
  sigmaMin?: number;
  sigmaMax?: number;
  rho?: number;
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
  seed?: number;
}

/** EDM Algorithm 2: Heun with "churn" (noise added then removed), σ(t) = t, s(t) = 1. */
export function edmStochastic(D: Denoiser, noise: tf.Tensor2D, o: StochasticOptions = {}): SampleResult {
  const n = o.steps ?? 18;
  const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = o;
  const ts = timeSteps(n, o);
  const rng = new Rng(o.seed ?? 0);
  let nfe = 0;
  let x = tf.tidy(() => tf.mul(noise, ts[0])) as tf.Tensor2D;
  for (let i = 0; i < n; i++) {
    check(o.signal);
    const t = ts[i];
    const tn = ts[i + 1];
    const gamma = t >= sTmin && t <= sTmax ? Math.min(sChurn / n, Math.SQRT2 - 1) : 0;
    const tHat = t + gamma * t;
    const next = tf.tidy(() => {
      const xHat = (gamma > 0
        ? tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, sNoise, 'float32', rng.seed()), Math.sqrt(tHat * tHat - t * t)))
        : x) as tf.Tensor2D;
      const d = tf.div(tf.sub(xHat, D(xHat, tHat)), tHat);
      nfe++;
      const xe = tf.add(xHat, tf.mul(d, tn - tHat)) as tf.Tensor2D;
      if (tn === 0) return xe;
      const d2 = tf.div(tf.sub(xe, D(xe, tn)), tn);
      nfe++;
      return tf.add(xHat, tf.mul(tf.add(d, d2), 0.5 * (tn - tHat))) as tf.Tensor2D;
    });
    x = replace(x, next, noise);
    o.onStep?.(i, tn);
  }
  return { x, nfe };
}

export interface DdpmOptions extends Common {
  /** Length T of the training schedule (β linear from beta1 to betaT). Default 1000. */
  trainSteps?: number;
  beta1?: number;
  betaT?: number;
  /** Number of sampling steps (an evenly strided subsequence of 1…T). Default T. */
  steps?: number;
  seed?: number;
}

/**
 * The DDPM posterior q(x_{t−1} | x_t, x_0) = N(a x_0 + b x_t, v I) (Ho et al. 2020, eq. 7) between
 * cumulative products ᾱ_t and ᾱ_prev (the previous level of the sampling subsequence):
 * β = 1 − ᾱ_t/ᾱ_prev, a = √ᾱ_prev β/(1 − ᾱ_t), b = √(1 − β)(1 − ᾱ_prev)/(1 − ᾱ_t),
 * v = β (1 − ᾱ_prev)/(1 − ᾱ_t).
 */
export function ddpmPosterior(alphaBar: number, alphaBarPrev: number): { coefX0: number; coefXt: number; variance: number } {
  const beta = 1 - alphaBar / alphaBarPrev;
  return {
    coefX0: (Math.sqrt(alphaBarPrev) * beta) / (1 - alphaBar),
    coefXt: (Math.sqrt(1 - beta) * (1 - alphaBarPrev)) / (1 - alphaBar),
    variance: ((1 - alphaBarPrev) / (1 - alphaBar)) * beta,
  };
}

/**
 * DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) with the posterior q(x_{t−1}|x_t, x̂_0),
 * x̂_0 = D(x_t/√ᾱ_t; σ_t). With fewer steps than T, the levels are an evenly strided
 * subsequence from T down to 1 (one step: level T alone, i.e. x̂_0 of the noise) and β is
 * recomputed from ᾱ of the subsequence.
 */
export function ddpmAncestral(D: Denoiser, noise: tf.Tensor2D, o: DdpmOptions = {}): SampleResult {
  const { alphaBars, sigmas } = ddpmDiscrete({ steps: o.trainSteps, beta1: o.beta1, betaT: o.betaT });
  const T = alphaBars.length;
  const n = Math.max(1, Math.min(o.steps ?? T, T));
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(n === 1 ? T - 1 : Math.round(((T - 1) * (n - 1 - i)) / (n - 1)));
  const rng = new Rng(o.seed ?? 0);
  let x = noise;
  let nfe = 0;
  for (let k = 0; k < n; k++) {
    check(o.signal);
    const t = idx[k];
    const ab = alphaBars[t];
    const { coefX0, coefXt, variance } = ddpmPosterior(ab, k + 1 < n ? alphaBars[idx[k + 1]] : 1);
    const next = tf.tidy(() => {
      const x0 = D(tf.div(x, Math.sqrt(ab)) as tf.Tensor2D, sigmas[t]);
      nfe++;
      const mean = tf.add(tf.mul(x0, coefX0), tf.mul(x, coefXt));
      if (k + 1 === n) return mean as tf.Tensor2D;
      return tf.add(mean, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', rng.seed()), Math.sqrt(variance))) as tf.Tensor2D;
    });
    x = replace(x, next, noise);
    o.onStep?.(k, k + 1 < n ? sigmas[idx[k + 1]] : 0);
  }
  return { x, nfe };
}

export interface LangevinOptions extends Common {
  /** Geometric noise levels σ_1 > … > σ_L: from sigmaMax to sigmaMin in `levels` steps. */
  sigmaMax?: number;
  sigmaMin?: number;
  levels?: number;
  /** Langevin steps per level (T). Default 100. */
  stepsPerLevel?: number;
  /** Step size ε; α_i = ε σ_i²/σ_L². Default 2e-5. */
  eps?: number;
  /** Finish with x ← D(x; σ_L) (Jolicoeur-Martineau et al. 2021). Default true. */
  denoiseLast?: boolean;
  seed?: number;
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1) with the score
 * ∇log p_σ(x) = (D(x;σ) − x)/σ². Starts from x = σ_1 · noise.
 */
export function annealedLangevin(D: Denoiser, noise: tf.Tensor2D, o: LangevinOptions = {}): SampleResult {
  const { sigmaMax = 1, sigmaMin = 0.01, levels = 10, stepsPerLevel = 100, eps = 2e-5, denoiseLast = true } = o;
  const rng = new Rng(o.seed ?? 0);
  let x = tf.tidy(() => tf.mul(noise, sigmaMax)) as tf.Tensor2D;
  let nfe = 0;
  for (let l = 0; l < levels; l++) {
    const sg = levels === 1 ? sigmaMax : sigmaMax * (sigmaMin / sigmaMax) ** (l / (levels - 1));
    const alpha = (eps * sg * sg) / (sigmaMin * sigmaMin);
    for (let k = 0; k < stepsPerLevel; k++) {
      check(o.signal);
      const next = tf.tidy(() => {
        const score = tf.div(tf.sub(D(x, sg), x), sg * sg);
        nfe++;
        const z = tf.randomNormal(x.shape, 0, 1, 'float32', rng.seed());
        return tf.add(tf.add(x, tf.mul(score, alpha / 2)), tf.mul(z, Math.sqrt(alpha))) as tf.Tensor2D;
      });
      x = replace(x, next, noise);
    }
    o.onStep?.(l, sg);
  }
  if (denoiseLast) {
    const next = D(x, sigmaMin);
    nfe++;
    x = replace(x, next, noise);
  }
  return { x, nfe };
}

export interface SdeOptions extends Common {
  /** Default VP with DDPM's linear β. */
  schedule?: Schedule;
  /** Uniform steps in t from schedule.tMax to schedule.tMin. Default 500. */
  steps?: number;
  /** Finish with x ← s·D(x/s; σ(t_min)). Default true. */
  denoiseLast?: boolean;
  seed?: number;
}

/** Drift pieces of the forward SDE dx = f(t)x dt + g(t)dw with x = s(x_0 + σε). */
function sdeCoefficients(sch: Schedule, t: number): { f: number; g2: number; s: number; sigma: number } {
  const s = sch.s(t);
  const sigma = sch.sigma(t);
  return { f: sch.sDeriv(t) / s, g2: 2 * s * s * sch.sigmaDeriv(t) * sigma, s, sigma };
}

/** ∇_x log p_t(x) = (s D(x/s; σ) − x)/(s² σ²). */
function score(D: Denoiser, x: tf.Tensor2D, s: number, sigma: number): tf.Tensor {
  return tf.tidy(() => {
    const den = D(s === 1 ? x : (tf.div(x, s) as tf.Tensor2D), sigma);
    return tf.div(tf.sub(tf.mul(den, s), x), s * s * sigma * sigma);
  });
}

function sdeLike(D: Denoiser, noise: tf.Tensor2D, o: SdeOptions, stochastic: boolean): SampleResult {
  const sch = o.schedule ?? vpLinear();
  const n = o.steps ?? 500;
  const rng = new Rng(o.seed ?? 0);
  const t0 = sch.tMax;
  let x = tf.tidy(() => tf.mul(noise, sch.s(t0) * sch.sigma(t0))) as tf.Tensor2D;
  let nfe = 0;
  for (let i = 0; i < n; i++) {
    check(o.signal);
    const t = sch.tMax + ((sch.tMin - sch.tMax) * i) / n;
    const dt = (sch.tMax - sch.tMin) / n; // positive: we integrate backwards in time
    const { f, g2, s, sigma } = sdeCoefficients(sch, t);
    const next = tf.tidy(() => {
      const sc = score(D, x, s, sigma);
      nfe++;
      // Reverse SDE: dx = [f x − g² ∇log p] dt + g dw̄; probability flow: dx = [f x − ½ g² ∇log p] dt.
      const drift = tf.sub(tf.mul(x, f), tf.mul(sc, stochastic ? g2 : g2 / 2));
      const xn = tf.sub(x, tf.mul(drift, dt));
      if (!stochastic) return xn as tf.Tensor2D;
      const z = tf.randomNormal(x.shape, 0, 1, 'float32', rng.seed());
      return tf.add(xn, tf.mul(z, Math.sqrt(g2 * dt))) as tf.Tensor2D;
    });
    x = replace(x, next, noise);
    o.onStep?.(i, sch.sigma(t - dt));
  }
  if (o.denoiseLast ?? true) {
    const s = sch.s(sch.tMin);
    const next = tf.tidy(() => tf.mul(D(tf.div(x, s) as tf.Tensor2D, sch.sigma(sch.tMin)), s) as tf.Tensor2D);
    nfe++;
    x = replace(x, next, noise);
  }
  return { x, nfe };
}

/** Reverse-time SDE (Song et al. 2021) integrated with Euler–Maruyama on a uniform t grid. */
export function reverseSDE(D: Denoiser, noise: tf.Tensor2D, options: SdeOptions = {}): SampleResult {
  return sdeLike(D, noise, options, true);
}

/** Probability-flow ODE (Song et al. 2021) with Euler steps on a uniform t grid. */
export function probabilityFlowODE(D: Denoiser, noise: tf.Tensor2D, options: Omit<SdeOptions, 'seed'> = {}): SampleResult {
  return sdeLike(D, noise, options, false);
}
