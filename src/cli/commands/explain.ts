import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { bundledKnowledgeBase } from '../../core/kb/bundled';
import type { KbLang } from '../../core/kb/types';
import { HoverEngine } from '../../core/hover/hoverEngine';
import { explainMarkdown, hoverMarkdown, type NoteLinkTarget } from '../../core/hover/hoverMarkdown';
import { NoteIndex } from '../../core/hover/noteIndex';
import { PythonParser } from '../../core/hover/pythonParser';
import { wasmNear } from '../../core/hover/wasmPaths';
import { fail, type CliCommand } from '../cliUtil';

export const explainCommand: CliCommand = {
  name: 'explain',
  usage: `ml-notes explain FILE:LINE:COL [--lang zh|en] [--notes DIR]
  ml-notes explain NAME [--lang zh|en] [--notes DIR]
      Print, as Markdown, the hover ML Notes shows at LINE:COL (1-based) of a .py file or a
      note's Python block; exit 1 when there is none. With a qualified NAME
      (torch.nn.functional.conv2d) print its full knowledge-base entry.
      Note links come from the Markdown notes under DIR (default: FILE's folder, or the
      current folder for NAME). --lang defaults to zh when $LANG starts with zh, else en.`,
  run: explain,
};

const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'dist-vsix']);

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

async function explain(args: readonly string[]): Promise<number> {
  let target: string | undefined;
  let lang: KbLang = /^zh/i.test(process.env.LC_ALL || process.env.LANG || '') ? 'zh' : 'en';
  let notesDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--lang') {
      const v = args[++i];
      if (v !== 'zh' && v !== 'en' && v !== 'zh-cn') return fail(`--lang must be zh or en`);
      lang = v === 'en' ? 'en' : 'zh';
    } else if (a === '--notes') notesDir = args[++i];
    else if (a.startsWith('-')) return fail(`unknown option '${a}'`);
    else if (target === undefined) target = a;
    else return fail(`unexpected argument '${a}'`);
  }
  if (!target) return fail('missing FILE:LINE:COL or NAME');

  const kb = bundledKnowledgeBase();
  const parser = await PythonParser.load(wasmNear(__dirname));
  const notes = new NoteIndex(parser, kb);
  // Terminals open `path#L12` links; the extension uses a command link to the same place.
  const link: NoteLinkTarget = (l) => `${relative(process.cwd(), l.note) || l.note}#L${l.line + 1}`;
  const indexNotes = (dir: string): void => {
    for (const f of markdownFiles(dir)) {
      try {
        notes.update(f, readFileSync(f, 'utf8'), basename(f));
      } catch {
        // An unreadable note only costs its links.
      }
    }
  };

  const m = /^(.*):(\d+):(\d+)$/.exec(target);
  if (!m) {
    const entry = kb.get(target);
    if (!entry) {
      process.stderr.write(`ml-notes: no entry named '${target}'\n`);
      return 1;
    }
    indexNotes(resolve(notesDir ?? '.'));
    process.stdout.write(explainMarkdown(entry, kb, lang, notes.linksFor(entry, 1000), link));
    return 0;
  }
  const [, file, line, col] = m;
  let text: string;
  try {
    text = readFileSync(file!, 'utf8');
  } catch (e) {
    return fail(`cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const kind = /\.(md|markdown)$/i.test(file!) ? 'markdown' : 'python';
  const engine = new HoverEngine(parser, kb);
  const hit = engine.hoverAt({ key: file!, version: 0, text, kind }, Number(line) - 1, Number(col) - 1);
  if (!hit) return 1;
  indexNotes(resolve(notesDir ?? dirname(file!)));
  process.stdout.write(hoverMarkdown(hit, kb, lang, notes.linksFor(hit.entry), link));
  return 0;
}
