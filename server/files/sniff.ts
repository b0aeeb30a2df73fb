/**
 * @module The MIME type of an image from its first bytes (magic numbers), so a client cannot
 * label an HTML page `image/png` and have it served inline from our origin.
 */

/** How many leading bytes `sniffImage` needs (WebP: "RIFF", 4 size bytes, "WEBP"). */
export const SNIFF_BYTES = 12;

const SIGNATURES: Array<{ mime: string; bytes: Array<number | null> }> = [
  { mime: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { mime: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mime: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38, null, 0x61] }, // GIF87a, GIF89a
  {
    mime: 'image/webp',
    bytes: [0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50],
  },
];

/** The image type `head` starts with, or undefined if it is none of jpeg, png, gif, webp. */
export function sniffImage(head: Uint8Array): string | undefined {
  return SIGNATURES.find(
    ({ bytes }) =>
      head.length >= bytes.length && bytes.every((b, i) => b === null || head[i] === b),
  )?.mime;
}
