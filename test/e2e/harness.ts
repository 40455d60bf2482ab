/**
 * End-to-end harness: a real VS Code (code-server 4.100.3, installed by scripts/install.sh into
 * .vscode-test/code-server) driven through Debian's Chromium with playwright-core.
 *
 * Each launch() gets a fresh temp folder holding the user-data-dir (with a deterministic
 * User/settings.json), the extensions-dir (the packaged dist-vsix/ml-notes.vsix is installed
 * into it with --install-extension, so packaging mistakes fail the tests) and a copy of the
 * workspace. code-server runs in its own process group (detached = setsid) so teardown can end
 * the extension host and language servers with it; its output goes to test-results/.
 *
 * The tsconfig has no DOM lib: functions evaluated in the page take `any`, or code is passed as
 * an expression string (evalInWebview).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const REPO = path.resolve(__dirname, '..', '..');
export const RESULTS = path.join(REPO, 'test-results');
export const FIXTURES = path.join(__dirname, 'fixtures');
export const CODE_SERVER_ENTRY = path.join(
  REPO, '.vscode-test', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const DEFAULT_VSIX = path.join(REPO, 'dist-vsix', 'ml-notes.vsix');
/** The id under which the packaged extension must show up in the extensions-dir. */
export const EXTENSION_ID = 'ml-notes.ml-notes';
const CHROMIUM = process.env.MLN_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Settings that make the workbench quiet and deterministic for tests. */
export const BASE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.editor.enablePreview': false,
  'workbench.editor.enablePreviewFromQuickOpen': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'security.workspace.trust.enabled': false,
  'window.restoreWindows': 'none',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'files.autoSave': 'off',
  'editor.minimap.enabled': false,
  'editor.lineNumbers': 'on',
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoClosingOvertype': 'never',
  'editor.autoSurround': 'never',
  'editor.autoIndent': 'none',
  'editor.formatOnType': false,
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.wordBasedSuggestions': 'off',
  'editor.acceptSuggestionOnEnter': 'off',
  'editor.hover.enabled': false,
  'editor.parameterHints.enabled': false,
  'editor.inlineSuggest.enabled': false,
  'editor.smoothScrolling': false,
  'workbench.list.smoothScrolling': false,
  'markdown.validate.enabled': false,
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'accessibility.signals.sounds.volume': 0,
  'notebook.experimental.remoteSave': false,
};

export interface LaunchOptions {
  /** Used in log, screenshot and temp-folder names. */
  name: string;
  /** Folder copied into the temp folder and opened as the workspace (default: test/e2e/fixtures/workspace). */
  workspace?: string;
  /** Extra files written into the workspace copy: relative path -> contents. */
  files?: Record<string, string>;
  /** Extra or overriding user settings. */
  settings?: Record<string, unknown>;
  /** Path of the .vsix to install (default dist-vsix/ml-notes.vsix, or $MLN_E2E_VSIX); null: none. */
  vsix?: string | null;
  /**
   * Open the workspace in Restricted Mode: workspace trust enabled (no --disable-workspace-trust)
   * and the folder not trusted, without the startup trust prompt. launch() waits until the status
   * bar shows "Restricted Mode". Default false: trust is disabled, everything is trusted.
   */
  untrusted?: boolean;
  /**
   * Extra `payload` entries for the workbench URL, e.g. `[['extensionDevelopmentPath', uri],
   * ['extensionTestsPath', uri]]` to run tests inside the real extension host.
   */
  payload?: Array<[string, string]>;
  /** Browser viewport. */
  viewport?: { width: number; height: number };
  /**
   * VS Code's display language. VS Code resolves `--locale` only to a language some installed
   * language pack contributes, and code-server ships none: for 'zh-cn' launch() installs the
   * fixture pack test/e2e/fixtures/zh-cn-language-pack (no workbench translations: the
   * workbench stays English, extensions get `vscode.env.language === 'zh-cn'` and load their zh-cn
   * bundles). Default: English.
   */
  locale?: 'zh-cn';
}

