// Bundles the extension host, the webview and the CLI, and lays out the assets they load.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const production = process.argv.includes('--production');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'media', 'katex', 'fonts'), { recursive: true });

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'src/extension/extension.ts')],
    outfile: join(dist, 'extension.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode'],
  }),
  build({
    ...common,
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: join(dist, 'cli.js'),
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    banner: { js: '#!/usr/bin/env node' },
  }),
  build({
    ...common,
    entryPoints: [join(root, 'src/webview/preview.ts')],
    outfile: join(dist, 'webview', 'preview.js'),
    platform: 'browser',
    format: 'iife',
    target: 'chrome110',
  }),
]);

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
const scope = (css, sel) =>
  css.replace(/(^|})\s*([^{}@]+)\{/g, (_m, end, selectors) =>
    `${end}${selectors.split(',').map((s) => `${sel} ${s.trim()}`).join(',')}{`);
const styles = join(root, 'node_modules/highlight.js/styles');
const light = readFileSync(join(styles, 'github.min.css'), 'utf8');
const dark = readFileSync(join(styles, 'github-dark.min.css'), 'utf8');
writeFileSync(
  join(dist, 'media/highlight.css'),
  [scope(light, 'body.vscode-light'), scope(dark, 'body.vscode-dark'), scope(dark, 'body.vscode-high-contrast:not(.vscode-high-contrast-light)'), scope(light, 'body.vscode-high-contrast-light'), scope(light, 'body.mln-export')].join('\n'),
);
cpSync(join(root, 'media/preview.css'), join(dist, 'media/preview.css'));
console.log('built dist/');
