/**
 * Formula → standalone SVG, for pictures of formulas where HTML can't go (editor hovers and
 * completion details show Markdown with images, and KaTeX only writes HTML).
 */

export interface SvgOptions {
  readonly display: boolean;
  /** A CSS color; `currentColor` means nothing inside an `<img>`, so the caller picks it from the theme. */
  readonly color: string;
  /** CSS pixels per ex (the SVG comes sized in ex); default 8.5. */
  readonly pxPerEx?: number;
  /** Scale wider formulas down to this width in px; default 900. */
  readonly maxWidthPx?: number;
}

export type SvgResult = { readonly svg: string; readonly width: number; readonly height: number } | { readonly error: string };

/** What the MathJax bundle (mathjaxSvg.ts) provides: TeX to an SVG element's markup, throwing on errors. */
export interface MathJaxSvg {
  convert(tex: string, display: boolean): string;
}

/** Loads MathJax: the extension requires its separate bundle, tests and the CLI import the module. */
export type MathJaxLoader = () => Promise<MathJaxSvg>;

export class SvgRenderer {
  private mathjax: Promise<MathJaxSvg> | undefined;

  constructor(private readonly load: MathJaxLoader) {}

  /** Renders TeX to an SVG document sized in px, or MathJax's message when it rejects it. */
  async render(tex: string, options: SvgOptions): Promise<SvgResult> {
    const mj = await (this.mathjax ??= this.load());
    let raw: string;
    try {
      raw = mj.convert(tex, options.display);
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
    return sizeAndColor(raw, options);
  }
}

/** MathJax sizes its SVG in ex and paints with currentColor; an `<img>` needs px and a real color. */
export function sizeAndColor(raw: string, options: SvgOptions): SvgResult {
  const pxPerEx = options.pxPerEx ?? 8.5;
  // Tagged display formulas come `width="100%"` with their natural width as a min-width.
  const w = /^<svg[^>]*\swidth="([\d.]+)ex"/.exec(raw) ?? /^<svg[^>]*min-width:\s*([\d.]+)ex/.exec(raw);
  const h = /^<svg[^>]*\sheight="([\d.]+)ex"/.exec(raw);
  if (!w || !h) return { error: 'MathJax produced no SVG' };
  let width = Number(w[1]) * pxPerEx;
  let height = Number(h[1]) * pxPerEx;
  const max = options.maxWidthPx ?? 900;
  if (width > max) {
    height *= max / width;
    width = max;
  }
  const px = (n: number) => n.toFixed(1);
  const color = options.color.replace(/["<>&]/g, '');
  const svg = raw
    .replace(/^<svg\b([^>]*)>/, (_m, attrs: string) => {
      const a = attrs
        .replace(/\swidth="[^"]*"/, ` width="${px(width)}"`)
        .replace(/\sheight="[^"]*"/, ` height="${px(height)}"`)
        .replace(/\sstyle="[^"]*"/, '');
      return `<svg${a} color="${color}">`;
    })
    .replace(/currentColor/g, color);
  return { svg, width, height };
}

/** A `data:` URI for Markdown image syntax. */
export function svgDataUri(svg: string): string {
  return 'data:image/svg+xml;base64,' + Buffer.from(svg, 'utf8').toString('base64');
}
