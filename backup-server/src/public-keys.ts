import { createPublicKey } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { backupTokenKeyId, type BackupTokenKey } from '@xspectre/contracts/backup-token';

const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----$/;
const MAX_KEYS = 64;

/** One Ed25519 public key from PEM text; anything else (a private key, a certificate, RSA) throws. */
export function parseBackupTokenPublicKey(pem: string, source: string): BackupTokenKey {
  const text = pem.trim();
  if (text.length > 1024 || !PEM_PUBLIC_KEY.test(text)) throw new Error(`${source}: not a single PEM "PUBLIC KEY" block`);
  const publicKey = createPublicKey({ key: text, format: 'pem' });
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`${source}: not an Ed25519 key`);
  return { keyId: backupTokenKeyId(publicKey), publicKey };
}

/**
 * The public halves of the API's backup-token keys: one PEM file, or every `*.pem` of a
 * directory (during a rotation the old and the new key). Their ids are derived, not configured.
 */
export async function loadBackupTokenPublicKeys(path: string): Promise<BackupTokenKey[]> {
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path))
        .filter((name) => name.endsWith('.pem'))
        .sort()
        .map((name) => join(path, name))
    : [path];
  if (files.length === 0) throw new Error(`${path}: no *.pem public keys`);
  if (files.length > MAX_KEYS) throw new Error(`${path}: more than ${MAX_KEYS} keys`);
  const keys: BackupTokenKey[] = [];
  for (const file of files) keys.push(parseBackupTokenPublicKey(await readFile(file, 'utf8'), file));
  return keys;
}
