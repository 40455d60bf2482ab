import { KatexEngine, DEFAULT_LIMITS, type KatexLimits } from '../markdown/katexEngine';
import { mathRegionCovering, type MathRegion, type RegionOptions, type TextPosition } from './mathRegions';
import { noteMacros, settingMacroSource } from './noteMacros';
import { svgDataUri, type SvgRenderer } from './svgRenderer';

export interface FormulaHoverOptions extends RegionOptions {
  readonly settingMacros?: Readonly<Record<string, string>>;
  readonly limits?: KatexLimits;
  /** Color the formula is drawn in (from the editor theme). */
  readonly color: string;
}

export type FormulaPicture =
  | { readonly region: MathRegion; readonly image: string; readonly width: number; readonly height: number }
  /** `by`: which renderer refused it. KaTeX's refusal is the preview's error; MathJax's means only the picture failed. */
  | { readonly region: MathRegion; readonly error: string; readonly by: 'katex' | 'mathjax' };

const MAX_CACHE = 200;
const cache = new Map<string, { image: string; width: number; height: number } | { error: string; by: 'mathjax' }>();

/**
 * The formula under `pos`, drawn as an SVG `data:` URI with the note's macros (definitions in
 * earlier formulas, then the setting's), or the error the preview shows for it.
 *
 * KaTeX decides whether the formula is broken, with the same macros, so the hover and the
 * preview agree; MathJax draws it because only MathJax writes SVG.
 */
export async function formulaPicture(
  text: string, pos: TextPosition, options: FormulaHoverOptions, renderer: SvgRenderer,
): Promise<FormulaPicture | undefined> {
  const region = mathRegionCovering(text, pos, options);
  if (!region || region.tex.trim() === '') return undefined;
  const defs = noteMacros(text, region.outerStart, options).map((d) => d.source).join('');
  const settings = options.settingMacros ?? {};

  // Like the preview: earlier definitions fill the macro table, then the formula renders alone
  // (so KaTeX's message quotes the formula, not the definitions).
  const katex = new KatexEngine(options.limits ?? DEFAULT_LIMITS);
  const macros: Record<string, unknown> = { ...settings };
  if (defs) katex.render(defs, false, macros, new Map());
  const checked = katex.render(region.tex, region.display, macros, new Map());
  if (checked.error) return { region, error: checked.error, by: 'katex' };

  const tex = settingMacroSource(settings) + defs + region.tex;
  const key = `${options.color}\u0000${region.display}\u0000${tex}`;
  let hit = cache.get(key);
  if (!hit) {
    const r = await renderer.render(tex, { display: region.display, color: options.color });
    hit = 'error' in r ? { error: r.error, by: 'mathjax' } : { image: svgDataUri(r.svg), width: r.width, height: r.height };
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
    cache.set(key, hit);
  }
  return { region, ...hit };
}