export interface VSCode {
  page: Page;
  browser: Browser;
  /** The workspace folder the window has open (a temp copy). */
  workspace: string;
  /** The temp folder holding everything of this session. */
  root: string;
  port: number;
  url: string;
  logFile: string;
  /** Opens a workspace file through Quick Open (Ctrl+P) and waits until it is the active editor. */
  openFile(relativePath: string): Promise<Locator>;
  /** Runs a command by its palette title (F1, type, pick the row whose label is exactly `title`). */
  runCommand(title: string): Promise<void>;
  /** Focuses the given (default: active) text editor and types `text` with the keyboard. */
  typeInEditor(text: string, editor?: Locator): Promise<void>;
  /** Focuses the given text editor without moving its cursor. */
  focusEditor(editor: Locator): Promise<void>;
  /** The active text editor. */
  activeEditor(): Locator;
  /** The text editor showing the file with this base name (in whichever editor group). */
  editorOf(baseName: string): Locator;
  /** First and last fully visible 1-based line numbers of the given (default: active) editor. */
  visibleLines(editor?: Locator): Promise<{ first: number; last: number }>;
  /** The content frame of the (single) ready webview, two iframes down. */
  webview(): FrameLocator;
  /** The content Frame of the ready webview whose content matches `selector` (re-resolved on every call). */
  webviewFrame(selector?: string, timeoutMs?: number): Promise<Frame>;
  /** Evaluates a JS expression inside the webview content frame. */
  evalInWebview<T>(expression: string, selector?: string): Promise<T>;
  /** Saves test-results/<name>.png and returns its path. */
  screenshot(name: string, target?: Locator): Promise<string>;
  /**
   * Brings a workbench shared by several tests back to a neutral state: dismisses quick input,
   * reverts unsaved editors, closes every editor (previews included), hides the panel, clears
   * notifications and restores the launch viewport.
   */
  reset(): Promise<void>;
  /** Ends Chromium and code-server's whole process group, removes the temp folder. Idempotent. */
  close(): Promise<void>;
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (returned) or the timeout passes (throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (lastErr ? ` (last error: ${String(lastErr)})` : ''));
    }
    await wait(intervalMs);
  }
}

export async function freePort(preferred?: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : port;
        srv.close(() => resolve(p));
      });
    });
  if (preferred !== undefined) {
    try {
      return await tryListen(preferred);
    } catch {
      /* taken: fall through */
    }
  }
  return tryListen(0);
}

function copyDir(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true });
}

/** Records `key: value` in test-results/e2e-metrics.json (merged with what earlier tests wrote). */
export function recordMetric(key: string, value: unknown): void {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, 'e2e-metrics.json');
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first metric */
  }
  data[key] = value;
  data.updatedAt = new Date().toISOString();
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
}

