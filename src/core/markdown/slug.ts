/**
 * GitHub-style heading anchors (lowercase, punctuation dropped, spaces to dashes; CJK kept), so
 * links like `02-diffusion-sde.md#逆向-sde` written for GitHub also work here.
 */
export function headingSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
