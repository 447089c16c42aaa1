import { DISK_IMAGE_NAME, type DiskImageTokenOp } from '@xspectre/contracts';
import { DEVICE_ID_PATTERN } from '../request-target.js';

/**
 * The pure rules of the disk-image store (issue 16): which paths exist, which token operation
 * opens which route, where an upload may continue, which images retention removes.
 */

export type ImageTarget =
  | { kind: 'list'; device: string }
  | { kind: 'uploads'; device: string }
  | { kind: 'upload'; device: string; uploadId: string }
  | { kind: 'complete'; device: string; uploadId: string }
  | { kind: 'image'; device: string; imageName: string }
  | { kind: 'metadata'; device: string; imageName: string };

export type ImageTargetParse = { ok: true; target: ImageTarget } | { ok: false; status: 400; message: string };

export const DISK_IMAGES_PREFIX = '/disk-images/';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NAME = '\\d{4}-\\d{2}-\\d{2}T\\d{6}Z';
const PATH = new RegExp(
  `^/disk-images/(${DEVICE_ID_PATTERN})/(?:(uploads)(?:/(${UUID})(/complete)?)?|(${NAME})\\.(img\\.zst|metadata\\.json))?$`,
);

/** Whether a request goes to the disk-image routes (anything under /disk-images/, valid or not). */
export const isImagePath = (url: string | undefined): boolean => url !== undefined && url.startsWith(DISK_IMAGES_PREFIX);

/**
 * The paths are UUIDs and date names only: no decoding, no `..`, `%2e` or second slash can
 * match, so a file name built from a target never leaves the device's directory.
 */
export function parseImageTarget(url: string): ImageTargetParse {
  const bad = (message: string): ImageTargetParse => ({ ok: false, status: 400, message });
  if (url.length > 256) return bad('bad request path');
  if (url.includes('?')) return bad('no query allowed on disk-image paths');
  const match = PATH.exec(url);
  if (!match) {
    return bad(
      'not a disk-image path: /disk-images/<device id>/, …/uploads[/<upload id>[/complete]], …/<YYYY-MM-DDTHHMMSSZ>.img.zst or .metadata.json',
    );
  }
  const [, device, uploads, uploadId, complete, imageName, ext] = match as unknown as [string, string, ...(string | undefined)[]];
  if (imageName !== undefined) {
    if (!DISK_IMAGE_NAME.test(imageName)) return bad('the image name is not a valid UTC time (YYYY-MM-DDTHHMMSSZ)');
    return { ok: true, target: { kind: ext === 'img.zst' ? 'image' : 'metadata', device, imageName } };
  }
  if (uploads === undefined) return { ok: true, target: { kind: 'list', device } };
  if (uploadId === undefined) return { ok: true, target: { kind: 'uploads', device } };
  return { ok: true, target: complete ? { kind: 'complete', device, uploadId } : { kind: 'upload', device, uploadId } };
}

export type ImageAccess = { allowed: true } | { allowed: false; status: 403 | 405; message: string };

/** Per target kind: the token operation it needs and the methods it answers. */
const ROUTES: Record<ImageTarget['kind'], { op: DiskImageTokenOp; methods: readonly string[] }> = {
  uploads: { op: 'image-append', methods: ['POST'] },
  upload: { op: 'image-append', methods: ['GET', 'HEAD', 'PATCH'] },
  complete: { op: 'image-append', methods: ['POST'] },
  list: { op: 'image-read', methods: ['GET', 'HEAD'] },
  image: { op: 'image-read', methods: ['GET', 'HEAD'] },
  metadata: { op: 'image-read', methods: ['GET', 'HEAD'] },
};

/** An append token cannot read or delete a published image; a read token cannot write. Nothing deletes over HTTP. */
export function decideImageAccess(op: DiskImageTokenOp, method: string, target: ImageTarget): ImageAccess {
  const route = ROUTES[target.kind];
  if (!route.methods.includes(method)) {
    return { allowed: false, status: 405, message: `method ${method.slice(0, 16)} not allowed here (${route.methods.join(', ')})` };
  }
  if (op !== route.op) {
    return {
      allowed: false,
      status: 403,
      message: op === 'image-append' ? 'an image-append token only uploads' : 'an image-read token only lists and downloads',
    };
  }
  return { allowed: true };
}

/** `Upload-Offset: N`: a decimal without sign or leading zeros, within safe integers; undefined when malformed. */
export function parseUploadOffset(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^(0|[1-9]\d{0,15})$/.test(header)) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) ? n : undefined;
}

export type OffsetCheck = { ok: true } | { ok: false; status: 409 | 413; message: string };

/**
 * A PATCH appends only where the stored bytes end (a retry after a cut connection first asks
 * HEAD for that point); a declared body that would pass the size limit is refused up front.
 */
export function checkAppend(stored: number, offset: number, contentLength: number | undefined, maxBytes: number): OffsetCheck {
  if (offset !== stored) return { ok: false, status: 409, message: `Upload-Offset ${offset} is not where the upload ends (${stored})` };
  if (contentLength !== undefined && stored + contentLength > maxBytes) {
    return { ok: false, status: 413, message: `the image would exceed the limit of ${maxBytes} bytes` };
  }
  return { ok: true };
}

export type CompletionCheck =
  { ok: true } | { ok: false; reason: 'truncated' | 'too_long' | 'hash_mismatch'; keep: boolean; message: string };

/**
 * The end of an upload: the stored length and SHA-256 must be what the device computed. A
 * shorter upload is kept (the device can still resume it from HEAD); a longer or different
 * one can never become right by appending and is discarded.
 */
export function checkCompletion(stored: { bytes: number; sha256: string }, claimed: { bytes: number; sha256: string }): CompletionCheck {
  if (stored.bytes < claimed.bytes) {
    return {
      ok: false,
      reason: 'truncated',
      keep: true,
      message: `upload truncated: ${stored.bytes} of ${claimed.bytes} bytes received; resume from offset ${stored.bytes}`,
    };
  }
  if (stored.bytes > claimed.bytes) {
    return {
      ok: false,
      reason: 'too_long',
      keep: false,
      message: `upload has ${stored.bytes} bytes, the device says ${claimed.bytes}; the upload is discarded`,
    };
  }
  if (stored.sha256 !== claimed.sha256) {
    return {
      ok: false,
      reason: 'hash_mismatch',
      keep: false,
      message: `SHA-256 of the received image is ${stored.sha256}, the device says ${claimed.sha256}; the upload is discarded`,
    };
  }
  return { ok: true };
}

/**
 * Retention after a publish: keep the `keep` newest images (names are UTC times, so they sort
 * by age), always counting the one just published among them even if its name is not the
 * newest; answers the names to delete, oldest first.
 */
export function imagesToDelete(names: readonly string[], keep: number, justPublished: string): string[] {
  const others = [...new Set(names)].filter((n) => n !== justPublished).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  return others.slice(Math.max(0, keep - 1)).reverse();
}

/** One Range header against a file of `size` bytes (RFC 9110, single range only). */
export type RangeChoice = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeChoice {
  if (header === undefined) return { kind: 'full' };
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  // Several ranges or other units: serving the whole file is allowed (the header may be ignored).
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
