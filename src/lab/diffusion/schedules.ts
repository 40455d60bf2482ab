/**
 * Noise schedules in the EDM form x_t = s(t)(x_0 + σ(t)ε) (Karras et al. 2022, Table 1).
 * Every schedule gives σ(t), s(t), their derivatives and σ⁻¹, so one sampler covers them all.
 */
export interface Schedule {
  readonly name: string;
  /** Time range used for sampling: from tMax down to tMin. */
  readonly tMin: number;
  readonly tMax: number;
  sigma(t: number): number;
  sigmaDeriv(t: number): number;
  /** t with σ(t) = sigma; may be -Infinity when σ = 0 is never reached (VE geometric). */
  sigmaInv(sigma: number): number;
  s(t: number): number;
  sDeriv(t: number): number;
}

/** EDM: σ(t) = t, s(t) = 1. */
export function edm(options: { sigmaMin?: number; sigmaMax?: number } = {}): Schedule {
  return {
    name: 'edm',
    tMin: options.sigmaMin ?? 0.002,
    tMax: options.sigmaMax ?? 80,
    sigma: (t) => t,
    sigmaDeriv: () => 1,
    sigmaInv: (s) => s,
    s: () => 1,
    sDeriv: () => 0,
  };
}

/**
 * VE with geometric noise levels (SMLD / NCSN, VE SDE): σ(t) = σ_min (σ_max/σ_min)^t, t ∈ [0, 1],
 * s(t) = 1. σ(0) = σ_min, so a step to σ = 0 is taken as a final denoising step by the samplers.
 */
export function veGeometric(options: { sigmaMin?: number; sigmaMax?: number } = {}): Schedule {
  const lo = options.sigmaMin ?? 0.01;
  const hi = options.sigmaMax ?? 50;
  const k = Math.log(hi / lo);
  return {
    name: 'veGeometric',
    tMin: 0,
    tMax: 1,
    sigma: (t) => lo * Math.exp(k * t),
    sigmaDeriv: (t) => k * lo * Math.exp(k * t),
    sigmaInv: (s) => (s > 0 ? Math.log(s / lo) / k : -Infinity),
    s: () => 1,
    sDeriv: () => 0,
  };
}

/** The VP family from ᾱ(t): s = √ᾱ, σ = √(1/ᾱ − 1). */
function vpFrom(
  name: string,
  tMin: number,
  tMax: number,
  alphaBar: (t: number) => number,
  alphaBarDeriv: (t: number) => number,
  inv: (alphaBar: number) => number,
): Schedule {
  return {
    name,
    tMin,
    tMax,
    sigma: (t) => Math.sqrt(1 / alphaBar(t) - 1),
    sigmaDeriv: (t) => {
      const a = alphaBar(t);
      const sg = Math.sqrt(1 / a - 1);
      return sg === 0 ? Infinity : -alphaBarDeriv(t) / (a * a) / (2 * sg);
    },
    sigmaInv: (sg) => inv(1 / (1 + sg * sg)),
    s: (t) => Math.sqrt(alphaBar(t)),
    sDeriv: (t) => alphaBarDeriv(t) / (2 * Math.sqrt(alphaBar(t))),
  };
}

/**
 * VP with DDPM's linear β: continuous β(t) = β_min + t(β_max − β_min), t ∈ [0, 1]
 * (β_min = 0.1, β_max = 20 match DDPM's 1e-4…0.02 over 1000 steps), ᾱ(t) = exp(−∫β).
 */
export function vpLinear(options: { betaMin?: number; betaMax?: number; tMin?: number } = {}): Schedule {
  const b0 = options.betaMin ?? 0.1;
  const bd = (options.betaMax ?? 20) - b0;
  const integral = (t: number): number => b0 * t + 0.5 * bd * t * t;
  return vpFrom(
    'vpLinear',
    options.tMin ?? 1e-3,
    1,
    (t) => Math.exp(-integral(t)),
    (t) => -(b0 + bd * t) * Math.exp(-integral(t)),
    (a) => {
      const c = -Math.log(a); // solve ½ bd t² + b0 t = c
      return bd === 0 ? c / b0 : (-b0 + Math.sqrt(b0 * b0 + 2 * bd * c)) / bd;
    },
  );
}

/**
 * VP with the cosine schedule (Nichol & Dhariwal 2021): ᾱ(t) = f(t)/f(0),
 * f(t) = cos²((t + s)/(1 + s) · π/2), s = 0.008. tMax defaults to 0.99 (σ ≈ 64) since σ → ∞ at 1.
 */
export function vpCosine(options: { offset?: number; tMin?: number; tMax?: number } = {}): Schedule {
  const off = options.offset ?? 0.008;
  const u = (t: number): number => ((t + off) / (1 + off)) * (Math.PI / 2);
  const f0 = Math.cos(u(0)) ** 2;
  return vpFrom(
    'vpCosine',
    options.tMin ?? 1e-3,
    options.tMax ?? 0.99,
    (t) => Math.cos(u(t)) ** 2 / f0,
    (t) => (-2 * Math.cos(u(t)) * Math.sin(u(t)) * (Math.PI / 2 / (1 + off))) / f0,
    (a) => (Math.acos(Math.min(1, Math.sqrt(a * f0))) / (Math.PI / 2)) * (1 + off) - off,
  );
}

/**
 * Flow matching / rectified flow: x_t = (1 − t)x_0 + tε, i.e. s(t) = 1 − t, σ(t) = t/(1 − t).
 */
export function flowMatching(options: { tMin?: number; tMax?: number } = {}): Schedule {
  return {
    name: 'flowMatching',
    tMin: options.tMin ?? 1e-3,
    tMax: options.tMax ?? 0.999,
    sigma: (t) => t / (1 - t),
    sigmaDeriv: (t) => 1 / ((1 - t) * (1 - t)),
    sigmaInv: (s) => s / (1 + s),
    s: (t) => 1 - t,
    sDeriv: () => -1,
  };
}

/** DDPM's discrete schedule: β_t linear from β_1 to β_T, ᾱ_t = Π(1 − β), σ_t = √((1 − ᾱ_t)/ᾱ_t). */
export function ddpmDiscrete(options: { steps?: number; beta1?: number; betaT?: number } = {}): {
  betas: number[];
  alphaBars: number[];
  sigmas: number[];
} {
  const T = options.steps ?? 1000;
  const b1 = options.beta1 ?? 1e-4;
  const bT = options.betaT ?? 0.02;
  const betas: number[] = [];
  const alphaBars: number[] = [];
  const sigmas: number[] = [];
  let ab = 1;
  for (let i = 0; i < T; i++) {
    const b = T === 1 ? b1 : b1 + ((bT - b1) * i) / (T - 1);
    ab *= 1 - b;
    betas.push(b);
    alphaBars.push(ab);
    sigmas.push(Math.sqrt((1 - ab) / ab));
  }
  return { betas, alphaBars, sigmas };
}
