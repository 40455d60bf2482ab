import { blockMathCloses, blockMathOpen } from '../markdown/mathSyntax';
import { mathRegionAt, type RegionOptions, type TextPosition } from './mathRegions';

/** `mlNotes.formulas.*` settings that decide how an inserted formula is delimited. */
export interface DelimiterSettings {
  /** Outside math: a display formula or an inline one. */
  readonly insertAs: 'display' | 'inline';
  readonly displayDelimiter: '$$' | '\\[';
  readonly inlineDelimiter: '$' | '\\(';
}

export const DEFAULT_DELIMITERS: DelimiterSettings = { insertAs: 'display', displayDelimiter: '$$', inlineDelimiter: '$' };

export interface Wrapper {
  readonly open: string;
  readonly close: string;
}

/**
 * What goes around a formula inserted over the selection `start`–`end`: nothing inside math;
 * otherwise the configured delimiters, as a block of its own lines when the selection is alone
 * on its line (indented like it), else inline (`$$…$$` and `\[…\]` inside a paragraph are
 * display math too).
 */
export function chooseWrapper(
  text: string, start: TextPosition, end: TextPosition, settings: DelimiterSettings, eol = '\n', options: RegionOptions = {},
): Wrapper {
  if (insideMath(text, start, options)) return { open: '', close: '' };
  const lines = text.split(/\r?\n|\r/);
  const before = (lines[start.line] ?? '').slice(0, start.character);
  const after = (lines[end.line] ?? '').slice(end.character);
  if (settings.insertAs === 'inline') {
    const [o, c] = settings.inlineDelimiter === '$' ? ['$', '$'] : ['\\(', '\\)'];
    // A closing `$` followed by a digit does not close (money rule): keep them apart.
    return { open: o, close: c === '$' && /^\d/.test(after) ? '$ ' : c };
  }
  const [o, c] = settings.displayDelimiter === '$$' ? ['$$', '$$'] : ['\\[', '\\]'];
  if (before.trim() === '' && after.trim() === '') {
    return { open: `${o}${eol}${before}`, close: `${eol}${before}${c}` };
  }
  return { open: o, close: c };
}

/**
 * Whether a formula inserted at `pos` lands inside math. Besides the preview's own regions, a
 * blank line between an opening and a closing block delimiter counts: it is where one types a
 * formula into a fresh `$$`/`$$` pair, which is not math yet only because it is empty.
 */
export function insideMath(text: string, pos: TextPosition, options: RegionOptions = {}): boolean {
  if (mathRegionAt(text, pos, options)) return true;
  const lines = text.split(/\r?\n|\r/);
  const line = lines[pos.line] ?? '';
  if (line.trim() !== '' || pos.line === 0) return false;
  const prev = lines[pos.line - 1]!;
  const next = lines[pos.line + 1];
  const open = blockMathOpen(prev);
  if (!open || next === undefined) return false;
  const rest = open.kind === 'env' ? prev : prev.trimStart().slice(2);
  if (open.kind !== 'env' && rest.trim() !== '') return false;
  return blockMathCloses(open, next.trim()) === 0 || (open.kind === 'env' && blockMathCloses(open, next) >= 0);
}
