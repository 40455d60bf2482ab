import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { data, diffusion, Rng, setBackend } from '../../src/lab';

const { samplers, schedules, edm } = diffusion;

before(async () => {
  await setBackend('wasm');
});

const rmse = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.sqrt(tf.mean(tf.sum(tf.square(tf.sub(a, b)), 1))).dataSync()[0]);

describe('lab/diffusion: schedules and EDM pieces', () => {
  test('EDM time discretization: σ_max … σ_min, then 0', () => {
    const s = edm.timeSteps(18, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 });
    assert.equal(s.length, 19);
    assert.ok(Math.abs(s[0] - 80) < 1e-9 && Math.abs(s[17] - 0.002) < 1e-12 && s[18] === 0);
    for (let i = 1; i < s.length; i++) assert.ok(s[i] < s[i - 1]);
    // ρ = 1 is uniform in σ.
    const u = edm.timeSteps(5, { sigmaMin: 1, sigmaMax: 5, rho: 1 });
    assert.deepEqual(u.map((v) => Math.round(v * 1e9) / 1e9), [5, 4, 3, 2, 1, 0]);
  });

  test('preconditioning: c_skip, c_out, c_in, c_noise and λ c_out² = 1', () => {
    const c = edm.precondition(0.5, 0.5);
    assert.ok(Math.abs(c.cSkip - 0.5) < 1e-12);
    assert.ok(Math.abs(c.cOut - 0.25 / Math.sqrt(0.5)) < 1e-12);
    assert.ok(Math.abs(c.cIn - 1 / Math.sqrt(0.5)) < 1e-12);
    assert.ok(Math.abs(c.cNoise - Math.log(0.5) / 4) < 1e-12);
    for (const sg of [0.01, 0.3, 2, 80]) {
      const p = edm.precondition(sg, 0.7);
      assert.ok(Math.abs(edm.lossWeight(sg, 0.7) * p.cOut ** 2 - 1) < 1e-9);
    }
  });

  test('every schedule: σ⁻¹(σ(t)) = t and derivatives match finite differences', () => {
    for (const sch of [schedules.edm(), schedules.veGeometric(), schedules.vpLinear(), schedules.vpCosine(), schedules.flowMatching()]) {
      for (const f of [0.1, 0.5, 0.9]) {
        const t = sch.tMin + f * (sch.tMax - sch.tMin);
        assert.ok(Math.abs(sch.sigmaInv(sch.sigma(t)) - t) < 1e-6 * Math.max(1, t), `${sch.name} inverse at ${t}`);
        const h = 1e-6 * Math.max(1, t);
        const fd = (sch.sigma(t + h) - sch.sigma(t - h)) / (2 * h);
        assert.ok(Math.abs(fd - sch.sigmaDeriv(t)) < 1e-4 * Math.max(1, Math.abs(fd)), `${sch.name} σ' at ${t}`);
        const fs = (sch.s(t + h) - sch.s(t - h)) / (2 * h);
        assert.ok(Math.abs(fs - sch.sDeriv(t)) < 1e-5 * Math.max(1, Math.abs(fs)), `${sch.name} s' at ${t}`);
      }
    }
    // VP: s² (1 + σ²) = 1; DDPM's discrete schedule ends near ᾱ_T ≈ 4e-5.
    const vp = schedules.vpLinear();
    assert.ok(Math.abs(vp.s(0.4) ** 2 * (1 + vp.sigma(0.4) ** 2) - 1) < 1e-12);
    const d = schedules.ddpmDiscrete();
    assert.ok(d.alphaBars[999] > 3e-5 && d.alphaBars[999] < 5e-5);
  });

  test('noise() is s(x0 + σε); flow matching is (1 − t)x0 + tε', () => {
    const x0 = tf.tensor2d([[1, 2]]);
    const eps = tf.tensor2d([[0.5, -1]]);
    assert.deepEqual(Array.from(diffusion.noise(x0, 2, 0.5, eps).dataSync()), [1, 0]);
    const fm = diffusion.flowMatchingNoise(x0, 0.25, eps);
    assert.deepEqual(Array.from(fm.xt.dataSync()), [0.875, 1.25]);
    assert.deepEqual(Array.from(fm.velocity.dataSync()), [-0.5, -3]);
    const sch = schedules.flowMatching();
    // Common form with s = 1 − t, σ = t/(1 − t) gives the same point.
    assert.deepEqual(Array.from(diffusion.noise(x0, sch.sigma(0.25), sch.s(0.25), eps).dataSync()), [0.875, 1.25]);
  });
});

