import { randomBytes } from 'node:crypto';

const NAME_MAX_BYTES = 255;
const TEMP_MARK = '.xspectre-upload-';

/** The directory holding `path` (an absolute path the contract already checked). */
export function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}

/** Cuts a name to at most `maxBytes` of UTF-8 without splitting a character. */
function truncateUtf8(name: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return out;
}

/**
 * The name an upload is written to before it is renamed onto `path`: hidden, in the same directory
 * (so the rename is atomic, same file system), recognisable, unguessable, and within NAME_MAX.
 */
export function tempUploadName(path: string, random: string = randomBytes(8).toString('hex')): string {
  const suffix = `${TEMP_MARK}${random}`;
  const name = truncateUtf8(baseName(path), NAME_MAX_BYTES - 1 - Buffer.byteLength(suffix));
  return joinPath(parentOf(path), `.${name}${suffix}`);
}

export function isTempUploadName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

/** `attachment` with the name as RFC 5987 UTF-8 and a plain ASCII fallback (RFC 6266). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
