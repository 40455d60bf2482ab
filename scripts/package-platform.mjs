// Platform-specific .vsix packages with WebGPU (Dawn's dawn.node for that platform only):
//   npm run package:platform -- linux-x64 [win32-x64 …]   → dist-vsix/ml-notes-<target>.vsix
// `npm run package` stays the universal package (no dawn.node; TypeScript runs on WebAssembly).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const targets = process.argv.slice(2);
if (targets.length === 0 || targets.some((t) => !TARGETS.includes(t))) {
  console.error(`usage: npm run package:platform -- TARGET…  (TARGET: ${TARGETS.join(', ')})`);
  process.exit(2);
}
mkdirSync(join(root, 'dist-vsix'), { recursive: true });
const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
for (const t of targets) {
  // vsce builds dist/ through `vscode:prepublish`; the env tells that build which dawn.node to copy.
  execFileSync(process.execPath, [vsce, 'package', '--target', t, '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '-o', `dist-vsix/ml-notes-${t}.vsix`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MLNOTES_VSIX_TARGET: t },
  });
}