describe('lab/diffusion: samplers on an exact Gaussian-mixture denoiser', () => {
  const gmm = () => new diffusion.GaussianMixture([[-2, 0], [2, 0], [0, 2.5]], [0.5, 0.3, 0.2], 0.3);

  test('exact denoiser: D(x; σ→0) = x and D(x; σ→∞) = the mixture mean', () => {
    const g = gmm();
    const x = tf.tensor2d([[0.3, -0.2], [1.5, 2]]);
    assert.ok(rmse(g.denoise(x, 1e-4), x) < 1e-4);
    const far = g.denoise(x, 1e4).dataSync();
    assert.ok(Math.abs(far[0] - (-2 * 0.5 + 2 * 0.3)) < 1e-3 && Math.abs(far[1] - 2.5 * 0.2) < 1e-3);
  });

  test('equal NFE on the mixture: Euler better at 9, Heun better at 71 (orders: see lab-diffusion-math)', () => {
    // The crossover on mixtures depends on the problem and the draw (bench:lab measures it over
    // seeds: 19–29 here); only the ends of the range are asserted.
    const g = gmm();
    const noise = tf.tensor2d(new Rng(3).normals(256 * 2), [256, 2]);
    const ref = samplers.heun(g.denoise, noise, { steps: 1000 }).x; // 1999 NFE
    const err = (heun: boolean, nfe: number): number => {
      const r = heun ? samplers.heun(g.denoise, noise, { steps: (nfe + 1) / 2 }) : samplers.euler(g.denoise, noise, { steps: nfe });
      assert.equal(r.nfe, nfe);
      const e = rmse(r.x, ref);
      r.x.dispose();
      return e;
    };
    assert.ok(err(false, 9) < err(true, 9));
    const [e, h] = [err(false, 71), err(true, 71)];
    assert.ok(h < e, `NFE 71: Heun ${h} vs Euler ${e}`);
  });

  test('every sampler draws from the mixture: cluster fractions and within-cluster std', () => {
    // 2000 points: a fraction's sampling error is ≤ √(¼/2000) ≈ 0.011, the std's ≈ 0.004. Bands
    // per sampler (measured on draws 7–9): the consistent samplers within 0.035 of the weights
    // and 0.02 of std 0.3 (Heun with N = 18 has 0.316, DDPM 0.283); Langevin (8 levels × 25
    // steps) and VE-Euler (64 steps, geometric) are biased and get wider bands.
    const g = gmm();
    const rng = new Rng(7);
    const N = 2000;
    const truth = g.sample(N, rng);
    const noise = tf.tensor2d(rng.normals(N * 2), [N, 2]);
    const D = g.denoise;
    const runs: [string, diffusion.SampleResult, number, number][] = [
      ['heun', samplers.heun(D, noise, { steps: 18 }), 0.035, 0.02],
      ['edmStochastic', samplers.edmStochastic(D, noise, { steps: 32, sChurn: 20, sTmin: 0.05, sTmax: 50, seed: 1 }), 0.035, 0.02],
      ['ddpmAncestral', samplers.ddpmAncestral(D, noise, { steps: 200, seed: 1 }), 0.035, 0.025],
      ['annealedLangevin', samplers.annealedLangevin(D, noise, { sigmaMax: 5, sigmaMin: 0.05, levels: 8, stepsPerLevel: 25, eps: 5e-4, seed: 1 }), 0.06, 0.07],
      ['reverseSDE', samplers.reverseSDE(D, noise, { steps: 200, seed: 1 }), 0.035, 0.02],
      ['probabilityFlowODE', samplers.probabilityFlowODE(D, noise, { steps: 200 }), 0.035, 0.02],
      ['vpHeun', samplers.heun(D, noise, { steps: 24, schedule: schedules.vpLinear(), sigmaMax: 80 }), 0.035, 0.02],
      ['veEuler', samplers.euler(D, noise, { steps: 64, schedule: schedules.veGeometric({ sigmaMax: 80, sigmaMin: 0.002 }) }), 0.06, 0.07],
    ];
    const means = tf.tensor2d([[-2, 0], [2, 0], [0, 2.5]]);
    const stats = (x: tf.Tensor2D): { frac: number[]; std: number } =>
      tf.tidy(() => {
        const d2 = tf.sum(tf.square(tf.sub(x.expandDims(1), means.expandDims(0))), 2);
        const counts = tf.sum(tf.oneHot(tf.argMin(d2, 1), 3), 0).dataSync();
        return { frac: Array.from(counts, (c) => c / N), std: Math.sqrt(tf.mean(tf.min(d2, 1)).dataSync()[0] / 2) };
      });
    const noiseOnly = data.slicedWasserstein(truth, tf.mul(noise, 2) as tf.Tensor2D);
    for (const [name, r, fracTol, stdTol] of runs) {
      const s = stats(r.x);
      [0.5, 0.3, 0.2].forEach((w, k) => assert.ok(Math.abs(s.frac[k] - w) < fracTol, `${name}: fraction ${k} ${s.frac[k]}`));
      assert.ok(Math.abs(s.std - 0.3) < stdTol, `${name}: within-cluster std ${s.std}`);
      const sw = data.slicedWasserstein(truth, r.x);
      // Sliced W2 is a coarse sanity check only: two exact 2000-point sets already differ by 0.15–0.3.
      assert.ok(sw < 0.4, `${name}: sliced W2 ${sw.toFixed(3)} (noise: ${noiseOnly.toFixed(3)})`);
    }
    const t = stats(truth);
    assert.ok(Math.abs(t.std - 0.3) < 0.01 && Math.abs(t.frac[0] - 0.5) < 0.035, 'exact samples');
    assert.ok(noiseOnly > 0.8, `noise ${noiseOnly}`);
  });

  test('an aborted signal stops a sampler', () => {
    const g = gmm();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    assert.throws(() => samplers.euler(g.denoise, tf.zeros([4, 2]) as tf.Tensor2D, { signal: ac.signal }), /stop/);
  });
});

