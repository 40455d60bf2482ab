/// <reference types="@webgpu/types" />
/**
 * TensorFlow.js on WebGPU in Node: Dawn's Node binding (`dawn.node` from the npm package
 * `webgpu`) gives `navigator.gpu`, and @tensorflow/tfjs-backend-webgpu runs on it. Used by the
 * TypeScript kernel and by the lab (bench, tests) — one implementation of "start WebGPU".
 *
 * Two things tfjs-backend-webgpu does not do in Node, done here:
 * - `dataSync()`: the backend reads synchronously through an OffscreenCanvas (browser only).
 *   Here it copies to a mappable buffer and pumps Dawn's event processing until the map is done.
 *   Dawn's binding processes events in a callback it schedules with `setImmediate`; that callback
 *   is captured and called in a loop (see `pumpDawn`).
 * - Adapter honesty: a software adapter (SwiftShader, llvmpipe, `isFallbackAdapter`) is reported
 *   as software, and `auto` never picks one.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

type Tf = typeof import('@tensorflow/tfjs');

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly software: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|warp\b/i;

/** A CPU rasteriser posing as a GPU: the fallback flag, or one of the known software drivers by name. */
export function isSoftwareAdapter(info: Partial<Omit<AdapterSummary, 'software'>>, isFallbackAdapter?: boolean): boolean {
  if (isFallbackAdapter) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => !!s && SOFTWARE.test(s));
}

/** "WebGPU · nvidia · ampere · NVIDIA GeForce RTX 3090" (empty fields left out). */
export function describeAdapter(a: AdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.description || a.device].filter(Boolean);
  const name = ['WebGPU', ...parts].join(' · ');
  return a.software ? `software rendering, not a GPU (${name})` : `GPU (${name})`;
}

/** Where a Vulkan loader would be on Linux (Debian/Ubuntu multiarch, Fedora, Arch). */
const VULKAN_LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib'];

