import { createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, jsonLines, startBuilt, waitForProcess, type BuiltProcess } from './built-process.js';

export const BACKUP_SERVER_MAIN = `${ROOT}backup-server/dist/main.js`;

/**
 * The public halves of the API's backup-token keys (`<key store>/backup-tokens/*.pem`) written
 * as SPKI PEM files under `to`, as infra/scripts/start.sh (export_backup_token_keys) hands them
 * to the backup server, which never holds a private key.
 */
export async function exportBackupTokenKeys(keyStoreDir: string, to: string): Promise<string[]> {
  const from = join(keyStoreDir, 'backup-tokens');
  const names = (await readdir(from)).filter((name) => name.endsWith('.pem'));
  if (names.length === 0) throw new Error(`no backup-token keys in ${from}`);
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const name of names) {
    const pem = createPublicKey(await readFile(join(from, name))).export({ format: 'pem', type: 'spki' });
    await writeFile(join(to, name), pem, { mode: 0o644 });
  }
  return names;
}

export interface LabBackupServer {
  /** What API_BACKUP_SERVER_URL names: `http://HOST:PORT`. */
  url: string;
  /** The plain directory store: `<storageDir>/<device id>` is a device's restic repository. */
  storageDir: string;
  process: BuiltProcess;
  /** The server's JSON log lines so far (one per request: device, op, status; never a token). */
  logLines(): Array<Record<string, any>>;
  /** SIGTERM, then SIGKILL after 10 s; removes the temporary directory. */
  stop(): Promise<void>;
}

/**
 * The backup server as `npm start` runs it (node backup-server/dist/main.js), a child process of
 * the test: listening on `host:port` (the lab hub's overlay address, the only address devices
 * reach), a plain directory store and the exported public keys in a temporary directory.
 */
export async function startLabBackupServer(options: { host: string; port: number; keyStoreDir: string }): Promise<LabBackupServer> {
  const dir = await mkdtemp(join(tmpdir(), 'xs-lab-backups-'));
  const storageDir = join(dir, 'store');
  const keysDir = join(dir, 'token-keys');
  await mkdir(storageDir, { mode: 0o700 });
  await exportBackupTokenKeys(options.keyStoreDir, keysDir);
  const proc = startBuilt(BACKUP_SERVER_MAIN, {
    HOME: dir,
    BACKUP_LISTEN_HOST: options.host,
    BACKUP_LISTEN_PORT: String(options.port),
    BACKUP_STORAGE_DIR: storageDir,
    BACKUP_TOKEN_PUBLIC_KEYS: keysDir,
  });
  const stop = async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const killer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const logLines = () => jsonLines(proc.stdout().replace(/^[^{].*$/gm, ''));
  try {
    await waitForProcess(proc, 'the backup server listening', () => logLines().some((l) => l.msg === 'backup server listening'), 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://${options.host}:${options.port}`, storageDir, process: proc, logLines, stop };
}