describe('lab/data', () => {
  test('toy sets: shape, unit scale, seeded', () => {
    for (const name of ['twoMoons', 'swissRoll', 'ring8', 'checkerboard'] as const) {
      const a = data[name](2000, { seed: 1 });
      assert.deepEqual(a.shape, [2000, 2]);
      const { mean, variance } = tf.moments(a, 0);
      for (const m of mean.dataSync()) assert.ok(Math.abs(m) < 0.2, `${name} mean ${m}`);
      for (const v of variance.dataSync()) assert.ok(v > 0.5 && v < 1.6, `${name} var ${v}`);
      assert.deepEqual(Array.from(data[name](5, { seed: 1 }).dataSync()), Array.from(a.slice([0, 0], [5, 2]).dataSync()));
    }
  });

  test('sliced Wasserstein: 0 for equal sets, |v|/√2 for a shift by v', () => {
    const a = data.ring8(1000, { seed: 2 });
    assert.equal(data.slicedWasserstein(a, a), 0);
    const sw = data.slicedWasserstein(a, tf.add(a, tf.tensor1d([1, 0])), { projections: 256 });
    assert.ok(Math.abs(sw - Math.SQRT1_2) < 0.01, `${sw}`);
    // Different sizes go through quantiles.
    const sw2 = data.slicedWasserstein(a, data.ring8(500, { seed: 3 }));
    assert.ok(sw2 < 0.15, `${sw2}`);
  });
});

