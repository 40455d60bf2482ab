/**
 * WebGPU (Dawn) backend. The adapter-honesty rules are plain functions; the rest runs on
 * SwiftShader's software Vulkan (Debian's chromium ships the ICD, scripts/install.sh installs
 * libvulkan1), which is how CI gets a WebGPU adapter without a GPU. Without that driver those
 * tests are skipped, saying why.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
/// <reference types="@webgpu/types" />
import { dawnCandidates, describeAdapter, isSoftwareAdapter, noAdapterMessage, startWebGpu, vulkanLoaderFound } from '../../src/runner/webgpu';
import { findSnippets } from '../../src/core/snippets/snippets';
import { startSnippet } from '../../src/runner/runSnippet';
import { distKernelPaths } from '../../src/cli/commands/run';
import { diffusion, rl, Rng, setBackend, releaseWebGpu, webGpuDevice } from '../../src/lab';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const swiftshader = existsSync(ICD) && vulkanLoaderFound() ? undefined : `needs ${ICD} (Debian chromium) and libvulkan1`;
const paths = distKernelPaths(join(__dirname, '..', '..', 'dist'));

describe('WebGPU adapter honesty', () => {
  it('software adapters by name or fallback flag; hardware ones are not', () => {
    assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', description: 'lavapipe' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere' }, true), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3090' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' }, false), false);
  });
  it('names the adapter: vendor, architecture, description; software says so', () => {
    const hw = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3090', software: false };
    assert.equal(describeAdapter(hw), 'GPU (WebGPU · nvidia · ampere · NVIDIA GeForce RTX 3090)');
    assert.match(describeAdapter({ ...hw, vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader', software: true }), /^software rendering, not a GPU \(WebGPU · google · swiftshader/);
  });
  it('no adapter: names the Vulkan loader package when it is missing, the driver when it is there', () => {
    assert.match(noAdapterMessage('linux', false), /libvulkan1/);
    assert.match(noAdapterMessage('linux', true), /Vulkan driver/);
    assert.doesNotMatch(noAdapterMessage('linux', true), /not installed/);
    const empty = mkdtempSync(join(tmpdir(), 'mln-vk-'));
    assert.equal(vulkanLoaderFound([empty]), false);
    mkdirSync(join(empty, 'lib'));
    writeFileSync(join(empty, 'lib', 'libvulkan.so.1'), '');
    assert.equal(vulkanLoaderFound([join(empty, 'lib')]), true);
  });
  it('dawn.node: $MLNOTES_DAWN first, then a platform package\'s dist/dawn/<platform>, then node_modules/webgpu', () => {
    const plat = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
    const kernels = join(__dirname, '..', '..', 'dist', 'kernels');
    const c = dawnCandidates(kernels, { MLNOTES_DAWN: '/opt/dawn.node' });
    assert.equal(c[0], '/opt/dawn.node');
    assert.equal(c[1], join(__dirname, '..', '..', 'dist', 'dawn', plat, 'dawn.node'));
    assert.equal(c[c.length - 1], join(__dirname, '..', '..', 'node_modules', 'webgpu', 'dist', plat, 'dawn.node'));
    assert.equal(dawnCandidates(kernels, {})[0], c[1]);
    // The folder "Install Native TensorFlow Backend" → WebGPU installs into.
    assert.ok(dawnCandidates(kernels, { MLNOTES_NATIVE_PATHS: '/store/native/node_modules' }).includes(join('/store/native/node_modules', 'webgpu', 'dist', plat, 'dawn.node')));
  });
});

/** Runs one TypeScript block through the built kernel with `env` added; resolves to its output. */
async function runBlock(code: string, backend: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mln-webgpu-'));
  const notePath = join(dir, 'note.md');
  const text = `# t\n\n\`\`\`ts {run id=b backend=${backend}}\n${code}\n\`\`\`\n`;
  writeFileSync(notePath, text);
  const all = findSnippets(text);
  const started = startSnippet({ notePath, snippet: all[0]!, all, paths, node: process.execPath, tfjsBackend: 'auto', nativeModulePaths: [], timeoutMs: 120_000, env });
  const { result, output } = await started.done;
  const text2 = output.items.filter((i) => i.kind === 'text').map((i) => (i as { text: string }).text).join('');
  const errors = output.items.filter((i) => i.kind === 'error').map((i) => (i as { message: string }).message);
  return { result, output, text: text2, errors };
}

