import { Injectable } from '@nestjs/common';
import type { BackupScrubResult } from '@xspectre/contracts';
import { Database } from '../db/database.js';

/** A backup server's latest capacity report as the alert engine judges it. */
export interface AlertingBackupServer {
  credentialId: string;
  name: string;
  pool: { sizeBytes: number; usedBytes: number };
  lastScrub: BackupScrubResult | null;
}

/**
 * The backup servers' latest reports (api/src/backups writes them), for the pool and scrub rules;
 * servers whose credential was revoked are no longer judged.
 */
@Injectable()
export class AlertingBackupServersRepository {
  constructor(private readonly db: Database) {}

  async all(): Promise<AlertingBackupServer[]> {
    const rows: Array<{
      credential_id: string;
      server_name: string;
      pool: AlertingBackupServer['pool'];
      last_scrub: BackupScrubResult | null;
    }> = await this.db.rows(
      `SELECT r.credential_id, r.server_name, r.pool, r.last_scrub
           FROM backup_server_reports r
           JOIN service_credentials c ON c.id = r.credential_id AND c.revoked_at IS NULL`,
    );
    return rows.map((r) => ({ credentialId: r.credential_id, name: r.server_name, pool: r.pool, lastScrub: r.last_scrub }));
  }
}
