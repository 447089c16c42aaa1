import { open } from 'node:fs/promises';
import { DiskImageUploadStateSchema, type DiskImageMetadata, type DiskImageTokenOp } from '@xspectre/contracts';
import { readPartitionTable, zstdVersion } from './disk-info.js';
import { answerReason, backoffMs, exchange, ImageNetworkError, sleep, type ImageAuth } from './image-http.js';
import { ProgressMeter, type ProgressSample } from './progress.js';
import { sharedBuffer, streamHash, type HashMode, type StreamHash } from './stream-hash.js';
import { ChunkBuilder, resumeStep } from './upload-plan.js';
import { spawnZstd } from './zstd-process.js';

/**
 * Full-disk imaging (issue 16): each chosen disk is read sequentially in large blocks (SHA-256
 * of the raw bytes per disk), fed to one `zstd -T0 -<level> -c` child, and its output is cut into
 * chunks that are PATCHed to the backup server (backup-server/README.md, "Full-disk images").
 * Backpressure end to end: the reader reuses a read block only after zstd's input took it,
 * zstd's stdout is read only when the previous chunk is uploaded, so memory stays at READ_SLOTS
 * read blocks, zstd's window and three chunks, all reused. A chunk stays in memory until a PATCH carrying its end succeeds; after a cut
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
  /** Times the image started over because the server had lost acknowledged bytes. */
  restarts: number;
}

/** The image failed; `message` says which step and why (never a token). */
export class ImagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImagingError';
  }
}

export const DEFAULT_READ_BLOCK = 4 * 1024 * 1024;
/** Read blocks in use at once (being read, written to zstd, hashed). */
const READ_SLOTS = 4;
/** Measured with agent/bench/imaging.mjs: 8 MiB kept the upload busier than 32 MiB (less waiting for the first and last chunk). */
export const DEFAULT_UPLOAD_CHUNK = 8 * 1024 * 1024;

/** The server lost bytes it had acknowledged (backup-server/README.md, "Resume"): the image starts again from its offset. */
export class AcknowledgedBytesLost extends ImagingError {}

/** Times an image starts over after the server lost acknowledged bytes, before it fails. */
const MAX_RESTARTS = 2;

/**
 * Takes the image; when the backup server comes back from a crash with less than it had
 * acknowledged, starts over under the same image name: the disks are read again and only the
 * bytes past the server's offset are sent (same input, same zstd: same bytes; complete checks).
 */
export async function takeImage(o: ImagingOptions): Promise<ImagingResult> {
  let retries = 0;
  for (let restarts = 0; ; restarts++) {
    try {
      const result = await takeImageOnce(o);
      return { ...result, retries: retries + result.retries, restarts };
    } catch (err) {
      if (!(err instanceof AcknowledgedBytesLost) || restarts >= MAX_RESTARTS || o.signal?.aborted) throw err;
      retries++;
    }
  }
}

async function takeImageOnce(o: ImagingOptions): Promise<Omit<ImagingResult, 'restarts'>> {
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

  // Read blocks are reused (stream-hash.ts, sharedBuffer): a block is read again once zstd has
  // taken it and the hash has covered it; READ_SLOTS of them keep reading, compressing and
  // hashing overlapped.
  const shared = (o.hashing ?? 'worker') === 'worker';
  const slots = Array.from({ length: READ_SLOTS }, () => ({
    buffer: shared ? sharedBuffer(readBlock) : Buffer.allocUnsafe(readBlock),
    busy: Promise.resolve() as Promise<unknown>,
  }));
  let hash: StreamHash | undefined;
  const reader = (async () => {
    try {
      let next = 0;
      for (const disk of o.disks) {
        hash = await streamHash(o.hashing);
        const fh = await open(disk.path, 'r');
        try {
          let position = 0;
          while (position < disk.sizeBytes) {
            o.signal?.throwIfAborted();
            const slot = slots[next++ % slots.length] as (typeof slots)[number];
            await slot.busy;
            const want = Math.min(readBlock, disk.sizeBytes - position);
            const { bytesRead } = await fh.read(slot.buffer, 0, want, position);
            if (bytesRead === 0) throw new ImagingError(`reading ${disk.name}: ended at ${position} of ${disk.sizeBytes} bytes`);
            const data = slot.buffer.subarray(0, bytesRead);
            position += bytesRead;
            rawDone += bytesRead;
            meter?.update('uploading', rawDone, rawTotal);
            const busy = Promise.all([compressor.write(data, () => new ImagingError('zstd closed its input early')), hash.update(data)]);
            busy.catch(() => undefined); // awaited when the slot comes round again or below
            slot.busy = busy;
          }
        } finally {
          await fh.close();
        }
        await Promise.all(slots.map((slot) => slot.busy));
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
  const builder = new ChunkBuilder(o.uploadChunkBytes ?? DEFAULT_UPLOAD_CHUNK, shared ? sharedBuffer : undefined);
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
          if (next.kind === 'behind') throw new AcknowledgedBytesLost(next.reason);
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

  // One chunk in flight (sent, and hashed meanwhile) while the next one fills: compression and
  // upload overlap, and memory stays at three chunks (the next full chunk waits for the one in
  // flight; its buffer is then recycled).
  let inflight: Promise<void> | undefined;
  let queued = 0;
  const enqueue = async (chunk: Buffer) => {
    if (inflight) await inflight;
    const start = queued;
    queued += chunk.length;
    const sending = Promise.all([sendChunk(chunk, start), compressedHash.update(chunk)]).then(() => {
      acknowledged = start + chunk.length;
      builder.recycle(chunk);
    });
    sending.catch(() => undefined); // awaited by the next enqueue or at the end
    inflight = sending;
  };
  try {
    for await (const data of zstd.stdout as AsyncIterable<Buffer>) {
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
