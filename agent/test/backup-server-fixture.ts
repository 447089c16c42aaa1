import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { startBackupServer, type BackupServer } from '@xspectre/backup-server/app';
import { loadConfig } from '@xspectre/backup-server/config';

/** The real backup server (front + rclone) on a free port, a directory store below `dir`, quiet (or `log`), no maintenance. */
export function startTestBackupServer(
  dir: string,
  key: { keyId: string; publicKey: KeyObject },
  log: (level: string, message: string) => void = () => undefined,
): Promise<BackupServer> {
  const config = loadConfig({
    BACKUP_STORAGE_DIR: join(dir, 'store'),
    BACKUP_TOKEN_PUBLIC_KEYS: join(dir, 'unused.pem'),
    BACKUP_LISTEN_PORT: '0',
  });
  return startBackupServer(config, {
    publicKeys: [key],
    log: { log },
    sink: { send: async () => undefined },
    startMaintenance: false,
  });
}
