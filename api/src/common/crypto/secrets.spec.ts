import { describe, expect, it } from 'vitest';
import { deriveKeys, safeEqual, seal, unseal } from './secrets.js';

describe('secrets', () => {
  const keys = deriveKeys('a-long-enough-secret-for-the-test-suite');

  it('seals and unseals, with a fresh IV each time', () => {
    const a = seal(keys.fieldSeal, 'JBSWY3DPEHPK3PXP');
    expect(a).not.toBe(seal(keys.fieldSeal, 'JBSWY3DPEHPK3PXP'));
    expect(unseal(keys.fieldSeal, a)).toBe('JBSWY3DPEHPK3PXP');
  });

  it('refuses a tampered value and a wrong key', () => {
    const sealed = seal(keys.fieldSeal, 'secret');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other!').toString('base64url');
    expect(() => unseal(keys.fieldSeal, parts.join('.'))).toThrow();
    expect(() => unseal(deriveKeys('another-secret-another-secret-xx').fieldSeal, sealed)).toThrow();
  });

  it('derives separate keys per purpose', () => {
    expect(Buffer.from(keys.jwt).equals(keys.fieldSeal)).toBe(false);
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
