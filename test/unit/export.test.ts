import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI: ml-notes render (built dist/cli.js)', () => {
  let dir: string;
  before(() => {
    assert.ok(existsSync(cli), 'run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'mln-cli-'));
    writeFileSync(join(dir, 'note.md'), '# 笔记\n\n噪声$\\epsilon$，坏的$\\frac{$\n\n$$ x = 1 $$\n\n<script>alert(1)</script>\n');
  });

  it('--stats prints one JSON line with formulas, katexErrors and ms', () => {
    const r = run(['render', join(dir, 'note.md'), '--stats']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const stats = JSON.parse(lines[0]!) as Record<string, number>;
    assert.equal(stats['formulas'], 3);
    assert.equal(stats['katexErrors'], 1);
    assert.equal(typeof stats['ms'], 'number');
    assert.match(r.stderr, /note\.md:3: KaTeX parse error/);
  });

  it('-o writes standalone HTML that needs no network and runs only KaTeX\'s copy-tex', () => {
    const out = join(dir, 'out.html');
    const r = run(['render', join(dir, 'note.md'), '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.ok(html.includes('class="katex"'));
    assert.ok(html.includes('url(data:font/woff2;base64,'), 'KaTeX fonts are embedded');
    assert.ok(!/url\(fonts\//.test(html), 'no font is left to fetch');
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)];
    assert.equal(scripts.length, 1, 'one script');
    const copyTex = readFileSync(join(root, 'node_modules/katex/dist/contrib/copy-tex.min.js'), 'utf8');
    assert.equal(scripts[0]![1], copyTex);
    const hash = createHash('sha256').update(copyTex).digest('base64');
    assert.match(html, new RegExp(`script-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}';`), 'the CSP allows that script by hash only');
    assert.ok(!html.includes('alert(1)'), 'the note\'s own script is gone');
    assert.ok(html.includes('<annotation encoding="application/x-tex">'), 'formulas keep their TeX for copying');
    assert.match(html, /@media print[\s\S]*white-space: pre-wrap/, 'code wraps in print');
    assert.match(html, /prefers-color-scheme: dark/, 'a dark variant');
    assert.ok(!/url\(\s*['"]?https?:|<link\b|\ssrc=["']?https?:/i.test(html), 'nothing is fetched from the network');
  });

  it('never overwrites an existing file without --force', () => {
    const out = join(dir, 'keep.html');
    writeFileSync(out, 'precious');
    const r = run(['render', join(dir, 'note.md'), '-o', out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /exists/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    assert.equal(run(['render', join(dir, 'note.md'), '-o', out, '--force']).status, 0);
    assert.notEqual(readFileSync(out, 'utf8'), 'precious');
  });

  it('missing or unreadable input: clear message, exit code 2', () => {
    const missing = run(['render', join(dir, 'nope.md')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*nope\.md.*ENOENT/);
    const isDir = run(['render', dir]);
    assert.equal(isDir.status, 2);
    assert.match(isDir.stderr, /cannot read/);
    assert.equal(run(['render']).status, 2);
    assert.equal(run(['frobnicate']).status, 2);
  });
});
