// Bundles the extension host, the webview and the CLI, and lays out the assets they load.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const production = process.argv.includes('--production');
// --target <vsce target> (linux-x64, darwin-arm64, win32-x64, …): a platform-specific package,
// which carries that platform's dawn.node (WebGPU). Without it no dawn.node is copied: the
// universal package runs on WebAssembly, and a checkout finds node_modules/webgpu by itself.
const targetIndex = process.argv.indexOf('--target');
// vsce runs `vscode:prepublish` (this script, no arguments) itself: it reads the target from the env.
const target = targetIndex > 0 ? process.argv[targetIndex + 1] : process.env.MLNOTES_VSIX_TARGET || undefined;

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'media', 'katex', 'fonts'), { recursive: true });

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

// Generated formula data, before the bundles that include it: KaTeX's command list (read from
// KaTeX's own sources, so it is bundled as a throwaway script) and the formula snippets.
const katexVersion = JSON.parse(readFileSync(join(root, 'node_modules/katex/package.json'), 'utf8')).version;
const generator = join(dist, '.gen', 'generate-formula-data.cjs');
await build({
  entryPoints: [join(root, 'scripts/generate-formula-data.ts')], outfile: generator, bundle: true, platform: 'node',
  format: 'cjs', logLevel: 'warning', define: { __VERSION__: JSON.stringify(katexVersion) },
});
execFileSync(process.execPath, [generator, root], { stdio: 'inherit', env: { ...process.env, KATEX_VERSION: katexVersion } });
rmSync(join(dist, '.gen'), { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'src/extension/extension.ts')],
    outfile: join(dist, 'extension.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode', 'zeromq'],
  }),
  // MathJax (TeX in, SVG out) for formula pictures: its own file, required on first use.
  build({
    ...common,
    entryPoints: [join(root, 'src/core/formulas/mathjaxSvg.ts')],
    outfile: join(dist, 'mathjax-svg.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
  }),
  build({
    ...common,
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: join(dist, 'cli.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['zeromq'],
    banner: { js: '#!/usr/bin/env node' },
  }),
  // The snippet kernel runs in its own process; tfjs and its wasm backend are bundled into it.
  build({
    ...common,
    entryPoints: [join(root, 'src/runner/kernels/tfjsKernel.ts')],
    outfile: join(dist, 'kernels', 'tfjs-kernel.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
  }),
  // Vega is ESM-only (top-level await): the plotter is an ES module loaded with import().
  build({
    ...common,
    entryPoints: [join(root, 'src/runner/plot.ts')],
    outfile: join(dist, 'kernels', 'plot.mjs'),
    platform: 'node',
    format: 'esm',
    target: 'node18',
    external: ['canvas'],
    banner: { js: "import { createRequire as __mlnCreateRequire } from 'module'; const require = __mlnCreateRequire(import.meta.url);" },
  }),
  // The lab shares the kernel's tfjs instance: the kernel hands it `@tensorflow/tfjs`.
  ...(existsSync(join(root, 'src/lab/index.ts'))
    ? [
        build({
          ...common,
          entryPoints: [join(root, 'src/lab/index.ts')],
          outfile: join(dist, 'lab.js'),
          platform: 'node',
          format: 'cjs',
          target: 'node18',
          external: ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu'],
        }),
      ]
    : []),
  build({
    ...common,
    entryPoints: [join(root, 'src/webview/preview.ts')],
    outfile: join(dist, 'webview', 'preview.js'),
    platform: 'browser',
    format: 'iife',
    target: 'chrome110',
  }),
  // Mermaid is large: its own script, which the preview loads only for notes with a diagram.
  build({
    ...common,
    sourcemap: false,
    minify: true,
    entryPoints: [join(root, 'src/webview/mermaid.ts')],
    outfile: join(dist, 'webview', 'mermaid.js'),
    platform: 'browser',
    format: 'iife',
    target: 'chrome110',
  }),
]);
// KaTeX's copy-tex for exported HTML (the preview bundles it).
cpSync(join(root, 'node_modules/katex/dist/contrib/copy-tex.min.js'), join(dist, 'media/katex/copy-tex.min.js'));

// KaTeX CSS with woff2 fonts only: every browser VS Code runs in reads woff2, and the package
// stays small.
const katexDist = join(root, 'node_modules/katex/dist');
const katexCss = readFileSync(join(katexDist, 'katex.min.css'), 'utf8').replace(
  /src:url\((fonts\/[^)]+\.woff2)\) format\("woff2"\)(?:,url\([^)]+\) format\("[a-z]+"\))*/g,
  'src:url($1) format("woff2")',
);
writeFileSync(join(dist, 'media/katex/katex.min.css'), katexCss);
for (const f of readdirSync(join(katexDist, 'fonts'))) {
  if (f.endsWith('.woff2')) cpSync(join(katexDist, 'fonts', f), join(dist, 'media/katex/fonts', f));
}

