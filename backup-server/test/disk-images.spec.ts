// Full-disk images against the built backup server (node backup-server/dist/main.js, plain
// directory store, real tokens, real zstd output as the image). Each test uses its own device.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyBackupTokenOp, DiskImageList, DiskImageMetadata } from '@xspectre/contracts';
import { DiskImageStore } from '../src/disk-images/image-store.js';
import { DirectoryStorage } from '../src/storage/directory-storage.js';
import { captureLog, newDevice, tokenAuthority } from './restic-harness.js';

const MAIN = new URL('../dist/main.js', import.meta.url).pathname;
const MAX_BYTES = 8 * 1024 * 1024;
const authority = tokenAuthority();
const issued: string[] = [];
let dir: string;
let store: string;
let child: ChildProcess;
let stdout = '';
let port: number;
let metricsPort: number;

type Op = AnyBackupTokenOp;
function token(device: string, op: Op, options?: { iat?: number; lifetime?: number; keepImages?: number }): string {
  const t = authority.issue(device, op, options);
  issued.push(t);
  return t;
}
const auth = (device: string, op: Op) => ({ user: device, token: token(device, op) });

const logLines = (): Array<Record<string, unknown>> =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, attempts = 600): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}; server output:\n${stdout.slice(-3000)}`);
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => any;
}

/** One request to the front, the path sent exactly as given (no URL normalisation). */
function call(
  method: string,
  path: string,
  options: { auth?: { user: string; token: string }; headers?: Record<string, string>; body?: Buffer | string; json?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = `Basic ${Buffer.from(`${options.auth.user}:${options.auth.token}`).toString('base64')}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function* toAsync(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A small "disk" compressed by the real zstd, and the metadata the recovery agent would send. */
async function makeImage(device: string, imageName: string, rawSize = 3 * 1024 * 1024) {
  // Half random, half repetitive: a realistic mix that zstd shrinks by about half.
  const raw = Buffer.concat([randomBytes(rawSize / 2), Buffer.alloc(rawSize / 2, `xspectre ${imageName} `)]);
  const compressed = Buffer.from((await execa('zstd', ['-q', '-c', '-3'], { input: raw, encoding: 'buffer' })).stdout);
  const metadata: DiskImageMetadata = {
    deviceId: device,
    imageName,
    disks: [
      {
        name: 'sda',
        model: 'QEMU HARDDISK',
        serial: 'QM00001',
        sizeBytes: raw.length,
        partitionTable: {
          type: 'gpt',
          partitions: [{ number: 1, startBytes: 1048576, sizeBytes: raw.length - 2 * 1048576, filesystem: 'ext4', label: 'root' }],
        },
        sha256Raw: sha256(raw),
      },
    ],
    sha256Compressed: sha256(compressed),
    compressedBytes: compressed.length,
    rawBytes: raw.length,
    startedAt: '2026-12-05T03:00:00Z',
    finishedAt: '2026-12-05T03:04:10Z',
    durationSeconds: 250,
    tools: { zstd: 'v1.5.4', agent: 'xspectre-recovery 0.1.0', compressionLevel: 3 },
  };
  return { raw, compressed, metadata };
}

const base = (device: string) => `/disk-images/${device}`;

async function createUpload(device: string, imageName: string, a = auth(device, 'image-append')) {
  return call('POST', `${base(device)}/uploads`, { auth: a, json: { imageName, expectedRawBytes: 3 * 1024 * 1024 } });
}

function patch(device: string, uploadId: string, offset: number, body: Buffer, a = auth(device, 'image-append')) {
  return call('PATCH', `${base(device)}/uploads/${uploadId}`, {
    auth: a,
    headers: { 'content-type': 'application/octet-stream', 'upload-offset': String(offset) },
    body,
  });
}

function complete(
  device: string,
  uploadId: string,
  image: { compressed: Buffer; metadata: DiskImageMetadata },
  a = auth(device, 'image-append'),
) {
  return call('POST', `${base(device)}/uploads/${uploadId}/complete`, {
    auth: a,
    json: { sha256Compressed: image.metadata.sha256Compressed, compressedBytes: image.metadata.compressedBytes, metadata: image.metadata },
  });
}

/** Create, upload in chunks of `chunk` bytes, complete: the whole happy path. */
async function uploadWhole(device: string, imageName: string, chunk = 512 * 1024, keepImages?: number) {
  const image = await makeImage(device, imageName);
  const a =
    keepImages === undefined ? auth(device, 'image-append') : { user: device, token: token(device, 'image-append', { keepImages }) };
  const created = await createUpload(device, imageName, a);
  expect(created.status, created.text).toBe(201);
  const { uploadId } = created.json();
  for (let at = 0; at < image.compressed.length; at += chunk) {
    const res = await patch(device, uploadId, at, image.compressed.subarray(at, at + chunk), a);
    expect(res.status, res.text).toBe(204);
    expect(Number(res.headers['upload-offset'])).toBe(Math.min(at + chunk, image.compressed.length));
  }
  const done = await complete(device, uploadId, image, a);
  expect(done.status, done.text).toBe(201);
  return { ...image, uploadId, done: done.json() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-disk-images-'));
  store = join(dir, 'store');
  const keyFile = join(dir, 'token-key.pem');
  await writeFile(keyFile, authority.publicKeys[0]!.publicKey.export({ format: 'pem', type: 'spki' }));
  child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      BACKUP_STORAGE_DIR: store,
      BACKUP_TOKEN_PUBLIC_KEYS: keyFile,
      BACKUP_LISTEN_PORT: '0',
      BACKUP_METRICS_LISTEN: '127.0.0.1:0',
      BACKUP_IMAGE_KEEP: '2',
      BACKUP_IMAGE_MAX_BYTES: String(MAX_BYTES),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  port = await until('the backup server listening', () => logLines().find((l) => l.msg === 'backup server listening')?.port as number);
  metricsPort = await until('the metrics listener', () => logLines().find((l) => l.msg === 'metrics listening')?.port as number);
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('disk images (built server, directory store)', () => {
  it('uploads in chunks, completes, lists, and downloads an image whose SHA-256 matches (ranges too)', async () => {
    const device = newDevice();
    const name = '2026-12-05T030000Z';
    const image = await uploadWhole(device, name);
    expect(image.done).toEqual({
      imageName: name,
      compressedBytes: image.compressed.length,
      sha256Compressed: sha256(image.compressed),
      pruned: [],
    });
    expect(existsSync(join(store, 'disk-images', device, `${name}.img.zst`))).toBe(true);
    expect(await readdir(join(store, 'disk-images', device, '.uploads'))).toEqual([]);

    const read = auth(device, 'image-read');
    const list = await call('GET', `${base(device)}/`, { auth: read });
    expect(list.status).toBe(200);
    expect((list.json() as DiskImageList).images).toEqual([
      { imageName: name, compressedBytes: image.compressed.length, metadata: image.metadata },
    ]);

    const download = await call('GET', `${base(device)}/${name}.img.zst`, { auth: read });
    expect(download.status).toBe(200);
    expect(download.headers['accept-ranges']).toBe('bytes');
    expect(sha256(download.body)).toBe(image.metadata.sha256Compressed);
    // The real zstd gives back the raw disk.
    const rawBack = Buffer.from((await execa('zstd', ['-q', '-d', '-c'], { input: download.body, encoding: 'buffer' })).stdout);
    expect(sha256(rawBack)).toBe(image.metadata.disks[0]!.sha256Raw);

    const part = await call('GET', `${base(device)}/${name}.img.zst`, { auth: read, headers: { range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${image.compressed.length}`);
    expect(part.body.equals(image.compressed.subarray(1000, 2000))).toBe(true);
    const tail = await call('GET', `${base(device)}/${name}.img.zst`, {
      auth: read,
      headers: { range: `bytes=${image.compressed.length}-` },
    });
    expect(tail.status).toBe(416);

    const meta = await call('GET', `${base(device)}/${name}.metadata.json`, { auth: read });
    expect(meta.status).toBe(200);
    expect(meta.json()).toEqual(image.metadata);
  });

  it('resumes from HEAD after the connection is cut mid-body, and the hash covers the whole image', async () => {
    const device = newDevice();
    const name = '2026-12-05T031000Z';
    const image = await makeImage(device, name);
    const a = auth(device, 'image-append');
    const { uploadId } = (await createUpload(device, name, a)).json();
    const path = `${base(device)}/uploads/${uploadId}`;

    // Declare the whole image, send 40 % of it, wait until the server has stored exactly that
    // (HEAD answers while the PATCH runs), then destroy the socket mid-body.
    const sent = Math.floor(image.compressed.length * 0.4);
    const cut = request({
      host: '127.0.0.1',
      port,
      method: 'PATCH',
      path,
      headers: {
        authorization: `Basic ${Buffer.from(`${a.user}:${a.token}`).toString('base64')}`,
        'content-type': 'application/octet-stream',
        'content-length': String(image.compressed.length),
        'upload-offset': '0',
      },
    });
    const cutDone = new Promise<void>((resolve) => {
      cut.on('error', () => resolve());
      cut.on('close', () => resolve());
    });
    cut.write(image.compressed.subarray(0, sent));
    await until('the first 40 % stored', async () =>
      Number((await call('HEAD', path, { auth: a })).headers['upload-offset']) === sent ? true : undefined,
    );
    // While that PATCH is open, no second one may write to the same upload.
    const concurrent = await patch(device, uploadId, sent, Buffer.alloc(10), a);
    expect(concurrent.status).toBe(409);
    expect(concurrent.text).toMatch(/another PATCH/);
    expect((await complete(device, uploadId, image, a)).status).toBe(409);
    cut.destroy();
    await cutDone;
    // The server notes the cut once it has synced what arrived.
    await until('the cut PATCH logged', () => logLines().find((l) => l.msg === 'disk-image upload interrupted' && l.uploadId === uploadId));
    const head = await call('HEAD', path, { auth: a });
    expect(head.status).toBe(200);
    const offset = Number(head.headers['upload-offset']);
    expect(offset).toBe(sent);
    expect((await call('GET', path, { auth: a })).json()).toEqual({ uploadId, imageName: name, offset });

    // A second "create" of the same image answers the open upload and its offset.
    const again = await createUpload(device, name, a);
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ uploadId, imageName: name, offset });

    const rest = await patch(device, uploadId, offset, image.compressed.subarray(offset), a);
    expect(rest.status, rest.text).toBe(204);
    expect(Number(rest.headers['upload-offset'])).toBe(image.compressed.length);
    const done = await complete(device, uploadId, image, a);
    expect(done.status, done.text).toBe(201);
    const download = await call('GET', `${base(device)}/${name}.img.zst`, { auth: auth(device, 'image-read') });
    expect(sha256(download.body)).toBe(image.metadata.sha256Compressed);
  });

  it('refuses a corrupted upload (one flipped byte) with 422 and publishes nothing', async () => {
    const device = newDevice();
    const name = '2026-12-05T032000Z';
    const image = await makeImage(device, name);
    const a = auth(device, 'image-append');
    const { uploadId } = (await createUpload(device, name, a)).json();
    const corrupted = Buffer.from(image.compressed);
    corrupted[Math.floor(corrupted.length / 2)]! ^= 0x01;
    expect((await patch(device, uploadId, 0, corrupted, a)).status).toBe(204);
    const done = await complete(device, uploadId, image, a);
    expect(done.status).toBe(422);
    expect(done.text).toMatch(/SHA-256 of the received image is [0-9a-f]{64}, the device says .*discarded/);
    expect((await call('GET', `${base(device)}/`, { auth: auth(device, 'image-read') })).json()).toEqual({ images: [] });
    expect((await call('GET', `${base(device)}/${name}.img.zst`, { auth: auth(device, 'image-read') })).status).toBe(404);
    expect(await readdir(join(store, 'disk-images', device))).toEqual(['.uploads']);
    expect(await readdir(join(store, 'disk-images', device, '.uploads'))).toEqual([]);
    expect((await call('HEAD', `${base(device)}/uploads/${uploadId}`, { auth: a })).status).toBe(404);
    // The device starts over with a new upload of the same image.
    expect((await createUpload(device, name, a)).status).toBe(201);
  });

  it('refuses a truncated upload with 422 and keeps it for resume', async () => {
    const device = newDevice();
    const name = '2026-12-05T033000Z';
    const image = await makeImage(device, name);
    const a = auth(device, 'image-append');
    const { uploadId } = (await createUpload(device, name, a)).json();
    const short = image.compressed.length - 4096;
    expect((await patch(device, uploadId, 0, image.compressed.subarray(0, short), a)).status).toBe(204);
    const done = await complete(device, uploadId, image, a);
    expect(done.status).toBe(422);
    expect(done.text).toMatch(new RegExp(`truncated: ${short} of ${image.compressed.length} bytes`));
    expect((await call('GET', `${base(device)}/`, { auth: auth(device, 'image-read') })).json()).toEqual({ images: [] });
    expect(Number((await call('HEAD', `${base(device)}/uploads/${uploadId}`, { auth: a })).headers['upload-offset'])).toBe(short);
    expect((await patch(device, uploadId, short, image.compressed.subarray(short), a)).status).toBe(204);
    expect((await complete(device, uploadId, image, a)).status).toBe(201);
  });

  it('answers a wrong offset with 409 and the real one; one open upload per device; size limit 413', async () => {
    const device = newDevice();
    const a = auth(device, 'image-append');
    const { uploadId } = (await createUpload(device, '2026-12-05T034000Z', a)).json();
    expect((await patch(device, uploadId, 0, Buffer.alloc(1000, 1), a)).status).toBe(204);
    for (const offset of [0, 999, 1001]) {
      const res = await patch(device, uploadId, offset, Buffer.alloc(10), a);
      expect(res.status).toBe(409);
      expect(res.headers['upload-offset']).toBe('1000');
    }
    const bad = await call('PATCH', `${base(device)}/uploads/${uploadId}`, {
      auth: a,
      headers: { 'content-type': 'application/octet-stream', 'upload-offset': '-1' },
      body: 'x',
    });
    expect(bad.status).toBe(400);
    const wrongType = await call('PATCH', `${base(device)}/uploads/${uploadId}`, {
      auth: a,
      headers: { 'content-type': 'text/plain', 'upload-offset': '1000' },
      body: 'x',
    });
    expect(wrongType.status).toBe(415);
    const other = await createUpload(device, '2026-12-05T035000Z', a);
    expect(other.status).toBe(409);
    expect(other.text).toMatch(/upload of image 2026-12-05T034000Z is open/);
    const tooBig = await patch(device, uploadId, 1000, Buffer.alloc(MAX_BYTES), a);
    expect(tooBig.status).toBe(413);
    expect(Number((await call('HEAD', `${base(device)}/uploads/${uploadId}`, { auth: a })).headers['upload-offset'])).toBe(1000);
    // Without Content-Length (chunked) the limit stops the body mid-way: what fitted stays, and
    // the device still gets the 413 with the offset.
    const chunked = await new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'PATCH',
          path: `${base(device)}/uploads/${uploadId}`,
          headers: {
            authorization: `Basic ${Buffer.from(`${a.user}:${a.token}`).toString('base64')}`,
            'content-type': 'application/octet-stream',
            'upload-offset': '1000',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), text, json: () => JSON.parse(text) });
          });
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 9; i++) req.write(Buffer.alloc(1024 * 1024, i));
      req.end();
    });
    expect(chunked.status).toBe(413);
    const keptAfterLimit = Number(chunked.headers['upload-offset']);
    expect(keptAfterLimit).toBeGreaterThan(1000);
    expect(keptAfterLimit).toBeLessThanOrEqual(MAX_BYTES);
    expect(Number((await call('HEAD', `${base(device)}/uploads/${uploadId}`, { auth: a })).headers['upload-offset'])).toBe(keptAfterLimit);
    const badBody = await call('POST', `${base(device)}/uploads`, { auth: a, json: { imageName: 'yesterday' } });
    expect(badBody.status).toBe(400);
    expect(badBody.text).toMatch(/imageName/);
  });

  it('keeps BACKUP_IMAGE_KEEP (2) images per device, deleting the oldest after a publish', async () => {
    const device = newDevice();
    const names = ['2026-11-01T030000Z', '2026-11-08T030000Z', '2026-11-15T030000Z'];
    const results = [];
    for (const name of names) results.push(await uploadWhole(device, name, 1024 * 1024));
    expect(results[2]!.done.pruned).toEqual([names[0]]);
    const list = (await call('GET', `${base(device)}/`, { auth: auth(device, 'image-read') })).json() as DiskImageList;
    expect(list.images.map((i) => i.imageName)).toEqual([names[2], names[1]]);
    expect((await readdir(join(store, 'disk-images', device))).sort()).toEqual(
      ['.uploads', `${names[1]}.img.zst`, `${names[1]}.metadata.json`, `${names[2]}.img.zst`, `${names[2]}.metadata.json`].sort(),
    );
    // A published image is never overwritten.
    expect((await createUpload(device, names[2]!)).status).toBe(409);
  });

  it("keeps the device's policy number from the image-append token instead of BACKUP_IMAGE_KEEP, bounded 1–20", async () => {
    const device = newDevice();
    const names = ['2026-10-04T030000Z', '2026-10-11T030000Z', '2026-10-18T030000Z', '2026-10-25T030000Z', '2026-11-01T030000Z'];
    // keepImages 3 (the policy's default): the fourth publish prunes only the first.
    for (const name of names.slice(0, 3)) expect((await uploadWhole(device, name, 1024 * 1024, 3)).done.pruned).toEqual([]);
    expect((await uploadWhole(device, names[3]!, 1024 * 1024, 3)).done.pruned).toEqual([names[0]]);
    const listed = async () =>
      ((await call('GET', `${base(device)}/`, { auth: auth(device, 'image-read') })).json() as DiskImageList).images.map(
        (i) => i.imageName,
      );
    expect(await listed()).toEqual([names[3], names[2], names[1]]);
    // A token without the claim keeps the server's BACKUP_IMAGE_KEEP (2).
    expect((await uploadWhole(device, names[4]!, 1024 * 1024)).done.pruned).toEqual([names[1], names[2]]);
    expect(await listed()).toEqual([names[4], names[3]]);
    // Out of bounds, or on a token that is not image-append: the token itself is refused.
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: 'xspectre-api', aud: 'xspectre-backup', sub: device, iat, exp: iat + 600, jti: 'forged-keep-0001' };
    for (const bad of [
      { ...claims, op: 'image-append', keepImages: 0 },
      { ...claims, op: 'image-append', keepImages: 21 },
      { ...claims, op: 'image-append', keepImages: 2.5 },
      { ...claims, op: 'image-read', keepImages: 3 },
    ]) {
      const forged = authority.issueRaw(bad);
      issued.push(forged);
      const res = await createUpload(device, '2026-11-08T030000Z', { user: device, token: forged });
      expect(res.status, JSON.stringify(bad)).toBe(401);
    }
    expect(await listed()).toEqual([names[4], names[3]]);
  });

  it('checks tokens: device, operation class, expiry; restic and image tokens never cross', async () => {
    const device = newDevice();
    const other = newDevice();
    const name = '2026-12-05T040000Z';
    await uploadWhole(device, name);
    const image = `${base(device)}/${name}.img.zst`;
    // Another device's token, presented with either name.
    expect((await call('GET', image, { auth: auth(other, 'image-read') })).status).toBe(403);
    expect((await call('GET', image, { auth: { user: device, token: token(other, 'image-read') } })).status).toBe(403);
    expect((await createUpload(device, '2026-12-05T041000Z', auth(other, 'image-append'))).status).toBe(403);
    // Restic tokens on image routes.
    for (const op of ['append', 'read', 'prune'] as const) {
      const res = await call('GET', image, { auth: auth(device, op) });
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/does not open disk images/);
      expect((await createUpload(device, '2026-12-05T041000Z', auth(device, op))).status).toBe(403);
    }
    // Image tokens on restic routes.
    for (const op of ['image-append', 'image-read'] as const) {
      const res = await call('GET', `/${device}/config`, { auth: auth(device, op) });
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/does not open restic repositories/);
      expect((await call('POST', `/${device}/?create=true`, { auth: auth(device, op) })).status).toBe(403);
    }
    // An append token cannot read images, a read token cannot upload.
    expect((await call('GET', image, { auth: auth(device, 'image-append') })).status).toBe(403);
    expect((await call('GET', `${base(device)}/`, { auth: auth(device, 'image-append') })).status).toBe(403);
    expect((await createUpload(device, '2026-12-05T041000Z', auth(device, 'image-read'))).status).toBe(403);
    // Nothing deletes over HTTP.
    expect((await call('DELETE', image, { auth: auth(device, 'image-read') })).status).toBe(405);
    // Expired and missing tokens.
    const expired = { user: device, token: token(device, 'image-read', { iat: Math.floor(Date.now() / 1000) - 700, lifetime: 600 }) };
    const res = await call('GET', image, { auth: expired });
    expect(res.status).toBe(401);
    expect(res.text).toBe('backup token expired\n');
    expect((await call('GET', image)).status).toBe(401);
  });

  it('refuses traversal and bad names with 400 before looking at the token', async () => {
    const device = newDevice();
    const read = auth(device, 'image-read');
    for (const path of [
      `/disk-images/${device}/../${newDevice()}/`,
      `/disk-images/${device}/%2e%2e/x`,
      `/disk-images/${device}/2026-12-05T030000Z.img.zst/../../etc/passwd`,
      `/disk-images/${device}/latest.img.zst`,
      `/disk-images/${device}/2026-02-30T030000Z.img.zst`.replace('02-30', '13-01'),
      `/disk-images/${device}/uploads/../../x`,
      `/disk-images/../${device}/`,
      `/disk-images/${device}/?list=1`,
    ]) {
      const res = await call('GET', path, { auth: read });
      expect(res.status, path).toBe(400);
    }
    const res = await call('POST', `${base(device)}/uploads`, { auth: auth(device, 'image-append'), json: { imageName: '../../x' } });
    expect(res.status).toBe(400);
  });

  it('logs one line per request without tokens, and counts images in the metrics', async () => {
    const lines = logLines().filter((l) => l.msg === 'request' && String(l.path).startsWith('/disk-images/'));
    expect(lines.some((l) => l.op === 'image-append' && l.method === 'PATCH' && l.status === 204)).toBe(true);
    expect(lines.some((l) => l.op === 'image-append' && l.status === 422)).toBe(true);
    for (const t of issued) expect(stdout).not.toContain(t.split('.')[2]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/xspectre_backup_image_uploads_total\{outcome="completed"\} [1-9]/);
    expect(metrics).toMatch(/xspectre_backup_image_uploads_total\{outcome="hash_mismatch"\} 1/);
    expect(metrics).toMatch(/xspectre_backup_image_uploads_total\{outcome="truncated"\} 1/);
    expect(metrics).toMatch(/xspectre_backup_image_received_bytes_total [1-9]/);
    expect(metrics).toMatch(/xspectre_backup_image_published_bytes_count [1-9]/);
    expect(metrics).toMatch(/xspectre_backup_requests_total\{op="image-append",status="409"\}/);
  });
});

describe('disk-image upload expiry (BACKUP_IMAGE_UPLOAD_TTL_HOURS)', () => {
  it('removes uploads untouched for the TTL and keeps newer ones and published images', async () => {
    const root = join(dir, 'expiry-store');
    const storage = new DirectoryStorage(root);
    await storage.prepare();
    const images = new DiskImageStore({ storage, log: captureLog().logger, maxBytes: MAX_BYTES, keep: 3, uploadTtlHours: 2 });
    const device = newDevice();
    const image = await makeImage(device, '2026-12-05T050000Z');
    const first = await images.createUpload(device, { imageName: '2026-12-05T050000Z' });
    await images.append(device, first.state.uploadId, 0, image.compressed.length, toAsync([image.compressed]));
    await images.complete(device, first.state.uploadId, {
      sha256Compressed: image.metadata.sha256Compressed,
      compressedBytes: image.metadata.compressedBytes,
      metadata: image.metadata,
    });
    const open = await images.createUpload(device, { imageName: '2026-12-05T060000Z' });
    await images.append(device, open.state.uploadId, 0, 3, toAsync([Buffer.from('abc')]));

    expect((await images.expireStale(new Date(Date.now() + 3600_000))).expired).toEqual([]);
    expect((await images.uploadState(device, open.state.uploadId)).offset).toBe(3);
    expect((await images.expireStale(new Date(Date.now() + 3 * 3600_000))).expired).toEqual([`${device}/${open.state.uploadId}`]);
    await expect(images.uploadState(device, open.state.uploadId)).rejects.toMatchObject({ status: 404 });
    expect((await images.list(device)).images.map((i) => i.imageName)).toEqual(['2026-12-05T050000Z']);
  });
});

describe('disk-image store across a restart', () => {
  it('rebuilds the SHA-256 from the bytes on disk when a new process resumes the upload', async () => {
    const storage = new DirectoryStorage(join(dir, 'restart-store'));
    await storage.prepare();
    const options = { storage, log: captureLog().logger, maxBytes: MAX_BYTES, keep: 3, uploadTtlHours: 2 };
    const device = newDevice();
    const name = '2026-12-05T070000Z';
    const image = await makeImage(device, name);
    const half = Math.floor(image.compressed.length / 2);
    const before = new DiskImageStore(options);
    const { state } = await before.createUpload(device, { imageName: name });
    await before.append(device, state.uploadId, 0, undefined, toAsync([image.compressed.subarray(0, half)]));

    // A new store (the restarted server) holds no hash state for the upload.
    const after = new DiskImageStore(options);
    expect(await after.uploadState(device, state.uploadId)).toEqual({ uploadId: state.uploadId, imageName: name, offset: half });
    expect((await after.append(device, state.uploadId, half, undefined, toAsync([image.compressed.subarray(half)]))).offset).toBe(
      image.compressed.length,
    );
    const complete = {
      sha256Compressed: image.metadata.sha256Compressed,
      compressedBytes: image.metadata.compressedBytes,
      metadata: image.metadata,
    };
    expect(await after.complete(device, state.uploadId, complete)).toEqual({ imageName: name, deleted: [] });
    expect((await after.list(device)).images[0]?.metadata.sha256Compressed).toBe(sha256(image.compressed));
  });
});
