import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database } from '../db/database.js';
import { ClaimCodeEntity } from './claim-code.entity.js';

@Injectable()
export class ClaimCodesRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(ClaimCodeEntity);
  }

  insert(values: { deviceId: string; codeHash: string; createdBy: string | null; expiresAt: Date }): Promise<ClaimCodeEntity> {
    return this.repo().save(this.repo().create({ ...values, usedAt: null, revokedAt: null, usedFromIp: null }));
  }

  findById(id: string): Promise<ClaimCodeEntity | null> {
    return this.repo().findOne({ where: { id } });
  }

  /** Without a lock: enrollment locks the device row first and the code after it (findByIdForUpdate). */
  findByHash(codeHash: string): Promise<ClaimCodeEntity | null> {
    return this.repo().findOne({ where: { codeHash } });
  }

  /** Locks the row (after its device row: the one lock order, see devices.service.ts); returns the committed state. */
  findByIdForUpdate(id: string): Promise<ClaimCodeEntity | null> {
    return this.repo().createQueryBuilder('c').where('c.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  async list(filter: { deviceId?: string; status?: 'active' | 'used' | 'expired' | 'revoked'; limit: number; offset: number }) {
    const qb = this.repo().createQueryBuilder('c').orderBy('c.created_at', 'DESC').take(filter.limit).skip(filter.offset);
    if (filter.deviceId) qb.andWhere('c.device_id = :deviceId', { deviceId: filter.deviceId });
    if (filter.status === 'used') qb.andWhere('c.used_at IS NOT NULL');
    if (filter.status === 'revoked') qb.andWhere('c.revoked_at IS NOT NULL AND c.used_at IS NULL');
    if (filter.status === 'expired') qb.andWhere('c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at <= now()');
    if (filter.status === 'active') qb.andWhere('c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > now()');
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  async markUsed(id: string, ip: string | null): Promise<void> {
    await this.repo().update({ id }, { usedAt: new Date(), usedFromIp: ip });
  }

  async revoke(id: string): Promise<void> {
    await this.repo().update({ id, usedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  /** Revokes every unused code of a device (a new code replaces them; a revoked device needs none). */
  async revokeOpenForDevice(deviceId: string): Promise<number> {
    const result = await this.repo().update({ deviceId, usedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: new Date() });
    return result.affected ?? 0;
  }
}
