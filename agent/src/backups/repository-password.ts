import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * The restic repository password: made on the device the first time it backs up, kept in a
 * root-only file (0600 in a 0700 directory), read by restic through RESTIC_PASSWORD_FILE. The
 * API only ever gets a copy encrypted to the offline recovery key (escrow, later work): neither
 * the API nor the backup server can read a backup.
 */
export async function ensureRepositoryPassword(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0)
      throw new Error(`${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); expected 0600`);
    const content = await readFile(path, 'utf8');
    if (content.trim().length < 32) throw new Error(`${path} holds no usable password`);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${randomBytes(32).toString('base64url')}\n`, 0o600);
}
