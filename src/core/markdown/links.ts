/**
 * The file path a note-relative link or image source points to, percent-decoded; undefined for
 * URLs with a scheme, in-page anchors, and paths that are not valid percent-encoding
 * (`%E0%A4.png`), which then stay as written instead of failing the whole render.
 */
export function notePath(href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#') || href.startsWith('//')) return undefined;
  const raw = href.split(/[?#]/)[0]!;
  if (!raw) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent` that keeps malformed input as written. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
