import { forEachLine } from './chunker';
import { findInlineMath } from './mathSyntax';
import type { LabelNumbers } from './katexEngine';

const LABEL = /\\label\{([^{}]*)\}/g;

/**
 * Equation numbers by label for a whole note, in document order: the one numbering that both the
 * ML Notes preview (which renders chunk by chunk, so it needs every number before the first
 * chunk) and VS Code's built-in preview (through `extendMarkdownIt`) use, so a note's `\eqref`
 * shows the same number in both.
 *
 * Counted: `\label{…}` outside fenced code (```math fences count) and code spans, and not inside
 * inline `$…$`/`\(…\)` math, where KaTeX shows no number (the label is dropped there).
 */
export function numberEquations(text: string): Map<string, number> {
  const numbers = new Map<string, number>();
  if (!text.includes('\\label{')) return numbers;
  forEachLine(text, (line, fence) => {
    if (!line.includes('\\label{') || (fence !== undefined && fence !== 'math')) return;
    let t = line;
    if (fence === undefined) {
      // `\label{…}` written about in a code span is not a label.
      t = t.replace(/(`+)[^`]*?\1/g, '');
      for (const span of findInlineMath(t).reverse()) if (!span.display) t = t.slice(0, span.start) + t.slice(span.end);
    }
    for (const m of t.matchAll(LABEL)) if (!numbers.has(m[1]!)) numbers.set(m[1]!, numbers.size + 1);
  });
  return numbers;
}

export type { LabelNumbers };