function run(file: string, args: string[], timeoutMs: number, cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Sessions still open, ended on process exit even if a test forgets (or crashes before) close(). */
const live = new Set<ChildProcess>();
function killLive(): void {
  for (const cp of live) {
    try {
      if (cp.pid) process.kill(-cp.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}
process.on('exit', killLive);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killLive();
    process.kill(process.pid, sig); // then die of the signal as we would have
  });
}

export async function launch(opts: LaunchOptions): Promise<VSCode> {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server is not installed at ${CODE_SERVER_ENTRY}; run: bash scripts/install.sh`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}; run: bash scripts/install.sh`);
  fs.mkdirSync(RESULTS, { recursive: true });
  const safeName = opts.name.replace(/[^\w.-]+/g, '-');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `mln-e2e-${safeName}-`));
  const userData = path.join(root, 'ud');
  const extDir = path.join(root, 'ext');
  const workspace = path.join(root, 'ws');
  const logFile = path.join(RESULTS, `code-server-${safeName}.log`);
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(extDir, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      ...BASE_SETTINGS,
      ...(opts.untrusted ? {
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.banner': 'never',
        'security.workspace.trust.untrustedFiles': 'open',
      } : {}),
      ...(opts.settings ?? {}),
    }, null, 2),
  );
  copyDir(opts.workspace ?? path.join(FIXTURES, 'workspace'), workspace);
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
    fs.writeFileSync(path.join(workspace, rel), text);
  }
  const log = fs.createWriteStream(logFile);
  const logLine = (s: string) => log.write(`[harness ${new Date().toISOString()}] ${s}\n`);

  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (browser) await Promise.race([browser.close().catch(() => undefined), wait(10_000)]);
    if (server?.pid && server.exitCode === null && server.signalCode === null) {
      const pid = server.pid;
      const exited = new Promise<void>((r) => server!.once('exit', () => r()));
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const t = await Promise.race([exited.then(() => 'exited'), wait(5000).then(() => 'timeout')]);
      if (t === 'timeout') logLine('code-server did not exit on SIGTERM within 5 s; SIGKILL');
      // The group may outlive its leader (extension host, language servers): always sweep it.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* group empty */
      }
    }
    if (server) live.delete(server);
    logLine('closed');
    await new Promise<void>((r) => log.end(() => r()));
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const vsix = opts.vsix === undefined ? (process.env.MLN_E2E_VSIX ?? DEFAULT_VSIX) : opts.vsix;
    if (vsix !== null) {
      if (!fs.existsSync(vsix)) throw new Error(`${vsix} does not exist; run: npm run build && npm run package`);
      const r = await run(process.execPath, [
        CODE_SERVER_ENTRY, '--user-data-dir', userData, '--extensions-dir', extDir, '--install-extension', vsix,
      ], 120_000);
      logLine(`--install-extension ${vsix} -> exit ${r.code}\n${r.out}`);
      const installed = fs.readdirSync(extDir).filter((d) => d.toLowerCase().startsWith(`${EXTENSION_ID}-`));
      if (r.code !== 0 || installed.length !== 1) {
        throw new Error(`installing ${path.relative(REPO, vsix)} failed (exit ${r.code}, found ${JSON.stringify(installed)}):\n${r.out}`);
      }
    }

    if (opts.locale) await installLanguagePack(opts.locale, root, userData, extDir, logLine);

    const port = await freePort();
    const args = [
      CODE_SERVER_ENTRY,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      ...(opts.untrusted ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--config', path.join(root, 'config.yaml'),
      '--user-data-dir', userData,
      '--extensions-dir', extDir,
      ...(opts.locale ? ['--locale', opts.locale] : []),
    ];
    logLine(`spawn node ${args.join(' ')}`);
    server = spawn(process.execPath, args, {
      detached: true, // setsid: its own process group, ended as a whole by close()
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    live.add(server);
    server.stdout!.pipe(log, { end: false });
    server.stderr!.pipe(log, { end: false });
    const srv = server;
    let exitInfo: string | undefined;
    srv.once('exit', (code, sig) => {
      exitInfo = `code ${code} signal ${sig}`;
      logLine(`code-server exited: ${exitInfo}`);
    });

    const base = `http://127.0.0.1:${port}`;
    await waitFor('code-server /healthz', async () => {
      if (exitInfo) throw new Error(`code-server exited early (${exitInfo}); see ${logFile}`);
      const res = await fetch(`${base}/healthz`).catch(() => undefined);
      return res?.ok;
    }, 30_000, 100);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      ],
    });
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') logLine(`[browser ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => logLine(`[browser pageerror] ${e.message}`));
    const url = `${base}/?folder=${encodeURIComponent(workspace)}` + (opts.payload ? `&payload=${encodeURIComponent(JSON.stringify(opts.payload))}` : '');
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    // The explorer shows the workspace once the remote connection and file service are up.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout: 60_000 });
    if (opts.untrusted) {
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    }

    const viewport = opts.viewport ?? { width: 1400, height: 900 };
    const vs: VSCode = {
      page, browser, workspace, root, port, url, logFile, close,
      activeEditor: () => page.locator('.editor-group-container.active .editor-instance .monaco-editor').first(),
      editorOf: (baseName) =>
        page.locator('.editor-group-container', {
          has: page.locator(`.tabs-container .tab.active[data-resource-name="${baseName}"]`),
        }).locator('.editor-instance .monaco-editor').first(),

      async focusEditor(editor) {
        await editor.locator('.native-edit-context, textarea.inputarea').first().focus();
        await waitFor('editor focus', () => editor.evaluate((el: any) => el.classList.contains('focused') as boolean), 5000, 50);
      },

      async openFile(relativePath) {
        const base = path.basename(relativePath);
        await openQuickInput(page, 'Control+P');
        const input = page.locator('.quick-input-widget input.input');
        await input.fill(relativePath);
        const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', {
          has: page.locator('.label-name', { hasText: base }),
        }).filter({ hasText: path.dirname(relativePath) === '.' ? '' : path.dirname(relativePath) }).first();
        await row.waitFor({ state: 'visible', timeout: 20_000 });
        await row.click();
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
        const tab = page.locator(`.tabs-container .tab.active[data-resource-name="${base}"]`);
        await tab.first().waitFor({ state: 'visible', timeout: 20_000 });
        const editor = vs.activeEditor();
        await editor.locator('.view-lines .view-line').first().waitFor({ state: 'visible', timeout: 20_000 });
        return editor;
      },

      async runCommand(title) {
        const input = page.locator('.quick-input-widget input.input');
        // The palette can close again right after it opened when focus moves (a webview taking
        // focus as it loads): open it again rather than wait for the closed input to come back.
        await waitFor('the command palette to take the command', async () => {
          await openQuickInput(page, 'F1');
          return input.fill(`>${title}`, { timeout: 3000 }).then(() => true, () => false);
        }, 30_000, 200);
        const row = await waitFor(`command palette row "${title}"`, async () => {
          const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
          const n = await rows.count();
          for (let i = 0; i < n; i++) {
            const r = rows.nth(i);
            const label = (await r.locator('.label-name').first().textContent().catch(() => null))?.trim();
            if (label === title) return r;
          }
          return undefined;
        }, 20_000, 150);
        await row.click();
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      },

      async typeInEditor(text, editor) {
        await vs.focusEditor(editor ?? vs.activeEditor());
        await page.keyboard.type(text, { delay: 5 });
      },

      async visibleLines(editor) {
        const ed = editor ?? vs.activeEditor();
        const nums = await ed.evaluate((el: any) => {
          const box = el.getBoundingClientRect();
          return [...el.querySelectorAll('.margin-view-overlays .line-numbers')]
            .filter((e: any) => { const r = e.getBoundingClientRect(); return r.top >= box.top - 1 && r.bottom <= box.bottom + 1; })
            .map((e: any) => parseInt(e.textContent, 10))
            .filter((n: number) => !isNaN(n)) as number[];
        });
        if (!nums.length) throw new Error('no visible line numbers in the editor');
        return { first: Math.min(...nums), last: Math.max(...nums) };
      },

      webview: () => page.frameLocator('iframe.webview.ready').frameLocator('#active-frame'),

      async webviewFrame(selector = 'body', timeoutMs = 20_000) {
        return waitFor(`a ready webview containing ${selector}`, async () => {
          const outers = await page.locator('iframe.webview.ready').elementHandles();
          for (const o of outers) {
            const outer = await o.contentFrame();
            if (!outer) continue;
            const inner = await outer.$('#active-frame');
            const frame = await inner?.contentFrame();
            if (frame && (await frame.$(selector))) return frame;
          }
          return undefined;
        }, timeoutMs, 150);
      },

      async evalInWebview<T>(expression: string, selector?: string) {
        // The active frame is replaced when the webview reloads its content: retry once on detach.
        for (let attempt = 0; ; attempt++) {
          const frame = await vs.webviewFrame(selector);
          try {
            return (await frame.evaluate(expression)) as T;
          } catch (e) {
            if (attempt >= 2 || !/detached|destroyed|navigat/i.test(String(e))) throw e;
          }
        }
      },

      async reset() {
        const widget = page.locator('.quick-input-widget');
        for (let i = 0; i < 3 && (await widget.isVisible()); i++) await page.keyboard.press('Escape');
        // A dirty editor would ask "Save changes?" on close: revert each first.
        // Names are read in one snapshot: a save that is just landing (the test's own Ctrl+S) can
        // clear a tab's dirty mark between a count and a locator read, which would then wait for a
        // dirty tab that no longer exists.
        for (let i = 0; i < 20; i++) {
          const names = await page.locator('.tabs-container .tab.dirty')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-resource-name') ?? ''));
          const name = names.find((n) => n);
          if (!name) break;
          const tab = page.locator(`.tabs-container .tab.dirty[data-resource-name="${name}"]`);
          try {
            await tab.click({ timeout: 2_000 });
          } catch (e) {
            if ((await tab.count()) === 0) continue; // saved meanwhile: nothing to revert
            throw e;
          }
          await vs.runCommand('File: Revert File');
          await waitFor(`${name} reverted`, async () =>
            (await page.locator(`.tabs-container .tab.dirty[data-resource-name="${name}"]`).count()) === 0, 10_000, 50);
        }
        const tabs = page.locator('.tabs-container .tab');
        if ((await tabs.count()) > 0) await vs.runCommand('View: Close All Editor Groups');
        await waitFor('every editor closed', async () => (await tabs.count()) === 0 && (await page.locator('iframe.webview').count()) === 0, 20_000, 50);
        if (await page.locator('.part.panel').isVisible()) await vs.runCommand('View: Hide Panel');
        if ((await page.locator('.notifications-toasts .notification-toast').count()) > 0) {
          await vs.runCommand('Notifications: Clear All Notifications');
        }
        const size = page.viewportSize();
        if (size?.width !== viewport.width || size?.height !== viewport.height) await page.setViewportSize(viewport);
      },

      async screenshot(name, target) {
        const file = path.join(RESULTS, `${name.replace(/[^\w.-]+/g, '-')}.png`);
        if (target) await target.screenshot({ path: file });
        else await page.screenshot({ path: file });
        return file;
      },
    };
    return vs;
  } catch (e) {
    // Save what the page showed before tearing down, to debug start-up failures.
    try {
      const pages = browser?.contexts()[0]?.pages() ?? [];
      if (pages[0]) await pages[0].screenshot({ path: path.join(RESULTS, `${safeName}-launch-failure.png`) });
    } catch {
      /* no page */
    }
    await close();
    throw e;
  }
}

