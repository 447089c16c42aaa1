import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import {
  DISK_IMAGE_KEEP_MAX,
  DISK_IMAGE_KEEP_MIN,
  DISK_IMAGE_NAME,
  DiskImageMetadataSchema,
  type DiskImageList,
  type DiskImageMetadata,
  type DiskImageUploadComplete,
  type DiskImageUploadCreate,
  type DiskImageUploadState,
} from '@xspectre/contracts';
import { errorText, type Logger } from '../log.js';
import type { StorageDriver } from '../storage/storage-driver.js';
import { checkAppend, checkCompletion, imagesToDelete } from './image-rules.js';

/** Why an upload request was refused or how it ended (a metric label, ../metrics.ts). */
export type DiskImageOutcome =
  | 'created'
  | 'resumed'
  | 'completed'
  | 'truncated'
  | 'too_long'
  | 'hash_mismatch'
  | 'bad_metadata'
  | 'too_large'
  | 'offset_conflict'
  | 'upload_conflict'
  | 'insufficient_storage'
  | 'expired';

export interface DiskImageObserver {
  received(bytes: number): void;
  outcome(outcome: DiskImageOutcome): void;
  published(compressedBytes: number): void;
}

/** A refusal with its HTTP status; `extra` headers go with the answer (Upload-Offset on 409). */
export class ImageError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface DiskImageStoreOptions {
  storage: StorageDriver;
  log: Logger;
  /** Largest compressed image accepted (BACKUP_IMAGE_MAX_BYTES). */
  maxBytes: number;
  /** Images kept per device after a publish (BACKUP_IMAGE_KEEP), unless the upload's token names its own number. */
  keep: number;
  /** An upload untouched this long is deleted by expireStale (BACKUP_IMAGE_UPLOAD_TTL_HOURS). */
  uploadTtlHours: number;
  observer?: DiskImageObserver;
}

interface UploadRecord {
  uploadId: string;
  imageName: string;
  createdAt: string;
  expectedRawBytes?: number;
}

const UPLOADS = '.uploads';
/** An upload's part file is fsync'd at least once per this many appended bytes (and at every cut, refusal and completion). */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;
const isFull = (err: unknown): boolean => {
  const { code, errno } = (err ?? {}) as NodeJS.ErrnoException;
  // libuv has no name for EDQUOT: it arrives as "Unknown system error -122" with only the errno.
  return code === 'ENOSPC' || code === 'EDQUOT' || errno === -osConstants.errno.EDQUOT || errno === -osConstants.errno.ENOSPC;
};
const FULL_MESSAGE = "insufficient storage: this device's image quota or the backup pool is full";
const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A failed write to the upload file (as opposed to a body that stopped arriving). */
class WriteFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(errorText(cause));
  }
}

