/**
 * The diffusion lab's math pinned against closed forms worked out by hand: EDM's
 * preconditioning at several σ, one step of every sampler on a Gaussian whose denoiser is
 * linear (so each step is a few multiplications written out here), the DDPM posterior from the
 * product of two Gaussians, Langevin's stationary variance, and convergence orders against the
 * exact ODE solution. No expected value comes from the code under test.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { diffusion, Rng, setBackend } from '../../src/lab';

const { samplers, schedules, edm } = diffusion;

before(async () => {
  await setBackend('wasm');
});

const close = (a: number, b: number, tol: number, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/** Exact denoiser of data N(μ, δ²) in any dimension: D(x;σ) = μ + δ²/(δ² + σ²)(x − μ). */
const gaussianD =
  (mu: number, delta: number): diffusion.Denoiser =>
  (x, sigma) =>
    tf.tidy(() => tf.add(tf.mul(tf.sub(x, mu), (delta * delta) / (delta * delta + sigma * sigma)), mu) as tf.Tensor2D);

const one = (v: number): tf.Tensor2D => tf.tensor2d([[v]]);
const value = (r: diffusion.SampleResult): number => r.x.dataSync()[0];
const moments = (t: tf.Tensor): { mean: number; variance: number } =>
  tf.tidy(() => {
    const m = tf.moments(t);
    return { mean: m.mean.dataSync()[0], variance: m.variance.dataSync()[0] };
  });

describe('lab/diffusion math: EDM preconditioning (Karras et al. 2022, Table 1)', () => {
  test('c_skip, c_out, c_in, c_noise at σ = 0.1, 1, 2, 80 equal the hand-evaluated closed forms', () => {
    // c_skip = σd²/(σ²+σd²), c_out = σσd/√(σ²+σd²), c_in = 1/√(σ²+σd²), c_noise = ¼ ln σ, by hand:
    const rows: [number, number, number, number, number, number][] = [
      [0.1, 0.5, 0.25 / 0.26, 0.05 / Math.sqrt(0.26), 1 / Math.sqrt(0.26), Math.log(0.1) / 4],
      [1, 0.5, 0.2, 0.4472135954999579, 0.8944271909999159, 0],
      [2, 1, 0.2, 2 / Math.sqrt(5), 1 / Math.sqrt(5), Math.LN2 / 4],
      [80, 0.5, 0.25 / 6400.25, 40 / Math.sqrt(6400.25), 1 / Math.sqrt(6400.25), Math.log(80) / 4],
    ];
    for (const [sigma, sd, cSkip, cOut, cIn, cNoise] of rows) {
      const c = edm.precondition(sigma, sd);
      close(c.cSkip, cSkip, 1e-12, `c_skip(${sigma})`);
      close(c.cOut, cOut, 1e-12, `c_out(${sigma})`);
      close(c.cIn, cIn, 1e-12, `c_in(${sigma})`);
      close(c.cNoise, cNoise, 1e-12, `c_noise(${sigma})`);
    }
  });

  test('the design principles hold: unit-variance input and target, D → identity as σ → 0', () => {
    for (const [sigma, sd] of [[0.02, 0.5], [0.3, 0.5], [3, 0.5], [1.7, 1.3]]) {
      const c = edm.precondition(sigma, sd);
      // x = x₀ + σn with Var x₀ = σd²: Var(c_in x) = 1 and Var((x₀ − c_skip x)/c_out) = 1.
      close(c.cIn ** 2 * (sd * sd + sigma * sigma), 1, 1e-12, 'input variance');
      close(((1 - c.cSkip) ** 2 * sd * sd + c.cSkip ** 2 * sigma * sigma) / c.cOut ** 2, 1, 1e-12, 'target variance');
      close(edm.lossWeight(sigma, sd) * c.cOut ** 2, 1, 1e-9, 'λ c_out²');
    }
    const tiny = edm.precondition(1e-6, 0.5);
    close(tiny.cSkip, 1, 1e-10);
    close(tiny.cOut, 0, 1e-5);
  });

  test('the training target is (x₀ − c_skip x)/c_out, so c_skip x + c_out·target = x₀', () => {
    const c = edm.precondition(2, 1); // c_skip 0.2, c_out 2/√5
    close(edm.trainingTarget(1, 3, c), 0.4 / (2 / Math.sqrt(5)), 1e-12, 'target');
    for (const [x0, x, sigma] of [[0.5, -1, 0.1], [-2, 4, 5], [1, 1.2, 0.02]]) {
      const p = edm.precondition(sigma, 0.5);
      close(p.cSkip * x + p.cOut * edm.trainingTarget(x0, x, p), x0, 1e-9, 'round trip');
    }
  });

  test('EDM steps: ρ = 1 is uniform in σ, ρ = 7 by hand at the midpoint', () => {
    const s = edm.timeSteps(3, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 });
    close(s[1], ((80 ** (1 / 7) + 0.002 ** (1 / 7)) / 2) ** 7, 1e-9, 'σ₁');
    assert.deepEqual(edm.timeSteps(1, { sigmaMax: 3 }), [3, 0]);
  });
});

