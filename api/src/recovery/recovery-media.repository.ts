import { Injectable } from '@nestjs/common';
import type { RecoveryHardware, RecoveryProgress } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { RecoveryMediumEntity } from './recovery-medium.entity.js';

export type NewRecoveryMedium = Pick<
  RecoveryMediumEntity,
  | 'id'
  | 'deviceId'
  | 'wgPublicKey'
  | 'overlayAddress'
  | 'credentialHash'
  | 'imageSha256'
  | 'imageSizeBytes'
  | 'downloadExpiresAt'
  | 'createdBy'
  | 'createdAt'
>;

const RECOVERY_MODE_CLEARED = {
  registeredAt: null,
  bootId: null,
  hardware: null,
  agentInfo: null,
  sshHostKey: null,
  progress: null,
  progressAt: null,
};

/** The recovery_media table. */
@Injectable()
export class RecoveryMediaRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(RecoveryMediumEntity);
  }

  /** Newest first (bounded: the list schema holds 100). */
  listForDevice(deviceId: string): Promise<RecoveryMediumEntity[]> {
    return this.repo().find({ where: { deviceId }, order: { createdAt: 'DESC', id: 'ASC' }, take: 100 });
  }

  findForDevice(id: string, deviceId: string): Promise<RecoveryMediumEntity | null> {
    return this.repo().findOneBy({ id, deviceId });
  }

  findById(id: string): Promise<RecoveryMediumEntity | null> {
    return this.repo().findOneBy({ id });
  }

  /** The device's active medium, row-locked until the transaction ends. */
  lockActiveForDevice(deviceId: string): Promise<RecoveryMediumEntity | null> {
    return this.repo()
      .createQueryBuilder('m')
      .where(`m.device_id = :deviceId AND m.state = 'active'`, { deviceId })
      .setLock('pessimistic_write')
      .getOne();
  }

  lockForDevice(id: string, deviceId: string): Promise<RecoveryMediumEntity | null> {
    return this.repo()
      .createQueryBuilder('m')
      .where('m.id = :id AND m.device_id = :deviceId', { id, deviceId })
      .setLock('pessimistic_write')
      .getOne();
  }

  async insert(values: NewRecoveryMedium): Promise<void> {
    await this.repo().insert({
      ...values,
      state: 'active',
      revokedAt: null,
      revokedBy: null,
      lastSeenAt: null,
      ...RECOVERY_MODE_CLEARED,
    });
  }

  /** Revokes: the credential and peer go, the recovery-mode state and the download window end. */
  async revoke(id: string, by: string, at: Date): Promise<void> {
    await this.repo().update(
      { id, state: 'active' },
      { state: 'revoked', revokedAt: at, revokedBy: by, downloadExpiresAt: null, ...RECOVERY_MODE_CLEARED },
    );
  }

  /** The active medium with this credential hash, of a device that is in service. */
  async findActiveByCredentialHash(credentialHash: string): Promise<{ id: string; deviceId: string; overlayAddress: string } | null> {
    const rows = await this.db.rows<{ id: string; device_id: string; overlay_address: string }>(
      `SELECT m.id, m.device_id, m.overlay_address FROM recovery_media m JOIN devices d ON d.id = m.device_id
        WHERE m.credential_hash = $1 AND m.state = 'active' AND d.status = 'active'`,
      [credentialHash],
    );
    const row = rows[0];
    return row ? { id: row.id, deviceId: row.device_id, overlayAddress: row.overlay_address } : null;
  }

  /** Hub peers: every active medium of a device in service (AllowedIPs its /32). */
  async activePeers(): Promise<Array<{ deviceId: string; publicKey: string; address: string }>> {
    const rows = await this.db.rows<{ device_id: string; wg_public_key: string; overlay_address: string }>(
      `SELECT m.device_id, m.wg_public_key, m.overlay_address FROM recovery_media m JOIN devices d ON d.id = m.device_id
        WHERE m.state = 'active' AND d.status = 'active'`,
    );
    return rows.map((r) => ({ deviceId: r.device_id, publicKey: r.wg_public_key, address: r.overlay_address }));
  }

  async touchLastSeen(id: string, at: Date): Promise<void> {
    await this.repo().update({ id }, { lastSeenAt: at });
  }

  async setRegistered(
    id: string,
    values: {
      bootId: string;
      at: Date;
      hardware: RecoveryHardware;
      agentInfo: NonNullable<RecoveryMediumEntity['agentInfo']>;
      sshHostKey: string | null;
    },
  ): Promise<void> {
    await this.repo().update(
      { id, state: 'active' },
      {
        registeredAt: values.at,
        bootId: values.bootId,
        hardware: values.hardware,
        agentInfo: values.agentInfo,
        sshHostKey: values.sshHostKey,
        progress: null,
        progressAt: null,
      },
    );
  }

  async setProgress(id: string, progress: RecoveryProgress, at: Date): Promise<void> {
    await this.repo().update({ id, state: 'active' }, { progress, progressAt: at });
  }

  /**
   * Ends recovery mode of these devices' media registered before `heardAt` (the normal agent spoke
   * after the stick registered); returns the media whose state it cleared.
   */
  async clearRecoveryMode(deviceIds: string[], heardAt: Date): Promise<Array<{ id: string; deviceId: string; bootId: string }>> {
    if (deviceIds.length === 0) return [];
    const rows = await this.db.changedRows<{ id: string; device_id: string; boot_id: string }>(
      `UPDATE recovery_media m SET registered_at = NULL, boot_id = NULL, hardware = NULL, agent_info = NULL, ssh_host_key = NULL, progress = NULL, progress_at = NULL
         FROM recovery_media before
        WHERE m.id = before.id AND m.device_id = ANY($1::uuid[]) AND m.registered_at IS NOT NULL AND m.registered_at < $2
        RETURNING m.id, m.device_id, before.boot_id`,
      [deviceIds, heardAt],
    );
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id, bootId: r.boot_id }));
  }

  /** Media whose personalised image is past its download window (or revoked) but not yet forgotten. */
  async expiredDownloads(now: Date): Promise<Array<{ id: string; deviceId: string }>> {
    const rows = await this.db.rows<{ id: string; device_id: string }>(
      `SELECT id, device_id FROM recovery_media WHERE download_expires_at IS NOT NULL AND download_expires_at <= $1`,
      [now],
    );
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id }));
  }

  async clearDownload(id: string): Promise<void> {
    await this.repo().update({ id }, { downloadExpiresAt: null });
  }

  /** The device's medium in recovery mode, if any (at most one: only an active medium registers). */
  hasActiveForDevice(deviceId: string): Promise<boolean> {
    return this.repo().exists({ where: { deviceId, state: 'active' } });
  }

  findRegisteredForDevice(deviceId: string): Promise<RecoveryMediumEntity | null> {
    return this.repo()
      .createQueryBuilder('m')
      .where(`m.device_id = :deviceId AND m.state = 'active' AND m.registered_at IS NOT NULL`, { deviceId })
      .getOne();
  }
}
