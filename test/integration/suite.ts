/**
 * Integration tests that run inside the real VS Code extension host (code-server), with the
 * extension loaded in development mode. `run()` is called by the host (extensionTestsPath); the
 * host exits 0 even when tests throw, so results go to `integration-results.json` in the
 * workspace, which test/e2e/integration.test.ts reads and asserts on.
 */
import * as vscode from 'vscode';
import * as assert from 'node:assert/strict';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

const tests: Array<[string, () => Promise<void>]> = [];
function test(name: string, fn: () => Promise<void>): void {
  tests.push([name, fn]);
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function folder(): vscode.Uri {
  return vscode.workspace.workspaceFolders![0]!.uri;
}

async function writeNote(name: string, text: string): Promise<vscode.Uri> {
  const uri = vscode.Uri.joinPath(folder(), name);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  return uri;
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
}

interface StartedState {
  readonly markdown: boolean;
  readonly noteIndex: 'idle' | 'building' | 'ready';
  /** By note URI. */
  readonly droppedRenders: Readonly<Record<string, number>>;
}

function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// WARNING: must stay the first test: it needs a session in which no Markdown note was opened yet.
test('a .py-only session builds no note index and renders no Markdown until needed', async () => {
  assert.deepEqual(vscode.workspace.textDocuments.filter((d) => d.languageId === 'markdown').map((d) => d.uri.toString()), [], 'precondition: no note open');
  const uri = await writeNote('lazy_int.py', 'import torch.nn as nn\nx = 1\nconv = nn.Conv2d(3, 8, 3)\n');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const api = (await vscode.extensions.getExtension('ml-notes.ml-notes')!.activate()) as { started: StartedState };
  // A hover over a name the knowledge base does not know needs no note links.
  await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(1, 0));
  await sleep(1000);
  assert.deepEqual({ ...api.started }, { markdown: false, noteIndex: 'idle', droppedRenders: {} });
  // The first hover on a known API builds the index (its links may point into notes).
  await until('a Conv2d hover', async () => /Conv2d/.test(hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(2, 12)))));
  assert.notEqual(api.started.noteIndex, 'idle', 'the hover started the index');
  await until('the note index built', () => api.started.noteIndex === 'ready');
  assert.equal(api.started.markdown, false, 'still no Markdown work');
  const note = await writeNote('lazy-int.md', '# 笔记\n\n坏的 $\\frac{$\n');
  await vscode.workspace.openTextDocument(note);
  await until('the Markdown side started', () => api.started.markdown);
  await until('diagnostics of the opened note', () => vscode.languages.getDiagnostics(note).some((d) => d.source === 'ML Notes'));
});

test('the extension activates and registers its commands', async () => {
  const ext = vscode.extensions.getExtension('ml-notes.ml-notes');
  assert.ok(ext, 'ml-notes.ml-notes is loaded');
  await ext.activate();
  const all = await vscode.commands.getCommands(true);
  // Every command the manifest contributes (palette, menus, keybindings) has a handler.
  const contributed = (ext.packageJSON as { contributes: { commands: Array<{ command: string }> } }).contributes.commands.map((c) => c.command);
  assert.ok(contributed.length > 20, `the manifest lists the commands (${contributed.length})`);
  for (const id of contributed) assert.ok(all.includes(id), `${id} is registered`);
});

test("VS Code's built-in Markdown preview gets the same math rules (markdown.markdownItPlugins)", async () => {
  // \(…\) and $(a+b)^2$ are rendered by ML Notes' rules only (VS Code's own math plugin skips them).
  const html = await vscode.commands.executeCommand<string>('markdown.api.render', '括号 \\(x^2\\) 与 $(a+b)^2$，It costs $5 and $10.');
  assert.equal((html.match(/class="katex"/g) ?? []).length, 2, html.slice(0, 500));
  assert.ok(html.includes('$5 and $10'), 'money stays text');
});

test('a broken formula becomes a Problems entry at its line', async () => {
  const uri = await writeNote('broken-int.md', '# t\n\n好的 $x^2$\n\n坏的 $\\frac{1}{$ 公式\n');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const diags = await until('diagnostics', () => {
    const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ML Notes');
    return d.length ? d : undefined;
  });
  assert.equal(diags.length, 1);
  assert.equal(diags[0]!.range.start.line, 4);
  assert.match(diags[0]!.message, /^KaTeX parse error/);
});

test('Export Note to HTML writes a standalone file beside the note', async () => {
  const uri = await writeNote('export-int.md', '# 导出\n\n$$ E = mc^2 $$\n');
  const target = (await vscode.commands.executeCommand<vscode.Uri | undefined>('mlNotes.exportHtml', uri))!;
  assert.ok(target, 'export returned the file');
  const html = new TextDecoder().decode(await vscode.workspace.fs.readFile(target));
  assert.ok(html.includes('class="katex-display"'));
  assert.ok(html.includes('url(data:font/woff2;base64,'));
  // One script only: KaTeX's copy-tex, allowed by its hash in the file's CSP (nothing from the note).
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)];
  assert.equal(scripts.length, 1);
  assert.match(scripts[0]![1]!, /katex-mathml/);
  assert.match(html, /script-src 'sha256-[A-Za-z0-9+/=]+';/);
});

test('hover docs explain nn.Conv2d in a .py file, resolved through the imports', async () => {
  const uri = await writeNote('model_int.py', 'import torch.nn as nn\nconv = nn.Conv2d(3, 8, 3)\n');
  await vscode.workspace.openTextDocument(uri);
  const text = await until('hover', async () => {
    const t = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(1, 12)));
    return /Conv2d/.test(t) ? t : undefined;
  });
  assert.match(text, /torch\.nn\.Conv2d/);
  const none = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(1, 1)));
  assert.ok(!/torch\.nn/.test(none), 'an unknown name (conv) gets no ML Notes hover');
});

