/**
 * Which output slot under which code block changes, decided without the DOM (the webview
 * applies it; test/unit/previewSession.test.ts checks it).
 */

/** What to do with the output slot after one runnable block. */
export type SlotAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'remove' }
  | { readonly kind: 'set'; readonly html: string };

/**
 * `keys`: the `data-snippet` key of each runnable block, in page order; `shown`: the HTML its
 * slot shows now (undefined: no slot). Identical blocks share a key, so the occurrence tells
 * their outputs apart (`key:n`). Content is compared whole: a 45% → 46% update has the same length.
 */
export function planOutputSlots(keys: readonly string[], shown: readonly (string | undefined)[], outputs: Readonly<Record<string, string>>): SlotAction[] {
  const seen = new Map<string, number>();
  return keys.map((key, i) => {
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const html = Object.prototype.hasOwnProperty.call(outputs, `${key}:${n}`) ? outputs[`${key}:${n}`] : undefined;
    const current = shown[i];
    if (html === undefined) return current === undefined ? { kind: 'none' } : { kind: 'remove' };
    return current === html ? { kind: 'none' } : { kind: 'set', html };
  });
}
