import katexCommands from './katexCommands.json';
import { maxParam, type KatexCommandList } from './katexCommandList';
import { isInMathForCompletion, mathRegionsNear, type RegionOptions, type TextPosition } from './mathRegions';
import { noteMacros } from './noteMacros';

export const KATEX_COMMANDS = katexCommands as KatexCommandList;

export interface LatexCompletion {
  /** As shown and filtered: `\alpha`, `\begin{pmatrix}`, or `pmatrix` after `\begin{`. */
  readonly label: string;
  /** VS Code snippet syntax. */
  readonly insertText: string;
  /** Short text beside the label: the character the command draws (`α`), when there is one. */
  readonly glyph?: string;
  /** One line under the label. */
  readonly detail: string;
  readonly kind: 'command' | 'environment' | 'noteMacro' | 'settingMacro';
  /** TeX that shows the command at work, for rendering in the documentation. */
  readonly example?: string;
  /** Ask the editor for completions again after inserting (`\begin{` → environment names). */
  readonly retrigger?: boolean;
}

export interface LatexCompletions {
  readonly items: readonly LatexCompletion[];
  /** The text the chosen item replaces: from the backslash (or the environment name) to `end`. */
  readonly replaceStart: TextPosition;
  readonly replaceEnd: TextPosition;
}

export interface CompletionContext extends RegionOptions {
  /** The user's `mlNotes.preview.macros`. */
  readonly settingMacros?: Readonly<Record<string, string>>;
  readonly commands?: KatexCommandList;
}

/**
 * LaTeX completions at `pos`, or undefined where none belong: outside math (as the preview
 * decides it) and in math where no command is being typed.
 */
export function latexCompletions(text: string, pos: TextPosition, ctx: CompletionContext = {}): LatexCompletions | undefined {
  const lineText = text.split(/\r?\n|\r/)[pos.line] ?? '';
  const before = lineText.slice(0, pos.character);
  const env = /\\begin\{([a-zA-Z*]*)$/.exec(before);
  const cmd = env ? undefined : /\\([a-zA-Z]*)$/.exec(before);
  if (!env && !cmd) return undefined;
  if (!isInMathForCompletion(text, pos, ctx)) return undefined;
  const list = ctx.commands ?? KATEX_COMMANDS;
  const multiline = isDisplay(text, pos, ctx);

  if (env) {
    // Replace a `}` right after the cursor too: `\begin{|}` must not end up as `\begin{x}}`.
    const closing = lineText[pos.character] === '}' ? 1 : 0;
    return {
      items: list.environments.map((e) => ({
        label: e.name,
        insertText: environmentBody(e.name, e.args, multiline),
        detail: 'KaTeX environment',
        kind: 'environment',
        example: exampleEnvironment(e.name, e.args),
      })),
      replaceStart: { line: pos.line, character: pos.character - env[1]!.length },
      replaceEnd: { line: pos.line, character: pos.character + closing },
    };
  }

  const items: LatexCompletion[] = [];
  const seen = new Set<string>();
  const push = (name: string, item: LatexCompletion) => {
    if (seen.has(name)) return;
    seen.add(name);
    items.push(item);
  };
  // The note's own macros and the setting's come first: they shadow KaTeX's of the same name.
  for (const m of noteMacros(text, undefined, ctx)) {
    push(m.name, {
      label: '\\' + m.name, insertText: commandBody(m.name, m.args), detail: m.body, kind: 'noteMacro',
      example: '\\' + m.name + exampleArgs(m.args),
    });
  }
  for (const [full, body] of Object.entries(ctx.settingMacros ?? {})) {
    const name = full.replace(/^\\/, '');
    if (!/^[a-zA-Z]+$/.test(name)) continue;
    const args = maxParam(body);
    push(name, { label: '\\' + name, insertText: commandBody(name, args), detail: body, kind: 'settingMacro', example: '\\' + name + exampleArgs(args) });
  }
  for (const c of list.commands) {
    if (c.name === 'begin') {
      push(c.name, { label: '\\begin', insertText: '\\\\begin{', detail: 'KaTeX environment', kind: 'command', retrigger: true });
      continue;
    }
    push(c.name, {
      label: '\\' + c.name,
      insertText: commandBody(c.name, c.args),
      ...(c.char ? { glyph: c.char } : {}),
      detail: c.char ? `${c.char}  KaTeX ${c.kind}` : `KaTeX ${c.kind}${c.args ? ` (${c.args} argument${c.args > 1 ? 's' : ''})` : ''}`,
      kind: 'command',
      example: '\\' + c.name + exampleArgs(c.args),
    });
  }
  for (const e of list.environments) {
    items.push({
      label: `\\begin{${e.name}}`,
      insertText: '\\\\begin{' + environmentBody(e.name, e.args, multiline),
      detail: 'KaTeX environment',
      kind: 'environment',
      example: exampleEnvironment(e.name, e.args),
    });
  }
  return { items, replaceStart: { line: pos.line, character: pos.character - cmd![0].length }, replaceEnd: pos };
}

function isDisplay(text: string, pos: TextPosition, ctx: RegionOptions): boolean {
  const region = mathRegionsNear(text, pos.line, ctx).find((r) => r.innerStart.line <= pos.line && pos.line <= r.innerEnd.line);
  return region ? region.display && region.kind !== 'inline' : false;
}

/** `\name{$1}{$2}` (snippet syntax). */
function commandBody(name: string, args: number): string {
  let s = '\\\\' + name;
  for (let k = 1; k <= args; k++) s += `{$${k}}`;
  return s;
}

/** What follows `\begin{`: the name, its arguments, a body tab stop and the matching `\end`. */
export function environmentBody(name: string, args: number, multiline: boolean): string {
  let s = name + '}';
  for (let k = 1; k <= args; k++) s += `{$${k}}`;
  const body = `$${args + 1}`;
  return multiline ? `${s}\n\t${body}\n\\\\end{${name}}` : `${s} ${body} \\\\end{${name}}`;
}

function exampleArgs(args: number): string {
  return ['{a}', '{b}', '{c}', '{d}', '{e}', '{f}', '{g}', '{h}', '{i}'].slice(0, args).join('');
}

function exampleEnvironment(name: string, args: number): string {
  const spec = name === 'array' || name === 'darray' ? '{cc}' : name === 'subarray' ? '{c}' : exampleArgs(args);
  const rows = name === 'CD' ? 'A @>>> B' : name === 'subarray' ? 'a \\\\ b' : 'a & b \\\\ c & d';
  return `\\begin{${name}}${spec}${rows}\\end{${name}}`;
}
