import type { ApiRef, KnowledgeBase } from '../kb/knowledgeBase';
import type { KbEntry, KbLang } from '../kb/types';
import { KB_LANGS } from '../kb/types';
import { commentMarker } from '../kb/knowledgeBase';
import { inlineMathToText } from './mathText';
import type { NoteLink } from './noteIndex';
import type { ExportNames } from './pythonResolver';

/** Turns a note link into a link target (a command URI in VS Code, a path#Lnn in a terminal). */
export type NoteLinkTarget = (link: NoteLink) => string;

// The hover's own words follow the hover language, not VS Code's UI language: a reader may
// run VS Code in English and still want the explanations in Chinese.
const LABELS = {
  zh: {
    kinds: { module: '模块', class: '类', function: '函数', method: '方法', property: '属性', decorator: '装饰器', 'context-manager': '上下文管理器', parameter: '参数', constant: '常量', command: '命令' },
    byName: '按方法名匹配：无法推断接收者的类型，这是知识库里唯一叫这个名字的条目。',
    exports: '这个装饰器给被装饰的函数登记的公开名字',
    v2: 'TF2 API',
    v1: 'TF1 API',
    none: '无（只给了 `v1=`，不进入 TF2 主 API）',
    inTf2: '在 TF2 中为',
    state: '参数与状态',
    pitfalls: '易错点',
    counterpart: '对应接口',
    see: '相关',
    example: '示例',
    docs: '官方文档',
    note: '笔记',
    notes: '相关笔记',
    noNotes: '工作区里还没有笔记提到它。',
    generated: (v: string) => `签名与摘要由 ${v} 自动生成（来自其文档字符串，英文），知识库里还没有人工编写的讲解。`,
    introspected: (v: string) => `签名与摘要读自你的 Python 解释器里安装的 ${v}（其文档字符串，英文），知识库里还没有人工编写的讲解。`,
    generatedDocs: '在官方文档中查找',
    curatedVersion: '签名以当前官方文档为准',
    // Full-width colon after a label, as Chinese text writes it.
    sep: '：',
  },
  en: {
    kinds: { module: 'module', class: 'class', function: 'function', method: 'method', property: 'property', decorator: 'decorator', 'context-manager': 'context manager', parameter: 'parameter', constant: 'constant', command: 'command' },
    byName: 'Matched by method name: the receiver’s type is not known, and this is the only entry with this name.',
    exports: 'Public names this decorator registers for the function',
    v2: 'TF2 API',
    v1: 'TF1 API',
    none: 'none (only `v1=` given: not in the TF2 main API)',
    inTf2: 'in TF2 as',
    state: 'Parameters and state',
    pitfalls: 'Pitfalls',
    counterpart: 'Counterpart',
    see: 'See also',
    example: 'Example',
    docs: 'Official documentation',
    note: 'Note',
    notes: 'Notes',
    noNotes: 'No note in the workspace mentions it yet.',
    generated: (v: string) => `Signature and summary generated from ${v} (its docstring); the knowledge base has no curated explanation yet.`,
    introspected: (v: string) => `Signature and summary read from ${v} as installed for your Python interpreter (its docstring); the knowledge base has no curated explanation yet.`,
    generatedDocs: 'Search the official documentation',
    curatedVersion: 'signature as in the current docs',
    sep: ': ',
  },
} as const;

