#!/usr/bin/env node
// `npm start`: open the sample notes with the extension loaded in development mode.
//  - builds first if dist/ is missing;
//  - with a desktop `code` on PATH: code --extensionDevelopmentPath=<repo> <repo>/notes <repo>/notes/README.md
//  - otherwise: the code-server that scripts/install.sh put in .vscode-test/code-server, on
//    127.0.0.1 (port $PORT, else 8080 if free, else any free port), with the extension loaded
//    through the URL payload; prints the URL and runs until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const notes = path.join(repo, 'notes');
const readme = path.join(notes, 'README.md');
const entry = path.join(repo, '.vscode-test', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function anyPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

if (!fs.existsSync(path.join(repo, 'dist'))) {
  console.log('[start] dist/ is missing: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const code = onPath('code');
if (code) {
  const args = [`--extensionDevelopmentPath=${repo}`, notes, readme];
  console.log(`[start] ${code} ${args.join(' ')}`);
  const r = spawnSync(code, args, { stdio: 'inherit' });
  process.exit(r.status ?? 0);
}

if (!fs.existsSync(entry)) {
  console.error(`[start] no \`code\` on PATH and no code-server at ${path.relative(repo, entry)}; run: bash scripts/install.sh`);
  process.exit(1);
}

const wanted = Number(process.env.PORT || 8080);
const port = (await portFree(wanted)) ? wanted : await anyPort();
const state = path.join(repo, '.vscode-test', 'start');
fs.mkdirSync(path.join(state, 'ud', 'User'), { recursive: true });
fs.mkdirSync(path.join(state, 'ext'), { recursive: true });
const settings = path.join(state, 'ud', 'User', 'settings.json');
if (!fs.existsSync(settings)) {
  fs.writeFileSync(settings, JSON.stringify({
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
  }, null, 2));
}

const authority = `127.0.0.1:${port}`;
const payload = [
  ['extensionDevelopmentPath', `vscode-remote://${authority}${repo}`],
  ['openFile', `vscode-remote://${authority}${readme}`],
];
const url = `http://${authority}/?folder=${encodeURIComponent(notes)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;

const child = spawn(process.execPath, [
  entry,
  '--auth', 'none',
  '--bind-addr', authority,
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-getting-started-override',
  '--config', path.join(state, 'config.yaml'),
  '--user-data-dir', path.join(state, 'ud'),
  '--extensions-dir', path.join(state, 'ext'),
], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] }); // own process group

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-child.pid, 'SIGTERM'); // the whole group: server, extension hosts, language servers
  } catch {
    /* already gone */
  }
  setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    process.exit(signal ? 130 : 1);
  }, 3000).unref();
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('exit', () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
});
child.on('exit', (codeOrNull, sig) => {
  if (!stopping) console.error(`[start] code-server exited (${codeOrNull ?? sig})`);
  process.exit(stopping ? 0 : (codeOrNull ?? 1));
});

// Print the URL once the server answers.
const deadline = Date.now() + 60_000;
for (;;) {
  const ok = await fetch(`http://${authority}/healthz`).then((r) => r.ok, () => false);
  if (ok) break;
  if (Date.now() > deadline || stopping) {
    console.error('[start] code-server did not become ready within 60 s');
    stop();
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
if (!stopping) {
  console.log(`\n[start] ML Notes (development mode) in code-server, workspace ${path.relative(repo, notes) || '.'}/:`);
  console.log(`  ${url}\n`);
  console.log('[start] open that URL in a browser; Ctrl-C stops the server.');
}
