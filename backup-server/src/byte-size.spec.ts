import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('reads bytes and binary units', () => {
    expect(parseByteSize('1024')).toBe(1024);
    expect(parseByteSize('50G')).toBe(50 * 1024 ** 3);
    expect(parseByteSize('1.5M')).toBe(1.5 * 1024 ** 2);
    expect(parseByteSize('8 MiB')).toBe(8 * 1024 ** 2);
    expect(parseByteSize('2t')).toBe(2 * 1024 ** 4);
  });

  it('refuses what is not a size', () => {
    for (const text of ['', 'G', '-1G', '1.5', '10X', '1e9', '9999999999999P', '1,5G']) expect(parseByteSize(text), text).toBeUndefined();
  });
});
