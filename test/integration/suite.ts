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

test('the extension activates and registers its commands', async () => {
  const ext = vscode.extensions.getExtension('ml-notes.ml-notes');
  assert.ok(ext, 'ml-notes.ml-notes is loaded');
  await ext.activate();
  const all = await vscode.commands.getCommands(true);
  for (const id of ['mlNotes.openPreviewToSide', 'mlNotes.openPreview', 'mlNotes.exportHtml', 'mlNotes.runSnippet', 'mlNotes.stopSnippet', 'mlNotes.insertFormula', 'mlNotes.explainSymbol']) {
    assert.ok(all.includes(id), `${id} is registered`);
  }
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
  assert.ok(!/<script/i.test(html));
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