export function vulkanLoaderFound(dirs: readonly string[] = VULKAN_LOADER_DIRS): boolean {
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** Why no adapter was found, and what to install. */
export function noAdapterMessage(platform: NodeJS.Platform, loaderFound: boolean): string {
  if (platform === 'linux') {
    return loaderFound
      ? 'WebGPU found no GPU adapter: the Vulkan loader is installed but no Vulkan driver gave a usable adapter (Dawn rejects Mesa\'s lavapipe). Install your GPU\'s Vulkan driver (NVIDIA: the proprietary driver, which ships its Vulkan ICD; AMD/Intel: mesa-vulkan-drivers) and check with `vulkaninfo --summary`.'
      : 'WebGPU needs Vulkan, and the Vulkan loader (libvulkan.so.1) is not installed: install libvulkan1 (Debian/Ubuntu: sudo apt install libvulkan1; Fedora: vulkan-loader; Arch: vulkan-icd-loader) and your GPU\'s Vulkan driver.';
  }
  if (platform === 'win32') return 'WebGPU found no GPU adapter: update the GPU driver (D3D12 is needed).';
  if (platform === 'darwin') return 'WebGPU found no GPU adapter (Metal is needed: macOS 11 or later).';
  return `WebGPU found no GPU adapter on ${platform}.`;
}

/**
 * Where dawn.node may be: $MLNOTES_DAWN, a platform-specific package's dist/dawn/<platform>-<arch>/
 * (next to the kernel), a `webgpu` package in the native-backend folders ($MLNOTES_NATIVE_PATHS),
 * then the `webgpu` npm package of a development checkout.
 */
export function dawnCandidates(fromDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const plat = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const out: string[] = [];
  if (env['MLNOTES_DAWN']) out.push(env['MLNOTES_DAWN']);
  out.push(join(fromDir, '..', 'dawn', plat, 'dawn.node'), join(fromDir, 'dawn', plat, 'dawn.node'));
  // "Install Native TensorFlow Backend" → WebGPU puts the `webgpu` package in a native folder.
  for (const dir of (env['MLNOTES_NATIVE_PATHS'] ?? '').split(delimiter).filter(Boolean)) out.push(join(dir, 'webgpu', 'dist', plat, 'dawn.node'));
  try {
    const pkg = createRequire(join(fromDir, 'noop.js')).resolve('webgpu/package.json');
    out.push(join(dirname(pkg), 'dist', plat, 'dawn.node'));
  } catch {
    // Not a development checkout: no node_modules/webgpu.
  }
  return out;
}

/**
 * Without XDG_RUNTIME_DIR, Vulkan's Wayland surface support prints "XDG_RUNTIME_DIR is invalid"
 * to stderr (headless servers, CI). Compute needs no display: a private empty folder silences it.
 */
function quietWayland(): void {
  if (process.platform !== 'linux' || process.env['XDG_RUNTIME_DIR']) return;
  try {
    const dir = join(tmpdir(), `mln-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  } catch {
    // Only a cosmetic warning is at stake.
  }
}

/** The first dawn.node candidate that exists; throws saying how to get one. */
export function findDawn(fromDir: string): string {
  const path = dawnCandidates(fromDir).find((p) => existsSync(p));
  if (!path) {
    throw new Error(`WebGPU is not in this package (no dawn.node for ${process.platform}-${process.arch}): install the platform-specific ML Notes package, or run "ML Notes: Install Native TensorFlow Backend" → WebGPU, or set MLNOTES_DAWN to a dawn.node from the npm package "webgpu"`);
  }
  return path;
}

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Shared through globalThis: the kernel and the lab bundle each carry a copy of this module. */
const hook = globalThis as unknown as { __mlnDawnTick?: () => void; __mlnTickCaptured?: boolean; setImmediate: typeof setImmediate };

/**
 * Dawn's binding schedules its event processing (`ProcessEvents`) with `setImmediate`, a native
 * function. Remember the latest one, so a synchronous read can run it while it waits.
 */
function captureDawnTick(): void {
  if (hook.__mlnTickCaptured) return;
  hook.__mlnTickCaptured = true;
  const original = hook.setImmediate;
  hook.setImmediate = function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]')) hook.__mlnDawnTick = fn as () => void;
    return original(fn, ...args);
  } as typeof setImmediate;
}

function pumpDawn(done: () => boolean, timeoutMs = 120_000): void {
  const t0 = Date.now();
  while (!done()) {
    const dawnTick = hook.__mlnDawnTick;
    if (!dawnTick) throw new Error('WebGPU: cannot read synchronously (Dawn event hook not found); use await tensor.data()');
    dawnTick();
    if (Date.now() - t0 > timeoutMs) throw new Error(`WebGPU: a synchronous read did not finish in ${timeoutMs / 1000} s`);
  }
}

interface WebGpuBackendLike {
  device: GPUDevice;
  tensorMap: { get(id: object): { values: unknown; dtype: string; resource: GPUBuffer; complexTensorInfos?: unknown } | undefined };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: GPUCommandEncoder;
  convertAndCacheOnCPU(id: object, values: unknown): unknown;
  readSync(id: object): unknown;
  dispose(): void;
}

/** `readSync` for Node: copy to a mappable buffer, pump Dawn until it is mapped. */
function patchReadSync(backend: WebGpuBackendLike, tf: Tf): void {
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId: object): unknown => {
    const data = backend.tensorMap.get(dataId);
    if (!data || data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return original(dataId);
    const size = data.resource.size;
    const staging = backend.device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    try {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
      backend.submitQueue();
      let failed: unknown;
      staging.mapAsync(GPUMapMode.READ).catch((e: unknown) => (failed = e));
      pumpDawn(() => staging.mapState === 'mapped' || failed !== undefined);
      if (failed !== undefined) throw failed instanceof Error ? failed : new Error(String(failed));
      const bytes = staging.getMappedRange().slice(0);
      staging.unmap();
      const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype as 'float32');
      backend.convertAndCacheOnCPU(dataId, values);
      return values;
    } finally {
      staging.destroy();
    }
  };
}

export interface WebGpuStart {
  readonly adapter: AdapterSummary;
  /** The device line for the backend event and status bar. */
  readonly device: string;
  readonly gpuDevice: GPUDevice;
  /** Frees the GPU: disposes the backend's buffers and destroys the device. */
  release(): void;
}

export interface WebGpuProbe {
  readonly adapter: GPUAdapter;
  readonly summary: AdapterSummary;
}

/**
 * Loads Dawn and asks for an adapter, without touching tfjs (so `auto` can still choose a native
 * tfjs after it). Throws with what is missing: dawn.node, Vulkan, an adapter.
 */
export async function probeWebGpu(fromDir: string, requireFn?: NodeJS.Require): Promise<WebGpuProbe> {
  const req = requireFn ?? createRequire(join(fromDir, 'noop.js'));
  const path = findDawn(fromDir);
  captureDawnTick();
  quietWayland();
  let dawn: Dawn;
  try {
    dawn = req(path) as Dawn;
  } catch (e) {
    throw new Error(`WebGPU: ${path} did not load: ${(e as Error).message.split('\n')[0]}`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(noAdapterMessage(process.platform, process.platform !== 'linux' || vulkanLoaderFound()));
  const info = adapter.info;
  const base = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  // `isFallbackAdapter` moved from GPUAdapter to GPUAdapterInfo in the spec; read both.
  const fallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return { adapter, summary: { ...base, software: isSoftwareAdapter(base, fallback) } };
}

/**
 * Makes tfjs run on the probed adapter (the active backend from now on). `allowSoftware: false`
 * (the `auto` choice) refuses a software adapter.
 */
export async function useWebGpu(tf: Tf, probe: WebGpuProbe, options: { allowSoftware: boolean }): Promise<WebGpuStart> {
  const { adapter, summary } = probe;
  if (summary.software && !options.allowSoftware) throw new Error(`the only WebGPU adapter is ${describeAdapter(summary)}`);
  // Required here, after navigator.gpu exists (the package checks for it when loaded). Its own
  // backend factory would ask for another adapter: the one registered below uses the probed one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const webgpu = require('@tensorflow/tfjs-backend-webgpu') as { WebGPUBackend: new (d: GPUDevice, i?: GPUAdapterInfo) => WebGpuBackendLike };
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  let backend: WebGpuBackendLike | undefined;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    backend = new webgpu.WebGPUBackend(device, adapter.info);
    patchReadSync(backend, tf);
    return backend as never;
  });
  if (!(await tf.setBackend('webgpu'))) {
    device.destroy();
    throw new Error('the tfjs webgpu backend did not initialise');
  }
  await tf.ready();
  let released = false;
  return {
    adapter: summary,
    device: describeAdapter(summary),
    gpuDevice: device,
    release: () => {
      if (released) return;
      released = true;
      try {
        if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
        else backend?.dispose();
      } finally {
        device.destroy();
      }
    },
  };
}

/** probeWebGpu + useWebGpu. */
export async function startWebGpu(tf: Tf, options: { fromDir: string; allowSoftware: boolean; requireFn?: NodeJS.Require }): Promise<WebGpuStart> {
  return useWebGpu(tf, await probeWebGpu(options.fromDir, options.requireFn), options);
}
