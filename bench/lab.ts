/**
 * npm run bench:lab [-- --only diffusion|rl|speed] [--backends wasm,cpu] [--quick]
 *
 * speed: per backend, training steps/s of the toy denoiser (batch 1024); PyTorch's CPU speed on
 * the same model (Debian's /usr/bin/python3 with torch) and the ratio.
 * diffusion: Euler vs Heun on exact Gaussian mixtures (σ_max 80, ρ 7, a 1999-NFE Heun
 * reference, 5 noise draws of 512 points each): the equal-NFE crossover and fitted convergence
 * slopes with their spread; the sliced-Wasserstein distance of samples of a trained denoiser.
 * rl: a random CartPole policy's mean episode length; REINFORCE, actor-critic, PPO and TRPO
 * to Gymnasium's CartPole-v1 threshold (100-episode average ≥ 475) within 1000 episodes, and
 * DDPG's deterministic return on Pendulum-v1 against −200 (the −150…−200 commonly published),
 * each printed PASS/FAIL (any FAIL sets the exit code).
 *
 * Where the denoiser's time went (tf.profile on wasm, one Adam step, batch 1024): with
 * `optimizer.minimize` the backward pass uses transposed matMuls, which tfjs-backend-wasm runs
 * ~10× slower than plain ones (~15 ms vs ~1.4 ms for 1024×128×128), tf.sum(axis 0) for bias
 * gradients took ~1 ms, and Adam ran ~10 kernels per variable. DenoiserMLP.lossAndGrad writes
 * the backward pass out with plain matMuls only (no [B, H] transposes: layer 1 also runs
 * feature-major, dW3 is computed transposed), bias gradients as ones·dZ, and FlatAdam updates one
 * flat vector: 66 kernels a step, ~5–6 ms of kernel time unloaded, dominated by the three
 * 1024×128×128 matMuls at XNNPACK's ~24 GFLOP/s (one thread, 128-bit SIMD).
 */
import { spawn } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { data, diffusion, rl, Rng, setBackend, webGpuDevice, type BackendName } from '../src/lab';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = arg('only');
const quick = args.includes('--quick');
const backends = (arg('backends') ?? 'wasm,cpu').split(',') as BackendName[];
const want = (part: string): boolean => !only || only === part;
const out = (s: string): void => void process.stdout.write(s + '\n');

/** Timed chunks of denoiser training on one model (the first call also warms up). */
function tfjsTrainer(): { run: (steps: number) => Promise<number>; dispose: () => void } {
  const m = new diffusion.DenoiserMLP({ seed: 0 });
  let seed = 0;
  return {
    run: async (steps) => (await diffusion.train(m, { data: 'twoMoons', steps, seed: seed++ })).stepsPerSecond,
    dispose: () => m.dispose(),
  };
}

