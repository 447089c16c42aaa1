import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { streamHash } from './stream-hash.js';

describe('streamHash', () => {
  const data = [randomBytes(300_000), randomBytes(5), Buffer.alloc(1_000_000, 7)];
  const expected = createHash('sha256').update(Buffer.concat(data)).digest('hex');

  it('gives the SHA-256 of everything written, in a sha256sum child, inline, or inline when the program is missing', async () => {
    for (const program of ['sha256sum', null, 'xs-no-such-program']) {
      const hash = await streamHash(program);
      for (const piece of data) await hash.update(piece);
      expect(await hash.digest()).toBe(expected);
    }
  });
});
