/**
 * MathJax with only TeX input and SVG output, the one renderer here that can draw a formula as
 * a picture. Bundled on its own (dist/mathjax-svg.js, ~1.7 MB, mostly glyph outlines) and loaded
 * on first use, so it weighs nothing on activation.
 */
import { mathjax } from 'mathjax-full/js/mathjax.js';
import { TeX } from 'mathjax-full/js/input/tex.js';
import { SVG } from 'mathjax-full/js/output/svg.js';
import { liteAdaptor } from 'mathjax-full/js/adaptors/liteAdaptor.js';
import { RegisterHTMLHandler } from 'mathjax-full/js/handlers/html.js';
import 'mathjax-full/js/input/tex/base/BaseConfiguration.js';
import 'mathjax-full/js/input/tex/ams/AmsConfiguration.js';
import 'mathjax-full/js/input/tex/newcommand/NewcommandConfiguration.js';
import 'mathjax-full/js/input/tex/boldsymbol/BoldsymbolConfiguration.js';
import 'mathjax-full/js/input/tex/braket/BraketConfiguration.js';
import 'mathjax-full/js/input/tex/cancel/CancelConfiguration.js';
import 'mathjax-full/js/input/tex/color/ColorConfiguration.js';
import 'mathjax-full/js/input/tex/configmacros/ConfigMacrosConfiguration.js';
import 'mathjax-full/js/input/tex/enclose/EncloseConfiguration.js';
import 'mathjax-full/js/input/tex/mathtools/MathtoolsConfiguration.js';
import 'mathjax-full/js/input/tex/textmacros/TextMacrosConfiguration.js';
import 'mathjax-full/js/input/tex/unicode/UnicodeConfiguration.js';
import 'mathjax-full/js/input/tex/upgreek/UpgreekConfiguration.js';
import type { MathJaxSvg } from './svgRenderer';
import { KATEX_MACROS_FOR_MATHJAX } from './katexMacros';

// The packages these notes use; `noundefined`/`noerrors` stay out so that mistakes are reported.
// `configmacros` carries KaTeX's extra commands (katexMacros.ts); `enclose` draws `\textcircled`.
const PACKAGES = ['base', 'ams', 'newcommand', 'boldsymbol', 'braket', 'cancel', 'color', 'configmacros', 'enclose', 'mathtools', 'textmacros', 'unicode', 'upgreek'];

export function createMathJaxSvg(): MathJaxSvg {
  const adaptor = liteAdaptor();
  RegisterHTMLHandler(adaptor);
  return {
    convert(tex, display) {
      // A fresh input jax per formula: MathJax keeps `\newcommand` definitions in the jax, and
      // one note's macros must not leak into another note's pictures.
      const input = new TeX({
        packages: PACKAGES,
        macros: { ...KATEX_MACROS_FOR_MATHJAX },
        formatError: (_jax: unknown, err: Error) => {
          throw err;
        },
      });
      const doc = mathjax.document('', { InputJax: input, OutputJax: new SVG({ fontCache: 'local' }) });
      const node = doc.convert(tex, { display });
      return adaptor.outerHTML(adaptor.firstChild(node) as Parameters<typeof adaptor.outerHTML>[0]);
    },
  };
}
