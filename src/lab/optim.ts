import * as tf from '@tensorflow/tfjs';

/** Adam on one flat parameter vector: a dozen kernels per step whatever the layer count. */
export class FlatAdam {
  private m: tf.Tensor1D;
  private v: tf.Tensor1D;
  private t = 0;

  constructor(
    size: number,
    readonly lr = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = tf.zeros([size]);
    this.v = tf.zeros([size]);
  }

  /** Returns the updated parameters (a new tensor; `params` and `grad` are left to the caller). */
  step(params: tf.Tensor1D, grad: tf.Tensor1D, lr = this.lr): tf.Tensor1D {
    this.t++;
    const { beta1: b1, beta2: b2 } = this;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    const [m, v, p] = tf.tidy(() => {
      const m = tf.add(tf.mul(this.m, b1), tf.mul(grad, 1 - b1));
      const v = tf.add(tf.mul(this.v, b2), tf.mul(tf.square(grad), 1 - b2));
      // PyTorch's form: p −= lr/bc1 · m / (√v/√bc2 + ε).
      const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
      const p = tf.sub(params, tf.mul(tf.div(m, denom), lr / bc1));
      return [m, v, p] as tf.Tensor1D[];
    });
    this.m.dispose();
    this.v.dispose();
    // WARNING: kept, or an enclosing tf.tidy (VariablesAdam) would dispose the moments.
    this.m = tf.keep(m);
    this.v = tf.keep(v);
    return p;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}

/**
 * Adam over a list of variables as one flat vector: tf.train.adam runs ~10 kernels per
 * variable, this a dozen in all, which matters for the small, frequent updates of RL.
 */
export class VariablesAdam {
  private readonly adam: FlatAdam;
  constructor(
    readonly vars: tf.Variable[],
    lr = 1e-3,
  ) {
    this.adam = new FlatAdam(
      vars.reduce((n, v) => n + v.size, 0),
      lr,
    );
  }

  /** One step on `loss` (evaluated under autograd); returns nothing, like minimize(…, false). */
  minimize(loss: () => tf.Scalar): void {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(loss, this.vars);
      const g = tf.concat(this.vars.map((v) => grads[v.name].reshape([-1]))) as tf.Tensor1D;
      const p = tf.concat(this.vars.map((v) => v.reshape([-1]))) as tf.Tensor1D;
      const next = this.adam.step(p, g);
      const parts = tf.split(next, this.vars.map((v) => v.size));
      this.vars.forEach((v, i) => v.assign(parts[i].reshape(v.shape)));
      next.dispose();
    });
  }

  dispose(): void {
    this.adam.dispose();
  }
}
