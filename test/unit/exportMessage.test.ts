import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { offerExported, type ExportMessageHost } from '../../src/extension/exportMessage';

/** A fake workbench that clicks `click` on the message and records what the extension did. */
function fakeHost(local: boolean, click: (items: string[]) => string | undefined) {
  const calls: string[] = [];
  const shown: { message: string; items: string[] }[] = [];
  const host: ExportMessageHost<string> = {
    local,
    t: (m, ...args) => m.replace(/\{(\d+)\}/g, (_x, i: string) => args[Number(i)] ?? ''),
    showInformationMessage: (message, ...items) => {
      shown.push({ message, items });
      return Promise.resolve(click(items));
    },
    openExternal: (target) => {
      calls.push(`openExternal ${target}`);
      return Promise.resolve(true);
    },
    executeCommand: (command, target) => {
      calls.push(`${command} ${target}`);
      return Promise.resolve();
    },
  };
  return { host, calls, shown };
}

describe('the "Exported to …" message', () => {
  it('in a local window offers Open in Browser and Reveal in Explorer', async () => {
    const f = fakeHost(true, () => undefined);
    await offerExported(f.host, 'file:///n/a.html', 'a.html');
    assert.deepEqual(f.shown, [{ message: 'Exported to a.html', items: ['Open in Browser', 'Reveal in Explorer'] }]);
    assert.deepEqual(f.calls, [], 'dismissing does nothing');
  });

  it('Open in Browser hands the file to the OS', async () => {
    const f = fakeHost(true, () => 'Open in Browser');
    await offerExported(f.host, 'file:///n/a.html', 'a.html');
    assert.deepEqual(f.calls, ['openExternal file:///n/a.html']);
  });

  it("Reveal in Explorer shows the file in the OS's file manager in a local window", async () => {
    const f = fakeHost(true, () => 'Reveal in Explorer');
    await offerExported(f.host, 'file:///n/a.html', 'a.html');
    assert.deepEqual(f.calls, ['revealFileInOS file:///n/a.html']);
  });

  it("in a remote or browser window reveals in VS Code's Explorer and offers no OS browser", async () => {
    const f = fakeHost(false, (items) => items.find((i) => i === 'Reveal in Explorer'));
    await offerExported(f.host, 'vscode-remote://x/n/a.html', 'a.html');
    assert.deepEqual(f.shown[0]!.items, ['Reveal in Explorer']);
    assert.deepEqual(f.calls, ['revealInExplorer vscode-remote://x/n/a.html']);
  });
});
