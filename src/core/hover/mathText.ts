/**
 * Inline TeX in knowledge-base prose (`$\lfloor (L+2p)/s \rfloor$`) as readable Unicode text.
 * Editor hovers do not render math, and raw TeX is hard to read; the common notation of the
 * entries (Greek letters, fractions, roots, super/subscripts, operators) maps to characters.
 */

const SYMBOLS: Record<string, string> = {
  alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε', varepsilon: 'ε', zeta: 'ζ', eta: 'η', theta: 'θ',
  iota: 'ι', kappa: 'κ', lambda: 'λ', mu: 'μ', nu: 'ν', xi: 'ξ', pi: 'π', rho: 'ρ', sigma: 'σ', tau: 'τ',
  phi: 'φ', varphi: 'φ', chi: 'χ', psi: 'ψ', omega: 'ω', Gamma: 'Γ', Delta: 'Δ', Theta: 'Θ', Lambda: 'Λ',
  Sigma: 'Σ', Phi: 'Φ', Psi: 'Ψ', Omega: 'Ω', Pi: 'Π',
  leftarrow: '←', rightarrow: '→', to: '→', gets: '←', cdot: '·', times: '×', approx: '≈', le: '≤', leq: '≤',
  ge: '≥', geq: '≥', ne: '≠', neq: '≠', infty: '∞', sum: '∑', prod: '∏', dots: '…', ldots: '…', cdots: '⋯',
  lfloor: '⌊', rfloor: '⌋', lceil: '⌈', rceil: '⌉', partial: '∂', nabla: '∇', in: '∈', pm: '±', top: 'ᵀ',
  '|': '‖', ',': '\u2009', ';': ' ', ' ': ' ', '_': '_', '{': '{', '}': '}', '%': '%',
};
/** Names written upright (`\log x` reads "log x"). */
const OPERATORS = new Set(['log', 'exp', 'max', 'min', 'cos', 'sin', 'tanh', 'sigmoid', 'softmax', 'mean', 'arg', 'det', 'ln']);
const SUP: Record<string, string> = {
  '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '+': '⁺', '-': '⁻',
  '(': '⁽', ')': '⁾', n: 'ⁿ', i: 'ⁱ', t: 'ᵗ', T: 'ᵀ', x: 'ˣ', k: 'ᵏ', 'ᵀ': 'ᵀ', '−': '⁻',
};
const SUB: Record<string, string> = {
  '0': '₀', '1': '₁', '2': '₂', '3': '₃', '4': '₄', '5': '₅', '6': '₆', '7': '₇', '8': '₈', '9': '₉', '+': '₊', '-': '₋',
  a: 'ₐ', e: 'ₑ', i: 'ᵢ', j: 'ⱼ', k: 'ₖ', m: 'ₘ', n: 'ₙ', t: 'ₜ', x: 'ₓ', '−': '₋',
};
const HALF: Record<string, string> = { '12': '½', '13': '⅓', '14': '¼', '23': '⅔', '34': '¾' };

/** Reads one argument at `i`: a braced group or a single character/command. */
function argument(s: string, i: number): { text: string; end: number } {
  while (s[i] === ' ') i++;
  if (s[i] === '{') {
    let depth = 1;
    let j = i + 1;
    for (; j < s.length && depth; j++) {
      if (s[j] === '\\') j++;
      else if (s[j] === '{') depth++;
      else if (s[j] === '}') depth--;
    }
    return { text: s.slice(i + 1, j - 1), end: j };
  }
  if (s[i] === '\\') {
    const m = /^\\([A-Za-z]+|.)/.exec(s.slice(i));
    return { text: m ? m[0] : '\\', end: i + (m ? m[0].length : 1) };
  }
  return { text: s[i] ?? '', end: i + 1 };
}

/** An upright name, spaced from letters around it (`y\log p` reads "y log p"). */
function word(before: string, name: string, tex: string, next: number): string {
  const lead = /[\p{L}\p{N}]$/u.test(before) ? ' ' : '';
  const trail = /^\s*[A-Za-z\\]/.test(tex.slice(next)) ? ' ' : '';
  return lead + name + trail;
}

const wrap = (t: string) => (/^[\p{L}\p{N}.]+$/u.test(t) ? t : `(${t})`);

function script(t: string, table: Record<string, string>, mark: string): string {
  const chars = [...t];
  if (chars.length && chars.every((c) => table[c])) return chars.map((c) => table[c]).join('');
  return chars.length === 1 ? mark + t : `${mark}(${t})`;
}

/** Converts one TeX formula (without the dollars) to Unicode text. */
export function texToText(tex: string): string {
  let out = '';
  for (let i = 0; i < tex.length; ) {
    const c = tex[i]!;
    if (c === '\\') {
      const m = /^\\([A-Za-z]+|.)/.exec(tex.slice(i));
      const name = m ? m[1]! : '';
      i += m ? m[0].length : 1;
      if (name === 'frac') {
        const a = argument(tex, i);
        const b = argument(tex, a.end);
        i = b.end;
        const half = HALF[a.text + b.text];
        out += half ?? `${wrap(texToText(a.text))}/${wrap(texToText(b.text))}`;
      } else if (name === 'sqrt') {
        const a = argument(tex, i);
        i = a.end;
        out += `√${wrap(texToText(a.text))}`;
      } else if (name === 'hat' || name === 'bar' || name === 'tilde') {
        const a = argument(tex, i);
        i = a.end;
        out += texToText(a.text) + ({ hat: '\u0302', bar: '\u0304', tilde: '\u0303' } as Record<string, string>)[name];
      } else if (name === 'mathrm' || name === 'text' || name === 'mathbf' || name === 'operatorname' || name === 'mathit') {
        const a = argument(tex, i);
        i = a.end;
        const t = texToText(a.text);
        out += /^[A-Za-z]{2,}$/.test(t) ? word(out, t, tex, i) : t;
      } else if (name === 'left' || name === 'right' || name === 'big' || name === 'Big') {
        // sizing only
      } else if (OPERATORS.has(name)) {
        out += word(out, name, tex, i);
      } else {
        out += SYMBOLS[name] ?? name;
      }
    } else if (c === '^' || c === '_') {
      const a = argument(tex, i + 1);
      i = a.end;
      const inner = texToText(a.text);
      out += script(inner, c === '^' ? SUP : SUB, c);
    } else if (c === '{' || c === '}') {
      i++;
    } else if (c === '-') {
      out += '−';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/\s+/g, ' ').trim();
}

/**
 * Replaces `$…$` in prose with readable text in a code span, leaving existing code spans
 * alone (a `$` inside backticks is code, not math).
 */
export function inlineMathToText(md: string): string {
  return md
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/\$([^$\n]+)\$/g, (_, tex: string) => '`' + texToText(tex).replace(/`/g, 'ˋ') + '`')))
    .join('');
}
