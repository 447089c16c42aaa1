import { isWireGuardKey, publicKeyFromPrivate } from '@xspectre/wireguard/pure';
import { AgentError, ExitCode, readLocalFile } from './errors.js';

/** Checks a base64 WireGuard key (as `wg genkey` writes it) and returns it trimmed. */
export function parseWireGuardKey(text: string): string {
  const key = text.trim();
  if (!isWireGuardKey(key)) throw new Error('not a WireGuard key (expected 44 base64 characters, as written by `wg genkey`)');
  return key;
}

/** The public key of a WireGuard (X25519) private key, both base64 — what `wg pubkey` does. */
export function wireGuardPublicKey(privateKeyBase64: string): string {
  return publicKeyFromPrivate(parseWireGuardKey(privateKeyBase64));
}

export async function readWireGuardPrivateKey(path: string): Promise<string> {
  const text = await readLocalFile(path, 'the WireGuard private key file');
  try {
    return parseWireGuardKey(text);
  } catch (err) {
    throw new AgentError(ExitCode.LOCAL_ERROR, `${path}: ${(err as Error).message}`);
  }
}
