import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies defaults for a directory store', () => {
    const config = loadConfig({ BACKUP_STORAGE_DIR: '/srv/backups', BACKUP_TOKEN_PUBLIC_KEYS: '/etc/xs/keys' });
    expect(config).toMatchObject({
      BACKUP_LISTEN_HOST: '127.0.0.1',
      BACKUP_LISTEN_PORT: 8420,
      BACKUP_DEVICE_QUOTA: 50 * 1024 ** 3,
      BACKUP_SNAPSHOT_FLOOR_DAYS: 14,
      BACKUP_LOG_REQUESTS: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig({ BACKUP_ZFS_DATASET: 'nopool', BACKUP_DEVICE_QUOTA: '1K', BACKUP_SNAPSHOT_FLOOR_DAYS: '0' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      for (const key of ['BACKUP_ZFS_DATASET', 'BACKUP_DEVICE_QUOTA', 'BACKUP_SNAPSHOT_FLOOR_DAYS', 'BACKUP_TOKEN_PUBLIC_KEYS'])
        expect(text).toContain(key);
    }
  });

  it('wants exactly one store', () => {
    const keys = { BACKUP_TOKEN_PUBLIC_KEYS: '/k' };
    expect(() => loadConfig(keys)).toThrow(/exactly one/);
    expect(() => loadConfig({ ...keys, BACKUP_STORAGE_DIR: '/a', BACKUP_ZFS_DATASET: 'p/fb' })).toThrow(/exactly one/);
    expect(loadConfig({ ...keys, BACKUP_ZFS_DATASET: 'backup-pool/file-backups' }).BACKUP_ZFS_DATASET).toBe('backup-pool/file-backups');
  });
});
