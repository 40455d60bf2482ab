import type { ApiIndex } from './apiIndex';
import type { KbEntry, KbFile, KbKind, KbLang } from './types';
import { KB_LANGS } from './types';

/**
 * What a hover names: a curated entry (`source: 'kb'`), or a generated one read from the user's
 * interpreter (`introspected`) or from the shipped index (`index`).
 */
export interface ApiRef {
  /** The canonical qualified name. */
  name: string;
  kind: KbKind;
  signature?: string;
  /** For index entries: the docstring's first sentence (English). */
  summary?: string;
  source: 'kb' | 'index' | 'introspected';
  /** For generated entries: the package version the signature was read from (`torch 1.13.0a0`). */
  version?: string;
  /** The curated entry, when there is one. */
  entry?: KbEntry;
}

/** What starts a comment in an entry's example. */
export function commentMarker(e: KbEntry): string {
  return e.language === 'typescript' ? '//' : '#';
}

/** How an entry was found for a name. */
export interface KbMatch {
  entry: KbEntry;
  /** True when only the last name segment matched (the receiver's type was unknown). */
  byName: boolean;
}

/** Every entry, indexed by qualified name, alias and (for methods and properties) member name. */
export class KnowledgeBase {
  private readonly byQualified = new Map<string, KbEntry>();
  /** Member name → the method/property entries that carry it; only unambiguous ones are used. */
  private readonly byMember = new Map<string, KbEntry[]>();
  private readonly areaOf = new Map<KbEntry, string>();
  readonly entries: readonly KbEntry[];
  /** Every proper prefix of every name (`torch`, `torch.nn`), for star imports and early exits. */
  private readonly prefixes = new Set<string>();

  /** `index`: generated names that answer when no curated entry does. */
  constructor(files: readonly KbFile[], readonly index?: ApiIndex) {
    const all: KbEntry[] = [];
    for (const file of files) {
      for (const e of file.entries) {
        all.push(e);
        this.areaOf.set(e, file.area);
        for (const n of [e.name, ...(e.aliases ?? [])]) {
          if (!this.byQualified.has(n)) this.byQualified.set(n, e);
          // TypeScript entries are looked up by the TypeScript resolver only: a Python `x.dispose()`
          // must not find tfjs's, and Keras's `fit` must stay the only Python `fit`.
          if ((e.kind === 'method' || e.kind === 'property') && e.language !== 'typescript') {
            const member = n.slice(n.lastIndexOf('.') + 1);
            const list = this.byMember.get(member) ?? [];
            if (!list.includes(e)) list.push(e);
            this.byMember.set(member, list);
          }
        }
      }
    }
    this.entries = all;
    const names = [...this.byQualified.keys(), ...(index ? index.files.flatMap((f) => [...Object.keys(f.entries), ...Object.keys(f.aliases ?? {})]) : [])];
    for (const n of names) for (let i = n.indexOf('.'); i > 0; i = n.indexOf('.', i + 1)) this.prefixes.add(n.slice(0, i));
  }

  /** The API a qualified name (or a defining-module path of one) names: curated first, then the index. */
  find(qualifiedName: string): ApiRef | undefined {
    const canonical = this.index?.canonical(qualifiedName);
    const entry = this.byQualified.get(qualifiedName) ?? (canonical ? this.byQualified.get(canonical) : undefined);
    if (entry) return { name: entry.name, kind: entry.kind, signature: entry.signature, source: 'kb', entry };
    const hit = this.index?.get(qualifiedName);
    if (!hit) return undefined;
    const kind: KbKind = hit.kind;
    return { name: hit.name, kind, ...(hit.signature ? { signature: hit.signature } : {}), ...(hit.summary ? { summary: hit.summary } : {}), source: hit.source, version: hit.version };
  }

  /** The class whose members instances of `cls` also have (curated `base`, else the index's). */
  baseOf(cls: string): string | undefined {
    return this.find(cls)?.entry?.base ?? this.index?.get(cls)?.base;
  }

  /** What calling `name` returns, where the curated entry or the generated signature says. */
  returnsOf(name: string): string | undefined {
    return this.find(name)?.entry?.returns ?? this.index?.get(name)?.returns;
  }

  /** The type of a constant (`torch.float32` → `torch.dtype`), from the index. */
  typeOf(name: string): string | undefined {
    return this.index?.get(name)?.type;
  }

  /** The member `name` of instances of `cls`, looked up through its bases. */
  memberOf(cls: string, name: string): ApiRef | undefined {
    const seen = new Set<string>();
    for (let c: string | undefined = this.find(cls)?.name ?? cls; c && !seen.has(c); c = this.baseOf(c)) {
      seen.add(c);
      const hit = this.find(`${c}.${name}`);
      if (hit) return hit;
    }
    return undefined;
  }

  /** Is `cls` (a class name) `base` or derived from it? */
  isA(cls: string, base: string): boolean {
    const seen = new Set<string>();
    for (let c: string | undefined = this.find(cls)?.name ?? cls; c && !seen.has(c); c = this.baseOf(c)) {
      if (c === base) return true;
      seen.add(c);
    }
    return false;
  }

  get(qualifiedName: string): KbEntry | undefined {
    return this.byQualified.get(qualifiedName);
  }

  area(entry: KbEntry): string {
    return this.areaOf.get(entry) ?? '';
  }

