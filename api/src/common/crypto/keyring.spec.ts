import { describe, expect, it } from 'vitest';
import { keyId, keyringOf, keysFor, unsealWithAny } from './keyring.js';
import { deriveKeys, seal, unseal } from './secrets.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('keyring', () => {
  it('has no previous keys unless API_SECRET_KEY_PREVIOUS is set; current comes first', () => {
    expect(keyringOf({ API_SECRET_KEY: B }).previous).toBeNull();
    expect(keysFor(keyringOf({ API_SECRET_KEY: B }), 'fieldSeal')).toEqual([deriveKeys(B).fieldSeal]);
    const ring = keyringOf({ API_SECRET_KEY: B, API_SECRET_KEY_PREVIOUS: A });
    expect(keysFor(ring, 'claimCodeHmac')).toEqual([deriveKeys(B).claimCodeHmac, deriveKeys(A).claimCodeHmac]);
  });

  it('names a key by 8 bytes of its hash, different per key and per purpose', () => {
    const a = deriveKeys(A);
    expect(keyId(a.auditAnchorHmac)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(a.auditAnchorHmac)).toBe(keyId(deriveKeys(A).auditAnchorHmac));
    expect(keyId(a.auditAnchorHmac)).not.toBe(keyId(deriveKeys(B).auditAnchorHmac));
    expect(keyId(a.auditAnchorHmac)).not.toBe(keyId(a.fieldSeal));
  });

  it('unseals with the current key (not stale) or the previous one (stale), never with another', () => {
    const ring = keyringOf({ API_SECRET_KEY: B, API_SECRET_KEY_PREVIOUS: A });
    const keys = keysFor(ring, 'fieldSeal');
    expect(unsealWithAny(keys, seal(deriveKeys(B).fieldSeal, 'new'))).toEqual({ plaintext: 'new', stale: false });
    expect(unsealWithAny(keys, seal(deriveKeys(A).fieldSeal, 'old'))).toEqual({ plaintext: 'old', stale: true });
    const foreign = seal(deriveKeys(C).fieldSeal, 'lost');
    // The error is the current key's own, as a single-key unseal would throw.
    let single: unknown;
    try {
      unseal(deriveKeys(B).fieldSeal, foreign);
    } catch (error) {
      single = error;
    }
    expect(() => unsealWithAny(keys, foreign)).toThrow((single as Error).message);
    expect(() => unsealWithAny(keys, 'not sealed')).toThrow('sealed value has an unknown format');
  });

  it('a value sealed with the previous key opens with the current key alone once sealed again', () => {
    const a = deriveKeys(A).fieldSeal;
    const b = deriveKeys(B).fieldSeal;
    const opened = unsealWithAny([b, a], seal(a, 'secret'));
    const resealed = seal(b, opened.plaintext);
    expect(unsealWithAny([b], resealed)).toEqual({ plaintext: 'secret', stale: false });
  });
});
