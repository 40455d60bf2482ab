import * as vscode from 'vscode';
import { DEFAULT_DELIMITERS, type DelimiterSettings } from '../../core/formulas/insertion';
import { renderOptions } from '../config';

export interface FormulaSettings {
  readonly delimiters: DelimiterSettings;
  readonly completion: boolean;
  readonly hover: boolean;
  /** `mlNotes.preview.macros`: formulas everywhere see the same macros as the preview. */
  readonly macros: Readonly<Record<string, string>>;
  /** Whether raw HTML is parsed as HTML (it changes which blocks are math, as in the preview). */
  readonly html: boolean;
}

export function formulaSettings(): FormulaSettings {
  const c = vscode.workspace.getConfiguration('mlNotes.formulas');
  const preview = renderOptions();
  return {
    delimiters: {
      insertAs: c.get('insertAs') === 'inline' ? 'inline' : 'display',
      displayDelimiter: c.get('displayDelimiter') === '\\[' ? '\\[' : DEFAULT_DELIMITERS.displayDelimiter,
      inlineDelimiter: c.get('inlineDelimiter') === '\\(' ? '\\(' : DEFAULT_DELIMITERS.inlineDelimiter,
    },
    completion: c.get<boolean>('completion', true),
    hover: c.get<boolean>('hover', true),
    macros: preview.macros,
    html: preview.html === 'sanitize',
  };
}

/** The color formulas are drawn in: `currentColor` does not reach into an `<img>`, so follow the theme. */
export function formulaColor(): string {
  switch (vscode.window.activeColorTheme.kind) {
    case vscode.ColorThemeKind.Light:
      return '#1f1f1f';
    case vscode.ColorThemeKind.HighContrastLight:
      return '#000000';
    case vscode.ColorThemeKind.HighContrast:
      return '#ffffff';
    default:
      return '#d4d4d4';
  }
}

export function toPosition(p: { line: number; character: number }): vscode.Position {
  return new vscode.Position(p.line, p.character);
}
