import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { BackupApi } from './backup-api.js';
import { BackupApiError } from './backup-api.js';

/**
 * The device's transfer key: an age X25519 identity made once, kept 0600 in the backups state
 * directory, whose public half (`age1…`) the agent reports to the API (POST
 * agent/backup-transfer-key). To restore a dead device's backups onto this one, the console
 * encrypts that device's repository password to it (contracts/src/backups.ts,
 * BackupRestoreRequestSchema.source); the private half never leaves the device. The file has
 * the layout age-keygen writes, so `age -d -i <file>` reads it too.
 */
export const TRANSFER_KEY_FILE = 'transfer-key.txt';
/** Holds the recipient the API acknowledged: a key is reported until the API has it. */
export const TRANSFER_KEY_REPORTED_FILE = 'transfer-key.reported';
/** A failed report is tried again this much later. */
export const TRANSFER_KEY_RETRY_MS = 10 * 60_000;

export interface TransferKey {
  identity: string;
  recipient: string;
}

const IDENTITY = /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/;
/** Loaded when first used (escrow.ts says why). */
const age = () => import('age-encryption');

/** One key per directory even when the start-up report and a restore ask at once (the agent is one process: instance-lock.ts). */
const making = new Map<string, Promise<TransferKey>>();

export function ensureTransferKey(dir: string): Promise<TransferKey> {
  let pending = making.get(dir);
  if (!pending) {
    pending = loadOrMake(dir).finally(() => making.delete(dir));
    making.set(dir, pending);
  }
  return pending;
}

async function loadOrMake(dir: string): Promise<TransferKey> {
  const path = join(dir, TRANSFER_KEY_FILE);
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0)
      throw new Error(`${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); expected 0600`);
    const identity = (await readFile(path, 'utf8')).split('\n').find((line) => IDENTITY.test(line.trim()));
    if (!identity) throw new Error(`${path} holds no age identity`);
    return { identity: identity.trim(), recipient: await (await age()).identityToRecipient(identity.trim()) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await ensureDirectory(dir);
  const { generateX25519Identity, identityToRecipient } = await age();
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  await writeFileAtomic(path, `# xSPECTRE backup transfer key\n# public key: ${recipient}\n${identity}\n`, 0o600);
  return { identity, recipient };
}

/** Reports the transfer key unless the API acknowledged it already; true once the API has it. */
export async function reportTransferKey(dir: string, api: Pick<BackupApi, 'transferKey'>): Promise<boolean> {
  // The usual start: acknowledged before, for the key the file names (read without loading age).
  const reported = (await readFile(join(dir, TRANSFER_KEY_REPORTED_FILE), 'utf8').catch(() => '')).trim();
  const file = await readFile(join(dir, TRANSFER_KEY_FILE), 'utf8').catch(() => '');
  if (reported !== '' && file.includes(`\n# public key: ${reported}\n`)) return true;
  const { recipient } = await ensureTransferKey(dir);
  if (reported === recipient) return true;
  await api.transferKey(recipient);
  await writeFileAtomic(join(dir, TRANSFER_KEY_REPORTED_FILE), `${recipient}\n`, 0o600);
  return true;
}

/**
 * At start-up: reports the transfer key until the API acknowledges it, every
 * TRANSFER_KEY_RETRY_MS after a failure (a 404 while the API lacks the route included). Never
 * throws; ends at shutdown.
 */
export async function keepTransferKeyReported(options: {
  dir: string;
  api: Pick<BackupApi, 'transferKey'>;
  log: Logger;
  shutdown: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  retryMs?: number;
}): Promise<void> {
  let warned = false;
  while (!options.shutdown.aborted) {
    try {
      await reportTransferKey(options.dir, options.api);
      return;
    } catch (error) {
      // Said once: a 404 (an API without the route) repeats every retry and is no news.
      if (!warned)
        options.log.warn('backup transfer key not reported yet; trying again later', {
          error: errorMessage(error).slice(0, 300),
          status: error instanceof BackupApiError ? error.status : null,
        });
      warned = true;
    }
    await options.sleep(options.retryMs ?? TRANSFER_KEY_RETRY_MS, options.shutdown);
  }
}
