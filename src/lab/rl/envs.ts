import { Rng } from '../rng';

export interface StepResult {
  obs: number[];
  reward: number;
  /** The MDP reached a terminal state (no bootstrapping past it). */
  terminated: boolean;
  /** The time limit ended the episode (bootstrap from `obs`). */
  truncated: boolean;
}

export interface Env<A> {
  readonly observationSize: number;
  reset(rng: Rng): number[];
  step(action: A): StepResult;
}

/**
 * CartPole-v1 exactly as Gymnasium 0.29/1.0 (`classic_control/cartpole.py` with the v1
 * TimeLimit): Euler integrator, τ = 0.02, reward 1 on every step including the terminating one,
 * termination at |x| > 2.4 or |θ| > 12°, truncation after 500 steps.
 * Observations are [x, ẋ, θ, θ̇] in float64 (Gymnasium returns the same values as float32).
 */
export class CartPole implements Env<number> {
  static readonly gravity = 9.8;
  static readonly masscart = 1.0;
  static readonly masspole = 0.1;
  static readonly length = 0.5;
  static readonly forceMag = 10.0;
  static readonly tau = 0.02;
  static readonly thetaThreshold = (12 * 2 * Math.PI) / 360;
  static readonly xThreshold = 2.4;
  static readonly maxSteps = 500;
  readonly observationSize = 4;
  readonly actionCount = 2;
  state = [0, 0, 0, 0];
  steps = 0;

  reset(rng: Rng): number[] {
    this.state = [0, 0, 0, 0].map(() => rng.uniform(-0.05, 0.05));
    this.steps = 0;
    return [...this.state];
  }

  /** Sets the state directly (for tests and demonstrations). */
  setState(state: number[], steps = 0): void {
    this.state = [...state];
    this.steps = steps;
  }

  step(action: number): StepResult {
    const C = CartPole;
    let [x, xDot, theta, thetaDot] = this.state;
    const force = action === 1 ? C.forceMag : -C.forceMag;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const totalMass = C.masspole + C.masscart;
    const poleMassLength = C.masspole * C.length;
    const temp = (force + poleMassLength * thetaDot * thetaDot * sin) / totalMass;
    const thetaAcc = (C.gravity * sin - cos * temp) / (C.length * (4 / 3 - (C.masspole * cos * cos) / totalMass));
    const xAcc = temp - (poleMassLength * thetaAcc * cos) / totalMass;
    x += C.tau * xDot;
    xDot += C.tau * xAcc;
    theta += C.tau * thetaDot;
    thetaDot += C.tau * thetaAcc;
    this.state = [x, xDot, theta, thetaDot];
    this.steps++;
    const terminated = x < -C.xThreshold || x > C.xThreshold || theta < -C.thetaThreshold || theta > C.thetaThreshold;
    return { obs: [...this.state], reward: 1, terminated, truncated: !terminated && this.steps >= C.maxSteps };
  }
}

/** Python's `((x + π) % 2π) − π` (Python's % is non-negative for a positive modulus). */
export function angleNormalize(x: number): number {
  const m = 2 * Math.PI;
  return ((((x + Math.PI) % m) + m) % m) - Math.PI;
}

/**
 * Pendulum-v1 exactly as Gymnasium (`classic_control/pendulum.py`): torque clipped to ±2,
 * θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(ml²) u) dt, ±8), θ' = θ + θ̇' dt, reward
 * −(norm(θ)² + 0.1 θ̇² + 0.001 u²) computed from the state before the step, never terminates,
 * truncated after 200 steps. Observation [cos θ, sin θ, θ̇].
 */
export class Pendulum implements Env<number> {
  static readonly maxSpeed = 8;
  static readonly maxTorque = 2;
  static readonly dt = 0.05;
  static readonly g = 10.0;
  static readonly m = 1;
  static readonly l = 1;
  static readonly maxSteps = 200;
  readonly observationSize = 3;
  readonly actionSize = 1;
  th = 0;
  thdot = 0;
  steps = 0;

  reset(rng: Rng): number[] {
    this.th = rng.uniform(-Math.PI, Math.PI);
    this.thdot = rng.uniform(-1, 1);
    this.steps = 0;
    return this.obs();
  }

  setState(th: number, thdot: number, steps = 0): void {
    this.th = th;
    this.thdot = thdot;
    this.steps = steps;
  }

  obs(): number[] {
    return [Math.cos(this.th), Math.sin(this.th), this.thdot];
  }

  step(action: number): StepResult {
    const P = Pendulum;
    const u = Math.min(P.maxTorque, Math.max(-P.maxTorque, action));
    const th = this.th;
    const thdot = this.thdot;
    const costs = angleNormalize(th) ** 2 + 0.1 * thdot * thdot + 0.001 * u * u;
    let newThdot = thdot + ((3 * P.g) / (2 * P.l) * Math.sin(th) + (3 / (P.m * P.l * P.l)) * u) * P.dt;
    newThdot = Math.min(P.maxSpeed, Math.max(-P.maxSpeed, newThdot));
    this.th = th + newThdot * P.dt;
    this.thdot = newThdot;
    this.steps++;
    return { obs: this.obs(), reward: -costs, terminated: false, truncated: this.steps >= P.maxSteps };
  }
}
