import * as tf from '@tensorflow/tfjs';
import { toySamplers, type PointSampler, type ToyName } from '../data';
import { FlatAdam } from '../optim';
import { Rng } from '../rng';
import { precondition, sampleTrainingSigma, trainingTarget } from './edm';
import type { Denoiser } from './samplers';

export interface DenoiserMLPOptions {
  /** Width of the two hidden ReLU layers. Default 128. */
  hidden?: number;
  /** Data dimension. Default 2. */
  dim?: number;
  /** σ_data of EDM's preconditioning. Default 1 (the toy sets are unit-scaled). */
  sigmaData?: number;
  seed?: number;
}

/**
 * The toy denoiser: F is an MLP [x·c_in, c_noise] → hidden → hidden → dim (ReLU), wrapped in
 * EDM's preconditioning D(x;σ) = c_skip x + c_out F(c_in x, c_noise).
 *
 * Training does not use tfjs autograd: the forward and backward passes are written out with
 * fused matMul+bias+ReLU, no transposed matMul (tfjs-backend-wasm's transposeA/B path is ~10×
 * slower than a plain matMul) and no transpose of a [B, H] activation, and Adam updates all
 * parameters as one flat vector. ~4× fewer kernels than `optimizer.minimize`, and the reason
 * training is fast on wasm (profile in bench/lab.ts's header).
 */
export class DenoiserMLP {
  readonly hidden: number;
  readonly dim: number;
  readonly sigmaData: number;
  /** W1 [dim+1, H], b1 [H], W2 [H, H], b2 [H], W3 [H, dim], b3 [dim]. */
  params: tf.Tensor[];
  private flat: tf.Tensor1D;
  private readonly shapes: number[][];

  constructor(options: DenoiserMLPOptions = {}) {
    this.hidden = options.hidden ?? 128;
    this.dim = options.dim ?? 2;
    this.sigmaData = options.sigmaData ?? 1;
    const H = this.hidden;
    const inDim = this.dim + 1;
    this.shapes = [[inDim, H], [H], [H, H], [H], [H, this.dim], [this.dim]];
    const rng = new Rng(options.seed ?? 0);
    // PyTorch's nn.Linear default: U(−1/√fan_in, 1/√fan_in) for weights and biases.
    const fanIns = [inDim, inDim, H, H, H, H];
    const parts = this.shapes.map((sh, i) => {
      const n = sh.reduce((a, b) => a * b, 1);
      const a = new Float32Array(n);
      const k = 1 / Math.sqrt(fanIns[i]);
      for (let j = 0; j < n; j++) a[j] = rng.uniform(-k, k);
      return a;
    });
    const total = parts.reduce((a, p) => a + p.length, 0);
    const all = new Float32Array(total);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    this.flat = tf.tensor1d(all);
    this.params = this.unflatten(this.flat);
  }

  get parameterCount(): number {
    return this.flat.size;
  }

  private unflatten(flat: tf.Tensor1D): tf.Tensor[] {
    return tf.tidy(() => {
      const sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
      return tf.split(flat, sizes).map((t, i) => t.reshape(this.shapes[i]));
    });
  }

  /** Raw network F on inputs [B, dim+1] (already scaled by c_in, with c_noise appended). */
  forwardRaw(xin: tf.Tensor2D): tf.Tensor2D {
    const [W1, b1, W2, b2, W3, b3] = this.params;
    return tf.tidy(() => {
      const h1 = tf.fused.matMul({ a: xin, b: W1 as tf.Tensor2D, bias: b1, activation: 'relu' });
      const h2 = tf.fused.matMul({ a: h1, b: W2 as tf.Tensor2D, bias: b2, activation: 'relu' });
      return tf.fused.matMul({ a: h2, b: W3 as tf.Tensor2D, bias: b3 }) as tf.Tensor2D;
    });
  }

  /** D(x; σ) for a batch x [B, dim] at one noise level. */
  denoise(x: tf.Tensor2D, sigma: number): tf.Tensor2D {
    const c = precondition(sigma, this.sigmaData);
    return tf.tidy(() => {
      const xin = tf.concat([tf.mul(x, c.cIn), tf.fill([x.shape[0], 1], c.cNoise)], 1) as tf.Tensor2D;
      return tf.add(tf.mul(x, c.cSkip), tf.mul(this.forwardRaw(xin), c.cOut)) as tf.Tensor2D;
    });
  }

  /** This model as a sampler's {@link Denoiser}. */
  readonly asDenoiser: () => Denoiser = () => (x, sigma) => this.denoise(x, sigma);

