import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { bundledKnowledgeBase, knowledgeBaseWith } from '../../core/kb/bundled';
import { introspectTorch, torchIndexScriptNear } from '../../core/kb/introspect';
import type { KnowledgeBase } from '../../core/kb/knowledgeBase';
import type { KbLang } from '../../core/kb/types';
import { HoverEngine, type HoverHit } from '../../core/hover/hoverEngine';
import { explainMarkdown, hoverMarkdown, type NoteLinkTarget } from '../../core/hover/hoverMarkdown';
import { NoteIndex } from '../../core/hover/noteIndex';
import { PythonParser } from '../../core/hover/pythonParser';
import { wasmNear } from '../../core/hover/wasmPaths';
import { fail, type CliCommand } from '../cliUtil';

export const explainCommand: CliCommand = {
  name: 'explain',
  usage: `ml-notes explain FILE:LINE:COL [--lang zh|en] [--notes DIR] [--python PATH]
  ml-notes explain NAME [--lang zh|en] [--notes DIR]
  ml-notes explain --batch [--json] [--lang zh|en] [--notes DIR] [--python PATH] < POSITIONS
      Print, as Markdown, the hover ML Notes shows at LINE:COL (1-based) of a .py file or a
      note's Python block; exit 1 when there is none. With a qualified NAME
      (torch.nn.functional.conv2d) print its full knowledge-base entry.
      --batch reads FILE:LINE:COL lines on stdin and prints one line each: with --json
      {"position","qualifiedName","source":"kb"|"introspected"|"index","version","markdown"}
      or {"position","none":true}; without, POSITION<TAB>NAME<TAB>SOURCE<TAB>VERSION or POSITION<TAB>-.
      --python PATH explains torch names without a curated entry from that interpreter's own
      torch (read once, cached in $XDG_CACHE_HOME/ml-notes); without it, from the shipped
      torch 1.13 index.
      Note links come from the Markdown notes under DIR (default: FILE's folder, or the
      current folder for NAME). --lang defaults to zh when $LANG starts with zh, else en.`,
  run: explain,
};

const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'dist-vsix']);
/** What `version` says for curated entries: their signatures follow the current official docs. */
export const CURATED_VERSION = 'current docs';

function markdownFiles(dir: string, out: string[] = [], depth = 0): string[] {
  if (depth > 8) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) markdownFiles(p, out, depth + 1);
    else if (st?.isFile() && name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** Where the CLI keeps introspected indexes between runs. */
function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' ? process.env.LOCALAPPDATA : undefined) || join(homedir(), '.cache');
  return join(base, 'ml-notes');
}

/** One JSON line of `--batch --json`. */
export type BatchLine =
  | { position: string; qualifiedName: string; source: 'kb' | 'introspected' | 'index'; version: string; markdown: string }
  | { position: string; none: true; error?: string };

const POSITION = /^(.*):(\d+):(\d+)$/;

async function explain(args: readonly string[]): Promise<number> {
  let target: string | undefined;
  let lang: KbLang = /^zh/i.test(process.env.LC_ALL || process.env.LANG || '') ? 'zh' : 'en';
  let notesDir: string | undefined;
  let python: string | undefined;
  let batch = false;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--lang') {
      const v = args[++i];
      if (v !== 'zh' && v !== 'en' && v !== 'zh-cn') return fail(`--lang must be zh or en`);
      lang = v === 'en' ? 'en' : 'zh';
    } else if (a === '--notes') notesDir = args[++i];
    else if (a === '--python') python = args[++i];
    else if (a === '--batch') batch = true;
    else if (a === '--json') json = true;
    else if (a.startsWith('-')) return fail(`unknown option '${a}'`);
    else if (target === undefined) target = a;
    else return fail(`unexpected argument '${a}'`);
  }
  if (batch && target) return fail('--batch reads positions from stdin; give no FILE:LINE:COL');
  if (json && !batch) return fail('--json goes with --batch');
  if (!batch && !target) return fail('missing FILE:LINE:COL or NAME');
  if (python === '') return fail('--python needs a path');

  let kb: KnowledgeBase = bundledKnowledgeBase();
  if (python) {
    const r = await introspectTorch({ interpreter: python, script: torchIndexScriptNear(__dirname), cacheDir: cacheDir() });
    if (r.ok) kb = knowledgeBaseWith(r.index);
    else process.stderr.write(`ml-notes: ${r.reason}; using the shipped torch index\n`);
  }
  const parser = await PythonParser.load(wasmNear(__dirname));
  // Terminals open `path#L12` links; the extension uses a command link to the same place.
  const link: NoteLinkTarget = (l) => `${relative(process.cwd(), l.note) || l.note}#L${l.line + 1}`;
  const noteIndexes = new Map<string, NoteIndex>();
  const notesUnder = (dir: string): NoteIndex => {
    let notes = noteIndexes.get(dir);
    if (notes) return notes;
    notes = new NoteIndex(parser, kb);
    for (const f of markdownFiles(dir)) {
      try {
        notes.update(f, readFileSync(f, 'utf8'), basename(f));
      } catch {
        // An unreadable note only costs its links.
      }
    }
    noteIndexes.set(dir, notes);
    return notes;
  };
  const engine = new HoverEngine(parser, kb);
  const texts = new Map<string, string>();
  /** The hover at a 1-based position, or why there is none. */
  const hoverAt = (file: string, line: number, col: number): { hit?: HoverHit; error?: string } => {
    let text = texts.get(file);
    if (text === undefined) {
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        return { error: `cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
      }
      texts.set(file, text);
    }
    const kind = /\.(md|markdown)$/i.test(file) ? 'markdown' : 'python';
    const hit = engine.hoverAt({ key: file, version: 0, text, kind }, line - 1, col - 1);
    return hit ? { hit } : {};
  };
  const markdownFor = (file: string, hit: HoverHit): string => hoverMarkdown(hit, kb, lang, notesUnder(resolve(notesDir ?? dirname(file))).linksFor(hit.entry), link);

  if (batch) {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const raw of lines) {
      const position = raw.trim();
      if (!position) continue;
      const m = POSITION.exec(position);
      let out: BatchLine;
      if (!m) out = { position, none: true, error: 'not FILE:LINE:COL' };
      else {
        const { hit, error } = hoverAt(m[1]!, Number(m[2]), Number(m[3]));
        out = hit
          ? { position, qualifiedName: hit.api.name, source: hit.api.source, version: hit.api.source === 'kb' ? CURATED_VERSION : (hit.api.version ?? ''), markdown: json ? markdownFor(m[1]!, hit) : '' }
          : { position, none: true, ...(error ? { error } : {}) };
      }
      // One line per position, written as it is answered, so a caller can stream.
      if (json) process.stdout.write(JSON.stringify(out) + '\n');
      else process.stdout.write('none' in out ? `${position}\t-\n` : `${position}\t${out.qualifiedName}\t${out.source}\t${out.version}\n`);
    }
    return 0;
  }

  const m = POSITION.exec(target!);
  if (!m) {
    const entry = kb.get(target!);
    if (!entry) {
      process.stderr.write(`ml-notes: no entry named '${target}'\n`);
      return 1;
    }
    process.stdout.write(explainMarkdown(entry, kb, lang, notesUnder(resolve(notesDir ?? '.')).linksFor(entry, 1000), link));
    return 0;
  }
  const { hit, error } = hoverAt(m[1]!, Number(m[2]), Number(m[3]));
  if (error) return fail(error);
  if (!hit) return 1;
  process.stdout.write(markdownFor(m[1]!, hit));
  return 0;
}