/** bench/lab_torch.py in --serve mode: each round(n) trains n steps and resolves to steps/s. */
async function startTorch(): Promise<{ round: (n: number) => Promise<number>; note: string; close: () => void } | string> {
  const py = process.env.ML_NOTES_TORCH_PYTHON ?? '/usr/bin/python3';
  const child = spawn(py, [path.join(__dirname, 'lab_torch.py'), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: ((l: string | undefined) => void)[] = [];
  let buf = '';
  let stderr = '';
  let ended = false;
  const finish = (): void => {
    ended = true;
    while (waiters.length) waiters.shift()!(undefined);
  };
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  child.on('error', finish);
  child.on('close', finish);
  const next = (): Promise<string | undefined> =>
    lines.length ? Promise.resolve(lines.shift()) : ended ? Promise.resolve(undefined) : new Promise((r) => waiters.push(r));
  const first = await next();
  if (!first) {
    const why = stderr.trim().split('\n').pop() || 'not runnable';
    return `skipped: ${py} has no usable torch (${why})`;
  }
  const hello = JSON.parse(first);
  return {
    note: `torch ${hello.torch}, ${hello.threads} thread(s), ${py}`,
    round: async (n) => {
      child.stdin.write(`${n}\n`);
      const l = await next();
      if (!l) throw new Error(`torch process ended: ${stderr.trim()}`);
      return JSON.parse(l).stepsPerSecond;
    },
    close: () => {
      child.stdin.end();
    },
  };
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** JavaScript and software-rendered WebGPU (SwiftShader: ~0.3 steps/s) get short rounds. */
function slowBackend(b: BackendName): boolean {
  return b === 'cpu' || (b === 'webgpu' && /^software/.test(webGpuDevice() ?? ''));
}

/** The same model and loss trained the straightforward way: layers + tf.train.adam().minimize. */
async function speedAutograd(backend: BackendName): Promise<number> {
  const m = new diffusion.DenoiserMLP({ seed: 0 });
  const vars = m.params.map((p) => tf.variable(p));
  const opt = tf.train.adam(1e-3);
  const rng = new Rng(0);
  const B = 1024;
  const step = (): void => {
    const xin = new Float32Array(B * 3);
    const target = new Float32Array(B * 2);
    const x0 = data.toySamplers.twoMoons(B, rng);
    for (let i = 0; i < B; i++) {
      const c = diffusion.edm.precondition(diffusion.edm.sampleTrainingSigma(rng.normal()), 1);
      const sigma = Math.exp(4 * c.cNoise);
      for (let d = 0; d < 2; d++) {
        const x = x0[2 * i + d] + sigma * rng.normal();
        xin[3 * i + d] = c.cIn * x;
        target[2 * i + d] = (x0[2 * i + d] - c.cSkip * x) / c.cOut;
      }
      xin[3 * i + 2] = c.cNoise;
    }
    tf.tidy(() => {
      const X = tf.tensor2d(xin, [B, 3]);
      const Y = tf.tensor2d(target, [B, 2]);
      const loss = opt.minimize(() => {
        const h1 = tf.relu(tf.add(tf.matMul(X, vars[0] as tf.Tensor2D), vars[1]));
        const h2 = tf.relu(tf.add(tf.matMul(h1 as tf.Tensor2D, vars[2] as tf.Tensor2D), vars[3]));
        return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(h2 as tf.Tensor2D, vars[4] as tf.Tensor2D), vars[5]), Y))) as tf.Scalar;
      }, true);
      loss!.dataSync();
    });
  };
  step();
  const n = slowBackend(backend) ? 3 : quick ? 10 : 40;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const sps = n / ((performance.now() - t0) / 1000);
  tf.dispose(vars);
  opt.dispose();
  m.dispose();
  return sps;
}

async function sampleQuality(): Promise<void> {
  const steps = quick ? 300 : 2000;
  for (const name of ['twoMoons', 'ring8'] as const) {
    const m = new diffusion.DenoiserMLP({ seed: 0 });
    const t = await diffusion.train(m, { data: name, steps, lr: 1e-3, seed: 0 });
    const rng = new Rng(9);
    const truth = tf.tensor2d(data.toySamplers[name](2000, rng), [2000, 2]);
    const truth2 = tf.tensor2d(data.toySamplers[name](2000, rng), [2000, 2]);
    const noise = tf.tensor2d(rng.normals(4000), [2000, 2]);
    const h = diffusion.samplers.heun(m.asDenoiser(), noise, { steps: 32 });
    const e = diffusion.samplers.euler(m.asDenoiser(), noise, { steps: 63 });
    out(
      `  ${name}: ${steps} steps (batch 1024, ${t.seconds.toFixed(1)} s, final loss ${(t.losses.slice(-50).reduce((a, b) => a + b, 0) / 50).toFixed(3)}) → sliced W2 ` +
        `Heun(63 NFE) ${data.slicedWasserstein(truth, h.x).toFixed(3)}, Euler(63 NFE) ${data.slicedWasserstein(truth, e.x).toFixed(3)}, ` +
        `noise ${data.slicedWasserstein(truth, noise).toFixed(3)}, two true samples ${data.slicedWasserstein(truth, truth2).toFixed(3)}`,
    );
    tf.dispose([truth, truth2, noise, h.x, e.x]);
    m.dispose();
  }
}

const meanSd = (a: number[]): string => {
  const m = a.reduce((x, y) => x + y, 0) / a.length;
  const sd = Math.sqrt(a.reduce((x, y) => x + (y - m) ** 2, 0) / Math.max(1, a.length - 1));
  return `${m.toFixed(2)} ± ${sd.toFixed(2)}`;
};

/** Least-squares slope of −log error against log NFE. */
const fittedSlope = (nfes: number[], errs: number[]): number => {
  const lx = nfes.map(Math.log);
  const ly = errs.map(Math.log);
  const mx = lx.reduce((a, b) => a + b) / lx.length;
  const my = ly.reduce((a, b) => a + b) / ly.length;
  let num = 0;
  let den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * (ly[i] - my);
    den += (x - mx) ** 2;
  });
  return -num / den;
};