  /**
   * Gradients of mean((F(xin) − target)²) with respect to all parameters, as one flat vector,
   * plus the loss. Manual backward pass; see the class comment.
   */
  lossAndGrad(xin: tf.Tensor2D, target: tf.Tensor2D): { loss: tf.Scalar; grad: tf.Tensor1D } {
    const [W1, b1, W2, b2, W3, b3] = this.params as tf.Tensor2D[];
    return tf.tidy(() => {
      const B = xin.shape[0];
      const ones = tf.ones([1, B]) as tf.Tensor2D;
      const h1 = tf.fused.matMul({ a: xin, b: W1, bias: b1, activation: 'relu' });
      const h2 = tf.fused.matMul({ a: h1, b: W2, bias: b2, activation: 'relu' });
      const out = tf.fused.matMul({ a: h2, b: W3, bias: b3 });
      const err = tf.sub(out, target);
      const loss = tf.mean(tf.square(err)) as tf.Scalar;
      const dOut = tf.mul(err, 2 / err.size) as tf.Tensor2D;
      // Weight gradients contract over the batch: dW = hᵀ·dZ. Instead of transposing the
      // [B, H] activations (~1 ms each on wasm), layer 1 is also run feature-major
      // (h1ᵀ = relu(W1ᵀ xᵀ + b1), cheap as xᵀ is [dim+1, B]) and dW3 is computed transposed
      // from the small dOutᵀ. Column sums are ones·dZ: a [1,B]×[B,n] matMul is ~20× faster
      // than tf.sum(axis 0) on wasm.
      const xT = tf.transpose(xin);
      const h1T = tf.relu(tf.add(tf.matMul(tf.transpose(W1), xT), b1.reshape([-1, 1])));
      const dW3 = tf.transpose(tf.matMul(tf.transpose(dOut), h2));
      const db3 = tf.matMul(ones, dOut);
      const dZ2 = tf.mul(tf.matMul(dOut, tf.transpose(W3)), tf.step(h2)) as tf.Tensor2D;
      const dW2 = tf.matMul(h1T, dZ2);
      const db2 = tf.matMul(ones, dZ2);
      const dZ1 = tf.mul(tf.matMul(dZ2, tf.transpose(W2)), tf.step(h1)) as tf.Tensor2D;
      const dW1 = tf.matMul(xT, dZ1);
      const db1 = tf.matMul(ones, dZ1);
      const grad = tf.concat([dW1, db1, dW2, db2, dW3, db3].map((g) => g.reshape([-1]))) as tf.Tensor1D;
      return { loss, grad };
    });
  }

  /** Replaces all parameters with `flat` (takes ownership). */
  setFlat(flat: tf.Tensor1D): void {
    const old = [this.flat, ...this.params];
    this.flat = flat;
    this.params = this.unflatten(flat);
    tf.dispose(old);
  }

  getFlat(): tf.Tensor1D {
    return this.flat;
  }

  dispose(): void {
    tf.dispose([this.flat, ...this.params]);
  }
}

export interface TrainOptions {
  /** Training data: a toy set name, a sampler, or a fixed [N, dim] tensor to draw batches from. */
  data: ToyName | PointSampler | tf.Tensor2D;
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** EDM's ln σ ~ N(pMean, pStd²). */
  pMean?: number;
  pStd?: number;
  /** Called after each step (loss is the batch's EDM-weighted loss). */
  onStep?: (step: number, loss: number) => void;
  /** Checked between steps; training stops (without throwing) when aborted. */
  signal?: AbortSignal;
}

export interface TrainResult {
  losses: number[];
  steps: number;
  seconds: number;
  stepsPerSecond: number;
}

/**
 * Trains `model` with EDM's loss: σ from the log-normal, x = x_0 + σε, and
 * λ(σ)‖D(x;σ) − x_0‖² = ‖F(c_in x, c_noise) − (x_0 − c_skip x)/c_out‖² (λ c_out² = 1), with Adam.
 * Yields to the event loop every ~50 ms so an abort can arrive.
 */
export async function train(model: DenoiserMLP, options: TrainOptions): Promise<TrainResult> {
  const B = options.batchSize ?? 1024;
  const D = model.dim;
  const rng = new Rng(options.seed ?? 0);
  const opt = new FlatAdam(model.parameterCount, options.lr ?? 1e-3);
  const fixed = options.data instanceof tf.Tensor ? (options.data.dataSync() as Float32Array) : undefined;
  const sampler: PointSampler | undefined =
    typeof options.data === 'string' ? toySamplers[options.data] : typeof options.data === 'function' ? options.data : undefined;
  const xin = new Float32Array(B * (D + 1));
  const target = new Float32Array(B * D);
  const losses: number[] = [];
  const start = performance.now();
  let lastYield = start;
  let step = 0;
  try {
    for (; step < options.steps; step++) {
      if (options.signal?.aborted) break;
      let x0: Float32Array;
      if (fixed) {
        x0 = new Float32Array(B * D);
        const n = fixed.length / D;
        for (let i = 0; i < B; i++) {
          const j = rng.int(n);
          for (let d = 0; d < D; d++) x0[i * D + d] = fixed[j * D + d];
        }
      } else {
        x0 = sampler!(B, rng);
      }
      for (let i = 0; i < B; i++) {
        const sigma = sampleTrainingSigma(rng.normal(), options.pMean, options.pStd);
        const c = precondition(sigma, model.sigmaData);
        for (let d = 0; d < D; d++) {
          const a = x0[i * D + d];
          const x = a + sigma * rng.normal();
          xin[i * (D + 1) + d] = c.cIn * x;
          target[i * D + d] = trainingTarget(a, x, c);
        }
        xin[i * (D + 1) + D] = c.cNoise;
      }
      const xt = tf.tensor2d(xin, [B, D + 1]);
      const yt = tf.tensor2d(target, [B, D]);
      const { loss, grad } = model.lossAndGrad(xt, yt);
      model.setFlat(opt.step(model.getFlat(), grad));
      const l = loss.dataSync()[0];
      tf.dispose([xt, yt, loss, grad]);
      losses.push(l);
      options.onStep?.(step, l);
      const now = performance.now();
      if (now - lastYield > 50) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
  } finally {
    opt.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  return { losses, steps: step, seconds, stepsPerSecond: step / seconds };
}
