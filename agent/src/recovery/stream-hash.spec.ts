import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sharedBuffer, streamHash } from './stream-hash.js';

describe('streamHash', () => {
  // More than the worker's queue (16 MiB) so update() has to wait for it at least once.
  const data = [randomBytes(300_000), randomBytes(5), Buffer.alloc(1_000_000, 7), ...Array.from({ length: 6 }, () => randomBytes(4 << 20))];
  const expected = createHash('sha256').update(Buffer.concat(data)).digest('hex');

  it('gives the SHA-256 of everything written: in a worker thread, in a sha256sum child, inline, and inline when the program is missing', async () => {
    for (const [mode, program] of [['worker'], ['sha256sum'], ['inline'], ['sha256sum', 'xs-no-such-program']] as const) {
      const hash = await streamHash(mode, program);
      for (const piece of data) await hash.update(piece);
      expect(await hash.digest(), `${mode} ${program ?? ''}`).toBe(expected);
    }
  });

  it('hashes a buffer the caller reuses right after update() resolves (the worker holds its own copy)', async () => {
    const hash = await streamHash('worker');
    const buffer = Buffer.alloc(1 << 20, 1);
    await hash.update(buffer);
    buffer.fill(2);
    await hash.update(buffer);
    const want = createHash('sha256')
      .update(Buffer.alloc(1 << 20, 1))
      .update(Buffer.alloc(1 << 20, 2))
      .digest('hex');
    expect(await hash.digest()).toBe(want);
  });

  it('hashes a shared buffer in place: update() resolves once it is hashed, in every mode, so the caller may refill it', async () => {
    const want = createHash('sha256');
    for (let i = 0; i < 40; i++) want.update(Buffer.alloc(1 << 18, i));
    const expectedShared = want.digest('hex');
    for (const mode of ['worker', 'sha256sum', 'inline'] as const) {
      const hash = await streamHash(mode);
      const buffer = sharedBuffer(1 << 18);
      for (let i = 0; i < 40; i++) {
        buffer.fill(i);
        await hash.update(buffer);
      }
      expect(await hash.digest(), mode).toBe(expectedShared);
    }
  });

  it('a worker that stops fails the updates it still holds', async () => {
    const hash = await streamHash('worker');
    const pending = hash.update(sharedBuffer(64 << 20));
    hash.abort();
    await expect(pending).rejects.toThrow(/hashing failed/);
  });

  it('a worker stopped by abort() refuses further updates', async () => {
    const hash = await streamHash('worker');
    await hash.update(Buffer.alloc(10));
    hash.abort();
    await expect(hash.update(Buffer.alloc(10))).rejects.toThrow(/hashing failed/);
  });
});
