import * as tf from '@tensorflow/tfjs';

/** EDM preconditioning (Karras et al. 2022, Table 1): D(x;σ) = c_skip x + c_out F(c_in x, c_noise). */
export interface Preconditioning {
  cSkip: number;
  cOut: number;
  cIn: number;
  cNoise: number;
}

export function precondition(sigma: number, sigmaData = 0.5): Preconditioning {
  const v = sigma * sigma + sigmaData * sigmaData;
  return {
    cSkip: (sigmaData * sigmaData) / v,
    cOut: (sigma * sigmaData) / Math.sqrt(v),
    cIn: 1 / Math.sqrt(v),
    cNoise: Math.log(sigma) / 4,
  };
}

/**
 * The regression target of F in EDM's loss: D = c_skip x + c_out F equals x_0 exactly when
 * F = (x_0 − c_skip x)/c_out, so λ‖D − x_0‖² = ‖F − target‖² (λ c_out² = 1).
 */
export function trainingTarget(x0: number, x: number, c: Preconditioning): number {
  return (x0 - c.cSkip * x) / c.cOut;
}

/** EDM loss weight λ(σ) = (σ² + σ_data²)/(σ σ_data)²; λ c_out² = 1. */
export function lossWeight(sigma: number, sigmaData = 0.5): number {
  return (sigma * sigma + sigmaData * sigmaData) / (sigma * sigmaData) ** 2;
}

/** EDM's training distribution of σ: ln σ ~ N(P_mean, P_std²) = N(−1.2, 1.2²) by default. */
export function sampleTrainingSigma(normal: number, pMean = -1.2, pStd = 1.2): number {
  return Math.exp(pMean + pStd * normal);
}

/**
 * EDM time discretization: σ_i = (σ_max^{1/ρ} + i/(n−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for
 * i < n, and σ_n = 0. Returns n + 1 values.
 */
export function timeSteps(
  n: number,
  options: { sigmaMin?: number; sigmaMax?: number; rho?: number } = {},
): number[] {
  const { sigmaMin = 0.002, sigmaMax = 80, rho = 7 } = options;
  if (n < 1) throw new Error('timeSteps: n must be ≥ 1');
  const a = sigmaMax ** (1 / rho);
  const b = sigmaMin ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(n === 1 ? sigmaMax : (a + (i / (n - 1)) * (b - a)) ** rho);
  out.push(0);
  return out;
}

/** Forward noising in the common form x = s (x_0 + σ ε). */
export function noise(x0: tf.Tensor, sigma: number, s = 1, eps?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const e = eps ?? tf.randomNormal(x0.shape);
    return tf.mul(tf.add(x0, tf.mul(e, sigma)), s);
  });
}

/**
 * Flow-matching forward process x_t = (1 − t) x_0 + t ε (the common form with s = 1 − t,
 * σ = t/(1 − t)) and its velocity target v = ε − x_0.
 */
export function flowMatchingNoise(x0: tf.Tensor, t: number, eps?: tf.Tensor): { xt: tf.Tensor; velocity: tf.Tensor } {
  return tf.tidy(() => {
    const e = eps ?? tf.randomNormal(x0.shape);
    return { xt: tf.add(tf.mul(x0, 1 - t), tf.mul(e, t)), velocity: tf.sub(e, x0) };
  });
}
