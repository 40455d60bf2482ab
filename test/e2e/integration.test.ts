/**
 * Tier 2: tests inside the real extension host. Bundles test/integration/suite.ts, starts
 * code-server with the repository as the extension in development mode and the suite as
 * extensionTestsPath, then reads the results the suite wrote into the workspace.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { withVSCode, waitFor, REPO } from './harness';

test('integration suite inside the extension host', { timeout: 240_000 }, async () => {
  const out = path.join(REPO, 'out', 'integration', 'suite.js');
  await build({ entryPoints: [path.join(REPO, 'test/integration/suite.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', external: ['vscode'], logLevel: 'warning' });
  assert.ok(fs.existsSync(path.join(REPO, 'dist', 'extension.js')), 'build first (npm run build)');
  await withVSCode(
    {
      name: 'integration',
      vsix: null,
      payload: [
        ['extensionDevelopmentPath', `vscode-remote://remote${REPO}`],
        ['extensionTestsPath', `vscode-remote://remote${out}`],
      ],
    },
    async (vs) => {
      const file = path.join(vs.workspace, 'integration-results.json');
      await waitFor('integration-results.json', () => fs.existsSync(file), 180_000, 250);
      const results = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ name: string; ok: boolean; error?: string; ms: number }>;
      for (const r of results) console.log(`# ${r.ok ? 'pass' : 'FAIL'} ${r.name} (${r.ms} ms)${r.error ? '\n' + r.error : ''}`);
      assert.ok(results.length >= 10, `${results.length} results`);
      const failed = results.filter((r) => !r.ok);
      assert.deepEqual(failed.map((r) => `${r.name}: ${r.error}`), []);
    },
  );
});
