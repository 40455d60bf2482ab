/**
 * ML Notes lab: a VS Code-free ML library on TensorFlow.js for note snippets
 * (`import { diffusion, rl, data } from 'ml-notes/lab'`). See README.md.
 */
export * as diffusion from './diffusion';
export * as rl from './rl';
export * as data from './data';
export { Rng } from './rng';
export { setBackend, defaultWasmDir, availableBackends, webGpuDevice, releaseWebGpu, type BackendName } from './backend';