/**
 * The equal-NFE crossover (first odd NFE from 9 at which Heun's error is below Euler's) and the
 * slopes, per problem over several noise draws. Errors are the RMSE over points and, since one
 * point switching modes can dominate an RMSE, also the median per-point error.
 */
function convergence(): void {
  const { samplers, GaussianMixture } = diffusion;
  const ring = Array.from({ length: 8 }, (_, k) => [2 * Math.cos((k * Math.PI) / 4), 2 * Math.sin((k * Math.PI) / 4)]);
  const problems: [string, () => diffusion.GaussianMixture][] = [
    ['3 components, std 0.3 (the unit test and note 01)', () => new GaussianMixture([[-2, 0], [2, 0], [0, 2.5]], [0.5, 0.3, 0.2], 0.3)],
    ['8-ring, radius 2, std 0.2', () => new GaussianMixture(ring, Array(8).fill(1), 0.2)],
    ['2 components ±1, std 0.2', () => new GaussianMixture([[-1, 0], [1, 0]], [0.5, 0.5], 0.2)],
    ['one Gaussian N(0, I)', () => new GaussianMixture([[0, 0]], [1], 1)],
  ];
  const seeds = quick ? [0, 1] : [0, 1, 2, 3, 4];
  for (const [name, make] of problems) {
    const g = make();
    const cross: number[] = [];
    const slopes = { eu: [] as number[], he: [] as number[], euMed: [] as number[], heMed: [] as number[] };
    for (const seed of seeds) {
      const noise = tf.tensor2d(new Rng(100 + seed).normals(512 * 2), [512, 2]);
      const ref = samplers.heun(g.denoise, noise, { steps: 1000 }).x;
      const errs = (heun: boolean, nfe: number): [number, number] => {
        const r = heun ? samplers.heun(g.denoise, noise, { steps: (nfe + 1) / 2 }) : samplers.euler(g.denoise, noise, { steps: nfe });
        const per = tf.tidy(() => tf.sum(tf.square(tf.sub(r.x, ref)), 1).dataSync() as Float32Array);
        r.x.dispose();
        const sorted = Array.from(per).sort((a, b) => a - b);
        return [Math.sqrt(per.reduce((a, b) => a + b, 0) / per.length), Math.sqrt(sorted[sorted.length >> 1])];
      };
      let c = NaN;
      for (let nfe = 9; nfe <= 61 && Number.isNaN(c); nfe += 2) if (errs(true, nfe)[0] < errs(false, nfe)[0]) c = nfe;
      cross.push(c);
      const eN = [101, 201, 401];
      const hN = [51, 101, 201];
      const eE = eN.map((n) => errs(false, n));
      const hE = hN.map((n) => errs(true, n));
      slopes.eu.push(fittedSlope(eN, eE.map((e) => e[0])));
      slopes.euMed.push(fittedSlope(eN, eE.map((e) => e[1])));
      slopes.he.push(fittedSlope(hN, hE.map((e) => e[0])));
      slopes.heMed.push(fittedSlope(hN, hE.map((e) => e[1])));
      tf.dispose([noise, ref]);
    }
    g.dispose();
    out(
      `  ${name}: Heun first better at NFE ${cross.join(', ')} (draws ${seeds.join(', ')}); slope Euler ${meanSd(slopes.eu)} ` +
        `(median error ${meanSd(slopes.euMed)}), Heun ${meanSd(slopes.he)} (median error ${meanSd(slopes.heMed)})`,
    );
  }
}

const verdict = (ok: boolean): string => {
  if (!ok) process.exitCode = 1;
  return ok ? 'PASS' : 'FAIL';
};

