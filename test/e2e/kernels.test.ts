/**
 * End-to-end: a note's Python blocks share a Jupyter kernel in a real VS Code (code-server +
 * Chromium, packaged extension, Debian's ipykernel). Block A sets a variable, block B uses it;
 * the run opens the preview itself (it starts closed); the kernel's state and In [n] show in the
 * status bar and the CodeLens; a failing block puts a diagnostic on its line. Interrupt keeps the
 * state, Restart clears it, the variables view lists the note's variables, and closing the note
 * leaves no kernel process. A remote kernel on a real `jupyter server` (127.0.0.1, a token): the
 * token set through the Connect command is in no settings file and no log, and the kernel is
 * gone from the server's /api/kernels when the note closes. The three tests share one workbench
 * (the remote one last: it points new kernels at the server).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, SharedVSCode, waitFor, type VSCode } from './harness';

const T = { timeout: 240_000 };
const PY = process.env['MLNOTES_TEST_PYTHON'] ?? '/usr/bin/python3';

const NOTE = [
  '# 有状态的笔记',
  '',
  '先定义一个变量：',
  '',
  '```python {run #a}',
  'counter = 41',
  '```',
  '',
  '再在下一个代码块里使用它：',
  '',
  '```python {run #b}',
  'from IPython.display import Markdown, display',
  'print("counter + 1 =", counter + 1)',
  'display(Markdown("**结果** $c = %d$" % (counter + 1)))',
  '```',
  '',
  '```python {run #bad}',
  'x = 1',
  'undefined_name + x',
  '```',
  '',
].join('\n');

/** The CodeLens with this label nearest above the given 1-based line. */
async function clickLens(vs: VSCode, line: number, label: RegExp): Promise<void> {
  const lens = vs.page.locator('.contentWidgets .codelens-decoration a, .view-zones .codelens-decoration a', { hasText: label });
  await waitFor(`CodeLens ${label} above line ${line}`, async () => (await lens.count()) > 0, 30_000);
  const lineBox = await vs.page.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${line}$`) }).first().boundingBox();
  let best = 0;
  let bestDist = Infinity;
  for (let i = 0; i < (await lens.count()); i++) {
    const box = await lens.nth(i).boundingBox();
    if (!box || !lineBox) continue;
    const d = lineBox.y - box.y;
    if (d > 0 && d < bestDist) {
      bestDist = d;
      best = i;
    }
  }
  await lens.nth(best).click();
}

async function gotoLine(vs: VSCode, line: number): Promise<void> {
  await vs.page.keyboard.press('Control+G');
  await vs.page.keyboard.type(String(line));
  await vs.page.keyboard.press('Enter');
}

async function confirmRunIfAsked(vs: VSCode): Promise<void> {
  const dialog = vs.page.locator('.monaco-dialog-box');
  try {
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await dialog.locator('a.monaco-button, button', { hasText: /^Run$/ }).first().click();
  } catch {
    // Already confirmed for this note.
  }
}

const NUMPY = spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
const LIFE_NOTE = [
  '# 中断与重启',
  '',
  '```python {run #setup}',
  NUMPY ? 'import numpy as np' : 'import math',
  'kept = "还在"',
  NUMPY ? 'arr = np.zeros((3, 4), dtype=np.float32)' : 'arr = [1, 2, 3]',
  '```',
  '',
  '一个不会自己结束的循环：',
  '',
  '```python {run #loop}',
  'import time',
  'i = 0',
  'while True:',
  '    i += 1',
  '    time.sleep(0.02)',
  '```',
  '',
  '```python {run #after}',
  'print("kept =", kept, "looped:", i > 0)',
  '```',
  '',
].join('\n');

const REMOTE_NOTE = [
  '# 远程内核',
  '',
  '```python {run #a}',
  'import os',
  'counter = 41',
  '```',
  '',
  '```python {run #b}',
  'print("remote counter + 1 =", counter + 1, "cwd:", os.getcwd())',
  '```',
  '',
].join('\n');

/** Live (not zombie) jupyter_launcher.py processes whose working directory is this folder. */
function kernelPids(cwd: string): number[] {
  const want = fs.realpathSync(cwd);
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('jupyter_launcher.py')) continue;
      if (fs.realpathSync(`/proc/${d}/cwd`) !== want) continue;
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      pids.push(Number(d));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** Every file below a folder. */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The outputs' texts in the preview, in note order. */
async function outputs(vs: VSCode): Promise<Array<{ status: string; text: string }>> {
  return vs.evalInWebview(`[...document.querySelectorAll('.mln-output')].map((e) => ({ status: e.dataset.status, text: e.innerText }))`);
}

async function runAt(vs: VSCode, file: string, line: number): Promise<void> {
  await vs.focusEditor(vs.editorOf(file));
  await gotoLine(vs, line);
  await vs.runCommand('ML Notes: Run Snippet at Cursor');
}

describe('Jupyter kernels, in one workbench', () => {
  const shared = new SharedVSCode({
    name: 'kernels',
    files: { 'state.md': NOTE, 'life.md': LIFE_NOTE, 'remote.md': REMOTE_NOTE },
    settings: { 'mlNotes.python.interpreter': PY, 'mlNotes.python.kernel': 'jupyter' },
  });
  before(() => shared.open(), T);
  after(() => shared.close());

  it('block B uses the variable block A left in the note\'s Jupyter kernel', T, async () => {
    assert.equal(spawnSync(PY, ['-c', 'import ipykernel'], { encoding: 'utf8' }).status, 0, `${PY} needs ipykernel (apt-get install python3-ipykernel)`);
    await shared.run('kernels-state', async (vs) => {
      await vs.openFile('state.md');
      await vs.focusEditor(vs.editorOf('state.md'));
      // The preview is closed: the run opens it.
      await clickLens(vs, 5, /Run$/);
      await confirmRunIfAsked(vs);
      await vs.webviewFrame('#mln-root .mln-chunk', 60_000);
      await waitFor('block A done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 1, 90_000);
      await vs.focusEditor(vs.editorOf('state.md'));
      await gotoLine(vs, 13);
      await vs.runCommand('ML Notes: Run Snippet at Cursor');
      await waitFor('block B done', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="succeeded"]').length`)) === 2, 90_000);
      const text = await vs.evalInWebview<string>(`[...document.querySelectorAll('.mln-output')].map((e) => e.innerText).join('\\n')`);
      assert.match(text, /counter \+ 1 = 42/);
      assert.match(text, /jupyter/);
      const strong = await vs.evalInWebview<string>(`document.querySelector('.mln-output-markdown strong')?.innerText ?? ''`);
      assert.equal(strong, '结果');
      assert.ok(await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output-markdown .katex').length`) >= 1, 'the LaTeX in the Markdown display is typeset');
      const status = vs.page.locator('.statusbar-item', { hasText: /Kernel/ });
      await waitFor('kernel status item', async () => /idle \[2\]/.test((await status.first().innerText().catch(() => '')) ?? ''), 20_000);
      await waitFor('In [2] on block B', async () => (await vs.page.locator('.codelens-decoration', { hasText: /\[2\] idle/ }).count()) > 0, 20_000);

      await vs.focusEditor(vs.editorOf('state.md'));
      await gotoLine(vs, 19);
      await vs.runCommand('ML Notes: Run Snippet at Cursor');
      await waitFor('block bad failed', async () => (await vs.evalInWebview<number>(`document.querySelectorAll('.mln-output[data-status="failed"]').length`)) === 1, 90_000);
      const err = await vs.evalInWebview<string>(`document.querySelector('.mln-output[data-status="failed"] .mln-output-error').innerText`);
      assert.match(err, /line 19/);
      assert.match(err, /NameError/);
      // The diagnostic on line 19: the editor squiggles it.
      await waitFor('a diagnostic squiggle', async () => (await vs.page.locator('.squiggly-error').count()) > 0, 20_000);
      await vs.screenshot('kernels-state');
    });
  });

  it('interrupt keeps the state, restart clears it, the variables view lists them, closing the note ends the kernel', T, async () => {
    assert.equal(spawnSync(PY, ['-c', 'import ipykernel'], { encoding: 'utf8' }).status, 0, `${PY} needs ipykernel (apt-get install python3-ipykernel)`);
    // Lines (1-based) inside each block.
    const SETUP = 5;
    const LOOP = 14;
    const AFTER = 20;
    await shared.run('kernels-lifecycle', async (vs) => {
      // The earlier test's note was closed: its kernel goes away (that test's kernel is no part of this one).
      await waitFor('no kernel process left from an earlier test', () => kernelPids(vs.workspace).length === 0, 20_000);
      await vs.openFile('life.md');
      await runAt(vs, 'life.md', SETUP);
      await confirmRunIfAsked(vs);
      await vs.webviewFrame('#mln-root .mln-chunk', 60_000);
      await waitFor('setup done', async () => (await outputs(vs))[0]?.status === 'succeeded', 90_000);

      // The variables view (Explorer) lists the kernel's variables with type and shape.
      const pane = vs.page.locator('.pane', { has: vs.page.locator('.pane-header', { hasText: 'Kernel Variables' }) });
      const header = pane.locator('.pane-header').first();
      await header.waitFor({ state: 'visible', timeout: 20_000 });
      if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
      /** name → description of each row in the view. */
      const listed = async (): Promise<Map<string, string>> => {
        const rows = pane.locator('.monaco-list-row');
        const m = new Map<string, string>();
        for (let i = 0; i < (await rows.count()); i++) {
          const name = (await rows.nth(i).locator('.label-name').first().innerText().catch(() => '')).trim();
          if (name) m.set(name, (await rows.nth(i).locator('.label-description').first().innerText().catch(() => '')).trim());
        }
        return m;
      };
      await waitFor('variables listed', async () => (await listed()).has('arr') && (await listed()).has('kept'), 30_000);
      const vars = await listed();
      if (NUMPY) assert.match(vars.get('arr')!, /^numpy\.ndarray \[3, 4\] float32 = array/);
      else assert.match(vars.get('arr')!, /^list = \[1, 2, 3\]/);
      assert.equal(vars.get('kept'), "str = '还在'");
      assert.deepEqual([...vars.keys()].sort(), ['arr', 'kept'], 'modules and IPython\'s own names are not listed');
      await vs.screenshot('kernels-variables');

      // A loop that never ends, interrupted: the block stops, the kernel and its variables stay.
      await runAt(vs, 'life.md', LOOP);
      const status = vs.page.locator('.statusbar-item', { hasText: /Kernel/ }).first();
      await waitFor('kernel busy', async () => /busy/.test((await status.innerText().catch(() => '')) ?? ''), 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      await vs.runCommand('ML Notes: Interrupt Kernel');
      await waitFor('loop stopped', async () => (await outputs(vs))[1]?.status === 'cancelled', 30_000);
      await runAt(vs, 'life.md', AFTER);
      await waitFor('after done', async () => (await outputs(vs))[2]?.status === 'succeeded', 60_000);
      assert.match((await outputs(vs))[2]!.text, /kept = 还在 looped: True/);
      // Once settled, the blocks' CodeLenses agree with the kernel as the status bar does (a CI screenshot
      // taken as the output appeared still showed "busy" on every lens).
      await waitFor('CodeLens shows the idle kernel and In [3], none says busy', async () => {
        const lenses = await vs.page.locator('.codelens-decoration').allInnerTexts();
        return lenses.some((t) => /\[3\] idle/.test(t)) && !lenses.some((t) => /busy/.test(t));
      }, 15_000);
      await vs.screenshot('kernels-interrupt');

      // Restart: a fresh kernel, the variable is gone.
      const before = kernelPids(vs.workspace);
      assert.equal(before.length, 1, `one kernel process for the note: ${JSON.stringify(before)}`);
      await vs.runCommand('ML Notes: Restart Kernel');
      await waitFor('kernel restarted', async () => /idle \[0\]/.test((await status.innerText().catch(() => '')) ?? ''), 60_000);
      await runAt(vs, 'life.md', AFTER);
      await waitFor('after fails', async () => (await outputs(vs))[2]?.status === 'failed', 60_000);
      assert.match((await outputs(vs))[2]!.text, /NameError: name 'kept' is not defined/);
      const restarted = kernelPids(vs.workspace);
      assert.equal(restarted.length, 1);
      assert.notEqual(restarted[0], before[0], 'a restart is a new process');
      await vs.screenshot('kernels-restart');

      // Closing the note's editor ends its kernel.
      await vs.focusEditor(vs.editorOf('life.md'));
      await vs.runCommand('View: Close All Editors');
      await waitFor('no kernel process left after the note closed', () => kernelPids(vs.workspace).length === 0, 20_000);
    });
  });

  it('remote kernel: the token from the Connect command stays out of settings and logs; the kernel is gone from the server after the note closes', T, async () => {
    assert.equal(spawnSync(PY, ['-c', 'import jupyter_server'], { encoding: 'utf8' }).status, 0, `${PY} needs jupyter_server (apt-get install jupyter-server)`);
    const token = randomBytes(16).toString('hex');
    const port = await freePort();
    const serverRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mln-e2e-jserver-'));
    const server = spawn(PY, ['-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `--ServerApp.token=${token}`, `--ServerApp.root_dir=${serverRoot}`, '--ServerApp.port_retries=0', ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], { cwd: serverRoot, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let serverLog = '';
    server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    const base = `http://127.0.0.1:${port}/`;
    const kernelsOnServer = async (): Promise<Array<{ id: string }>> => (await (await fetch(base + 'api/kernels', { headers: { Authorization: `token ${token}` } })).json()) as Array<{ id: string }>;
    try {
      await waitFor('jupyter server up', () => /is running at/.test(serverLog), 30_000);
      await shared.run('kernels-remote', async (vs) => {
        // The note first: its CodeLens shows that the extension is active.
        await vs.openFile('remote.md');
        await waitFor('the Run CodeLens', async () => (await vs.page.locator('.codelens-decoration a', { hasText: /Run$/ }).count()) > 0, 60_000);
        // The Connect command, as a user would: the URL the server printed, token and all.
        await vs.page.keyboard.press('F1');
        const input = vs.page.locator('.quick-input-widget input.input');
        await input.fill('>ML Notes: Connect to a Jupyter Server');
        await waitFor('Connect command row', async () => (await vs.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Connect to a Jupyter Server' }).count()) > 0, 20_000);
        await vs.page.keyboard.press('Enter');
        await waitFor('URL input box', async () => /Jupyter Server URL/.test((await vs.page.locator('.quick-input-widget .quick-input-title').innerText().catch(() => '')) ?? ''), 20_000);
        await input.fill(`${base}?token=${token}`);
        await vs.page.keyboard.press('Enter');
        await waitFor('connected', async () => (await vs.page.locator('.notifications-toasts .notification-toast', { hasText: 'New kernels start on' }).count()) > 0, 20_000);
        // A machine-scoped setting: in a remote window (code-server) it lands in ud/Machine, not ud/User.
        const settingsFiles = (): string[] => [...allFiles(path.join(vs.root, 'ud')).filter((f) => path.basename(f) === 'settings.json'), path.join(vs.workspace, '.vscode', 'settings.json')].filter((f) => fs.existsSync(f));
        const serverSetting = new RegExp(`"mlNotes\\.jupyter\\.serverUrl": "http://127\\.0\\.0\\.1:${port}/"`);
        await waitFor('the server URL in a settings file', () => settingsFiles().some((f) => serverSetting.test(fs.readFileSync(f, 'utf8'))), 10_000).catch((e: Error) => {
          throw new Error(`${e.message}: ${settingsFiles().map((f) => `${f}:\n${fs.readFileSync(f, 'utf8')}`).join('\n')}`);
        });

        await vs.focusEditor(vs.editorOf('remote.md'));
        // A CodeLens run (the extension opens the document itself, which then outlives its editor).
        await clickLens(vs, 3, /Run$/);
        await confirmRunIfAsked(vs);
        await vs.webviewFrame('#mln-root .mln-chunk', 60_000);
        await waitFor('block a done', async () => (await outputs(vs))[0]?.status === 'succeeded', 90_000);
        await runAt(vs, 'remote.md', 9);
        await waitFor('block b done', async () => (await outputs(vs))[1]?.status === 'succeeded', 60_000);
        const b = (await outputs(vs))[1]!.text;
        assert.match(b, /counter \+ 1 = 42/);
        // It ran on the server: the kernel's folder is the server's (started in serverRoot), not the workspace.
        assert.ok(b.includes(`cwd: ${fs.realpathSync(serverRoot)}`) || b.includes(`cwd: ${serverRoot}`), b);
        assert.equal((await kernelsOnServer()).length, 1);
        assert.equal(kernelPids(vs.workspace).length, 0, 'no local kernel');
        await vs.screenshot('kernels-remote');

        await vs.runCommand('View: Close All Editors');
        await waitFor('the kernel is gone from the server', async () => (await kernelsOnServer()).length === 0, 20_000);

        // Neither a settings file nor a log holds the token (the logs do hold the run).
        const read = (f: string): string => fs.readFileSync(f, 'utf8');
        // The output channel reaches its file a moment later (the remote note's own line: the
        // earlier tests' runs are in the same logs).
        await waitFor('the run\'s output in a log file', () => allFiles(path.join(vs.root, 'ud', 'logs')).some((f) => read(f).includes('remote counter + 1 = 42')), 20_000);
        const logs = allFiles(path.join(vs.root, 'ud', 'logs'));
        const leaks = [...logs, ...settingsFiles(), vs.logFile].filter((f) => read(f).includes(token));
        assert.deepEqual(leaks, [], 'files holding the token');
      });
    } finally {
      try {
        process.kill(-server.pid!, 'SIGTERM');
      } catch {
        // gone
      }
    }
  });
});
