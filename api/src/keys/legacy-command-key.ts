import { createPrivateKey, type KeyObject } from 'node:crypto';

/** PKCS#8 DER prefix of an Ed25519 private key, followed by its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The command-signing key the API derived from API_SECRET_KEY before the key store existed
 * (`deriveKeys(secret).commandSigningSeed`, api/src/common/crypto/secrets.ts). Devices enrolled
 * then pinned its public half, so the store imports it once as its first key.
 */
export function ed25519KeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}
