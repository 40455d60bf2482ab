import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import type { Denoiser } from './samplers';

/**
 * Mixture of isotropic Gaussians Σ_k w_k N(μ_k, δ² I) in any dimension, with its exact
 * denoiser. Adding N(0, σ² I) noise keeps it a mixture with variance v = δ² + σ², so
 *   D(x;σ) = E[x_0 | x] = Σ_k r_k(x) [μ_k + δ²/(δ² + σ²) (x − μ_k)],
 *   r_k(x) ∝ w_k N(x; μ_k, v I).
 */
export class GaussianMixture {
  readonly dim: number;
  private readonly meansT: tf.Tensor2D;
  private readonly logW: tf.Tensor1D;

  constructor(
    readonly means: number[][],
    readonly weights: number[],
    readonly std: number,
  ) {
    this.dim = means[0].length;
    const total = weights.reduce((a, b) => a + b, 0);
    this.meansT = tf.tensor2d(means);
    this.logW = tf.tensor1d(weights.map((w) => Math.log(w / total)));
  }

  /** The exact denoiser D(x; σ) for x of shape [B, dim]. */
  readonly denoise: Denoiser = (x, sigma) =>
    tf.tidy(() => {
      const d2 = this.std * this.std;
      const v = d2 + sigma * sigma;
      const diff = tf.sub(x.expandDims(1), this.meansT.expandDims(0)); // [B,K,D]
      const logits = tf.sub(this.logW.expandDims(0), tf.div(tf.sum(tf.square(diff), 2), 2 * v));
      const r = tf.softmax(logits, 1);
      const post = tf.add(this.meansT.expandDims(0), tf.mul(diff, d2 / v));
      return tf.sum(tf.mul(post, r.expandDims(2)), 1) as tf.Tensor2D;
    });

  /** n exact samples as [n, dim]. */
  sample(n: number, rng: Rng): tf.Tensor2D {
    const out = new Float32Array(n * this.dim);
    for (let i = 0; i < n; i++) {
      const k = rng.categorical(this.weights);
      for (let j = 0; j < this.dim; j++) out[i * this.dim + j] = this.means[k][j] + rng.normal(0, this.std);
    }
    return tf.tensor2d(out, [n, this.dim]);
  }

  dispose(): void {
    this.meansT.dispose();
    this.logW.dispose();
  }
}