const MATMUL = `import * as tf from '@tensorflow/tfjs';
const a = tf.tensor2d(Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i)), [64, 32]);
const b = tf.tensor2d(Array.from({ length: 32 * 16 }, (_, i) => Math.cos(i)), [32, 16]);
console.log('RESULT ' + JSON.stringify(Array.from(tf.matMul(a, b).dataSync())));`;

const results = (text: string): number[] => JSON.parse(/RESULT (.*)/.exec(text)![1]!) as number[];

describe('backend=webgpu in the TypeScript kernel (SwiftShader)', { skip: swiftshader ?? (existsSync(paths.tfjsKernel) ? false : 'needs npm run build') }, () => {
  const env = { VK_ICD_FILENAMES: ICD };
  it('a block with backend=webgpu gives the same matMul as wasm, and names the adapter as software', async () => {
    const gpu = await runBlock(MATMUL, 'webgpu', env);
    assert.equal(gpu.result.status, 'succeeded', gpu.errors.join('\n'));
    assert.equal(gpu.output.backend, 'webgpu');
    assert.match(gpu.output.device ?? '', /^software rendering, not a GPU \(WebGPU · google · swiftshader/);
    const wasm = await runBlock(MATMUL, 'wasm', env);
    assert.equal(wasm.output.backend, 'wasm');
    const g = results(gpu.text);
    const w = results(wasm.text);
    assert.equal(g.length, 64 * 16);
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - w[i]!) <= 1e-4 * Math.max(1, Math.abs(w[i]!)), `element ${i}: ${g[i]} vs ${w[i]}`);
  });
  it('an op the webgpu backend lacks (BitwiseAnd) runs on the cpu backend and feeds back into the GPU', async () => {
    const code = `import * as tf from '@tensorflow/tfjs';
const r = tf.bitwiseAnd(tf.tensor1d([12, 10, 7], 'int32'), tf.tensor1d([10, 6, 5], 'int32'));
console.log('RESULT ' + JSON.stringify(Array.from(tf.add(r, 1).dataSync())));`;
    const gpu = await runBlock(code, 'webgpu', env);
    assert.equal(gpu.result.status, 'succeeded', gpu.errors.join('\n'));
    assert.deepEqual(results(gpu.text), [12 & 10, 10 & 6, 7 & 5].map((v) => v + 1));
  });
  it('auto does not pick the software adapter', async () => {
    const auto = await runBlock(MATMUL, 'auto', env);
    assert.equal(auto.result.status, 'succeeded', auto.errors.join('\n'));
    assert.equal(auto.output.backend, 'wasm');
    // Dawn's and the Vulkan loader's chatter while probing stays out of the run's output.
    assert.doesNotMatch(auto.text, /XDG_RUNTIME_DIR|Vulkan|Dawn|dawn/);
  });
  it('auto with no Vulkan driver at all: wasm, and the output stays calm', async () => {
    const auto = await runBlock(MATMUL, 'auto', { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    assert.equal(auto.output.backend, 'wasm');
    assert.doesNotMatch(auto.text, /XDG_RUNTIME_DIR|Vulkan|Dawn|dawn/);
  });
  it('no Vulkan driver: backend=webgpu fails with a message naming what to install', async () => {
    const none = await runBlock(MATMUL, 'webgpu', { VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    assert.equal(none.result.status, 'failed');
    assert.match(none.errors.join('\n'), /webgpu backend is not available: WebGPU found no GPU adapter.*Vulkan driver/);
  });
});

const LAB_STEP = `import { diffusion } from 'ml-notes/lab';
const m = new diffusion.DenoiserMLP({ seed: 3 });
const r = await diffusion.train(m, { data: 'twoMoons', steps: 1, batchSize: 128, seed: 1 });
console.log('RESULT ' + JSON.stringify([...r.losses, ...Array.from(m.getFlat().dataSync()).slice(0, 50)]));`;

describe('the lab inside the kernel', { skip: existsSync(paths.tfjsKernel) ? false : 'needs npm run build' }, () => {
  it('a denoiser step on wasm (the lab shares the kernel\'s backend packages, no second copy)', async () => {
    const wasm = await runBlock(LAB_STEP, 'wasm');
    assert.equal(wasm.result.status, 'succeeded', wasm.errors.join('\n'));
    assert.equal(results(wasm.text).length, 51);
  });
  it('the same denoiser step on webgpu (SwiftShader) gives the same loss and parameters', { skip: swiftshader }, async () => {
    const gpu = await runBlock(LAB_STEP, 'webgpu', { VK_ICD_FILENAMES: ICD });
    assert.equal(gpu.result.status, 'succeeded', gpu.errors.join('\n'));
    const wasm = await runBlock(LAB_STEP, 'wasm');
    const g = results(gpu.text);
    const w = results(wasm.text);
    assert.equal(g.length, w.length);
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i]! - w[i]!) <= 1e-4 * Math.max(1, Math.abs(w[i]!)), `value ${i}: ${g[i]} vs ${w[i]}`);
  });
});

