import { Injectable } from '@nestjs/common';
import type { DeviceType, OrganizationKind } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { DeviceEntity } from './device.entity.js';

export type DeviceRow = DeviceEntity & { organizationKind: OrganizationKind };
type KindRaw = { organization_kind: OrganizationKind };

/** Device rows: lookups, locks and writes (the list and the overview read fleet-view.repository.ts). */
@Injectable()
export class DevicesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(DeviceEntity);
  }

  /** Joined with the owning organization's kind, which decides who may change the device. */
  static withKind(db: Database) {
    return db
      .manager()
      .getRepository(DeviceEntity)
      .createQueryBuilder('d')
      .innerJoin('organizations', 'o', 'o.id = d.organization_id')
      .addSelect('o.kind', 'organization_kind');
  }

  static attachKind(entities: DeviceEntity[], raw: KindRaw[]): DeviceRow[] {
    return entities.map((d, i) => Object.assign(d, { organizationKind: raw[i]!.organization_kind }));
  }

  async findById(id: string, options: { lock?: boolean } = {}): Promise<DeviceRow | null> {
    const qb = DevicesRepository.withKind(this.db).where('d.id = :id', { id });
    if (options.lock) qb.setLock('pessimistic_write', undefined, ['d']);
    const { entities, raw } = await qb.getRawAndEntities();
    return DevicesRepository.attachKind(entities, raw)[0] ?? null;
  }

  /** The device whose credential, or pending credential (a rotation in progress), has this hash. */
  findByCredentialHash(credentialHash: string): Promise<DeviceEntity | null> {
    return this.repo().findOne({ where: [{ credentialHash }, { pendingCredentialHash: credentialHash }] });
  }

  /** The pending credential becomes the credential, the old one is dropped; false when it is no longer pending (done by another request). */
  async promotePendingCredential(id: string, credentialHash: string): Promise<boolean> {
    const [, affected]: [unknown, number] = await this.db.manager().query(
      `UPDATE devices SET credential_hash = pending_credential_hash, pending_credential_hash = NULL, updated_at = now()
        WHERE id = $1 AND pending_credential_hash = $2 AND status = 'active'`,
      [id, credentialHash],
    );
    return affected > 0;
  }

  /** Ids of the devices that can take a command now: active and not quarantined. */
  async commandableIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.db
      .manager()
      .query(`SELECT id FROM devices WHERE status = 'active' AND quarantined_at IS NULL ORDER BY id`);
    return rows.map((r) => r.id);
  }

  findByWgPublicKey(wgPublicKey: string): Promise<DeviceEntity | null> {
    return this.repo().findOne({ where: { wgPublicKey } });
  }

  insert(values: {
    name: string;
    organizationId: string;
    siteId: string;
    type: DeviceType;
    modules: DeviceEntity['modules'];
  }): Promise<DeviceEntity> {
    return this.repo().save(this.repo().create({ ...values, status: 'pending' }));
  }

  async update(id: string, values: Partial<Omit<DeviceEntity, 'id' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.repo().update({ id }, values);
  }

  /**
   * An address back from quarantine: the revoked or retired device that last had it gives it up
   * (the unique column would refuse it otherwise; overlay_leases and device events keep the history).
   */
  async releaseAddressOfEnded(address: string): Promise<void> {
    await this.db
      .manager()
      .query(`UPDATE devices SET overlay_address = NULL WHERE overlay_address = $1 AND status IN ('revoked', 'retired')`, [address]);
  }
}
