import { open } from 'node:fs/promises';
import { DiskImageUploadStateSchema, type DiskImageMetadata, type DiskImageTokenOp } from '@xspectre/contracts';
import { readPartitionTable, zstdVersion } from './disk-info.js';
import { answerReason, backoffMs, exchange, ImageNetworkError, sleep, type ImageAuth } from './image-http.js';
import { ProgressMeter, type ProgressSample } from './progress.js';
import { streamHash, type HashMode, type StreamHash } from './stream-hash.js';
import { ChunkBuilder, resumeStep } from './upload-plan.js';
import { spawnZstd } from './zstd-process.js';

/**
 * Full-disk imaging (issue 16): each chosen disk is read sequentially in large blocks (SHA-256
 * of the raw bytes per disk), fed to one `zstd -T0 -<level> -c` child, and its output is cut into
 * chunks that are PATCHed to the backup server (backup-server/README.md, "Full-disk images").
 * Backpressure end to end: the reader waits for zstd's stdin to drain, zstd's stdout is read
 * only when the previous chunk is uploaded, so memory stays at one read block, zstd's window and
 * two chunks. A chunk stays in memory until a PATCH carrying its end succeeds; after a cut
 * connection or a 409 the server's offset (HEAD) says what to resend.
 */

export interface ImageToken {
  token: string;
  expiresAt: Date;
  /** `<backupUrl>/disk-images/<deviceId>/` */
  imagesUrl: string;
}
export type ImageTokenSource = (op: DiskImageTokenOp) => Promise<ImageToken>;

export interface ImagingDisk {
  name: string;
  /** `/dev/<name>` in production; any readable file in tests. */
  path: string;
  sizeBytes: number;
  model: string | null;
  serial: string | null;
}

export interface ImagingOptions {
  deviceId: string;
  imageName: string;
  disks: readonly ImagingDisk[];
  compressionLevel: number;
  tokens: ImageTokenSource;
  agentVersion: string;
  kernel?: string | undefined;
  onProgress?: (sample: ProgressSample) => void;
  signal?: AbortSignal;
  zstd?: string;
  sfdisk?: string;
  readBlockBytes?: number;
  uploadChunkBytes?: number;
  /** Failed attempts allowed per chunk (network errors, 409, 5xx) before the image fails. */
  maxRetries?: number;
  retryBaseMs?: number;
  requestTimeoutMs?: number;
  /** Where SHA-256 runs (stream-hash.ts): a worker thread by default. */
  hashing?: HashMode;
  /** A token this close to expiry is replaced before the next request. */
  tokenRefreshMarginMs?: number;
  now?: () => Date;
}

export interface ImagingResult {
  metadata: DiskImageMetadata;
  /** Resends after failures (for the report). */
  retries: number;
}

/** The image failed; `message` says which step and why (never a token). */
export class ImagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagingError';
  }
}

export const DEFAULT_READ_BLOCK = 4 * 1024 * 1024;
/** Measured with agent/bench/imaging.mjs: 8 MiB kept the upload busier than 32 MiB (less waiting for the first and last chunk). */
export const DEFAULT_UPLOAD_CHUNK = 8 * 1024 * 1024;