/**
 * Packages and installs the fixture language pack for `locale`, then registers it in the
 * user-data-dir's languagepacks.json. VS Code writes that file itself when a language pack is
 * installed from a running workbench (its language-pack service's post-install step), but not on
 * `--install-extension` from the command line, where that service is never created; the entry
 * written here has the fields and hash that service computes. At start-up VS Code then resolves
 * `--locale` against it as it would for a pack installed from the Marketplace.
 */
async function installLanguagePack(locale: string, root: string, userData: string, extDir: string, logLine: (s: string) => void): Promise<void> {
  const src = path.join(root, `language-pack-${locale}`);
  copyDir(path.join(FIXTURES, `${locale}-language-pack`), src);
  const manifest = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')) as {
    publisher: string; name: string; version: string;
    contributes: { localizations: { languageId: string; localizedLanguageName?: string; translations: { id: string; path: string }[] }[] };
  };
  const vsix = path.join(root, `language-pack-${locale}.vsix`);
  const vsce = path.join(REPO, 'node_modules', '@vscode', 'vsce', 'vsce');
  const packed = await run(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], 120_000, src);
  if (packed.code !== 0) throw new Error(`packaging the ${locale} language pack failed:\n${packed.out}`);
  const r = await run(process.execPath, [CODE_SERVER_ENTRY, '--user-data-dir', userData, '--extensions-dir', extDir, '--install-extension', vsix], 120_000);
  logLine(`--install-extension ${vsix} -> exit ${r.code}\n${r.out}`);
  const id = `${manifest.publisher}.${manifest.name}`;
  const installed = path.join(extDir, `${id}-${manifest.version}`);
  if (r.code !== 0 || !fs.existsSync(installed)) throw new Error(`installing the ${locale} language pack failed (exit ${r.code}):\n${r.out}`);
  const packs: Record<string, unknown> = {};
  for (const l of manifest.contributes.localizations) {
    packs[l.languageId] = {
      hash: createHash('md5').update(id).update(manifest.version).digest('hex'),
      extensions: [{ extensionIdentifier: { id }, version: manifest.version }],
      translations: Object.fromEntries(l.translations.map((t) => [t.id, path.join(installed, t.path)])),
      label: l.localizedLanguageName,
    };
  }
  fs.writeFileSync(path.join(userData, 'languagepacks.json'), JSON.stringify(packs));
}

