import { open } from 'node:fs/promises';
import { COMMAND_OUTPUT_MAX_BYTES, toStorableText } from '@xspectre/contracts';

export interface BoundedText {
  text: string;
  /** Set when the original was longer than the bound (or invalid text was replaced, making it so). */
  truncated: boolean;
}

/**
 * Text the API can store (contracts' toStorableText: NUL as a visible `\u0000`, lone UTF-16
 * surrogates as U+FFFD); then at most `maxBytes` of UTF-8, cut before a character, never inside one.
 */
export function boundUtf8(text: string, maxBytes: number = COMMAND_OUTPUT_MAX_BYTES): BoundedText {
  const clean = toStorableText(text);
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= maxBytes) return { text: clean, truncated: false };
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--; // a continuation byte: back to its lead byte
  return { text: bytes.subarray(0, cut).toString('utf8'), truncated: true };
}

/** Bytes as bounded text: invalid UTF-8 is replaced (U+FFFD), and `moreFollowed` marks output that was cut before it got here. */
export function boundBytes(bytes: Buffer, maxBytes: number = COMMAND_OUTPUT_MAX_BYTES, moreFollowed = false): BoundedText {
  const bounded = boundUtf8(bytes.toString('utf8'), maxBytes);
  return { text: bounded.text, truncated: bounded.truncated || moreFollowed };
}

/** The start of a file (a transient unit's output) as bounded text; a missing file is empty. */
export async function readBoundedFile(path: string, maxBytes: number = COMMAND_OUTPUT_MAX_BYTES): Promise<BoundedText> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', truncated: false };
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    // A few bytes more than the bound: the cut then falls on a whole character.
    const buffer = Buffer.alloc(Math.min(size, maxBytes + 4));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return boundBytes(buffer.subarray(0, bytesRead), maxBytes, size > bytesRead);
  } finally {
    await handle.close();
  }
}
