import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';

export type Activation = 'tanh' | 'relu';

/**
 * A plain MLP on tf.Variables, with a JS forward pass for acting one state at a time (a tfjs
 * call per environment step would cost more than the step), an exact Jacobian-vector product
 * (forward mode, for TRPO's Fisher-vector products) and flat get/set of the parameters.
 */
export class Mlp {
  readonly vars: tf.Variable[] = [];
  constructor(
    readonly sizes: number[],
    readonly activation: Activation = 'tanh',
    rng: Rng = new Rng(0),
    /** Scale of the last layer's initial weights (small for policy heads). */
    lastScale = 1,
  ) {
    for (let i = 0; i + 1 < sizes.length; i++) {
      const k = (1 / Math.sqrt(sizes[i])) * (i + 2 === sizes.length ? lastScale : 1);
      const w = new Float32Array(sizes[i] * sizes[i + 1]).map(() => rng.uniform(-k, k));
      const b = new Float32Array(sizes[i + 1]).map(() => rng.uniform(-k, k) * (i + 2 === sizes.length ? lastScale : 1));
      this.vars.push(tf.variable(tf.tensor2d(w, [sizes[i], sizes[i + 1]])), tf.variable(tf.tensor1d(b)));
    }
  }

  private act(x: tf.Tensor): tf.Tensor {
    return this.activation === 'tanh' ? tf.tanh(x) : tf.relu(x);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = x;
      const L = this.vars.length / 2;
      for (let i = 0; i < L; i++) {
        const z = tf.add(tf.matMul(h, this.vars[2 * i] as tf.Tensor2D), this.vars[2 * i + 1]) as tf.Tensor2D;
        h = (i + 1 < L ? this.act(z) : z) as tf.Tensor2D;
      }
      return h;
    });
  }

  /** Outputs and their directional derivative along parameter tangents `dv` (same shapes as vars). */
  jvp(x: tf.Tensor2D, dv: tf.Tensor[]): { out: tf.Tensor2D; dout: tf.Tensor2D } {
    return tf.tidy(() => {
      let h: tf.Tensor2D = x;
      let dh: tf.Tensor2D | undefined;
      const L = this.vars.length / 2;
      for (let i = 0; i < L; i++) {
        const W = this.vars[2 * i] as tf.Tensor2D;
        const z = tf.add(tf.matMul(h, W), this.vars[2 * i + 1]) as tf.Tensor2D;
        let dz = tf.add(tf.matMul(h, dv[2 * i] as tf.Tensor2D), dv[2 * i + 1]) as tf.Tensor2D;
        if (dh) dz = tf.add(dz, tf.matMul(dh, W));
        if (i + 1 < L) {
          if (this.activation === 'tanh') {
            h = tf.tanh(z) as tf.Tensor2D;
            dh = tf.mul(dz, tf.sub(1, tf.square(h))) as tf.Tensor2D;
          } else {
            h = tf.relu(z) as tf.Tensor2D;
            dh = tf.mul(dz, tf.step(z)) as tf.Tensor2D;
          }
        } else {
          h = z;
          dh = dz;
        }
      }
      return { out: h, dout: dh! };
    });
  }

  /** Snapshot of the weights as a JS function on one input. */
  snapshot(): (x: ArrayLike<number>) => Float64Array {
    const ws = this.vars.map((v) => v.dataSync() as Float32Array);
    const sizes = this.sizes;
    const tanh = this.activation === 'tanh';
    return (x) => {
      let h = Float64Array.from(x);
      for (let i = 0; i + 1 < sizes.length; i++) {
        const W = ws[2 * i];
        const b = ws[2 * i + 1];
        const n = sizes[i + 1];
        const out = new Float64Array(n);
        for (let j = 0; j < n; j++) out[j] = b[j];
        for (let k = 0; k < sizes[i]; k++) {
          const hk = h[k];
          for (let j = 0; j < n; j++) out[j] += hk * W[k * n + j];
        }
        if (i + 2 < sizes.length) for (let j = 0; j < n; j++) out[j] = tanh ? Math.tanh(out[j]) : Math.max(0, out[j]);
        h = out;
      }
      return h;
    };
  }

  getFlat(): tf.Tensor1D {
    return tf.tidy(() => tf.concat(this.vars.map((v) => v.reshape([-1]))) as tf.Tensor1D);
  }

  setFlat(flat: tf.Tensor1D): void {
    tf.tidy(() => {
      const parts = tf.split(flat, this.vars.map((v) => v.size));
      this.vars.forEach((v, i) => v.assign(parts[i].reshape(v.shape)));
    });
  }

  /** Splits a flat vector into tensors shaped like the parameters. */
  unflatten(flat: tf.Tensor1D): tf.Tensor[] {
    return tf.tidy(() => tf.split(flat, this.vars.map((v) => v.size)).map((p, i) => p.reshape(this.vars[i].shape)));
  }

  /** Copies weights from `other` (same sizes), or Polyak-averages: θ ← τ θ_other + (1 − τ) θ. */
  copyFrom(other: Mlp, tau = 1): void {
    tf.tidy(() => {
      if (tau === 1) {
        this.vars.forEach((v, i) => v.assign(other.vars[i]));
        return;
      }
      // One flat lerp instead of three kernels per variable.
      this.setFlat(tf.add(tf.mul(other.getFlat(), tau), tf.mul(this.getFlat(), 1 - tau)) as tf.Tensor1D);
    });
  }

  dispose(): void {
    tf.dispose(this.vars);
  }
}

/** softmax of a JS logit vector. */
export function softmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const e = Array.from(logits, (l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
