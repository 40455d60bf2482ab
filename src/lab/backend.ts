import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as path from 'path';

export type BackendName = 'wasm' | 'cpu';

/** The directory holding tfjs-backend-wasm's `.wasm` files in this install. */
export function defaultWasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

let wasmPathsSet = false;

/**
 * Switches tfjs to `name` and resolves to the backend actually active. For `wasm` in Node,
 * `wasmDir` is the folder with the `.wasm` binaries (a bundled extension passes its own copy);
 * it is fixed on first use, as tfjs-backend-wasm only reads it when the backend initialises.
 */
export async function setBackend(name: BackendName, options: { wasmDir?: string } = {}): Promise<string> {
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