/** Writes the whole buffer at `position` (a file write may be short). */
async function writeAll(fh: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

/**
 * Full-disk images per device, `<device dir>/<name>.img.zst` + `<name>.metadata.json`, and the
 * uploads that make them (`<device dir>/.uploads/<id>.part` + `<id>.json`, on the same file
 * system so publishing is a rename). The stored length of the `.part` file is the resume point;
 * the SHA-256 is kept incrementally in memory and rebuilt from the bytes on disk when it does
 * not cover exactly them (after a restart). Published = the metadata file exists: it is renamed
 * into place last, so a crash in between leaves an image without metadata, which nothing lists
 * and expireStale removes.
 */
export class DiskImageStore {
  private readonly busy = new Set<string>();
  private readonly hashes = new Map<string, { hash: Hash; bytes: number }>();
  /** Bytes appended to an upload since its part file was last fsync'd. */
  private readonly unsynced = new Map<string, number>();
  private readonly deviceLocks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: DiskImageStoreOptions) {}

  /** Runs `fn` after every earlier create/complete of the same device (one open upload per device). */
  private serial<T>(device: string, fn: () => Promise<T>): Promise<T> {
    const before = this.deviceLocks.get(device) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.deviceLocks.set(device, settled);
    void settled.then(() => {
      if (this.deviceLocks.get(device) === settled) this.deviceLocks.delete(device);
    });
    return run;
  }

  private async dir(device: string, create: boolean): Promise<string | undefined> {
    try {
      return await this.options.storage.imageDirectory(device, create);
    } catch (err) {
      if (isFull(err)) throw new ImageError(507, FULL_MESSAGE);
      this.options.log.log('error', 'disk-image storage unavailable', { device, error: errorText(err) });
      throw new ImageError(503, 'disk-image storage for this device could not be opened');
    }
  }

  private async existingDir(device: string): Promise<string> {
    const dir = await this.dir(device, false);
    if (!dir) throw new ImageError(404, 'no such upload');
    return dir;
  }

  private async openUploads(dir: string): Promise<UploadRecord[]> {
    let names: string[];
    try {
      names = await readdir(join(dir, UPLOADS));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const records: UploadRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        records.push(JSON.parse(await readFile(join(dir, UPLOADS, name), 'utf8')) as UploadRecord);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return records;
  }

  private async upload(dir: string, uploadId: string): Promise<UploadRecord> {
    try {
      return JSON.parse(await readFile(join(dir, UPLOADS, `${uploadId}.json`), 'utf8')) as UploadRecord;
    } catch (err) {
      if (isMissing(err)) throw new ImageError(404, 'no such upload (completed, discarded or expired)');
      throw err;
    }
  }

  private partPath(dir: string, uploadId: string): string {
    return join(dir, UPLOADS, `${uploadId}.part`);
  }

  private async storedBytes(dir: string, uploadId: string): Promise<number> {
    return (await stat(this.partPath(dir, uploadId))).size;
  }

  private async published(dir: string): Promise<string[]> {
    const names = await readdir(dir).catch((err: unknown) => {
      if (isMissing(err)) return [] as string[];
      throw err;
    });
    const set = new Set(names);
    return names
      .filter((n) => n.endsWith('.metadata.json'))
      .map((n) => n.slice(0, -'.metadata.json'.length))
      .filter((name) => DISK_IMAGE_NAME.test(name) && set.has(`${name}.img.zst`))
      .sort()
      .reverse();
  }

  private async discard(dir: string, uploadId: string): Promise<void> {
    this.hashes.delete(uploadId);
    this.unsynced.delete(uploadId);
    await rm(join(dir, UPLOADS, `${uploadId}.json`), { force: true });
    await rm(this.partPath(dir, uploadId), { force: true });
    await rm(join(dir, UPLOADS, `${uploadId}.metadata.tmp`), { force: true });
  }

  /** `POST uploads`: a new upload (201), or the open one of the same image to resume (200). */
  createUpload(device: string, body: DiskImageUploadCreate): Promise<{ created: boolean; state: DiskImageUploadState }> {
    return this.serial(device, async () => {
      const dir = (await this.dir(device, true))!;
      const open = await this.openUploads(dir);
      const same = open.find((u) => u.imageName === body.imageName);
      if (same) {
        this.options.observer?.outcome('resumed');
        const offset = await this.storedBytes(dir, same.uploadId);
        return { created: false, state: { uploadId: same.uploadId, imageName: same.imageName, offset } };
      }
      if (open.length > 0) {
        this.options.observer?.outcome('upload_conflict');
        throw new ImageError(
          409,
          `an upload of image ${open[0]!.imageName} is open (${open[0]!.uploadId}): complete it, resume it, or let it expire`,
        );
      }
      if ((await this.published(dir)).includes(body.imageName)) {
        this.options.observer?.outcome('upload_conflict');
        throw new ImageError(409, `image ${body.imageName} exists already`);
      }
      const uploadId = randomUUID();
      const record: UploadRecord = { uploadId, imageName: body.imageName, createdAt: new Date().toISOString() };
      if (body.expectedRawBytes !== undefined) record.expectedRawBytes = body.expectedRawBytes;
      try {
        await mkdir(join(dir, UPLOADS), { recursive: true, mode: 0o700 });
        await writeFile(this.partPath(dir, uploadId), '', { flag: 'wx', mode: 0o600 });
        const tmp = join(dir, UPLOADS, `${uploadId}.json.tmp`);
        await writeFile(tmp, JSON.stringify(record), { mode: 0o600, flush: true });
        await rename(tmp, join(dir, UPLOADS, `${uploadId}.json`));
        await fsyncPath(join(dir, UPLOADS));
      } catch (err) {
        await this.discard(dir, uploadId).catch(() => undefined);
        if (isFull(err)) {
          this.options.observer?.outcome('insufficient_storage');
          throw new ImageError(507, FULL_MESSAGE);
        }
        throw err;
      }
      this.hashes.set(uploadId, { hash: createHash('sha256'), bytes: 0 });
      this.options.observer?.outcome('created');
      return { created: true, state: { uploadId, imageName: body.imageName, offset: 0 } };
    });
  }

  /** `HEAD|GET uploads/<id>`: where the next PATCH starts. */
  async uploadState(device: string, uploadId: string): Promise<DiskImageUploadState> {
    const dir = await this.existingDir(device);
    const record = await this.upload(dir, uploadId);
    return { uploadId, imageName: record.imageName, offset: await this.storedBytes(dir, uploadId) };
  }

  /** The running SHA-256 over exactly the first `bytes` bytes of the part file (rebuilt from disk if needed). */
  private async hashOf(fh: FileHandle, uploadId: string, bytes: number): Promise<{ hash: Hash; bytes: number }> {
    const kept = this.hashes.get(uploadId);
    if (kept && kept.bytes === bytes) return kept;
    const hash = createHash('sha256');
    if (bytes > 0) {
      for await (const chunk of fh.createReadStream({ start: 0, end: bytes - 1, autoClose: false }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
      }
    }
    const rebuilt = { hash, bytes };
    this.hashes.set(uploadId, rebuilt);
    return rebuilt;
  }

  /**
   * `PATCH uploads/<id>`: appends the body at `offset`, which must be where the stored bytes
   * end. Chunks are written as they arrive (the next one is read only after the write: the
   * socket's flow control is the backpressure). When the body stops early (a cut connection, a
   * limit, a full disk) what was written stays, fsync'd, and the hash covers exactly it.
   * A PATCH that ends normally is fsync'd once SYNC_EVERY_BYTES have gathered.
   */
  async append(
    device: string,
    uploadId: string,
    offset: number,
    contentLength: number | undefined,
    body: AsyncIterable<Buffer>,
  ): Promise<{ offset: number; interrupted?: string }> {
    const dir = await this.existingDir(device);
    await this.upload(dir, uploadId);
    if (this.busy.has(uploadId)) throw new ImageError(409, 'another PATCH or the completion of this upload is running');
    this.busy.add(uploadId);
    try {
      // Gone when a completion published it meanwhile.
      const fh = await open(this.partPath(dir, uploadId), 'r+').catch((err: unknown) => {
        throw isMissing(err) ? new ImageError(404, 'no such upload (completed, discarded or expired)') : err;
      });
      try {
        const stored = (await fh.stat()).size;
        const check = checkAppend(stored, offset, contentLength, this.options.maxBytes);
        if (!check.ok) {
          this.options.observer?.outcome(check.status === 409 ? 'offset_conflict' : 'too_large');
          throw new ImageError(check.status, check.message, { 'upload-offset': String(stored) });
        }
        const running = await this.hashOf(fh, uploadId, stored);
        let written = stored;
        let failure: unknown;
        // Read by hand, not with for-await: leaving that loop on a refusal would destroy the
        // request, and the device would see a reset instead of the 413/507 (the route drains).
        const chunks = body[Symbol.asyncIterator]();
        try {
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
            const chunk = next.value;
            if (written + chunk.length > this.options.maxBytes) {
              this.options.observer?.outcome('too_large');
              throw new ImageError(413, `the image would exceed the limit of ${this.options.maxBytes} bytes`);
            }
            await writeAll(fh, chunk, written).catch((err: unknown) => {
              throw new WriteFailure(err);
            });
            running.hash.update(chunk);
            written += chunk.length;
            running.bytes = written;
            this.options.observer?.received(chunk.length);
          }
        } catch (err) {
          failure = err;
        }
        // A failed write may have left part of a chunk the hash does not cover.
        if ((await fh.stat()).size !== written) await fh.truncate(written);
        // fsync per SYNC_EVERY_BYTES, not per PATCH: the device waits for each PATCH's answer,
        // and a sync per 8 MiB chunk cost about a quarter of the upload rate (measured with
        // agent/bench/imaging.mjs). A crash can lose an acknowledged tail shorter than that;
        // the device then finds the offset behind what it sent and starts its image over from
        // there (agent/src/recovery/imaging.ts, AcknowledgedBytesLost).
        const unsynced = (this.unsynced.get(uploadId) ?? 0) + (written - stored);
        if (failure !== undefined || unsynced >= SYNC_EVERY_BYTES) {
          await fh.sync();
          this.unsynced.delete(uploadId);
        } else this.unsynced.set(uploadId, unsynced);
        if (failure instanceof ImageError) throw new ImageError(failure.status, failure.message, { 'upload-offset': String(written) });
        if (failure instanceof WriteFailure) {
          if (isFull(failure.cause)) {
            this.options.observer?.outcome('insufficient_storage');
            throw new ImageError(507, FULL_MESSAGE, { 'upload-offset': String(written) });
          }
          this.options.log.log('error', 'disk-image write failed', { device, uploadId, error: errorText(failure.cause) });
          throw new ImageError(500, 'writing the image failed', { 'upload-offset': String(written) });
        }
        if (failure !== undefined) return { offset: written, interrupted: errorText(failure) };
        return { offset: written };
      } finally {
        await fh.close();
      }
    } finally {
      this.busy.delete(uploadId);
    }
  }

  /**
   * `POST uploads/<id>/complete`: checks length and SHA-256, then publishes the image and its
   * metadata (temp file, fsync, rename; metadata last) and applies retention: the newest `keep`
   * images stay (the device's policy from the token, bounded 1–20; else BACKUP_IMAGE_KEEP).
   */
  complete(
    device: string,
    uploadId: string,
    body: DiskImageUploadComplete,
    keepImages?: number,
  ): Promise<{ imageName: string; deleted: string[] }> {
    const keep =
      keepImages !== undefined && Number.isInteger(keepImages) && keepImages >= DISK_IMAGE_KEEP_MIN && keepImages <= DISK_IMAGE_KEEP_MAX
        ? keepImages
        : this.options.keep;
    return this.serial(device, async () => {
      const dir = await this.existingDir(device);
      const record = await this.upload(dir, uploadId);
      if (this.busy.has(uploadId)) throw new ImageError(409, 'a PATCH of this upload is still running');
      // Busy while verifying and publishing: a PATCH now would write into the published file.
      this.busy.add(uploadId);
      try {
        const part = this.partPath(dir, uploadId);
        const fh = await open(part, 'r');
        let sha256: string;
        let bytes: number;
        try {
          bytes = (await fh.stat()).size;
          sha256 = (await this.hashOf(fh, uploadId, bytes)).hash.copy().digest('hex');
          await fh.sync(); // the last PATCHes' bytes, before the rename publishes them
          this.unsynced.delete(uploadId);
        } finally {
          await fh.close();
        }
        const check = checkCompletion({ bytes, sha256 }, { bytes: body.compressedBytes, sha256: body.sha256Compressed });
        if (!check.ok) {
          this.options.observer?.outcome(check.reason);
          if (!check.keep) await this.discard(dir, uploadId);
          this.options.log.log('warn', 'disk-image upload refused', { device, uploadId, reason: check.reason, kept: check.keep });
          throw new ImageError(422, check.message, { 'upload-offset': String(check.keep ? bytes : 0) });
        }
        const metadata: DiskImageMetadata = body.metadata;
        if (metadata.deviceId !== device || metadata.imageName !== record.imageName) {
          // The bytes are right; the device may complete again with correct metadata.
          this.options.observer?.outcome('bad_metadata');
          throw new ImageError(422, `metadata must name this device and the upload's image (${record.imageName})`);
        }
        const image = join(dir, `${record.imageName}.img.zst`);
        const metaTmp = join(dir, UPLOADS, `${uploadId}.metadata.tmp`);
        try {
          await writeFile(metaTmp, `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600, flush: true });
          await rename(part, image);
          try {
            await rename(metaTmp, join(dir, `${record.imageName}.metadata.json`));
            await fsyncPath(dir);
          } catch (err) {
            // Not published: the bytes go back to the upload, which can be completed again.
            await rename(image, part).catch(() => undefined);
            throw err;
          }
        } catch (err) {
          await rm(metaTmp, { force: true });
          if (isFull(err)) {
            this.options.observer?.outcome('insufficient_storage');
            throw new ImageError(507, FULL_MESSAGE);
          }
          throw err;
        }
        await rm(join(dir, UPLOADS, `${uploadId}.json`), { force: true });
        this.hashes.delete(uploadId);
        this.options.observer?.outcome('completed');
        this.options.observer?.published(bytes);
        this.options.log.log('info', 'disk image published', { device, imageName: record.imageName, bytes });

        const deleted = imagesToDelete(await this.published(dir), keep, record.imageName);
        for (const name of deleted) {
          // Metadata first: from then on the image is not listed, whatever happens to the rest.
          await rm(join(dir, `${name}.metadata.json`), { force: true });
          await rm(join(dir, `${name}.img.zst`), { force: true });
        }
        if (deleted.length) this.options.log.log('info', 'disk images pruned', { device, deleted: deleted.join(','), keep });
        return { imageName: record.imageName, deleted };
      } finally {
        this.busy.delete(uploadId);
      }
    });
  }

  /** Published images of a device, newest first. */
  async list(device: string): Promise<DiskImageList> {
    const dir = await this.dir(device, false);
    if (!dir) return { images: [] };
    const images: DiskImageList['images'] = [];
    for (const name of (await this.published(dir)).slice(0, 100)) {
      try {
        const metadata = DiskImageMetadataSchema.parse(JSON.parse(await readFile(join(dir, `${name}.metadata.json`), 'utf8')));
        images.push({ imageName: name, compressedBytes: (await stat(join(dir, `${name}.img.zst`))).size, metadata });
      } catch (err) {
        // Deleted by retention meanwhile, or unreadable: not listed.
        if (!isMissing(err))
          this.options.log.log('error', 'disk-image metadata unreadable', { device, imageName: name, error: errorText(err) });
      }
    }
    return { images };
  }

  /** A published image (or its metadata) to send; undefined when there is none. */
  async file(device: string, imageName: string, which: 'image' | 'metadata'): Promise<{ path: string; size: number } | undefined> {
    const dir = await this.dir(device, false);
    if (!dir || !(await this.published(dir)).includes(imageName)) return undefined;
    const path = join(dir, which === 'image' ? `${imageName}.img.zst` : `${imageName}.metadata.json`);
    try {
      return { path, size: (await stat(path)).size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** The SHA-256 of a published image (from its metadata), for ETag. */
  async sha256(device: string, imageName: string): Promise<string | undefined> {
    const meta = await this.file(device, imageName, 'metadata');
    if (!meta) return undefined;
    try {
      return DiskImageMetadataSchema.parse(JSON.parse(await readFile(meta.path, 'utf8'))).sha256Compressed;
    } catch {
      return undefined;
    }
  }

  /**
   * Maintenance: deletes uploads untouched for the TTL (their part file's mtime) and leftovers
   * of an interrupted publish (an image without metadata, a temp file) as old. Never one that
   * a PATCH is writing.
   */
  async expireStale(now: Date): Promise<{ expired: string[] }> {
    const cutoff = now.getTime() - this.options.uploadTtlHours * 3600_000;
    const expired: string[] = [];
    for (const { deviceId, dir } of await this.options.storage.imageDevices()) {
      // Under the device's lock: a publish between its two renames is never taken for a leftover.
      await this.serial(deviceId, async () => {
        for (const record of await this.openUploads(dir)) {
          if (this.busy.has(record.uploadId)) continue;
          const mtime = (await stat(this.partPath(dir, record.uploadId)).catch(() => undefined))?.mtimeMs ?? Date.parse(record.createdAt);
          if (mtime > cutoff) continue;
          await this.discard(dir, record.uploadId);
          this.options.observer?.outcome('expired');
          expired.push(`${deviceId}/${record.uploadId}`);
        }
        const published = new Set(await this.published(dir));
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const m = /^(.+)\.img\.zst$/.exec(name);
          if (!m || published.has(m[1]!)) continue;
          const path = join(dir, name);
          const mtime = (await stat(path).catch(() => undefined))?.mtimeMs ?? Infinity;
          if (mtime > cutoff) continue;
          await unlink(path).catch(() => undefined);
          expired.push(`${deviceId}/${name}`);
        }
      });
    }
    if (expired.length) this.options.log.log('info', 'stale disk-image uploads removed', { removed: expired.join(',') });
    return { expired };
  }

  /** A read stream of a byte range of a published file. */
  static stream(path: string, start: number, end: number): NodeJS.ReadableStream {
    return createReadStream(path, { start, end });
  }
}