describe('lab/diffusion: denoiser MLP and training', () => {
  test('the hand-written backward pass equals tfjs autograd', () => {
    const m = new diffusion.DenoiserMLP({ hidden: 16, seed: 2 });
    const rng = new Rng(5);
    const xin = tf.tensor2d(rng.normals(32 * 3), [32, 3]);
    const y = tf.tensor2d(rng.normals(32 * 2), [32, 2]);
    const { loss, grad } = m.lossAndGrad(xin, y);
    const auto = tf.grads((...p: tf.Tensor[]) => {
      const h1 = tf.relu(tf.add(tf.matMul(xin, p[0] as tf.Tensor2D), p[1]));
      const h2 = tf.relu(tf.add(tf.matMul(h1 as tf.Tensor2D, p[2] as tf.Tensor2D), p[3]));
      return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(h2 as tf.Tensor2D, p[4] as tf.Tensor2D), p[5]), y)));
    })(m.params);
    const flatAuto = tf.concat(auto.map((g) => g.reshape([-1])));
    assert.ok(tf.max(tf.abs(tf.sub(grad, flatAuto))).dataSync()[0] < 1e-5);
    const l2 = tf.mean(tf.square(tf.sub(m.forwardRaw(xin), y))).dataSync()[0];
    assert.ok(Math.abs(loss.dataSync()[0] - l2) < 1e-6);
  });

  test('training reaches the Bayes-optimal EDM loss of a mixture, and honours abort', async () => {
    // With the exact denoiser D* the per-element loss λ(σ)‖D* − x₀‖²/2 is the least any model
    // can reach: ≈ 0.762 here (Monte Carlo over 400 σ, estimated below with D* in closed form).
    // 300 steps of Adam reach 0.762–0.769 (seeds 1, 2) from ~0.87 over the first 20 steps.
    const g = new diffusion.GaussianMixture([[-1, 0], [1, 0], [0, 1.2]], [0.5, 0.3, 0.2], 0.3);
    const rng = new Rng(1);
    let total = 0;
    for (let k = 0; k < 400; k++) {
      const s = edm.sampleTrainingSigma(rng.normal());
      const x0 = g.sample(50, rng);
      total += tf.tidy(() => {
        const x = tf.add(x0, tf.mul(tf.tensor2d(rng.normals(100), [50, 2]), s)) as tf.Tensor2D;
        return edm.lossWeight(s, 1) * tf.sum(tf.square(tf.sub(g.denoise(x, s), x0))).dataSync()[0];
      });
      x0.dispose();
    }
    const optimum = total / (400 * 100);
    assert.ok(optimum > 0.7 && optimum < 0.82, `optimum ${optimum}`);
    const m = new diffusion.DenoiserMLP({ seed: 1 });
    const r = await diffusion.train(m, { data: (n, rr) => g.sample(n, rr).dataSync() as Float32Array, steps: 300, batchSize: 256, lr: 1e-2, seed: 1 });
    const avg = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    const first = avg(r.losses.slice(0, 20));
    const last = avg(r.losses.slice(-50));
    assert.ok(Math.abs(last - optimum) < 0.03, `loss ${first.toFixed(3)} → ${last.toFixed(3)}, optimum ${optimum.toFixed(3)}`);
    assert.ok(first - optimum > 0.05, `first steps ${first.toFixed(3)} should be clearly above the optimum`);
    const ac = new AbortController();
    const r2 = await diffusion.train(m, { data: 'ring8', steps: 100, batchSize: 64, signal: ac.signal, onStep: (i) => i === 4 && ac.abort() });
    assert.equal(r2.steps, 5);
    const x = samplers.heun(m.asDenoiser(), tf.zeros([3, 2]) as tf.Tensor2D, { steps: 4 }).x;
    assert.deepEqual(x.shape, [3, 2]);
    m.dispose();
  });
});