export async function takeImage(o: ImagingOptions): Promise<ImagingResult> {
  const now = o.now ?? (() => new Date());
  const startedAt = now();
  const rawTotal = o.disks.reduce((sum, d) => sum + d.sizeBytes, 0);
  if (o.disks.length === 0) throw new ImagingError('no disk to image');
  const maxRetries = o.maxRetries ?? 8;
  const retryBaseMs = o.retryBaseMs ?? 500;
  const timeoutMs = o.requestTimeoutMs ?? 120_000;
  const margin = o.tokenRefreshMarginMs ?? 60_000;
  let retries = 0;

  let current = await o.tokens('image-append');
  const auth = (): ImageAuth => ({ deviceId: o.deviceId, token: current.token });
  const fresh = async () => {
    if (current.expiresAt.getTime() - now().getTime() < margin) current = await o.tokens('image-append');
  };
  const base = current.imagesUrl.endsWith('/') ? current.imagesUrl : `${current.imagesUrl}/`;

  // 1. Create (or resume) the upload of this image name.
  const created = await withRetries('creating the upload', async () => {
    await fresh();
    const answer = await exchange('POST', `${base}uploads`, auth(), {
      json: { imageName: o.imageName, expectedRawBytes: rawTotal },
      timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (answer.status === 200 || answer.status === 201) {
      const state = DiskImageUploadStateSchema.safeParse(safeJson(answer.text));
      if (!state.success) throw new ImagingError('creating the upload: the backup server answered outside the contract');
      return state.data;
    }
    if (answer.status === 401 || answer.status === 403) {
      current = await o.tokens('image-append');
      throw new Retry(answerReason(answer));
    }
    if (answer.status >= 500) throw new Retry(answerReason(answer));
    throw new ImagingError(`creating the upload: ${answerReason(answer)}`);
  });
  const uploadUrl = `${base}uploads/${created.uploadId}`;
  /** Bytes the server already holds from an earlier run of this image (same input, same zstd: same bytes; complete checks). */
  const serverStart = created.offset;

  // 2. zstd, fed by the reader, drained by the uploader.
  const compressor = spawnZstd(o.zstd ?? 'zstd', ['-T0', `-${o.compressionLevel}`, '-q', '-c', '-'], o.signal);
  const zstd = compressor.child;

  const meter = o.onProgress ? new ProgressMeter(o.onProgress, () => now().getTime()) : undefined;
  let rawDone = 0;
  const rawHashes: string[] = [];
  const readBlock = o.readBlockBytes ?? DEFAULT_READ_BLOCK;

  let hash: StreamHash | undefined;
  const reader = (async () => {
    try {
      for (const disk of o.disks) {
        hash = await streamHash(o.hashing);
        const fh = await open(disk.path, 'r');
        try {
          let position = 0;
          while (position < disk.sizeBytes) {
            o.signal?.throwIfAborted();
            const want = Math.min(readBlock, disk.sizeBytes - position);
            const buffer = Buffer.allocUnsafe(want);
            const { bytesRead } = await fh.read(buffer, 0, want, position);
            if (bytesRead === 0) throw new ImagingError(`reading ${disk.name}: ended at ${position} of ${disk.sizeBytes} bytes`);
            const data = buffer.subarray(0, bytesRead);
            position += bytesRead;
            rawDone += bytesRead;
            meter?.update('uploading', rawDone, rawTotal);
            const toZstd = zstd.stdin.write(data)
              ? undefined
              : compressor.inputDrained(() => new ImagingError('zstd closed its input early'));
            await Promise.all([hash.update(data), toZstd]);
          }
        } finally {
          await fh.close();
        }
        rawHashes.push(await hash.digest());
        hash = undefined;
      }
      zstd.stdin.end();
    } catch (err) {
      hash?.abort();
      zstd.kill('SIGKILL');
      throw err instanceof ImagingError ? err : new ImagingError(`reading the disks: ${(err as Error).message}`);
    }
  })();
  let readerError: unknown;
  reader.catch((err: unknown) => {
    readerError = err;
  });

  const compressedHash: StreamHash = await streamHash(o.hashing);
  let compressedBytes = 0;
  const builder = new ChunkBuilder(o.uploadChunkBytes ?? DEFAULT_UPLOAD_CHUNK);
  let acknowledged = 0;

  const sendChunk = async (chunk: Buffer, start: number) => {
    // Bytes an earlier run already stored are not sent again.
    if (serverStart >= start + chunk.length) return;
    let offset = Math.max(start, serverStart);
    let body = chunk.subarray(offset - start);
    let needHead = false;
    let attempt = 0;
    let lastReason = '';
    for (;;) {
      if (attempt > maxRetries)
        throw new ImagingError(`uploading at offset ${offset}: gave up after ${maxRetries} retries (${lastReason})`);
      if (attempt > 0) {
        retries++;
        await sleep(backoffMs(attempt - 1, retryBaseMs), o.signal);
      }
      o.signal?.throwIfAborted();
      await fresh();
      try {
        if (needHead) {
          const head = await exchange('HEAD', uploadUrl, auth(), { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
          if (head.status === 401 || head.status === 403) {
            current = await o.tokens('image-append');
            lastReason = answerReason(head);
            attempt++;
            continue;
          }
          if (head.status !== 200) {
            if (head.status >= 500) {
              lastReason = answerReason(head);
              attempt++;
              continue;
            }
            throw new ImagingError(`asking the upload's offset: ${answerReason(head)}`);
          }
          const next = resumeStep(start, chunk.length, Number(head.headers['upload-offset']));
          if (next.kind === 'done') return;
          if (next.kind === 'lost') throw new ImagingError(next.reason);
          offset = next.offset;
          body = chunk.subarray(next.skip);
          needHead = false;
        }
        const answer = await exchange('PATCH', uploadUrl, auth(), {
          headers: { 'content-type': 'application/octet-stream', 'upload-offset': String(offset) },
          body,
          timeoutMs,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        if (answer.status === 204) {
          const stored = Number(answer.headers['upload-offset']);
          if (stored === offset + body.length) return;
          lastReason = `the server stored up to ${stored} after a PATCH ending at ${offset + body.length}`;
          needHead = true;
        } else if (answer.status === 401 || answer.status === 403) {
          current = await o.tokens('image-append');
          lastReason = answerReason(answer);
        } else if (answer.status === 409 || answer.status >= 500) {
          if (answer.status === 507) throw new ImagingError(`the backup server is full: ${answerReason(answer)}`);
          lastReason = answerReason(answer);
          needHead = true;
        } else {
          throw new ImagingError(`uploading at offset ${offset}: ${answerReason(answer)}`);
        }
      } catch (err) {
        if (!(err instanceof ImageNetworkError)) throw err;
        lastReason = err.message;
        needHead = true;
      }
      attempt++;
    }
  };

  // One chunk in flight while the next one fills: compression and upload overlap, and memory
  // stays at two chunks (the next full chunk waits for the one in flight).
  let inflight: Promise<void> | undefined;
  let queued = 0;
  const enqueue = async (chunk: Buffer) => {
    if (inflight) await inflight;
    const start = queued;
    queued += chunk.length;
    const sending = sendChunk(chunk, start).then(() => {
      acknowledged = start + chunk.length;
    });
    sending.catch(() => undefined); // awaited by the next enqueue or at the end
    inflight = sending;
  };
  try {
    for await (const data of zstd.stdout as AsyncIterable<Buffer>) {
      await compressedHash.update(data);
      compressedBytes += data.length;
      for (const chunk of builder.push(data)) await enqueue(chunk);
    }
    if (readerError) throw readerError;
    const rest = builder.rest();
    if (rest.length > 0) await enqueue(rest);
    await inflight;
    if (acknowledged !== compressedBytes) throw new ImagingError(`uploaded ${acknowledged} of ${compressedBytes} compressed bytes`);
  } catch (err) {
    await inflight?.catch(() => undefined);
    compressedHash.abort();
    zstd.kill('SIGKILL');
    await reader.catch(() => undefined);
    if (o.signal?.aborted) throw new ImagingError('aborted');
    throw err instanceof ImagingError ? err : new ImagingError(`uploading: ${(err as Error).message}`);
  }
  await reader;
  const exit = await compressor.exit;
  if (exit.error || exit.code !== 0)
    throw new ImagingError(`zstd failed: ${exit.error ?? `exit ${exit.code}`} ${compressor.stderr().trim().slice(0, 300)}`.trim());
  if (serverStart > compressedBytes)
    throw new ImagingError(`the server's upload holds ${serverStart} bytes, more than this image's ${compressedBytes}`);

  // 3. Metadata and complete: the server checks length and SHA-256 and publishes atomically.
  const finishedAt = now();
  const sha256Compressed = await compressedHash.digest();
  const disks = await Promise.all(
    o.disks.map(async (disk, index) => ({
      name: disk.name,
      model: disk.model ?? 'unknown',
      ...(disk.serial ? { serial: disk.serial } : {}),
      sizeBytes: disk.sizeBytes,
      partitionTable: await readPartitionTable(disk.path, o.sfdisk),
      sha256Raw: rawHashes[index] as string,
    })),
  );
  const metadata: DiskImageMetadata = {
    deviceId: o.deviceId,
    imageName: o.imageName,
    disks,
    sha256Compressed,
    compressedBytes,
    rawBytes: rawTotal,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.max(0, (finishedAt.getTime() - startedAt.getTime()) / 1000),
    tools: {
      zstd: await zstdVersion(o.zstd),
      agent: `xspectre-recovery ${o.agentVersion}`.slice(0, 64),
      ...(o.kernel ? { kernel: o.kernel.slice(0, 128) } : {}),
      compressionLevel: o.compressionLevel,
    },
  };
  await withRetries('completing the upload', async () => {
    await fresh();
    const answer = await exchange('POST', `${uploadUrl}/complete`, auth(), {
      json: { sha256Compressed, compressedBytes, metadata },
      timeoutMs: Math.max(timeoutMs, 600_000),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (answer.status === 201) return;
    if (answer.status === 401 || answer.status === 403) {
      current = await o.tokens('image-append');
      throw new Retry(answerReason(answer));
    }
    if (answer.status >= 500) throw new Retry(answerReason(answer));
    throw new ImagingError(`the backup server refused the image: ${answerReason(answer)}`);
  });
  return { metadata, retries };

  async function withRetries<T>(what: string, attemptOnce: () => Promise<T>): Promise<T> {
    let lastReason = '';
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (attempt > 0) {
        retries++;
        await sleep(backoffMs(attempt - 1, retryBaseMs), o.signal);
      }
      try {
        return await attemptOnce();
      } catch (err) {
        if (!(err instanceof Retry) && !(err instanceof ImageNetworkError)) throw err;
        lastReason = err.message;
      }
    }
    throw new ImagingError(`${what}: gave up after ${maxRetries} retries (${lastReason})`);
  }
}

class Retry extends Error {}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