/** Opens Quick Open / the command palette with `key`, retrying while the workbench is still settling. */
export async function openQuickInput(page: Page, key: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  if (await widget.isVisible()) {
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden' });
  }
  await waitFor(`quick input after ${key}`, async () => {
    await page.keyboard.press(key);
    try {
      await page.locator('.quick-input-widget input.input').waitFor({ state: 'visible', timeout: 2000 });
      return true;
    } catch {
      return false;
    }
  }, 20_000, 200);
}

/** Saves a screenshot and VS Code's own logs (extension host, ML Notes output channel) for debugging. */
async function saveFailure(vs: VSCode, name: string): Promise<void> {
  await vs.screenshot(`${name}-failure`).catch(() => undefined);
  try {
    fs.cpSync(path.join(vs.root, 'ud', 'logs'), path.join(RESULTS, `${name.replace(/[^\w.-]+/g, '-')}-logs`), { recursive: true });
  } catch {
    /* no logs */
  }
}

/** Runs `body` with a launched VS Code, always closing it (and saving a screenshot if it throws). */
export async function withVSCode<T>(opts: LaunchOptions, body: (vs: VSCode) => Promise<T>): Promise<T> {
  const vs = await launch(opts);
  try {
    return await body(vs);
  } catch (e) {
    await saveFailure(vs, opts.name);
    throw e;
  } finally {
    await vs.close();
  }
}

/**
 * One launched workbench for several tests with the same launch options (starting code-server
 * and Chromium costs 10-20 s per test on a small machine). Call open() in a `before` hook and
 * close() in `after`; each test runs its body through run(), which resets the workbench
 * afterwards (VSCode.reset) so the next test starts with no editor open. Tests that need a fresh
 * window (activation-time behaviour, Restricted Mode, a reload, another locale) use withVSCode.
 */
export class SharedVSCode {
  private vs: VSCode | undefined;
  constructor(readonly opts: LaunchOptions) {}

  async open(): Promise<void> {
    this.vs = await launch(this.opts);
  }

  async run<T>(name: string, body: (vs: VSCode) => Promise<T>): Promise<T> {
    const vs = this.vs;
    if (!vs) throw new Error(`the shared workbench ${this.opts.name} did not start`);
    let result: T;
    try {
      result = await body(vs);
    } catch (e) {
      await saveFailure(vs, name);
      await vs.reset().catch(() => undefined);
      throw e;
    }
    // A test that leaves the workbench in a state reset() cannot undo fails here, not in the next test.
    await vs.reset();
    return result;
  }

  async close(): Promise<void> {
    await this.vs?.close();
    this.vs = undefined;
  }
}
