import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { SftpReadStream } from './sftp-download.js';
import { writeBody } from './sftp-upload.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const HANDLE = Buffer.from('h');

/**
 * The transfer loops against an in-memory stand-in for ssh2's SFTP client (a third-party
 * interface): it answers requests out of order and in short pieces, as a busy server may. The
 * real sftp-server is exercised by the lab cases (api/test/remote-access/files.cases.ts).
 */
function fakeSftp(file: Buffer, options: { maxRead?: number; maxReadLen?: number } = {}) {
  const written = Buffer.alloc(file.length);
  let outstanding = 0;
  let peak = 0;
  let wroteUpTo = 0;
  const later = (fn: () => void) => setTimeout(fn, Math.floor(Math.random() * 3));
  const sftp = {
    _maxReadLen: options.maxReadLen,
    read(_h: Buffer, buffer: Buffer, offset: number, length: number, position: number, cb: (e: Error | undefined, n: number) => void) {
      outstanding++;
      peak = Math.max(peak, outstanding);
      later(() => {
        outstanding--;
        const n = Math.max(0, Math.min(length, options.maxRead ?? length, file.length - position));
        file.copy(buffer, offset, position, position + n);
        cb(undefined, n);
      });
    },
    write(_h: Buffer, buffer: Buffer, offset: number, length: number, position: number, cb: (e?: Error) => void) {
      outstanding++;
      peak = Math.max(peak, outstanding);
      const copy = Buffer.from(buffer.subarray(offset, offset + length));
      later(() => {
        outstanding--;
        copy.copy(written, position);
        wroteUpTo = Math.max(wroteUpTo, position + length);
        cb();
      });
    },
    close(_h: Buffer, cb: () => void) {
      cb();
    },
  };
  return { sftp: sftp as unknown as SFTPWrapper, written: () => written.subarray(0, wroteUpTo), peak: () => peak };
}

describe('SftpReadStream', () => {
  it('delivers the file in order, whole, with its SHA-256, from answers out of order and short', async () => {
    const file = randomBytes(3 * 1024 * 1024 + 123);
    const fake = fakeSftp(file, { maxRead: 10_000 });
    const stream = new SftpReadStream(fake.sftp, HANDLE, file.length, '/f');
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    expect(Buffer.concat(parts).equals(file)).toBe(true);
    expect(stream.bytes).toBe(file.length);
    expect(stream.hash.digest('hex')).toBe(sha256(file));
    expect(fake.peak()).toBeGreaterThan(1);
  });

  it('uses the announced read size and stops reading ahead while the consumer waits', async () => {
    const file = randomBytes(16 * 1024 * 1024);
    const fake = fakeSftp(file, { maxReadLen: 261_120 });
    const stream = new SftpReadStream(fake.sftp, HANDLE, file.length, '/f');
    const slow = new PassThrough({ highWaterMark: 64 * 1024 });
    stream.pipe(slow);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.bytes).toBeLessThan(file.length / 2);
    const parts: Buffer[] = [];
    for await (const part of slow) parts.push(part as Buffer);
    expect(Buffer.concat(parts).equals(file)).toBe(true);
  });

  it('fails when the file became shorter than its size', async () => {
    const fake = fakeSftp(randomBytes(1000));
    const stream = new SftpReadStream(fake.sftp, HANDLE, 5000, '/f');
    await expect(async () => {
      for await (const part of stream) void part;
    }).rejects.toMatchObject({ code: 'REMOTE_FILE_FAILED' });
  });
});

describe('writeBody', () => {
  const signal = () => new AbortController().signal;

  it('writes every chunk at its offset and reports bytes and SHA-256', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 17);
    const fake = fakeSftp(Buffer.alloc(data.length));
    const body = Readable.from(
      (function* () {
        for (let at = 0; at < data.length; at += 7_000) yield data.subarray(at, at + 7_000);
      })(),
    );
    const result = await writeBody(fake.sftp, HANDLE, body, { path: '/f', maxBytes: 1e9, signal: signal() });
    expect(result).toEqual({ bytes: data.length, sha256: sha256(data) });
    expect(fake.written().equals(data)).toBe(true);
    expect(fake.peak()).toBeLessThanOrEqual(64);
  });

  it('refuses more than maxBytes', async () => {
    const fake = fakeSftp(Buffer.alloc(0));
    const body = Readable.from([randomBytes(1000), randomBytes(1000)]);
    await expect(writeBody(fake.sftp, HANDLE, body, { path: '/f', maxBytes: 1500, signal: signal() })).rejects.toMatchObject({
      code: 'REMOTE_FILE_TOO_LARGE',
    });
  });

  it('fails when the client goes away mid-body, or the session is aborted', async () => {
    const gone = new PassThrough();
    gone.write(randomBytes(100));
    setTimeout(() => gone.destroy(), 20);
    await expect(
      writeBody(fakeSftp(Buffer.alloc(100)).sftp, HANDLE, gone, { path: '/f', maxBytes: 1e9, signal: signal() }),
    ).rejects.toMatchObject({
      code: 'REMOTE_FILE_FAILED',
    });
    const open = new PassThrough();
    open.write(randomBytes(100));
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('access revoked')), 20);
    await expect(
      writeBody(fakeSftp(Buffer.alloc(100)).sftp, HANDLE, open, { path: '/f', maxBytes: 1e9, signal: abort.signal }),
    ).rejects.toThrow('access revoked');
  });
});
