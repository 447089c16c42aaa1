import { createPrivateKey, createPublicKey } from 'node:crypto';
import { AgentError, ExitCode, readLocalFile } from './errors.js';

/** DER prefix of a PKCS#8 X25519 private key; the 32 raw key bytes follow it. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Checks a base64 WireGuard key (as `wg genkey` writes it) and returns it trimmed. */
export function parseWireGuardKey(text: string): string {
  const key = text.trim();
  if (!KEY_PATTERN.test(key) || Buffer.from(key, 'base64').length !== 32) {
    throw new Error('not a WireGuard key (expected 44 base64 characters, as written by `wg genkey`)');
  }
  return key;
}

/** The public key of a WireGuard (X25519) private key, both base64 — what `wg pubkey` does. */
export function wireGuardPublicKey(privateKeyBase64: string): string {
  const raw = Buffer.from(parseWireGuardKey(privateKeyBase64), 'base64');
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32).toString('base64');
}

export async function readWireGuardPrivateKey(path: string): Promise<string> {
  const text = await readLocalFile(path, 'the WireGuard private key file');
  try {
    return parseWireGuardKey(text);
  } catch (err) {
    throw new AgentError(ExitCode.LOCAL_ERROR, `${path}: ${(err as Error).message}`);
  }
}