describe('lab/diffusion math: one sampler step on N(μ, δ²), computed by hand', () => {
  // μ = 0.5, δ = 1, noise 1.5, σ: 2 → 1. x₀ = 3, D(3; 2) = 0.5 + 2.5/5 = 1, d = (3 − 1)/2 = 1.
  const D = gaussianD(0.5, 1);

  test('Euler: x₁ = x₀ + (σ₁ − σ₀)(x₀ − D)/σ₀ = 2; Heun: D(2; 1) = 1.25, d₂ = 0.75, x₁ = 3 − 1.75/2', () => {
    const e = samplers.euler(D, one(1.5), { sigmas: [2, 1] });
    close(value(e), 2, 1e-6, 'Euler');
    assert.equal(e.nfe, 1);
    const h = samplers.heun(D, one(1.5), { sigmas: [2, 1] });
    close(value(h), 3 - 1.75 / 2, 1e-6, 'Heun');
    assert.equal(h.nfe, 2);
    // The exact ODE solution keeps (x − μ)/√(δ² + σ²): 0.5 + 2.5√2/√5; Heun is closer than Euler.
    const exact = 0.5 + (2.5 * Math.SQRT2) / Math.sqrt(5);
    assert.ok(Math.abs(value(h) - exact) < Math.abs(value(e) - exact));
  });

  test('the last step to σ = 0 is one Euler step (x = D(x; σ)), also for Heun', () => {
    for (const f of [samplers.euler, samplers.heun]) {
      const r = f(D, one(1.5), { sigmas: [2, 0] });
      close(value(r), 1, 1e-6, f.name);
      assert.equal(r.nfe, 1);
    }
    assert.equal(samplers.heun(D, one(1.5), { sigmas: [2, 1, 0] }).nfe, 3);
  });

  test('a VP schedule integrates the same ODE: many Heun steps reach s(t)·(exact σ-path)', () => {
    const sch = schedules.vpLinear();
    // x = s(x₀ + σn): in x/s the ODE is the EDM one, so x/s − μ scales by √(δ²+σ²) along the path.
    const [s0, s1] = [80, 0.5];
    const r = samplers.heun(D, one(1), { schedule: sch, sigmas: edm.timeSteps(200, { sigmaMin: s1, sigmaMax: s0 }).slice(0, 200) });
    const startScaled = 1 * s0; // the sampler starts at x = s(t₀)·σ₀·noise, i.e. x/s = σ₀ · 1
    const expected = sch.s(sch.sigmaInv(s1)) * (0.5 + ((startScaled - 0.5) * Math.sqrt(1 + s1 * s1)) / Math.sqrt(1 + s0 * s0));
    close(value(r), expected, 2e-4, 'VP Heun');
  });

  test('Algorithm 2 with S_noise = 0: the churned level t̂ = (1 + γ)t is used for D and the step', () => {
    // δ = 1, μ = 0, σ: 2, 1, 0 (ρ = 1); S_churn 0.5 over N = 2 gives γ = 0.25 at t = 2, t̂ = 2.5;
    // S_tmin 1.5 keeps t = 1 unchurned. x = 2·noise = 2, and with S_noise = 0, x̂ = x.
    const D0 = gaussianD(0, 1);
    const lin = (x: number, s: number): number => x / (1 + s * s);
    const x = 2;
    const d = (x - lin(x, 2.5)) / 2.5;
    const xe = x + (1 - 2.5) * d;
    const d2 = (xe - lin(xe, 1)) / 1;
    const x1 = x + 0.5 * (1 - 2.5) * (d + d2);
    const final = lin(x1, 1); // Euler step from σ = 1 to 0
    const r = samplers.edmStochastic(D0, one(1), { steps: 2, sigmaMax: 2, sigmaMin: 1, rho: 1, sChurn: 0.5, sTmin: 1.5, sNoise: 0 });
    close(value(r), final, 1e-6, 'stochastic');
    assert.equal(r.nfe, 3);
    // Without churn it is Heun on the same levels.
    const h = samplers.edmStochastic(D0, one(1), { steps: 2, sigmaMax: 2, sigmaMin: 1, rho: 1 });
    close(value(h), value(samplers.heun(D0, one(1), { sigmas: [2, 1, 0] })), 1e-6, 'no churn');
  });

  test('Algorithm 2: the churn noise has variance S_noise²(t̂² − t²)', () => {
    // Same levels; the whole step is linear in x̂ = 2 + S_noise√(2.5² − 2²)·z, so the output is
    // A·x̂ with A from the deterministic case above.
    const D0 = gaussianD(0, 1);
    const lin = (x: number, s: number): number => x / (1 + s * s);
    const d = (1 - lin(1, 2.5)) / 2.5;
    const xe = 1 + (1 - 2.5) * d;
    const A = lin(1 + 0.5 * (1 - 2.5) * (d + (xe - lin(xe, 1))), 1);
    const B = 8000;
    const sNoise = 1.2;
    const r = samplers.edmStochastic(D0, tf.ones([B, 1]) as tf.Tensor2D, { steps: 2, sigmaMax: 2, sigmaMin: 1, rho: 1, sChurn: 0.5, sTmin: 1.5, sNoise, seed: 3 });
    const m = moments(r.x);
    const variance = A * A * sNoise * sNoise * (2.5 * 2.5 - 4);
    close(m.mean, 2 * A, 4 * Math.sqrt(variance / B), 'mean');
    close(m.variance, variance, 0.08 * variance, 'variance');
  });

  test('Langevin on N(0, v): the stationary variance of x + (α/2)∇log p + √α z is v/(1 − α/4v)', () => {
    // δ = 1 and σ = 1 give v = 2; α = ε σ²/σ_L² = 2 here: x' = x/2 + √2 z, variance 8/3 (not 2:
    // the discretisation's bias; the iteration is stable for α < 4v and never overshoots for α ≤ 2v).
    const B = 8000;
    const D0 = gaussianD(0, 1);
    const noise = tf.tensor2d(new Rng(4).normals(B), [B, 1]);
    const r = samplers.annealedLangevin(D0, noise, { sigmaMax: 1, sigmaMin: 1, levels: 1, stepsPerLevel: 30, eps: 2, denoiseLast: false, seed: 2 });
    const m = moments(r.x);
    close(m.variance, 8 / 3, 0.06 * (8 / 3), 'variance');
    close(m.mean, 0, 4 * Math.sqrt(8 / 3 / B), 'mean');
    assert.equal(r.nfe, 30);
    // The final denoising step is D(x; σ_L) = x/2 here: the variance drops by 4.
    const r2 = samplers.annealedLangevin(D0, noise, { sigmaMax: 1, sigmaMin: 1, levels: 1, stepsPerLevel: 30, eps: 2, seed: 2 });
    close(moments(r2.x).variance, m.variance / 4, 1e-4, 'denoised');
  });

  test('probability-flow ODE and reverse SDE: one Euler(–Maruyama) step on VP by hand', () => {
    // VP with β(t) = 0.1 + 1.9t on t ∈ [0.5, 1], one step of dt = 0.5 from t = 1: f = −β/2 = −1,
    // g² = β = 2, ᾱ(1) = e^{−(0.1 + 0.95)}. Data N(0, 0.25): the marginal is N(0, ᾱ/4 + 1 − ᾱ), so
    // ∇log p = −x/m. PF: x' = x − (f x − ½g² ∇log p)dt; SDE: mean x − (f x − g² ∇log p)dt, var g² dt.
    const sch = schedules.vpLinear({ betaMin: 0.1, betaMax: 2, tMin: 0.5 });
    const ab = Math.exp(-1.05);
    const m = ab / 4 + 1 - ab;
    const x0 = Math.sqrt(1 - ab); // the samplers start at s·σ·noise = √(1 − ᾱ)·noise, noise = 1
    const D = gaussianD(0, 0.5);
    const pf = samplers.probabilityFlowODE(D, one(1), { schedule: sch, steps: 1, denoiseLast: false });
    close(value(pf), x0 - (-x0 + x0 / m) * 0.5, 1e-5, 'PF ODE');
    const B = 8000;
    const sde = samplers.reverseSDE(D, tf.ones([B, 1]) as tf.Tensor2D, { schedule: sch, steps: 1, denoiseLast: false, seed: 5 });
    const mo = moments(sde.x);
    close(mo.mean, x0 - (-x0 + (2 * x0) / m) * 0.5, 4 * Math.sqrt(1 / B), 'SDE mean');
    close(mo.variance, 1, 0.08, 'SDE variance');
  });
});