async function rlBench(): Promise<void> {
  const env = new rl.envs.CartPole();
  const rrng = new Rng(0);
  let total = 0;
  for (let e = 0; e < 20000; e++) {
    env.reset(rrng);
    for (;;) {
      total++;
      const r = env.step(rrng.int(2));
      if (r.terminated || r.truncated) break;
    }
  }
  out(`  CartPole-v1, uniformly random actions: mean episode length ${(total / 20000).toFixed(1)} over 20000 episodes`);
  // Note 12's corridor (states 0…4, left at 0 stays, goal 4, at most 40 steps): E[T] = 20 uncapped.
  let corridor = 0;
  for (let e = 0; e < 200000; e++) {
    let s = 0;
    let k = 0;
    while (s !== 4 && k < 40) {
      s = rrng.random() < 0.5 ? s + 1 : Math.max(0, s - 1);
      k++;
    }
    corridor += k;
  }
  out(`  note 12's corridor, random policy: mean episode length ${(corridor / 200000).toFixed(2)} with the 40-step cap (exact: 18.29; 20 without it)`);
  const maxEpisodes = quick ? 200 : 1000;
  const algos = [
    ['REINFORCE+baseline', rl.algos.reinforce],
    ['actor-critic (A2C, GAE)', rl.algos.actorCritic],
    ['PPO-clip', rl.algos.ppo],
    ['TRPO', rl.algos.trpo],
  ] as const;
  for (const [name, algo] of algos) {
    const r = await algo({ seed: 0, targetReturn: 475, maxEpisodes });
    out(
      `  ${verdict(r.solved)} ${name}: ${r.solved ? 'reached' : 'did NOT reach'} 100-episode average ≥ 475 within ${maxEpisodes} episodes ` +
        `(${r.episodes} episodes, ${r.steps} env steps, ${r.seconds.toFixed(1)} s, average ${r.average.toFixed(1)})`,
    );
  }
  const steps = quick ? 3000 : 15000;
  const d = await rl.algos.ddpg({ seed: 0, maxSteps: steps, window: 10, evalEpisodes: 20 });
  out(
    `  ${verdict(d.evalReturn! >= -200)} DDPG Pendulum-v1: ${steps} steps (${d.episodes} episodes, ${d.seconds.toFixed(1)} s): average return of the deterministic actor ` +
      `over 20 fresh episodes ${d.evalReturn!.toFixed(1)} (threshold −200; training episodes, last 10: ${d.average.toFixed(1)})`,
  );
}

async function main(): Promise<void> {
  out(`bench:lab  node ${process.version}, tfjs ${tf.version.tfjs}${quick ? ', --quick' : ''}`);
  if (want('speed')) {
    out('denoiser training speed ([x·c_in, c_noise] 3→128→128→2 ReLU, batch 1024, Adam, EDM loss on two moons):');
    // The machine may be shared with other work, which swings both tfjs and PyTorch by several
    // times within seconds; so the default backend and PyTorch run in alternating short rounds
    // and the medians (and the best rounds, closest to an idle machine) are compared.
    const torch = await startTorch();
    const rounds = quick ? 3 : 9;
    for (const b of backends) {
      await setBackend(b);
      if (b === 'webgpu') out(`  webgpu adapter: ${webGpuDevice()}`);
      const tr = tfjsTrainer();
      const n = slowBackend(b) ? 3 : 40;
      await tr.run(slowBackend(b) ? 1 : 10);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let r = 0; r < (slowBackend(b) ? 2 : rounds); r++) {
        ours.push(await tr.run(n));
        if (typeof torch !== 'string' && b === backends[0]) theirs.push(await torch.round(n));
      }
      tr.dispose();
      const base = await speedAutograd(b);
      out(
        `  tfjs ${b}: median ${median(ours).toFixed(1)} steps/s, best round ${Math.max(...ours).toFixed(1)} ` +
          `(${ours.length} rounds of ${n}; layers + tf.train.adam().minimize: ${base.toFixed(1)} steps/s)`,
      );
      if (theirs.length) {
        out(`  PyTorch CPU, interleaved: median ${median(theirs).toFixed(1)} steps/s, best round ${Math.max(...theirs).toFixed(1)} (${typeof torch !== 'string' ? torch.note : ''})`);
        out(`  ratio tfjs ${b} / PyTorch: ${(median(ours) / median(theirs)).toFixed(2)} (medians), ${(Math.max(...ours) / Math.max(...theirs)).toFixed(2)} (best rounds)`);
      }
    }
    if (typeof torch === 'string') out(`  PyTorch: ${torch}`);
    else torch.close();
  }
  await setBackend(backends[0]);
  if (want('diffusion')) {
    out(`Euler vs Heun on exact mixtures (${backends[0]}; RMSE to the reference; mean ± sd over draws):`);
    convergence();
    out(`sample quality on ${backends[0]} (sliced W2 to 2000 true points; lower is better):`);
    await sampleQuality();
  }
  if (want('rl')) {
    out(`RL on ${backends[0]}:`);
    await rlBench();
  }
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