// highlight.js themes scoped to VS Code's body classes, so code follows light/dark/high contrast.
// Comments go first: a licence comment containing '@' would otherwise leave a rule unscoped.
const scope = (css, sel) =>
  css.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|})\s*([^{}@]+)\{/g, (_m, end, selectors) =>
    `${end}${selectors.split(',').map((s) => `${sel} ${s.trim()}`).join(',')}{`);
const styles = join(root, 'node_modules/highlight.js/styles');
const light = readFileSync(join(styles, 'github.min.css'), 'utf8');
const dark = readFileSync(join(styles, 'github-dark.min.css'), 'utf8');
writeFileSync(
  join(dist, 'media/highlight.css'),
  [scope(light, 'body.vscode-light'), scope(dark, 'body.vscode-dark'), scope(dark, 'body.vscode-high-contrast:not(.vscode-high-contrast-light)'), scope(light, 'body.vscode-high-contrast-light'), scope(light, 'body.mln-export'),
    // Exported files follow the reader's system theme on screen (print stays light).
    `@media screen and (prefers-color-scheme: dark){${scope(dark, 'body.mln-export')}}`].join('\n'),
);
cpSync(join(root, 'media/preview.css'), join(dist, 'media/preview.css'));
// The Python parser for hovers: web-tree-sitter's runtime and the Python grammar, loaded by path.
mkdirSync(join(dist, 'wasm'), { recursive: true });
cpSync(join(root, 'node_modules/web-tree-sitter/tree-sitter.wasm'), join(dist, 'wasm/tree-sitter.wasm'));
cpSync(join(root, 'node_modules/tree-sitter-python/tree-sitter-python.wasm'), join(dist, 'wasm/tree-sitter-python.wasm'));

// The Python kernel ships as source: it runs in the user's own interpreter.
cpSync(join(root, 'src/runner/kernels/python_kernel.py'), join(dist, 'kernels/python_kernel.py'));
// So does the torch introspection behind generated hovers (src/core/kb/introspect.ts).
cpSync(join(root, 'src/core/kb/torch_index.py'), join(dist, 'kernels/torch_index.py'));

// The Jupyter launcher imports python_kernel.py from its own folder; matplotlibrc gives figures a CJK font.
cpSync(join(root, 'src/runner/kernels/jupyter_launcher.py'), join(dist, 'kernels/jupyter_launcher.py'));
cpSync(join(root, 'src/runner/kernels/matplotlibrc'), join(dist, 'kernels/matplotlibrc'));

// zeromq is a native module that finds its prebuilt binding relative to its own files, so it is
// not bundled: its JS, the bindings and the one loader it needs (cmake-ts's) are laid out as a
// package next to extension.js and cli.js.
const zmqSrc = join(root, 'node_modules/zeromq');
const zmqDst = join(dist, 'node_modules/zeromq');
for (const f of ['package.json', 'lib', 'build', 'LICENSE.txt']) cpSync(join(zmqSrc, f), join(zmqDst, f), { recursive: true, filter: (p) => !p.endsWith('.map') && !p.endsWith('.ts') });
const cmakeTs = join(root, 'node_modules/cmake-ts');
mkdirSync(join(dist, 'node_modules/cmake-ts/build'), { recursive: true });
cpSync(join(cmakeTs, 'package.json'), join(dist, 'node_modules/cmake-ts/package.json'));
cpSync(join(cmakeTs, 'build/loader.js'), join(dist, 'node_modules/cmake-ts/build/loader.js'));

// tfjs-backend-wasm loads its .wasm files at run time (setWasmPaths points here).
const wasmSrc = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
mkdirSync(join(dist, 'tfjs-wasm'), { recursive: true });
for (const f of readdirSync(wasmSrc)) if (f.endsWith('.wasm')) cpSync(join(wasmSrc, f), join(dist, 'tfjs-wasm', f));
// dawn.node for a platform-specific package: ~20-40 MB per platform (7 MB compressed), too much to
// ship all five in the universal package.
if (target) {
  const [os, arch] = target.split('-');
  const dawnDir = os === 'darwin' ? 'darwin-universal' : `${os}-${arch}`;
  const src = join(root, 'node_modules/webgpu/dist', dawnDir);
  if (!existsSync(join(src, 'dawn.node'))) throw new Error(`no dawn.node for --target ${target} in ${src}`);
  // Windows needs the DLLs beside it (d3dcompiler, dxcompiler); copy the whole folder.
  cpSync(src, join(dist, 'dawn', dawnDir), { recursive: true });
  cpSync(join(root, 'node_modules/webgpu/LICENSE.md'), join(dist, 'dawn', 'LICENSE-webgpu.md'));
}
console.log(`built dist/${target ? ` for ${target}` : ''}`);
