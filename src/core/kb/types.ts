/** The two languages every knowledge-base entry is written in. */
export type KbLang = 'zh' | 'en';
export const KB_LANGS: readonly KbLang[] = ['zh', 'en'];

/**
 * What a name is. `method` and `property` entries live on objects whose type a hover usually
 * cannot infer (`loss.backward()`), so they may also be matched by their last name segment.
 */
export type KbKind = 'module' | 'class' | 'function' | 'method' | 'property' | 'decorator' | 'context-manager' | 'parameter' | 'constant' | 'command';

/** The prose of one entry in one language. */
export interface KbText {
  /** One sentence: what it is. */
  summary: string;
  /** The idea behind it, a short paragraph (Markdown, may use inline code). */
  concept: string;
  /** What parameters or state it holds, and what changes between train() and eval() (nn layers). */
  state?: string;
  /** Mistakes readers make with it; at least one. */
  pitfalls: string[];
}

/** One API. Stored as JSON under kb/, one object per entry so a change reads well in a diff. */
export interface KbEntry {
  /** Canonical qualified name, as Python resolves it: `torch.nn.Conv2d`, `tensorflow.python.util.tf_export.tf_export`. */
  name: string;
  kind: KbKind;
  /** Other qualified names bound to the same object (`torch.nn.modules.conv.Conv2d`). */
  aliases?: string[];
  /** The call signature as the official docs give it (or the attribute's form). */
  signature: string;
  /** The module ↔ functional counterparts; each must name this entry back. */
  counterparts?: string[];
  /** Related entries worth reading next; each must resolve. */
  see?: string[];
  /** For `parameter` entries: the callables whose keyword argument this is. */
  appliesTo?: string[];
  /** For export decorators: which API the names go to (`tensorflow`, `keras`, `estimator`). */
  exportApi?: string;
  /**
   * For classes: the class whose members its instances also have, when that is not clear from
   * the generated index (Keras: `tensorflow.keras.Sequential` → `tensorflow.keras.Model`).
   */
  base?: string;
  /** What calling it gives, when the hover's type inference needs it (`tensorflow.Tensor`). */
  returns?: string;
  /**
   * The language of the API and its example: Python unless `typescript` (TensorFlow.js and the
   * `ml-notes` snippet API, hovered in a note's TypeScript blocks; never matched in Python).
   */
  language?: 'typescript';
  /** A 2–5 line example (Python, or TypeScript for `language: 'typescript'`). */
  example: string;
  /** The official documentation page; empty only for this project's own `mlnotes.*` API (the README documents it). */
  doc: string;
  zh: KbText;
  en: KbText;
}

/** One data file under kb/. */
export interface KbFile {
  /** Short area name shown in search and counted in reports (`torch.nn`, `autograd`). */
  area: string;
  entries: KbEntry[];
}

/** One generated entry: what introspecting the installed package said about a public name. */
export interface IndexEntry {
  kind: 'module' | 'class' | 'function' | 'method' | 'property' | 'constant';
  signature?: string;
  /** The docstring's first sentence (English). */
  summary?: string;
  /** For classes: the nearest base whose members instances have (`torch.nn.Module`). */
  base?: string;
  /** The return type the signature states, when it is one the type inference uses. */
  returns?: string;
  /** For constants: the type of the value (`torch.dtype`). */
  type?: string;
}

/** A generated index file (kb/index-*.json), written by a script from one installed version. */
export interface IndexFile {
  generatedBy: string;
  /**
   * Set by the loader, not the script: `introspected` for an index read from the user's own
   * interpreter (it describes exactly what they run), absent for a shipped one.
   */
  source?: 'introspected';
  package: string;
  version: string;
  entries: Record<string, IndexEntry>;
  /** Defining-module paths of public objects (`torch.nn.modules.linear.Linear` → `torch.nn.Linear`). */
  aliases?: Record<string, string>;
}
