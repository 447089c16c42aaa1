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

const toBase64 = (base64url: string | undefined): string => Buffer.from(base64url ?? '', 'base64url').toString('base64');

/** True for a canonical WireGuard key (base64 of exactly 32 bytes). */
export function isWireGuardKey(key: string): boolean {
  return typeof key === 'string' && WG_KEY.test(key);
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey: toBase64(privateKey.export({ format: 'jwk' }).d), publicKey: toBase64(publicKey.export({ format: 'jwk' }).x) };
}

/** Same result as `wg pubkey`. Throws TypeError when the input is not a WireGuard key. */
export function publicKeyFromPrivate(privateKey: string): string {
  if (!isWireGuardKey(privateKey)) throw new TypeError('private key is not a WireGuard key (base64 of 32 bytes)');
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return toBase64(createPublicKey(key).export({ format: 'jwk' }).x);
}
