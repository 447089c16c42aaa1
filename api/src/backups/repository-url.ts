import type { AppConfig } from '../config/config.js';

/** A device's restic repository on the backup server, as commands and tokens name it. */
export function repositoryUrl(config: Pick<AppConfig, 'API_BACKUP_SERVER_URL'>, deviceId: string): string {
  return `${config.API_BACKUP_SERVER_URL.replace(/\/+$/, '')}/${deviceId}/`;
}
