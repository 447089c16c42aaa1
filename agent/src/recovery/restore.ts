import { createHash } from 'node:crypto';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { answerReason, backoffMs, exchange, ImageNetworkError, sendRequest, sleep, type ImageAuth } from './image-http.js';
import type { ImageTokenSource } from './imaging.js';
import { ProgressMeter, type ProgressSample } from './progress.js';
import { spawnZstd } from './zstd-process.js';

/**
 * Bare-metal restore (issue 16): downloads `<imageName>.img.zst` with an `image-read` token
 * (resuming with `Range` after a cut connection), hashes the compressed stream, pipes it
 * through `zstd -d` and writes the raw stream onto the target disks in the image's order (each
 * image disk's size goes to its target), fsyncs, then reads every target back and compares
 * the SHA-256 with the image disk's. Nothing is written before the checks that can be made
 * without the data (targets, sizes, the server's size and ETag of the file) pass.
 */

export interface RestoreTarget {
  imageDisk: string;
  sha256Raw: string;
  /** The image disk's size: exactly this many bytes are written at the start of the target. */
  sizeBytes: number;
  target: string;
  /** `/dev/<target>` in production; a file in tests. */
  path: string;
  targetSizeBytes: number;
}

export interface RestoreOptions {
  deviceId: string;
  imageName: string;
  sha256Compressed: string;
  compressedBytes: number;
  targets: readonly RestoreTarget[];
  /** The recovery stick's disk: never written. */
  stickDisk: string | null;
  tokens: ImageTokenSource;
  onProgress?: (sample: ProgressSample) => void;
  signal?: AbortSignal;
  zstd?: string;
  maxRetries?: number;
  retryBaseMs?: number;
  requestTimeoutMs?: number;
  readBlockBytes?: number;
  /** Production: drop the page cache before reading back, so the disk itself is read (best effort). */
  dropCaches?: boolean;
  now?: () => Date;
}

/** Which check failed; `written` says whether any target was written before it failed. */
export type RestoreCheck =
  | 'target'
  | 'image-missing'
  | 'image-size'
  | 'image-etag'
  | 'download'
  | 'compressed-size'
  | 'compressed-hash'
  | 'decompress'
  | 'raw-size'
  | 'raw-hash'
  | 'read-back';

export class RestoreError extends Error {
  constructor(
    readonly check: RestoreCheck,
    readonly written: boolean,
    message: string,
  ) {
    super(`${check}: ${message}${written ? ' (the target disks were written and must not be trusted)' : ' (nothing was written)'}`);
    this.name = 'RestoreError';
  }
}

export interface RestoreResult {
  targets: Array<{ target: string; sha256: string; bytes: number }>;
  retries: number;
}

/** Checks that need no data: run before anything is written. */
export function checkTargets(targets: readonly RestoreTarget[], stickDisk: string | null): string | null {
  const seen = new Set<string>();
  for (const t of targets) {
    if (stickDisk !== null && t.target === stickDisk) return `${t.target} is the recovery stick`;
    if (seen.has(t.target)) return `${t.target} is named twice`;
    seen.add(t.target);
    if (t.targetSizeBytes < t.sizeBytes)
      return `${t.target} holds ${t.targetSizeBytes} bytes, less than the ${t.sizeBytes} of image disk ${t.imageDisk}`;
  }
  return null;
}

