import sanitizeHtml from 'sanitize-html';

/**
 * Raw HTML in a note comes from strangers: keep formatting tags, drop scripts, event handlers,
 * `javascript:` URLs, iframes, forms, styles. Math is rendered after sanitizing (as
 * placeholders here) so KaTeX's own markup never goes through this filter.
 */
const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'a', 'abbr', 'b', 'bdi', 'bdo', 'blockquote', 'br', 'caption', 'center', 'cite', 'code', 'col', 'colgroup',
    'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure', 'font', 'h1', 'h2', 'h3', 'h4',
    'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p', 'picture', 'pre', 'q', 'rp', 'rt',
    'ruby', 's', 'samp', 'small', 'source', 'span', 'strike', 'strong', 'sub', 'summary', 'sup', 'table', 'tbody',
    'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'u', 'ul', 'var', 'wbr', 'input', 'mln-math',
  ],
  allowedAttributes: {
    '*': ['class', 'id', 'title', 'align', 'data-line', 'data-snippet', 'dir', 'lang'],
    a: ['href', 'name'],
    img: ['src', 'alt', 'width', 'height'],
    source: ['srcset', 'media', 'type'],
    td: ['colspan', 'rowspan', 'align'],
    th: ['colspan', 'rowspan', 'align'],
    ol: ['start', 'type'],
    font: ['color'],
    input: ['type', 'checked', 'disabled'],
    'mln-math': ['data-i'],
    details: ['open'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https', 'data', 'vscode-resource', 'vscode-webview-resource'] },
  allowProtocolRelative: false,
  // Unknown tags like <script> vanish with their content; others keep their text.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'object', 'embed', 'template'],
  disallowedTagsMode: 'discard',
  exclusiveFilter: (frame) => frame.tag === 'input' && frame.attribs['type'] !== 'checkbox',
};

export function sanitize(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}
