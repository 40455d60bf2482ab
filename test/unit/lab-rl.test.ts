import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rl, Rng, setBackend } from '../../src/lab';

const { CartPole, Pendulum, angleNormalize } = rl.envs;

before(async () => {
  await setBackend('wasm');
});

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('lab/rl: CartPole-v1 (Gymnasium dynamics)', () => {
  test('three steps match the published equations, worked out here', () => {
    const env = new CartPole();
    env.setState([0.01, -0.02, 0.03, 0.04]);
    // Gymnasium cartpole.py, written out again: g 9.8, m_c 1, m_p 0.1, l 0.5, F 10, τ 0.02, Euler.
    let [x, v, th, w] = [0.01, -0.02, 0.03, 0.04];
    for (const a of [1, 0, 1]) {
      const f = a === 1 ? 10 : -10;
      const c = Math.cos(th);
      const s = Math.sin(th);
      const temp = (f + 0.05 * w * w * s) / 1.1;
      const thacc = (9.8 * s - c * temp) / (0.5 * (4 / 3 - (0.1 * c * c) / 1.1));
      const xacc = temp - (0.05 * thacc * c) / 1.1;
      [x, v, th, w] = [x + 0.02 * v, v + 0.02 * xacc, th + 0.02 * w, w + 0.02 * thacc];
      const r = env.step(a);
      [x, v, th, w].forEach((e, i) => close(r.obs[i], e));
      assert.equal(r.reward, 1);
      assert.equal(r.terminated, false);
    }
    // First step from this state by hand: temp = (10 + 0.05·0.0016·sin 0.03)/1.1 ≈ 9.090911.
    const e2 = new CartPole();
    e2.setState([0, 0, 0, 0]);
    const r = e2.step(1);
    // θ = 0: temp = 10/1.1, θ̈ = −temp/(0.5(4/3 − 0.1/1.1)), ẍ = temp − 0.05 θ̈/1.1.
    const temp = 10 / 1.1;
    const thacc = -temp / (0.5 * (4 / 3 - 0.1 / 1.1));
    close(r.obs[1], 0.02 * (temp - (0.05 * thacc) / 1.1));
    close(r.obs[3], 0.02 * thacc);
    close(r.obs[0], 0);
    close(r.obs[2], 0);
  });

  test('terminates exactly past ±2.4 m or ±12°, with reward 1 on that step; strict inequalities', () => {
    const thr = (12 * 2 * Math.PI) / 360;
    const env = new CartPole();
    env.setState([2.4, 0, 0, 0]); // x = 2.4 is still inside (x > 2.4 terminates)
    assert.equal(env.step(1).terminated, false);
    env.setState([2.39, 1, 0, 0]); // x → 2.41
    const r = env.step(1);
    assert.equal(r.terminated, true);
    assert.equal(r.reward, 1);
    // Always pushing right: the pole falls left; find the step by our own simulation.
    env.setState([0, 0, 0, 0]);
    let s = [0, 0, 0, 0];
    let expected = 0;
    for (let k = 1; k < 100 && !expected; k++) {
      const [x, v, th, w] = s;
      const c = Math.cos(th);
      const sn = Math.sin(th);
      const temp = (10 + 0.05 * w * w * sn) / 1.1;
      const thacc = (9.8 * sn - c * temp) / (0.5 * (4 / 3 - (0.1 * c * c) / 1.1));
      s = [x + 0.02 * v, v + 0.02 * (temp - (0.05 * thacc * c) / 1.1), th + 0.02 * w, w + 0.02 * thacc];
      if (Math.abs(s[0]) > 2.4 || Math.abs(s[2]) > thr) expected = k;
    }
    let n = 0;
    let done = false;
    while (!done) {
      n++;
      done = env.step(1).terminated;
    }
    assert.equal(n, expected);
    assert.ok(n > 5 && n < 20);
  });

  test('truncates at step 500, resets uniformly in ±0.05', () => {
    const env = new CartPole();
    const rng = new Rng(1);
    for (let i = 0; i < 20; i++) for (const v of env.reset(rng)) assert.ok(v >= -0.05 && v < 0.05);
    env.setState([0, 0, 0, 0], 498);
    const a = env.step(1);
    assert.equal(a.truncated, false);
    // Step 500 truncates even though the pole is up.
    const b = env.step(0);
    assert.equal(b.truncated, true);
    assert.equal(b.terminated, false);
  });
});

