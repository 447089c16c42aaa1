import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { BackupEscrowEntity, BackupRecoveryKeyEntity } from './backup-escrow.entity.js';
import { BackupTransferKeyEntity } from './backup-transfer-key.entity.js';
import { FILE_MODULES_SQL } from './image-slot-sql.js';

/** The recovery key, the devices' escrowed passwords and their transfer keys (backup-escrow.service.ts). */
@Injectable()
export class BackupEscrowRepository {
  constructor(private readonly db: Database) {}

  private keys() {
    return this.db.manager().getRepository(BackupRecoveryKeyEntity);
  }

  private escrows() {
    return this.db.manager().getRepository(BackupEscrowEntity);
  }

  private transferKeys() {
    return this.db.manager().getRepository(BackupTransferKeyEntity);
  }

  recoveryKey(): Promise<BackupRecoveryKeyEntity | null> {
    return this.keys().findOneBy({ singleton: true });
  }

  async setRecoveryKey(recipient: string, setBy: string, at: Date): Promise<void> {
    await this.keys().upsert({ singleton: true, recipient, setBy, setAt: at }, ['singleton']);
  }

  findEscrow(deviceId: string): Promise<BackupEscrowEntity | null> {
    return this.escrows().findOneBy({ deviceId });
  }

  /**
   * Stores (or replaces) the device's escrow only when `recipient` is the recovery key as this
   * statement sees it; false when it is not (the key was replaced after the run was queued).
   */
  async saveEscrowToCurrentKey(deviceId: string, recipient: string, ciphertext: string, at: Date): Promise<boolean> {
    const rows: unknown[] = await this.db.manager().query(
      `INSERT INTO backup_escrows (device_id, recipient, ciphertext, escrowed_at)
       SELECT $1, k.recipient, $3, $4 FROM backup_recovery_key k WHERE k.singleton AND k.recipient = $2
       ON CONFLICT (device_id) DO UPDATE
          SET recipient = EXCLUDED.recipient, ciphertext = EXCLUDED.ciphertext, escrowed_at = EXCLUDED.escrowed_at
       RETURNING device_id`,
      [deviceId, recipient, ciphertext, at],
    );
    return rows.length === 1;
  }

  /** Active devices that back up files (FILE, HYBRID), with an escrow to `recipient` and without. */
  async escrowCoverage(recipient: string): Promise<{ escrowed: number; pending: number }> {
    const rows: Array<{ escrowed: string; pending: string }> = await this.db.manager().query(
      `SELECT count(*) FILTER (WHERE e.recipient = $1) AS escrowed,
              count(*) FILTER (WHERE e.recipient IS DISTINCT FROM $1) AS pending
         FROM devices d
         LEFT JOIN backup_escrows e ON e.device_id = d.id
        WHERE d.status = 'active' AND d.modules ->> 'backups' IN ${FILE_MODULES_SQL}`,
      [recipient],
    );
    return { escrowed: Number(rows[0]?.escrowed ?? 0), pending: Number(rows[0]?.pending ?? 0) };
  }

  findTransferKey(deviceId: string): Promise<BackupTransferKeyEntity | null> {
    return this.transferKeys().findOneBy({ deviceId });
  }

  /** Stores the device's transfer key; the same key again keeps its first report time (idempotent). */
  async saveTransferKey(deviceId: string, recipient: string, at: Date): Promise<BackupTransferKeyEntity> {
    await this.db.manager().query(
      `INSERT INTO backup_transfer_keys (device_id, recipient, reported_at) VALUES ($1, $2, $3)
       ON CONFLICT (device_id) DO UPDATE SET recipient = EXCLUDED.recipient, reported_at = EXCLUDED.reported_at
        WHERE backup_transfer_keys.recipient <> EXCLUDED.recipient`,
      [deviceId, recipient, at],
    );
    return (await this.findTransferKey(deviceId))!;
  }
}
