import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as path from 'path';
import { startWebGpu, type WebGpuStart } from '../runner/webgpu';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

/** The directory holding tfjs-backend-wasm's `.wasm` files in this install. */
export function defaultWasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

let wasmPathsSet = false;
let webgpu: WebGpuStart | undefined;

/** The WebGPU adapter `setBackend('webgpu')` started ("GPU (WebGPU · nvidia · …)" or "software rendering…"). */
export function webGpuDevice(): string | undefined {
  return webgpu?.device;
}

/** Destroys the WebGPU device (its GPU memory); a later `setBackend('webgpu')` starts a new one. */
export function releaseWebGpu(): void {
  webgpu?.release();
  webgpu = undefined;
}

/**
 * Switches tfjs to `name` and resolves to the backend actually active. For `wasm` in Node,
 * `wasmDir` is the folder with the `.wasm` binaries (a bundled extension passes its own copy);
 * it is fixed on first use, as tfjs-backend-wasm only reads it when the backend initialises.
 */
export async function setBackend(name: BackendName, options: { wasmDir?: string } = {}): Promise<string> {
  if (name === 'webgpu') {
    // Any adapter, software included (tests run on SwiftShader); `webGpuDevice()` says which.
    webgpu ??= await startWebGpu(tf, { fromDir: __dirname, allowSoftware: true });
    if (!(await tf.setBackend('webgpu'))) throw new Error("tfjs backend 'webgpu' failed to initialise");
    await tf.ready();
    return tf.getBackend();
  }
  if (name === 'wasm' && !wasmPathsSet) {
    const dir = options.wasmDir ?? defaultWasmDir();
    setWasmPaths(dir.endsWith('/') || dir.endsWith(path.sep) ? dir : dir + path.sep);
    wasmPathsSet = true;
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  return tf.getBackend();
}

/** Backends this process can use, in order of preference (fastest first). */
export function availableBackends(): BackendName[] {
  return ['wasm', 'cpu'];
}
