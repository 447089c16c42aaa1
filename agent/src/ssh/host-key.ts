import { open, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../atomic-file.js';
import { SSH_SETUP_PATHS } from '../ssh-setup.js';

/** The file in the state directory naming the host key file enroll reported (inventories report the same one). */
export const HOST_KEY_FILE_RECORD = 'ssh-host-key-file';
const MAX_HOST_KEY_FILE_BYTES = 16 * 1024;

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (the comment is the host's business); null when it is not a public host key. */
export function parseSshHostKeyLine(text: string): string | null {
  const [type, key] = (text.split('\n')[0] ?? '').trim().split(/\s+/);
  const hostKey = `${type ?? ''} ${key ?? ''}`;
  if (!/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/.test(hostKey) || hostKey.length > 2048) return null;
  return hostKey;
}

/** The host key in `path`, or null when the file is missing, too large or not a key: the inventory leaves the field out. */
export async function readHostKeyOrNull(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(MAX_HOST_KEY_FILE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return parseSshHostKeyLine(buffer.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** Remembers which host key file enroll sent (a lab device's own key, or /etc/ssh's). */
export async function recordHostKeyFile(stateDir: string, hostKeyFile: string): Promise<void> {
  await ensureDirectory(stateDir);
  await writeFileAtomic(join(stateDir, HOST_KEY_FILE_RECORD), `${resolve(hostKeyFile)}\n`, 0o600);
}

/** The host key file enroll sent; /etc/ssh's for devices enrolled before it was recorded. */
export async function enrolledHostKeyFile(stateDir: string): Promise<string> {
  const recorded = await readFile(join(stateDir, HOST_KEY_FILE_RECORD), 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  return recorded !== '' && isAbsolute(recorded) ? recorded : SSH_SETUP_PATHS.hostKey;
}