const code = (s: string) => '`' + s.replace(/`/g, '\u02cb') + '`';
const fence = (s: string, language = 'python') => '```' + language + '\n' + s.trimEnd() + '\n```';
const entryFence = (s: string, e: KbEntry) => fence(s, e.language ?? 'python');
/** The docs link, and what the signature describes: curated signatures follow the current docs. */
const docsLine = (e: KbEntry, lang: KbLang, withVersion: boolean) =>
  [e.doc ? `[${LABELS[lang].docs}](${e.doc})` : '', withVersion ? `*${LABELS[lang].curatedVersion}*` : ''].filter(Boolean).join(' · ');
/** Link text must not break out of its brackets. */
const linkText = (s: string) => s.replace(/([\\[\]])/g, '\\$1');

export function noteLinkLabel(link: NoteLink, lang: KbLang): string {
  return `${LABELS[lang].note}${LABELS[lang].sep}${link.title}${link.section ? ` §${link.section}` : ''}`;
}

/** The public names, e.g. TF1 API: `tf.app.run` (in TF2 as `tf.compat.v1.app.run`). */
export function exportLines(ex: ExportNames, lang: KbLang): string[] {
  const L = LABELS[lang];
  const v2 = ex.v2.length ? ex.v2.map((n) => code(`tf.${n}`)).join(', ') : L.none;
  const v1 = ex.v1.map((n) => code(`tf.${n}`)).join(', ');
  const compat = ex.v1.map((n) => code(`tf.compat.v1.${n}`)).join(', ');
  const lines = [`**${L.exports}** (${code(ex.api)})`, '', `- ${L.v2}${L.sep}${v2}`];
  if (ex.v1.length) lines.push(`- ${L.v1}${L.sep}${v1} (${L.inTf2} ${compat})`);
  return lines;
}

function header(entry: KbEntry, lang: KbLang): string {
  return `**${code(entry.name)}** · ${LABELS[lang].kinds[entry.kind]}`;
}

const CJK = /[\u4e00-\u9fff]/;

/**
 * An example in one language: bilingual comments (`# 中文 / English`) keep their own half, so
 * an English hover carries no Chinese.
 */
export function localizeExample(example: string, lang: KbLang, marker = '#'): string {
  return example
    .split('\n')
    .map((line) => {
      const at = line.indexOf(marker);
      if (at < 0 || !CJK.test(line.slice(at))) return line;
      const code = line.slice(0, at).trimEnd();
      const comment = line.slice(at + marker.length).trim();
      const slash = comment.lastIndexOf(' / ');
      const zh = slash >= 0 ? comment.slice(0, slash).trim() : comment;
      const en = slash >= 0 ? comment.slice(slash + 3).trim() : '';
      const keep = lang === 'zh' ? zh : CJK.test(en) ? '' : en;
      return keep ? `${code}${code ? '  ' : ''}${marker} ${keep}` : code;
    })
    .join('\n');
}

function body(entry: KbEntry, kb: KnowledgeBase, lang: KbLang): string[] {
  const L = LABELS[lang];
  const t = entry[lang];
  const m = inlineMathToText;
  const out = [m(t.summary), '', m(t.concept), ''];
  if (t.state) out.push(`**${L.state}**${L.sep}${m(t.state)}`, '');
  out.push(`**${L.pitfalls}**`, '', ...t.pitfalls.map((p) => `- ${m(p)}`), '');
  const refs = (names: string[] | undefined) => (names ?? []).filter((n) => kb.get(n)).map(code).join(', ');
  if (entry.counterparts?.length) out.push(`**${L.counterpart}**${L.sep}${refs(entry.counterparts)}`, '');
  return out;
}

/** Where to look a generated entry up: the docs' search for the version it was read from. */
function generatedDocs(api: ApiRef): string | undefined {
  const m = /^torch (\d+\.\d+)/.exec(api.version ?? '');
  return m ? `https://pytorch.org/docs/${m[1]}/search.html?q=${encodeURIComponent(api.name)}` : undefined;
}

/** A hover for a name the generated index knows but the knowledge base does not explain. */
function generatedMarkdown(api: ApiRef, byName: boolean, lang: KbLang): string {
  const L = LABELS[lang];
  const out = [`**${code(api.name)}** · ${L.kinds[api.kind]}`, ''];
  if (api.signature) out.push(fence(api.signature), '');
  if (byName) out.push(`*${L.byName}*`, '');
  if (api.summary) out.push(escapeText(api.summary), '');
  out.push(`*${(api.source === 'introspected' ? L.introspected : L.generated)(api.version ?? '')}*`);
  const docs = generatedDocs(api);
  if (docs) out.push('', `[${L.generatedDocs}](${docs})`);
  return out.join('\n') + '\n';
}

/** Docstring text is the package's, not ours: keep it from becoming links, images or HTML. */
function escapeText(s: string): string {
  return s.replace(/([\\[\]<>*_!#|])/g, '\\$1');
}

/** The hover: one entry in one language, the export names when on a decorator, and note links. */
export function hoverMarkdown(
  hit: { api?: ApiRef; entry?: KbEntry; byName: boolean; exports?: ExportNames },
  kb: KnowledgeBase,
  lang: KbLang,
  notes: readonly NoteLink[],
  target: NoteLinkTarget,
): string {
  const L = LABELS[lang];
  const { entry } = hit;
  if (!entry) return hit.api ? generatedMarkdown(hit.api, hit.byName, lang) : '';
  const out = [header(entry, lang), '', entryFence(entry.signature, entry), ''];
  if (hit.byName) out.push(`*${L.byName}*`, '');
  if (hit.exports) out.push(...exportLines(hit.exports, lang), '');
  out.push(...body(entry, kb, lang));
  out.push(`**${L.example}**`, '', entryFence(localizeExample(entry.example, lang, commentMarker(entry)), entry), '', docsLine(entry, lang, true));
  if (notes.length) {
    out.push('', '---', '', ...notes.map((n) => `- [${linkText(noteLinkLabel(n, lang))}](${target(n)})`));
  }
  return out.join('\n') + '\n';
}

/** The full entry for the Explain Symbol panel: both languages, related entries, every linked note. */
export function explainMarkdown(entry: KbEntry, kb: KnowledgeBase, first: KbLang, notes: readonly NoteLink[], target: NoteLinkTarget): string {
  const langs = [first, ...KB_LANGS.filter((l) => l !== first)];
  const out = [`# ${code(entry.name)}`, '', entryFence(entry.signature, entry), ''];
  if (entry.aliases?.length) out.push(entry.aliases.map(code).join(' · '), '');
  for (const lang of langs) {
    const L = LABELS[lang];
    out.push(`## ${lang === 'zh' ? '中文' : 'English'} · ${L.kinds[entry.kind]}`, '', ...body(entry, kb, lang));
    if (entry.see?.length) out.push(`**${L.see}**${L.sep}${entry.see.map(code).join(', ')}`, '');
  }
  const L = LABELS[first];
  out.push(`## ${L.example}`, '', entryFence(localizeExample(entry.example, first, commentMarker(entry)), entry), '', docsLine(entry, first, true), '', `## ${L.notes}`, '');
  if (notes.length) out.push(...notes.map((n) => `- [${linkText(noteLinkLabel(n, first))}](${target(n)})`));
  else out.push(L.noNotes);
  return out.join('\n') + '\n';
}
