import * as vscode from 'vscode';
import { DEFAULT_LIMITS } from '../core/markdown/katexEngine';
import type { RenderOptions } from '../core/markdown/documentRenderer';

export interface PreviewSettings {
  readonly debounceMs: number;
  readonly scrollSync: boolean;
  readonly diagnostics: boolean;
  /** `mlNotes.preview.fontSize` (px) and `lineHeight`; 0 follows the Markdown preview's. */
  readonly fontSize: number;
  readonly lineHeight: number;
}

/** Render options from `mlNotes.*` settings (resource resolution is added per document). */
export function renderOptions(): Omit<RenderOptions, 'resolveResource'> {
  const c = vscode.workspace.getConfiguration('mlNotes');
  const macros = c.get<Record<string, unknown>>('preview.macros', {});
  return {
    html: c.get<'sanitize' | 'text'>('preview.html', 'sanitize') === 'text' ? 'text' : 'sanitize',
    macros: Object.fromEntries(Object.entries(macros).filter((e): e is [string, string] => typeof e[1] === 'string')),
    limits: {
      maxExpand: c.get<number>('katex.maxExpand', DEFAULT_LIMITS.maxExpand),
      maxSize: c.get<number>('katex.maxSize', DEFAULT_LIMITS.maxSize),
    },
  };
}

export function previewSettings(): PreviewSettings {
  const c = vscode.workspace.getConfiguration('mlNotes');
  return {
    debounceMs: Math.max(0, c.get<number>('preview.debounceMs', 0)),
    scrollSync: c.get<boolean>('preview.scrollSync', true),
    diagnostics: c.get<boolean>('diagnostics.enabled', true),
    fontSize: c.get<number>('preview.fontSize', 0),
    lineHeight: c.get<number>('preview.lineHeight', 0),
  };
}
