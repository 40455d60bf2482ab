import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ParserWasm } from './pythonParser';

/** The file names the build copies into dist/wasm (scripts/build.mjs). */
export const WASM_FILES = { treeSitterWasm: 'tree-sitter.wasm', pythonWasm: 'tree-sitter-python.wasm' } as const;

/** The wasm files in a built folder (dist/wasm). */
export function wasmIn(dir: string): ParserWasm {
  return { treeSitterWasm: join(dir, WASM_FILES.treeSitterWasm), pythonWasm: join(dir, WASM_FILES.pythonWasm) };
}

/** The wasm files as installed in node_modules: for tests, benchmarks and the CLI run from source. */
export function wasmFromNodeModules(): ParserWasm {
  // createRequire: a bundler must not try to inline these files; they are resolved at run time.
  const req = createRequire(__filename);
  return {
    treeSitterWasm: req.resolve('web-tree-sitter/tree-sitter.wasm'),
    pythonWasm: req.resolve('tree-sitter-python/tree-sitter-python.wasm'),
  };
}

/** dist/wasm next to a bundle when it exists, else node_modules. */
export function wasmNear(dir: string): ParserWasm {
  const built = wasmIn(join(dir, 'wasm'));
  return existsSync(built.pythonWasm) && existsSync(built.treeSitterWasm) ? built : wasmFromNodeModules();
}
