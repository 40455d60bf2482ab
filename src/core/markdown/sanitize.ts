import sanitizeHtml from 'sanitize-html';

/**
 * Raw HTML in a note comes from strangers: keep formatting tags, drop scripts, event handlers,
 * `javascript:` URLs, iframes, forms, styles. Math is rendered after sanitizing (as
 * placeholders here) so KaTeX's own markup never goes through this filter; everything else,
 * plugins' markup included, does.
 */
const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'a', 'abbr', 'b', 'bdi', 'bdo', 'blockquote', 'br', 'caption', 'center', 'cite', 'code', 'col', 'colgroup',
    'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure', 'font', 'h1', 'h2', 'h3', 'h4',
    'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'nav', 'ol', 'p', 'picture', 'pre', 'q', 'rp', 'rt',
    'ruby', 's', 'samp', 'section', 'small', 'source', 'span', 'strike', 'strong', 'sub', 'summary', 'sup', 'table', 'tbody',
    'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'u', 'ul', 'var', 'wbr', 'input', 'mln-math',
  ],
  allowedAttributes: {
    '*': ['class', 'id', 'title', 'align', 'data-line', 'dir', 'lang'],
    // Only the renderer's own runnable blocks keep it (see `trustMark`): a note's raw
    // `<pre data-snippet>` would put a block's output under the wrong code.
    pre: ['data-snippet'],
    a: ['href', 'name'],
    img: ['src', 'alt', 'width', 'height', 'data-src'],
    source: ['srcset', 'media', 'type'],
    // Markdown tables align columns with `style="text-align: …"` (only that survives).
    td: ['colspan', 'rowspan', 'align', 'style'],
    th: ['colspan', 'rowspan', 'align', 'style'],
    ol: ['start', 'type'],
    li: ['value'],
    font: ['color'],
    input: ['type', 'checked', 'disabled'],
    'mln-math': ['data-i'],
    details: ['open'],
  },
  allowedStyles: {
    td: { 'text-align': [/^(?:left|right|center)$/] },
    th: { 'text-align': [/^(?:left|right|center)$/] },
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https', 'data', 'vscode-resource', 'vscode-webview-resource'] },
  allowProtocolRelative: false,
  // Unknown tags like <script> vanish with their content; others keep their text.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'template'],
  disallowedTagsMode: 'discard',
  exclusiveFilter: (frame) => frame.tag === 'input' && frame.attribs['type'] !== 'checkbox',
};

/** The attribute that carries a renderer's secret on its own runnable `<pre>`; never survives sanitizing. */
export const TRUST_ATTRIBUTE = 'data-mln-trusted';

export interface SanitizeOptions {
  /** Maps a note-relative `src` of a raw `<img>` to a URL the viewer can load (as for `![](…)`). */
  readonly resolveResource?: (href: string) => string | undefined;
  /**
   * A secret only the renderer knows: a `<pre>` whose `data-mln-trusted` equals it keeps its
   * `data-snippet`; every other `<pre>` (raw HTML in a note) loses it. Without a mark, none keeps it.
   */
  readonly trustMark?: string;
}

/** Sanitizer options for one renderer; built once, since sanitize-html reads them per call. */
export function sanitizerFor(opts: SanitizeOptions = {}): (html: string) => string {
  const resolve = opts.resolveResource;
  const mark = opts.trustMark;
  const transformTags: Record<string, sanitizeHtml.Transformer> = {
    // Runs before attributes are filtered, so the marker decides and is then dropped.
    pre: (tagName, attribs) => {
      const { [TRUST_ATTRIBUTE]: given, 'data-snippet': snippet, ...rest } = attribs;
      const trusted = mark !== undefined && given === mark && snippet !== undefined;
      return { tagName, attribs: trusted ? { ...rest, 'data-snippet': snippet } : rest };
    },
  };
  if (resolve) {
    transformTags['img'] = (tagName, attribs) => {
      const src = attribs['src'];
      if (!src || attribs['data-src'] !== undefined) return { tagName, attribs };
      const resolved = safeResolve(resolve, src);
      return { tagName, attribs: resolved ? { ...attribs, src: resolved, 'data-src': src } : attribs };
    };
  }
  const options: sanitizeHtml.IOptions = { ...OPTIONS, transformTags };
  return (html) => sanitizeHtml(html, options);
}

/** A resolver that throws (a malformed `%E0%A4` path) leaves that one URL as written. */
export function safeResolve(resolve: (href: string) => string | undefined, href: string): string | undefined {
  try {
    return resolve(href);
  } catch {
    return undefined;
  }
}

const untrusted = sanitizerFor();

/** Sanitizes HTML no renderer vouches for: no `<pre>` keeps `data-snippet`. */
export function sanitize(html: string): string {
  return untrusted(html);
}
