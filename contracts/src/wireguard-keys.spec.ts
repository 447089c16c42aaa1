import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnrollRequestSchema, WireGuardKeySchema } from './agent.js';
import { isSmallOrderWireGuardKey } from './wireguard-keys.js';

// The 7 small-order u-coordinates, canonical and with the top bit set (14 encodings).
const SMALL_ORDER = [
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA=',
  'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA=',
  '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=',
  '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuIA=',
  'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=',
  'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEdc=',
  '7P///////////////////////////////////////38=',
  '7P////////////////////////////////////////8=',
  '7f///////////////////////////////////////38=',
  '7f////////////////////////////////////////8=',
  '7v///////////////////////////////////////38=',
  '7v////////////////////////////////////////8=',
];

const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const randomPublicKey = () =>
  generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');

/** What X25519 itself says: OpenSSL refuses a shared secret of all zeros, i.e. a small-order peer key. */
function sharedSecretIsZero(publicKey: string): boolean {
  const peer = createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, Buffer.from(publicKey, 'base64')]), format: 'der', type: 'spki' });
  try {
    return diffieHellman({ privateKey: generateKeyPairSync('x25519').privateKey, publicKey: peer }).every((b) => b === 0);
  } catch {
    return true;
  }
}

describe('small-order WireGuard keys', () => {
  it('recognises all 14 encodings, each of which X25519 turns into an all-zero secret', () => {
    for (const key of SMALL_ORDER) {
      expect(isSmallOrderWireGuardKey(key), key).toBe(true);
      expect(sharedSecretIsZero(key), key).toBe(true);
    }
  });

  it('accepts real keys and is false for anything that is not 32 bytes of base64', () => {
    for (let i = 0; i < 200; i++) {
      const key = randomPublicKey();
      expect(isSmallOrderWireGuardKey(key)).toBe(false);
      expect(sharedSecretIsZero(key)).toBe(false);
    }
    for (const text of ['', 'AAAA', 'not base64!', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='])
      expect(isSmallOrderWireGuardKey(text)).toBe(false);
  });

  it('WireGuardKeySchema refuses them with a message naming the field at enrollment', () => {
    expect(WireGuardKeySchema.safeParse(randomPublicKey()).success).toBe(true);
    for (const key of SMALL_ORDER) {
      const parsed = WireGuardKeySchema.safeParse(key);
      expect(parsed.success, key).toBe(false);
      expect(parsed.error!.issues[0]!.message).toMatch(/small-order/);
    }
    const enroll = EnrollRequestSchema.safeParse({ wgPublicKey: SMALL_ORDER[0] });
    expect(enroll.error!.issues.find((i) => i.path[0] === 'wgPublicKey')?.message).toMatch(/small-order/);
  });
});