export async function restoreImage(o: RestoreOptions): Promise<RestoreResult> {
  const now = o.now ?? (() => new Date());
  const maxRetries = o.maxRetries ?? 8;
  const retryBaseMs = o.retryBaseMs ?? 500;
  const timeoutMs = o.requestTimeoutMs ?? 120_000;
  const signalOpt = o.signal ? { signal: o.signal } : {};
  let retries = 0;

  const targetProblem = o.targets.length === 0 ? 'no target' : checkTargets(o.targets, o.stickDisk);
  if (targetProblem) throw new RestoreError('target', false, targetProblem);

  let current = await o.tokens('image-read');
  const auth = (): ImageAuth => ({ deviceId: o.deviceId, token: current.token });
  const fresh = async () => {
    if (current.expiresAt.getTime() - now().getTime() < 60_000) current = await o.tokens('image-read');
  };
  const base = current.imagesUrl.endsWith('/') ? current.imagesUrl : `${current.imagesUrl}/`;
  const imageUrl = `${base}${o.imageName}.img.zst`;

  // The file on the server must be the one the signed command names (size; ETag carries its SHA-256).
  const head = await exchange('HEAD', imageUrl, auth(), { timeoutMs, ...signalOpt }).catch((err: unknown) => {
    throw new RestoreError('download', false, (err as Error).message);
  });
  if (head.status === 404) throw new RestoreError('image-missing', false, `the backup server has no image ${o.imageName}`);
  if (head.status !== 200) throw new RestoreError('download', false, answerReason(head));
  const size = Number(head.headers['content-length']);
  if (size !== o.compressedBytes)
    throw new RestoreError('image-size', false, `the server's file has ${size} bytes, the command says ${o.compressedBytes}`);
  const etag = head.headers.etag;
  if (etag !== undefined && etag !== `"sha256-${o.sha256Compressed}"`)
    throw new RestoreError('image-etag', false, `the server's file is ${etag}, the command says sha256-${o.sha256Compressed}`);

  // zstd -d, its output split over the targets.
  const decompressor = spawnZstd(o.zstd ?? 'zstd', ['-d', '-q', '-c', '-'], o.signal);
  const zstd = decompressor.child;

  let written = false;
  const rawHashes: string[] = [];
  const writer = (async () => {
    let index = 0;
    let fh: FileHandle | undefined;
    let position = 0;
    let hash = createHash('sha256');
    try {
      for await (const data of zstd.stdout as AsyncIterable<Buffer>) {
        let at = 0;
        while (at < data.length) {
          const target = o.targets[index];
          if (!target)
            throw new RestoreError(
              'raw-size',
              written,
              `the image holds more than the ${o.targets.reduce((s, t) => s + t.sizeBytes, 0)} bytes of its disks`,
            );
          fh ??= await open(target.path, 'r+');
          const n = Math.min(target.sizeBytes - position, data.length - at);
          const piece = data.subarray(at, at + n);
          written = true;
          await writeAll(fh, piece, position);
          hash.update(piece);
          position += n;
          at += n;
          if (position === target.sizeBytes) {
            await fh.sync();
            await fh.close();
            fh = undefined;
            rawHashes.push(hash.digest('hex'));
            hash = createHash('sha256');
            position = 0;
            index++;
          }
        }
      }
      if (index < o.targets.length) {
        const t = o.targets[index] as RestoreTarget;
        throw new RestoreError(
          'raw-size',
          written,
          `the image ended after ${position} of the ${t.sizeBytes} bytes of image disk ${t.imageDisk}`,
        );
      }
    } finally {
      await fh?.sync().catch(() => undefined);
      await fh?.close().catch(() => undefined);
    }
  })();
  let writerError: unknown;
  writer.catch((err: unknown) => {
    writerError = err;
    zstd.kill('SIGKILL');
  });

  // Download with Range resume; the compressed stream is hashed as it passes.
  const meter = o.onProgress ? new ProgressMeter(o.onProgress, () => now().getTime()) : undefined;
  const compressedHash = createHash('sha256');
  let received = 0;
  let attempt = 0;
  let lastReason = '';
  try {
    while (received < o.compressedBytes) {
      if (attempt > maxRetries)
        throw new RestoreError('download', written, `gave up after ${maxRetries} retries at byte ${received} (${lastReason})`);
      if (attempt > 0) {
        retries++;
        await sleep(backoffMs(attempt - 1, retryBaseMs), o.signal);
      }
      attempt++;
      await fresh();
      let res;
      try {
        res = await sendRequest('GET', imageUrl, auth(), {
          headers: received > 0 ? { range: `bytes=${received}-`, 'if-range': `"sha256-${o.sha256Compressed}"` } : {},
          timeoutMs,
          ...signalOpt,
        });
      } catch (err) {
        if (!(err instanceof ImageNetworkError)) throw err;
        lastReason = err.message;
        continue;
      }
      const status = res.statusCode ?? 0;
      if (!(status === 200 && received === 0) && !(status === 206 && received > 0)) {
        res.resume();
        if (status === 401 || status === 403) {
          current = await o.tokens('image-read');
          lastReason = `HTTP ${status}`;
          continue;
        }
        if (status >= 500) {
          lastReason = `HTTP ${status}`;
          continue;
        }
        throw new RestoreError('download', written, `HTTP ${status} for bytes from ${received}`);
      }
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          if (received + chunk.length > o.compressedBytes)
            throw new RestoreError(
              'compressed-size',
              written,
              `the server sent more than the ${o.compressedBytes} bytes the command names`,
            );
          compressedHash.update(chunk);
          received += chunk.length;
          meter?.update('downloading', received, o.compressedBytes);
          if (writerError) break;
          if (!zstd.stdin.write(chunk)) await decompressor.inputDrained(() => new Error('zstd closed its input early'));
        }
        if (writerError) throw writerError;
        if (received < o.compressedBytes) lastReason = `the answer ended at byte ${received}`;
      } catch (err) {
        if (err instanceof RestoreError) throw err;
        if (writerError) throw writerError;
        lastReason = `the download was cut at byte ${received}`;
      }
    }
    zstd.stdin.end();
  } catch (err) {
    zstd.kill('SIGKILL');
    await writer.catch(() => undefined);
    if (err instanceof RestoreError) throw err;
    throw new RestoreError('decompress', written, `writing the targets: ${(err as Error).message}`);
  }

  const exit = await decompressor.exit;
  const writeFailure = await writer.then(
    () => undefined,
    (err: unknown) => err,
  );
  // The compressed hash first: a damaged download explains every later failure.
  const sha = compressedHash.digest('hex');
  if (sha !== o.sha256Compressed)
    throw new RestoreError('compressed-hash', written, `the downloaded image's SHA-256 is ${sha}, the command says ${o.sha256Compressed}`);
  if (exit.error || exit.code !== 0)
    throw new RestoreError(
      'decompress',
      written,
      `zstd -d failed: ${exit.error ?? `exit ${exit.code}`} ${decompressor.stderr().trim().slice(0, 300)}`.trim(),
    );
  if (writeFailure instanceof RestoreError) throw writeFailure;
  if (writeFailure) throw new RestoreError('decompress', written, `writing the targets: ${(writeFailure as Error).message}`);
  for (const [i, t] of o.targets.entries()) {
    if (rawHashes[i] !== t.sha256Raw)
      throw new RestoreError(
        'raw-hash',
        written,
        `the data written to ${t.target} has SHA-256 ${rawHashes[i]}, image disk ${t.imageDisk} had ${t.sha256Raw}`,
      );
  }

  // Read back from the disks.
  if (o.dropCaches) await writeFile('/proc/sys/vm/drop_caches', '1\n').catch(() => undefined);
  const total = o.targets.reduce((s, t) => s + t.sizeBytes, 0);
  let verified = 0;
  const results: RestoreResult['targets'] = [];
  for (const t of o.targets) {
    const hash = createHash('sha256');
    const fh = await open(t.path, 'r');
    try {
      const block = Buffer.allocUnsafe(Math.min(o.readBlockBytes ?? 4 * 1024 * 1024, Math.max(1, t.sizeBytes)));
      let position = 0;
      while (position < t.sizeBytes) {
        o.signal?.throwIfAborted();
        const { bytesRead } = await fh.read(block, 0, Math.min(block.length, t.sizeBytes - position), position);
        if (bytesRead === 0) break;
        hash.update(block.subarray(0, bytesRead));
        position += bytesRead;
        verified += bytesRead;
        meter?.update('verifying', verified, total);
      }
      const digest = hash.digest('hex');
      if (position !== t.sizeBytes || digest !== t.sha256Raw)
        throw new RestoreError(
          'read-back',
          true,
          `${t.target} reads back ${position} bytes with SHA-256 ${digest}, image disk ${t.imageDisk} had ${t.sha256Raw}`,
        );
      results.push({ target: t.target, sha256: digest, bytes: position });
    } finally {
      await fh.close();
    }
  }
  return { targets: results, retries };
}

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
    done += bytesWritten;
  }
}
