import { mkdir, rm, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { loadConfigOrExit } from '../config/config.js';
import { KeyStore, type PublicKeyInfo } from './key-store.js';

export interface BackupTokenKeyRotation {
  keyId: string;
  previousKeyId: string;
  activatesAt: string;
  /** Every valid public key (the current one first): what the backup server must hold until activatesAt plus the token lifetime. */
  publicKeys: PublicKeyInfo[];
}

/**
 * Announces a new backup-token key: it signs from `activateAfterMs` on; until then the current key
 * keeps signing (KeyStore.announce). The backup server holds only public keys
 * (backup-server/src/public-keys.ts: a directory of `*.pem`), so it must be given the new one
 * before the key activates; `publicKeyDir` (optional) receives `<keyId>.pem` of every valid key,
 * and loses the `.pem` files of keys no longer valid.
 */
export async function announceBackupTokenKey(
  store: KeyStore,
  activateAfterMs: number,
  publicKeyDir?: string,
): Promise<BackupTokenKeyRotation> {
  const announced = await store.announce('backup-tokens', activateAfterMs);
  const publicKeys = await store.validPublicKeys('backup-tokens');
  if (publicKeyDir) await writeBackupTokenPublicKeys(store, publicKeyDir);
  return { ...announced, publicKeys };
}

/** Writes `<keyId>.pem` of every valid backup-token key into `dir` and removes the others' (`*.pem` only). */
export async function writeBackupTokenPublicKeys(store: KeyStore, dir: string): Promise<string[]> {
  const keys = await store.validPublicKeys('backup-tokens');
  await mkdir(dir, { recursive: true });
  for (const key of keys) await writeFile(join(dir, `${key.keyId}.pem`), key.publicKeyPem, { mode: 0o644 });
  const valid = new Set(keys.map((k) => `${k.keyId}.pem`));
  for (const name of await readdir(dir)) if (name.endsWith('.pem') && !valid.has(name)) await rm(join(dir, name));
  return keys.map((k) => k.keyId);
}

const OPTIONS = { 'activate-after-hours': { type: 'string' }, 'public-key-dir': { type: 'string' } } as const;

const ArgsSchema = z.object({
  purpose: z.literal('backup-tokens', {
    error: 'only backup-tokens: command-signing rotates through POST keys/command-signing/rotate (devices are told); see api/README.md',
  }),
  'activate-after-hours': z.coerce.number().positive().max(720).optional(),
  'public-key-dir': z.string().min(1).optional(),
});

/**
 * `node dist/keys/rotate-key.js backup-tokens --activate-after-hours 24 --public-key-dir /etc/xspectre/backup-token-keys`
 * announces a new key; without --activate-after-hours it only (re)writes the public keys
 * (run it after the old key retired, to drop its file). Run with the API's environment
 * (API_KEY_STORE_DIR); instances re-read keys.json on their own.
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  let args: ReturnType<typeof parseArgs<{ allowPositionals: true; options: typeof OPTIONS }>>;
  try {
    args = parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const { values, positionals } = args;
  // stdout is the JSON answer: the key store's progress lines are not wanted there.
  Logger.overrideLogger(['error', 'warn']);
  const parsed = ArgsSchema.safeParse({ purpose: positionals[0], ...values });
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('\n'));
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const store = new KeyStore(config);
  await store.open('backup-tokens');
  const options = parsed.data;
  const result =
    options['activate-after-hours'] !== undefined
      ? await announceBackupTokenKey(store, Math.round(options['activate-after-hours'] * 3_600_000), options['public-key-dir'])
      : {
          publicKeys: await store.validPublicKeys('backup-tokens'),
          written: options['public-key-dir'] ? await writeBackupTokenPublicKeys(store, options['public-key-dir']) : [],
        };
  console.log(JSON.stringify(result, null, 2));
}
