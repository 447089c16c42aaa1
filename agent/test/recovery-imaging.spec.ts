// The recovery agent's image pipeline (agent/src/recovery/imaging.ts, restore.ts) against the
// REAL backup server (in-process, plain directory store), tokens signed as the API signs them,
// a realistic "disk" file, and a TCP proxy between pipeline and server to cut and corrupt.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskImageListSchema, DiskImageMetadataSchema, type DiskImageTokenOp } from '@xspectre/contracts';
import { backupTokenKeyId, signBackupToken } from '@xspectre/contracts/backup-token';
import type { BackupServer } from '@xspectre/backup-server/app';
import { ImagingError, takeImage, type ImageToken, type ImagingDisk } from '../src/recovery/imaging.js';
import type { ProgressSample } from '../src/recovery/progress.js';
import { restoreImage, RestoreError, type RestoreTarget } from '../src/recovery/restore.js';
import { startTestBackupServer } from './backup-server-fixture.js';
import { makeDisk, sha256File, startProxy, type TestProxy } from './recovery-support.js';

const MiB = 1024 * 1024;
const DISK_SIZE = 96 * MiB;

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('recovery imaging against the backup server', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = backupTokenKeyId(publicKey);
  let dir: string;
  let server: BackupServer;
  let proxy: TestProxy;
  let diskPath: string;
  let diskSha: string;
  const issued: DiskImageTokenOp[] = [];

  const tokensFor =
    (deviceId: string, port: () => number) =>
    async (op: DiskImageTokenOp): Promise<ImageToken> => {
      issued.push(op);
      const iat = Math.floor(Date.now() / 1000);
      const token = signBackupToken(privateKey, kid, {
        iss: 'xspectre-api',
        aud: 'xspectre-backup',
        sub: deviceId,
        op,
        iat,
        exp: iat + 600,
        jti: randomBytes(9).toString('base64url'),
      });
      return { token, expiresAt: new Date((iat + 600) * 1000), imagesUrl: `http://127.0.0.1:${port()}/disk-images/${deviceId}/` };
    };
  const viaProxy = () => proxy.port;
  const direct = () => server.port;
  const disk = (): ImagingDisk => ({ name: 'vda', path: diskPath, sizeBytes: DISK_SIZE, model: 'QEMU HARDDISK', serial: 'QM00001' });
  let nameSeq = 0;
  const imageName = () => `2026-12-05T03${String(nameSeq++).padStart(2, '0')}00Z`;

  async function listImages(deviceId: string) {
    const tokens = tokensFor(deviceId, direct);
    const { token, imagesUrl } = await tokens('image-read');
    const res = await fetch(imagesUrl, { headers: { authorization: `Basic ${Buffer.from(`${deviceId}:${token}`).toString('base64')}` } });
    expect(res.status).toBe(200);
    return DiskImageListSchema.parse(await res.json()).images;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-recovery-img-'));
    server = await startTestBackupServer(dir, { keyId: kid, publicKey });
    proxy = await startProxy(server.port);
    diskPath = join(dir, 'disk.raw');
    await makeDisk(diskPath, DISK_SIZE);
    diskSha = await sha256File(diskPath);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // One image shared by the restore tests (taken through a cut connection).
  let image: { deviceId: string; imageName: string; sha256Compressed: string; compressedBytes: number } | undefined;

  it('images a disk through a connection cut mid-upload: resumes at the server offset, the server publishes the right hashes', async () => {
    const deviceId = randomUUID();
    const name = imageName();
    const samples: ProgressSample[] = [];
    proxy.cutUpAfter(5 * MiB + 12345);
    const cutsBefore = proxy.cuts;
    const result = await takeImage({
      deviceId,
      imageName: name,
      disks: [disk()],
      compressionLevel: 3,
      tokens: tokensFor(deviceId, viaProxy),
      agentVersion: '0.1.0-test',
      kernel: '6.1.0-test',
      uploadChunkBytes: 2 * MiB,
      retryBaseMs: 20,
      onProgress: (s) => samples.push(s),
    });
    expect(proxy.cuts).toBe(cutsBefore + 1);
    expect(result.retries).toBeGreaterThanOrEqual(1);
    const m = result.metadata;
    expect(DiskImageMetadataSchema.parse(m)).toEqual(m);
    expect(m.disks).toHaveLength(1);
    expect(m.disks[0]).toMatchObject({ name: 'vda', model: 'QEMU HARDDISK', serial: 'QM00001', sizeBytes: DISK_SIZE, sha256Raw: diskSha });
    expect(m.rawBytes).toBe(DISK_SIZE);
    expect(m.compressedBytes).toBeLessThan(DISK_SIZE * 0.7);
    expect(m.tools).toMatchObject({ agent: 'xspectre-recovery 0.1.0-test', kernel: '6.1.0-test', compressionLevel: 3 });
    expect(m.tools.zstd).toMatch(/^v\d+\.\d+\.\d+$/);

    // The server's copy: listed with the same metadata; the file's bytes hash to sha256Compressed.
    const listed = await listImages(deviceId);
    expect(listed).toEqual([{ imageName: name, compressedBytes: m.compressedBytes, metadata: m }]);
    const stored = join(dir, 'store', 'disk-images', deviceId, `${name}.img.zst`);
    expect((await stat(stored)).size).toBe(m.compressedBytes);
    expect(await sha256File(stored)).toBe(m.sha256Compressed);

    expect(samples.length).toBeGreaterThan(0);
    expect(samples.at(-1)).toMatchObject({ phase: 'uploading', bytesDone: DISK_SIZE, bytesTotal: DISK_SIZE, etaSeconds: 0 });
    expect(new Set(issued)).toContain('image-append');
    image = { deviceId, imageName: name, sha256Compressed: m.sha256Compressed, compressedBytes: m.compressedBytes };
  });

  it('reused read blocks and chunks give the right raw and compressed SHA-256 in every hashing mode', async () => {
    // Small blocks and chunks: each of the reader's blocks and the uploader's chunk buffers is
    // refilled hundreds of times while zstd, the hash and the upload may still hold the last fill.
    for (const hashing of ['worker', 'sha256sum', 'inline'] as const) {
      const deviceId = randomUUID();
      const result = await takeImage({
        deviceId,
        imageName: imageName(),
        disks: [disk()],
        compressionLevel: 3,
        tokens: tokensFor(deviceId, direct),
        agentVersion: '0.1.0-test',
        hashing,
        readBlockBytes: 64 * 1024 + 17,
        uploadChunkBytes: 256 * 1024 + 3,
      });
      const m = result.metadata;
      expect(m.disks[0]?.sha256Raw, hashing).toBe(diskSha);
      const stored = join(dir, 'store', 'disk-images', deviceId, `${m.imageName}.img.zst`);
      expect(await sha256File(stored), hashing).toBe(m.sha256Compressed);
      expect((await stat(stored)).size, hashing).toBe(m.compressedBytes);
    }
  }, 120_000);

  it('starts over when the server comes back from a crash without bytes it had acknowledged, and sends only what it lacks', async () => {
    // Its own server and store: the crash is a stop (in-memory state gone) plus a part file cut
    // back below what the device had been told was stored (page cache lost before an fsync).
    const crashDir = await mkdtemp(join(dir, 'crash-'));
    const logged: string[] = [];
    let current = await startTestBackupServer(crashDir, { keyId: kid, publicKey }, (_level, message) => logged.push(message));
    const crashProxy = await startProxy(() => current.port);
    try {
      const deviceId = randomUUID();
      crashProxy.cutUpAndBlockAfter(8 * MiB + 12345);
      const imaging = takeImage({
        deviceId,
        imageName: imageName(),
        disks: [disk()],
        compressionLevel: 3,
        tokens: tokensFor(deviceId, () => crashProxy.port),
        agentVersion: '0.1.0-test',
        uploadChunkBytes: 2 * MiB,
        retryBaseMs: 50,
        maxRetries: 12,
      });
      // The cut PATCH has ended on the server (its tail truncated and synced) before the crash.
      await until('the cut PATCH to end on the server', () => (logged.includes('disk-image upload interrupted') ? true : undefined));
      await current.stop();
      const uploads = join(crashDir, 'store', 'disk-images', deviceId, '.uploads');
      const part = (await readdir(uploads)).find((f) => f.endsWith('.part'));
      expect(part).toBeDefined();
      expect((await stat(join(uploads, part as string))).size).toBeGreaterThan(6 * MiB); // three 2 MiB chunks acknowledged at least
      await truncate(join(uploads, part as string), MiB + 7);
      current = await startTestBackupServer(crashDir, { keyId: kid, publicKey });
      const sentBefore = crashProxy.upBytes;
      crashProxy.setBlocked(false);

      const result = await imaging;
      expect(result.restarts).toBe(1);
      const m = result.metadata;
      expect(m.disks[0]?.sha256Raw).toBe(diskSha);
      const stored = join(crashDir, 'store', 'disk-images', deviceId, `${m.imageName}.img.zst`);
      expect(await sha256File(stored)).toBe(m.sha256Compressed);
      // Started again from the server's 1 MiB + 7, not from 0 and not from where it had been.
      const sentAfter = crashProxy.upBytes - sentBefore;
      expect(sentAfter).toBeGreaterThan(m.compressedBytes - MiB - 7);
      expect(sentAfter).toBeLessThan(m.compressedBytes - MiB + 256 * 1024); // plus headers and the retried HEADs
    } finally {
      await crashProxy.close();
      await current.stop();
    }
  }, 120_000);

  it('resumes an upload a previous run left open (same image name): only the rest is sent', async () => {
    const deviceId = randomUUID();
    const name = imageName();
    const abort = new AbortController();
    const partial = takeImage({
      deviceId,
      imageName: name,
      disks: [disk()],
      compressionLevel: 3,
      tokens: tokensFor(deviceId, direct),
      agentVersion: '0.1.0-test',
      uploadChunkBytes: 2 * MiB,
      retryBaseMs: 20,
      onProgress: (s) => {
        if (s.bytesDone > DISK_SIZE / 2) abort.abort(new Error('test stops the first run'));
      },
      signal: abort.signal,
    });
    await expect(partial).rejects.toThrow(ImagingError);
    const upBefore = proxy.upBytes;
    const result = await takeImage({
      deviceId,
      imageName: name,
      disks: [disk()],
      compressionLevel: 3,
      tokens: tokensFor(deviceId, viaProxy),
      agentVersion: '0.1.0-test',
      uploadChunkBytes: 2 * MiB,
      retryBaseMs: 20,
    });
    expect(result.metadata.disks[0]?.sha256Raw).toBe(diskSha);
    expect(result.metadata.sha256Compressed).toBe(image?.sha256Compressed);
    // The second run sent only what the first had not stored (requests included).
    expect(proxy.upBytes - upBefore).toBeLessThan(result.metadata.compressedBytes * 0.8);
    expect((await listImages(deviceId)).map((i) => i.imageName)).toEqual([name]);
  });

  it('a byte flipped on the way is refused by the server at complete, and the pipeline reports it', async () => {
    const deviceId = randomUUID();
    proxy.flipUpAfter(3 * MiB);
    const flipsBefore = proxy.flips;
    const failure = takeImage({
      deviceId,
      imageName: imageName(),
      disks: [disk()],
      compressionLevel: 3,
      tokens: tokensFor(deviceId, viaProxy),
      agentVersion: '0.1.0-test',
      uploadChunkBytes: 2 * MiB,
      retryBaseMs: 20,
    });
    await expect(failure).rejects.toThrow(/the backup server refused the image: HTTP 422/);
    expect(proxy.flips).toBe(flipsBefore + 1);
    expect(await listImages(deviceId)).toEqual([]);
  });

  it('a disk shorter than its stated size fails the image without completing it', async () => {
    const deviceId = randomUUID();
    const failure = takeImage({
      deviceId,
      imageName: imageName(),
      disks: [{ ...disk(), sizeBytes: DISK_SIZE + MiB }],
      compressionLevel: 1,
      tokens: tokensFor(deviceId, direct),
      agentVersion: '0.1.0-test',
      uploadChunkBytes: 2 * MiB,
    });
    await expect(failure).rejects.toThrow(/reading vda: ended at 100663296 of 101711872 bytes/);
    expect(await listImages(deviceId)).toEqual([]);
  });

  const target = async (name: string, size: number, fill = 0): Promise<RestoreTarget & { path: string }> => {
    const path = join(dir, `${name}.raw`);
    await writeFile(path, Buffer.alloc(size, fill));
    return { imageDisk: 'vda', sha256Raw: diskSha, sizeBytes: DISK_SIZE, target: name, path, targetSizeBytes: size };
  };

  it('restores onto a zeroed disk of the same size through a cut download (Range resume): read back matches', async () => {
    expect(image).toBeDefined();
    const { deviceId, imageName: name, sha256Compressed, compressedBytes } = image!;
    const t = await target('same', DISK_SIZE);
    proxy.cutDownAfter(Math.floor(compressedBytes / 3));
    const cutsBefore = proxy.cuts;
    const samples: ProgressSample[] = [];
    const result = await restoreImage({
      deviceId,
      imageName: name,
      sha256Compressed,
      compressedBytes,
      targets: [t],
      stickDisk: 'sdb',
      tokens: tokensFor(deviceId, viaProxy),
      retryBaseMs: 20,
      onProgress: (s) => samples.push(s),
    });
    expect(proxy.cuts).toBe(cutsBefore + 1);
    expect(result.retries).toBeGreaterThanOrEqual(1);
    expect(result.targets).toEqual([{ target: 'same', sha256: diskSha, bytes: DISK_SIZE }]);
    expect(await sha256File(t.path)).toBe(diskSha);
    expect(samples.map((s) => s.phase)).toContain('verifying');
  });

  it('restores onto a larger disk: the image at its start, the rest untouched', async () => {
    const { deviceId, imageName: name, sha256Compressed, compressedBytes } = image!;
    const t = await target('larger', DISK_SIZE + 8 * MiB, 0xaa);
    await restoreImage({
      deviceId,
      imageName: name,
      sha256Compressed,
      compressedBytes,
      targets: [t],
      stickDisk: null,
      tokens: tokensFor(deviceId, direct),
    });
    expect(await sha256File(t.path, DISK_SIZE)).toBe(diskSha);
    const all = await readFile(t.path);
    expect(all.length).toBe(DISK_SIZE + 8 * MiB);
    expect(all.subarray(DISK_SIZE).every((b) => b === 0xaa)).toBe(true);
  });

  it('refuses a too-small target, the stick and a hash the server file does not have, before writing anything', async () => {
    const { deviceId, imageName: name, sha256Compressed, compressedBytes } = image!;
    const base = { deviceId, imageName: name, sha256Compressed, compressedBytes, tokens: tokensFor(deviceId, direct) };
    const small = await target('small', DISK_SIZE - MiB, 0x55);
    const smallBefore = await sha256File(small.path);
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RestoreError);
      return err as RestoreError;
    };

    const tooSmall = await refusal(restoreImage({ ...base, targets: [small], stickDisk: null }));
    expect(tooSmall).toMatchObject({ check: 'target', written: false });
    expect(tooSmall.message).toContain(`small holds ${DISK_SIZE - MiB} bytes, less than the ${DISK_SIZE} of image disk vda`);
    expect(await sha256File(small.path)).toBe(smallBefore);

    const stick = await target('sdb', DISK_SIZE, 0x55);
    const stickBefore = await sha256File(stick.path);
    expect(await refusal(restoreImage({ ...base, targets: [stick], stickDisk: 'sdb' }))).toMatchObject({ check: 'target', written: false });
    expect(await sha256File(stick.path)).toBe(stickBefore);

    const other = await target('other', DISK_SIZE, 0x55);
    const otherBefore = await sha256File(other.path);
    const wrongHash = await refusal(restoreImage({ ...base, sha256Compressed: 'f'.repeat(64), targets: [other], stickDisk: null }));
    expect(wrongHash).toMatchObject({ check: 'image-etag', written: false });
    const wrongSize = await refusal(restoreImage({ ...base, compressedBytes: compressedBytes + 1, targets: [other], stickDisk: null }));
    expect(wrongSize).toMatchObject({ check: 'image-size', written: false });
    const missing = await refusal(restoreImage({ ...base, imageName: '2020-01-01T000000Z', targets: [other], stickDisk: null }));
    expect(missing).toMatchObject({ check: 'image-missing', written: false });
    expect(await sha256File(other.path)).toBe(otherBefore);
  });

  it('a raw hash that does not match the image disk fails the restore (never claims success)', async () => {
    const { deviceId, imageName: name, sha256Compressed, compressedBytes } = image!;
    const t = { ...(await target('mismatch', DISK_SIZE)), sha256Raw: '0'.repeat(64) };
    const err = await restoreImage({
      deviceId,
      imageName: name,
      sha256Compressed,
      compressedBytes,
      targets: [t],
      stickDisk: null,
      tokens: tokensFor(deviceId, direct),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RestoreError);
    expect(err).toMatchObject({ check: 'raw-hash', written: true });
    expect((err as Error).message).toContain('must not be trusted');
  });
});