test('LaTeX completion is offered inside math only', async () => {
  const uri = await writeNote('complete-int.md', '噪声 $x+\\vare$ 结束\n\n正文 \\vare\n');
  await vscode.workspace.openTextDocument(uri);
  const inside = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, new vscode.Position(0, 11), '\\');
  const labels = inside.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
  assert.ok(labels.some((l) => l.includes('varepsilon')), labels.slice(0, 20).join(' '));
  const outside = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, new vscode.Position(2, 8), '\\');
  assert.ok(!outside.items.some((i) => (typeof i.label === 'string' ? i.label : i.label.label).includes('varepsilon')), 'nothing from ML Notes outside math');
});

test('the preview opens beside the note and renders it', async () => {
  const uri = await writeNote('preview-int.md', '# 预览\n\n第$i$个\n');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  await vscode.commands.executeCommand('mlNotes.openPreviewToSide');
  await until('a preview tab', () =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.label.includes('preview-int.md')),
  );
});

const longBody = (n: number) => Array.from({ length: n }, (_, i) => `第 ${i} 段：$\\sum_{k=1}^{${i}} \\alpha_k x^k$，以及 $$\\int_0^{${i}} e^{-t^2}\\,dt$$`).join('\n\n');

test("a long note's render for the Problems view stops when the preview's opening replaces its renderer", async () => {
  // Opening a note starts its full render (for math diagnostics); the first preview gives the
  // renderer its image mapping, which replaces it once an image was resolved. Left running, the
  // old render would take the CPU from the preview's own first render for seconds.
  const api = (await vscode.extensions.getExtension('ml-notes.ml-notes')!.activate()) as { started: StartedState };
  await vscode.commands.executeCommand('workbench.action.closeAllEditors'); // a new preview, not an earlier test's
  const uri = await writeNote('dropped-render.md', `# 长笔记\n\n![图](figure.png)\n\n${longBody(1500)}\n`);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  await vscode.commands.executeCommand('mlNotes.openPreviewToSide');
  await until('the dropped render counted', () => (api.started.droppedRenders[uri.toString()] ?? 0) > 0, 30_000);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test("a long note without images keeps its render in flight when a preview opens", async () => {
  // Nothing cached depends on the webview's image mapping: the diagnostics' render goes on and
  // the preview's renders use it, instead of starting the note over.
  const api = (await vscode.extensions.getExtension('ml-notes.ml-notes')!.activate()) as { started: StartedState };
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const uri = await writeNote('kept-render.md', `# 长笔记\n\n${longBody(1500)}\n`);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  await vscode.commands.executeCommand('mlNotes.openPreviewToSide');
  await until('a preview tab', () => allTabs().find((t) => t.input instanceof vscode.TabInputWebview && t.label.includes('kept-render.md')));
  await sleep(3000); // past the first render's end
  assert.equal(api.started.droppedRenders[uri.toString()], undefined, 'no render of this note dropped');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('a formula being typed is reported only after the user pauses', async () => {
  const uri = await writeNote('typing-int.md', '# 输入\n\n噪声 $x$ 结束\n');
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  await vscode.commands.executeCommand('mlNotes.openPreviewToSide'); // its renders arrive while typing
  await vscode.window.showTextDocument(editor.document, editor.viewColumn);
  await sleep(500);
  let pos = new vscode.Position(2, 5); // after `$x`
  let lastEdit = 0;
  for (const ch of '+\\fr') {
    await editor.edit((b) => b.insert(pos, ch));
    pos = pos.translate(0, 1);
    editor.selection = new vscode.Selection(pos, pos);
    lastEdit = Date.now();
    await sleep(120);
  }
  assert.equal(editor.document.lineAt(2).text, '噪声 $x+\\fr$ 结束');
  await sleep(300);
  const early = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'ML Notes');
  const elapsed = Date.now() - lastEdit;
  assert.ok(elapsed < 1000, `inconclusive: the check ran ${elapsed} ms after the last edit`);
  assert.deepEqual(early.map((d) => d.message), [], 'nothing reported while typing');
  const later = await until('the error after the pause', () => {
    const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'ML Notes');
    return d.length ? d : undefined;
  });
  assert.match(later[0]!.message, /\\fr/);
  assert.ok(Date.now() - lastEdit >= 1000, 'reported after the pause');
});

test('Explain Symbol keeps its own locked preview when another note is opened', async () => {
  // VS Code's own Markdown preview (ML Notes' preview panel has its own view type).
  const builtInPreviews = () =>
    allTabs().filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('markdown.preview')).map((t) => t.label);
  await vscode.commands.executeCommand('mlNotes.explainSymbol', 'torch.nn.Conv2d');
  const label = await until('the explanation tab', () => builtInPreviews().find((l) => l.includes('torch.nn.Conv2d')));
  const other = await writeNote('after-explain-int.md', '# 另一篇\n\n正文\n');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(other), vscode.ViewColumn.One);
  await sleep(1500); // a dynamic preview would have retitled itself to the new note by now
  assert.deepEqual(builtInPreviews(), [label], 'the explanation still shows its entry, and nothing else');
  await vscode.commands.executeCommand('mlNotes.explainSymbol', 'torch.nn.Conv2d');
  await sleep(500);
  assert.deepEqual(builtInPreviews(), [label], 'explaining it again reuses its tab');
});

export async function run(): Promise<void> {
  const results: Result[] = [];
  for (const [name, fn] of tests) {
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name, ok: true, ms: Date.now() - t0 });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e), ms: Date.now() - t0 });
    }
  }
  await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder(), 'integration-results.json'), new TextEncoder().encode(JSON.stringify(results, null, 2)));
}
