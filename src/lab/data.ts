import * as tf from '@tensorflow/tfjs';
import { Rng } from './rng';

/** Points in the plane as a flat row-major array `[x0, y0, x1, y1, …]`. */
export type Points = Float32Array;

/** Draws `n` points of a 2-D toy distribution with the given generator. */
export type PointSampler = (n: number, rng: Rng) => Points;

export interface ToyOptions {
  /** Seed of the JS generator (ignored when `rng` is given). Default 0. */
  seed?: number;
  rng?: Rng;
}

/**
 * The four 2-D toy distributions, each scaled to roughly zero mean and unit standard deviation
 * per coordinate (so σ_data ≈ 1 for EDM preconditioning).
 */
export const toySamplers: Record<'twoMoons' | 'swissRoll' | 'ring8' | 'checkerboard', PointSampler> = {
  // sklearn's make_moons (noise 0.1), centred and scaled.
  twoMoons(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const upper = rng.random() < 0.5;
      const t = Math.PI * rng.random();
      let x = upper ? Math.cos(t) : 1 - Math.cos(t);
      let y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
      x += rng.normal(0, 0.1);
      y += rng.normal(0, 0.1);
      out[2 * i] = (x - 0.5) / 0.87;
      out[2 * i + 1] = (y - 0.25) / 0.5;
    }
    return out;
  },
  // sklearn's make_swiss_roll projected on (x, z), noise 0.5, scaled.
  swissRoll(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const t = 1.5 * Math.PI * (1 + 2 * rng.random());
      out[2 * i] = (t * Math.cos(t) + rng.normal(0, 0.5)) / 7.5 - 0.265;
      out[2 * i + 1] = (t * Math.sin(t) + rng.normal(0, 0.5)) / 7.5;
    }
    return out;
  },
  // Eight Gaussians (std 0.1 before scaling) on a circle of radius 2.
  ring8(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const k = rng.int(8);
      const a = (2 * Math.PI * k) / 8;
      out[2 * i] = (2 * Math.cos(a) + rng.normal(0, 0.1)) / 1.42;
      out[2 * i + 1] = (2 * Math.sin(a) + rng.normal(0, 0.1)) / 1.42;
    }
    return out;
  },
  // 4×4 checkerboard on [-2, 2]², the 8 dark squares (FFJORD's toy set).
  checkerboard(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const x1 = rng.random() * 4 - 2;
      const x2b = rng.random() - rng.int(2) * 2;
      const x2 = x2b + (((Math.floor(x1) % 2) + 2) % 2); // Python's floor(x1) % 2
      out[2 * i] = x1 / 1.15;
      out[2 * i + 1] = x2 / 1.15;
    }
    return out;
  },
};

export type ToyName = keyof typeof toySamplers;

function toy(name: ToyName, n: number, options: ToyOptions): tf.Tensor2D {
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  return tf.tensor2d(toySamplers[name](n, rng), [n, 2]);
}

/** Two interleaved half circles. */
export const twoMoons = (n: number, options: ToyOptions = {}): tf.Tensor2D => toy('twoMoons', n, options);
/** A 2-D swiss roll (spiral). */
export const swissRoll = (n: number, options: ToyOptions = {}): tf.Tensor2D => toy('swissRoll', n, options);
/** Mixture of 8 Gaussians on a ring. */
export const ring8 = (n: number, options: ToyOptions = {}): tf.Tensor2D => toy('ring8', n, options);
/** Uniform on the dark squares of a 4×4 checkerboard. */
export const checkerboard = (n: number, options: ToyOptions = {}): tf.Tensor2D => toy('checkerboard', n, options);

function toPoints(a: tf.Tensor | Points): Points {
  if (a instanceof Float32Array) return a;
  if (a.rank !== 2 || a.shape[1] !== 2) throw new Error(`expected [n, 2] points, got [${a.shape.join(', ')}]`);
  return a.dataSync() as Float32Array;
}

/** Linear-interpolated quantile of sorted `s` at level q ∈ [0, 1]. */
function quantile(s: Float64Array, q: number): number {
  const pos = q * (s.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < s.length ? s[i] * (1 - f) + s[i + 1] * f : s[i];
}

/**
 * Sliced 2-Wasserstein distance between two 2-D point sets: the root mean over `projections`
 * seeded random directions of the squared 1-D W2 distance between the projections (exact
 * sorted matching for equal sizes, quantile matching otherwise). 0 for identical sets.
 */
export function slicedWasserstein(
  a: tf.Tensor | Points,
  b: tf.Tensor | Points,
  options: { projections?: number; seed?: number } = {},
): number {
  const pa = toPoints(a);
  const pb = toPoints(b);
  const na = pa.length / 2;
  const nb = pb.length / 2;
  const rng = new Rng(options.seed ?? 1234);
  const L = options.projections ?? 128;
  const sa = new Float64Array(na);
  const sb = new Float64Array(nb);
  let total = 0;
  for (let l = 0; l < L; l++) {
    // Evenly spread angles with a random offset: lower variance than i.i.d. directions.
    const th = Math.PI * ((l + rng.random()) / L);
    const c = Math.cos(th);
    const s = Math.sin(th);
    for (let i = 0; i < na; i++) sa[i] = c * pa[2 * i] + s * pa[2 * i + 1];
    for (let i = 0; i < nb; i++) sb[i] = c * pb[2 * i] + s * pb[2 * i + 1];
    sa.sort();
    sb.sort();
    let w = 0;
    if (na === nb) {
      for (let i = 0; i < na; i++) w += (sa[i] - sb[i]) ** 2;
      w /= na;
    } else {
      const m = Math.max(na, nb);
      for (let i = 0; i < m; i++) {
        const q = (i + 0.5) / m;
        w += (quantile(sa, q) - quantile(sb, q)) ** 2;
      }
      w /= m;
    }
    total += w;
  }
  return Math.sqrt(total / L);
}