  /** Is any entry named `prefix.…`? Lets the resolver stop early on unknown modules. */
  hasPrefix(prefix: string): boolean {
    return this.byQualified.has(prefix) || this.prefixes.has(prefix) || !!this.index?.get(prefix);
  }

  /** The single method/property entry with this member name, or undefined when none or several. */
  member(name: string): KbEntry | undefined {
    const list = this.byMember.get(name);
    return list && list.length === 1 ? list[0] : undefined;
  }

  /** The single entry whose name ends in `.last` (a bare name in a heading: `tf_export`), if unique. */
  byLastSegment(last: string): KbEntry | undefined {
    let found: KbEntry | undefined;
    for (const e of this.entries) {
      if (e.language === 'typescript') continue;
      if (e.name === last || e.name.endsWith('.' + last)) {
        if (found) return undefined;
        found = e;
      }
    }
    return found;
  }

  /** The `parameter` entry for keyword `kw` of the callable `callee` (`retain_graph` of `backward`). */
  parameter(callee: KbEntry, kw: string): KbEntry | undefined {
    return this.entries.find((e) => e.kind === 'parameter' && e.name.endsWith('.' + kw) && (e.appliesTo ?? []).includes(callee.name));
  }

  /** Entries matching every word of `query` in their names, signature or summaries (either language), best first. */
  search(query: string, lang: KbLang, limit = 50): KbEntry[] {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return this.entries.slice(0, limit);
    const scored: { e: KbEntry; score: number }[] = [];
    for (const e of this.entries) {
      const names = [e.name, ...(e.aliases ?? [])].join(' ').toLowerCase();
      // Both languages are searched whatever the UI's (`卷积` finds Conv2d in an English UI);
      // a match in the reader's language ranks first.
      const own = `${e.signature} ${e[lang].summary}`.toLowerCase();
      const other = KB_LANGS.filter((l) => l !== lang).map((l) => e[l].summary).join(' ').toLowerCase();
      let score = 0;
      for (const w of words) {
        if (e.name.toLowerCase().endsWith('.' + w) || e.name.toLowerCase() === w) score += 10;
        else if (names.includes(w)) score += 5;
        else if (own.includes(w)) score += 2;
        else if (other.includes(w)) score += 1;
        else {
          score = -1;
          break;
        }
      }
      if (score > 0) scored.push({ e, score });
    }
    scored.sort((a, b) => b.score - a.score || a.e.name.length - b.e.name.length);
    return scored.slice(0, limit).map((s) => s.e);
  }

  /**
   * Problems that make an entry unfit to show: missing prose in a language, examples outside
   * 2–5 lines, references that do not resolve, counterparts that do not point back.
   */
  validate(): string[] {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const e of this.entries) {
      const where = e.name || '(unnamed)';
      for (const n of [e.name, ...(e.aliases ?? [])]) {
        if (seen.has(n)) problems.push(`${where}: name ${n} is used twice`);
        seen.add(n);
      }
      if (!/^[A-Za-z_][\w.]*$/.test(e.name)) problems.push(`${where}: bad name`);
      if (!e.signature.trim()) problems.push(`${where}: no signature`);
      if (!/^https:\/\/\S+$/.test(e.doc) && !(e.doc === '' && e.name.split('.')[0] === 'mlnotes')) problems.push(`${where}: doc is not an https URL`);
      const lines = e.example.split('\n').filter((l) => l.trim());
      // Bilingual comments are split per language when shown (`# 中文 / English`).
      const marker = commentMarker(e);
      for (const l of lines) {
        const c = l.slice(l.indexOf(marker) + marker.length);
        if (l.includes(marker) && /[\u4e00-\u9fff]/.test(c) && !/ \/ [^\u4e00-\u9fff]+$/.test(c)) problems.push(`${where}: example comment has Chinese without an English half (${marker} 中文 / English)`);
      }
      if (lines.length < 2 || lines.length > 5) problems.push(`${where}: example has ${lines.length} lines (want 2–5)`);
      for (const lang of KB_LANGS) {
        const t = e[lang];
        if (!t) {
          problems.push(`${where}: no ${lang} text`);
          continue;
        }
        if (!t.summary?.trim()) problems.push(`${where}: ${lang}.summary is empty`);
        if (!t.concept?.trim()) problems.push(`${where}: ${lang}.concept is empty`);
        if (!Array.isArray(t.pitfalls) || !t.pitfalls.length || t.pitfalls.some((p) => !p.trim())) problems.push(`${where}: ${lang}.pitfalls is empty`);
        if (lang === 'zh' && !/[\u4e00-\u9fff]/.test(`${t.summary}${t.concept}`)) problems.push(`${where}: zh text has no Chinese`);
        if (lang === 'en' && /[\u4e00-\u9fff]/.test(`${t.summary}${t.concept}${t.pitfalls.join('')}${t.state ?? ''}`)) problems.push(`${where}: en text has Chinese`);
        if ((e.zh.state === undefined) !== (e.en.state === undefined)) problems.push(`${where}: state given in one language only`);
      }
      for (const ref of [...(e.counterparts ?? []), ...(e.see ?? []), ...(e.appliesTo ?? [])]) {
        if (!this.get(ref)) problems.push(`${where}: reference ${ref} does not resolve`);
      }
      for (const c of e.counterparts ?? []) {
        const other = this.get(c);
        if (other && !(other.counterparts ?? []).some((n) => this.get(n) === e)) problems.push(`${where}: counterpart ${c} does not point back`);
      }
    }
    return [...new Set(problems)];
  }
}