describe('lab/diffusion math: DDPM (Ho et al. 2020)', () => {
  /** q(x_{t−1}|x_t, x₀) ∝ N(x_t; √α x_{t−1}, β) N(x_{t−1}; √ᾱ_prev x₀, 1 − ᾱ_prev), by completing the square. */
  const product = (ab: number, abPrev: number): { coefX0: number; coefXt: number; variance: number } => {
    const alpha = ab / abPrev;
    const beta = 1 - alpha;
    const precision = alpha / beta + 1 / (1 - abPrev);
    return { coefX0: Math.sqrt(abPrev) / (1 - abPrev) / precision, coefXt: Math.sqrt(alpha) / beta / precision, variance: 1 / precision };
  };

  test('the posterior mean and variance equal the product of the two Gaussians', () => {
    for (const [ab, abPrev] of [[0.315, 0.63], [0.63, 0.9], [0.01, 0.5], [0.9999, 0.99999]]) {
      const got = samplers.ddpmPosterior(ab, abPrev);
      const want = product(ab, abPrev);
      close(got.coefX0, want.coefX0, 1e-9 * Math.max(1, want.coefX0), 'x₀ coefficient');
      close(got.coefXt, want.coefXt, 1e-9, 'x_t coefficient');
      close(got.variance, want.variance, 1e-12, 'variance');
    }
    // The last step (ᾱ_prev = 1) returns x̂₀ itself.
    assert.deepEqual(samplers.ddpmPosterior(0.9, 1), { coefX0: 1, coefXt: 0, variance: 0 });
  });

  test('one step returns x̂₀ of the noise at level T, not the noise', () => {
    // β = 0.1, 0.3, 0.5: ᾱ_T = 0.9·0.7·0.5 = 0.315. Data N(0, 1): D(y; σ) = y/(1 + σ²) = ᾱ y, and
    // y = x/√ᾱ, so x̂₀ = √ᾱ_T · x.
    const r = samplers.ddpmAncestral(gaussianD(0, 1), one(2), { trainSteps: 3, beta1: 0.1, betaT: 0.5, steps: 1 });
    close(value(r), 2 * Math.sqrt(0.315), 1e-6, 'x̂₀');
    assert.equal(r.nfe, 1);
  });

  test('the full 3-step chain: mean and variance propagated by hand', () => {
    // Each step is x ← (a √ᾱ + b) x + √v z with (a, b, v) from the product of Gaussians and the
    // linear denoiser x̂₀ = √ᾱ x (see above); the last step returns x̂₀ = √0.9 x.
    let mean = 1;
    let variance = 0;
    for (const [ab, abPrev] of [[0.315, 0.63], [0.63, 0.9]]) {
      const p = product(ab, abPrev);
      const k = p.coefX0 * Math.sqrt(ab) + p.coefXt;
      mean *= k;
      variance = k * k * variance + p.variance;
    }
    mean *= Math.sqrt(0.9);
    variance *= 0.9;
    const B = 8000;
    const r = samplers.ddpmAncestral(gaussianD(0, 1), tf.ones([B, 1]) as tf.Tensor2D, { trainSteps: 3, beta1: 0.1, betaT: 0.5, seed: 4 });
    const m = moments(r.x);
    close(m.mean, mean, 4 * Math.sqrt(variance / B), 'mean');
    close(m.variance, variance, 0.08 * variance, 'variance');
  });
});