describe('lab/rl: Pendulum-v1 (Gymnasium dynamics)', () => {
  test('steps, reward from the pre-step state, clipping, observation', () => {
    const env = new Pendulum();
    env.setState(1.0, 0.5);
    let [th, thd] = [1.0, 0.5];
    for (const u of [0.7, -3, 5]) {
      const uc = Math.max(-2, Math.min(2, u));
      const norm = ((((th + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;
      const cost = norm * norm + 0.1 * thd * thd + 0.001 * uc * uc;
      let nthd = thd + (((3 * 10) / 2) * Math.sin(th) + 3 * uc) * 0.05;
      nthd = Math.max(-8, Math.min(8, nthd));
      th = th + nthd * 0.05;
      thd = nthd;
      const r = env.step(u);
      close(r.reward, -cost);
      close(r.obs[0], Math.cos(th));
      close(r.obs[1], Math.sin(th));
      close(r.obs[2], thd);
      assert.equal(r.terminated, false);
    }
    // By hand: th = π/2, thdot = 0, u = 0: thdot' = 15·1·0.05 = 0.75, th' = π/2 + 0.0375,
    // reward = −(π/2)².
    env.setState(Math.PI / 2, 0);
    const r = env.step(0);
    close(r.obs[2], 0.75);
    close(r.obs[0], Math.cos(Math.PI / 2 + 0.0375));
    close(r.reward, -((Math.PI / 2) ** 2));
    // Speed clip at 8.
    env.setState(Math.PI / 2, 7.9);
    close(env.step(2).obs[2], 8);
    close(angleNormalize(3 * Math.PI), -Math.PI, 1e-12);
    close(angleNormalize(-0.5), -0.5);
  });

  test('never terminates, truncates at 200; reset th ~ U(−π, π), thdot ~ U(−1, 1)', () => {
    const env = new Pendulum();
    const rng = new Rng(2);
    for (let i = 0; i < 20; i++) {
      const o = env.reset(rng);
      assert.ok(Math.abs(o[2]) <= 1 && Math.abs(o[0] ** 2 + o[1] ** 2 - 1) < 1e-12);
    }
    env.reset(rng);
    let n = 0;
    let r;
    do {
      r = env.step(rng.uniform(-2, 2));
      n++;
      assert.equal(r.terminated, false);
    } while (!r.truncated);
    assert.equal(n, 200);
  });
});

describe('lab/rl: algorithms (short, seeded)', () => {
  test('REINFORCE with baseline solves CartPole-v1 (100-episode average ≥ 475) within 600 episodes', async () => {
    // Gymnasium's threshold. Seeds 0 and 1 reach it after 260 and 337 episodes; A2C, PPO and
    // TRPO take 20–75 s each on this machine, so their runs to 475 are in bench:lab.
    const r = await rl.algos.reinforce({ seed: 0, maxEpisodes: 600, targetReturn: 475 });
    assert.ok(r.solved, `average ${r.average.toFixed(1)} after ${r.episodes} episodes`);
  });

  test('actor-critic learns; PPO, TRPO and DDPG run, report episodes and stop on abort', async () => {
    // A random policy lasts ~22 steps; A2C's last 10 episodes after 8000 steps average 98–221
    // over seeds 1–3 (a sign error would stay near 22 or fall).
    const ac = await rl.algos.actorCritic({ seed: 1, maxSteps: 8000 });
    const last10 = ac.returns.slice(-10).reduce((a, b) => a + b, 0) / 10;
    assert.ok(last10 > 60, `A2C last-10 average ${last10}`);
    const pp = await rl.algos.ppo({ seed: 1, maxSteps: 512, batchSteps: 512, epochs: 2 });
    assert.ok(pp.steps >= 512);
    const updates: { kl: number; accepted: boolean }[] = [];
    await rl.algos.trpo({ seed: 1, maxSteps: 1000, batchSteps: 500, onUpdate: (u) => updates.push(u) });
    assert.equal(updates.length, 2);
    for (const u of updates) if (u.accepted) assert.ok(u.kl <= 0.01 + 1e-9);
    assert.ok(updates.some((u) => u.accepted));
    const dd = await rl.algos.ddpg({ seed: 1, maxSteps: 400, startSteps: 200, batchSize: 32 });
    assert.equal(dd.episodes, 2);
    assert.ok(dd.returns.every((v) => v < 0 && v > -2000));
    const ctl = new AbortController();
    const ab = await rl.algos.reinforce({ seed: 0, signal: ctl.signal, onEpisode: (e) => e.episode === 3 && ctl.abort() });
    assert.equal(ab.episodes, 3);
  });

  test('conjugate gradient solves an SPD system', () => {
    const A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]];
    const b = Float64Array.from([1, 2, 3]);
    const x = rl.conjugateGradient((v) => Float64Array.from(A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0))), b, 3);
    A.forEach((row, i) => close(row.reduce((s, a, j) => s + a * x[j], 0), b[i], 1e-9));
  });
});