describe('the lab on WebGPU gives the numbers it gives on wasm (SwiftShader)', { skip: swiftshader }, () => {
  const icd = process.env['VK_ICD_FILENAMES'];
  before(() => {
    process.env['VK_ICD_FILENAMES'] = ICD;
  });
  after(() => {
    releaseWebGpu();
    if (icd === undefined) delete process.env['VK_ICD_FILENAMES'];
    else process.env['VK_ICD_FILENAMES'] = icd;
  });

  async function onBoth<T>(fn: () => Promise<T>): Promise<{ wasm: T; webgpu: T }> {
    await setBackend('wasm');
    const wasm = await fn();
    await setBackend('webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.match(webGpuDevice() ?? '', /software rendering/);
    const webgpu = await fn();
    return { wasm, webgpu };
  }
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };

  it('denoiser training steps: same losses and parameters', async () => {
    const r = await onBoth(async () => {
      const m = new diffusion.DenoiserMLP({ seed: 3 });
      const res = await diffusion.train(m, { data: 'twoMoons', steps: 2, batchSize: 256, seed: 1 });
      const flat = Array.from(m.getFlat().dataSync());
      m.dispose();
      return { losses: res.losses, flat };
    });
    close(r.webgpu.losses, r.wasm.losses, 1e-4, 'loss');
    close(r.webgpu.flat, r.wasm.flat, 1e-4, 'params');
  });
  it('samplers: Heun from the same noise lands on the same points', async () => {
    const r = await onBoth(async () => {
      const m = new diffusion.DenoiserMLP({ seed: 5 });
      const noise = tf.tensor2d(Array.from({ length: 64 * 2 }, (_, i) => Math.sin(7 * i) * 2), [64, 2]);
      const out = diffusion.samplers.heun((x, s) => m.denoise(x, s), noise, { steps: 4 });
      const xs = Array.from(out.x.dataSync());
      tf.dispose([noise, out.x]);
      m.dispose();
      return xs;
    });
    close(r.webgpu, r.wasm, 1e-3, 'x');
  });
  it('RL nets: a policy MLP gives the same outputs', async () => {
    const r = await onBoth(async () => {
      const net = new rl.Mlp([4, 32, 32, 2], 'tanh', new Rng(2));
      const obs = tf.tensor2d(Array.from({ length: 16 * 4 }, (_, i) => Math.cos(i)), [16, 4]);
      const y = net.apply(obs);
      const out = Array.from(y.dataSync());
      tf.dispose([obs, y, ...net.vars]);
      return out;
    });
    close(r.webgpu, r.wasm, 1e-4, 'y');
  });
  it('release() destroys the GPU device (its memory goes back)', async () => {
    releaseWebGpu();
    const g = await startWebGpu(tf, { fromDir: join(__dirname, '..', '..', 'src', 'runner'), allowSoftware: true });
    const y = tf.matMul(tf.ones([8, 8]), tf.ones([8, 8]));
    assert.equal(y.dataSync()[0], 8);
    let lost: GPUDeviceLostInfo | undefined;
    void g.gpuDevice.lost.then((info) => (lost = info));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lost, undefined);
    g.release();
    const info = await Promise.race([g.gpuDevice.lost, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    assert.equal(info?.reason, 'destroyed');
    await setBackend('wasm');
  });
});
