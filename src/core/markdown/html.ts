const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A short, stable, non-cryptographic hash (FNV-1a, 32-bit) for cache keys and DOM keys. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * JSON for a `<script type="application/json">` data block: every `<` escaped (JSON.parse reads
 * `\u003c` back as `<`), so nothing in it can close the block or open a comment (`</script>`,
 * `<!--`) whatever the strings hold.
 */
export function jsonDataBlock(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}