describe('lab/diffusion math: convergence order against the exact solution', () => {
  // Data N(0, δ² I): the ODE keeps x/√(δ² + σ²), so from x = σ_max·n the exact endpoint is
  // n·σ_max·δ/√(δ² + σ_max²). No reference run needed, and the error does not depend on the draw.
  const D = gaussianD(0, 1);
  const noise = (): tf.Tensor2D => tf.tensor2d(new Rng(11).normals(64), [64, 1]);
  const err = (heun: boolean, nfe: number): number => {
    const n = noise();
    const exact = tf.mul(n, 80 / Math.sqrt(1 + 6400));
    const r = heun ? samplers.heun(D, n, { steps: (nfe + 1) / 2 }) : samplers.euler(D, n, { steps: nfe });
    assert.equal(r.nfe, nfe);
    const e = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.sub(r.x, exact)))).dataSync()[0]);
    tf.dispose([n, exact, r.x]);
    return e;
  };
  /** Least-squares slope of −log error against log NFE. */
  const slope = (nfes: number[], errs: number[]): number => {
    const lx = nfes.map(Math.log);
    const ly = errs.map(Math.log);
    const mx = lx.reduce((a, b) => a + b) / lx.length;
    const my = ly.reduce((a, b) => a + b) / ly.length;
    let num = 0;
    let den = 0;
    lx.forEach((x, i) => {
      num += (x - mx) * (ly[i] - my);
      den += (x - mx) ** 2;
    });
    return -num / den;
  };

  test('Euler is 1st order and Heun 2nd (fitted over 4 NFEs, σ_max 80, ρ 7)', () => {
    const eN = [51, 101, 201, 401];
    const hN = [25, 51, 101, 201];
    const sEu = slope(eN, eN.map((n) => err(false, n)));
    const sHe = slope(hN, hN.map((n) => err(true, n)));
    assert.ok(sEu > 0.9 && sEu < 1.1, `Euler slope ${sEu}`);
    assert.ok(sHe > 1.85 && sHe < 2.3, `Heun slope ${sHe}`);
  });

  test('equal NFE: Heun is worse up to 23 and better from 25 on (the crossover on this Gaussian)', () => {
    for (const nfe of [9, 19, 23]) assert.ok(err(true, nfe) > err(false, nfe), `NFE ${nfe}: Heun should be worse`);
    for (const nfe of [25, 35, 71]) assert.ok(err(true, nfe) < err(false, nfe), `NFE ${nfe}: Heun should be better`);
    const [e, h] = [err(false, 71), err(true, 71)];
    assert.ok(h < e / 3, `NFE 71: Heun ${h} vs Euler ${e}`);
  });
});
