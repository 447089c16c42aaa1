import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { Database } from '../db/database.js';
import { OverlayLeaseEntity } from './overlay-lease.entity.js';

/** An advisory lock key serializing address allocation across API instances. */
const ALLOCATION_LOCK_KEY = 0x5853_4950; // "XSIP"

@Injectable()
export class OverlayLeasesRepository {
  constructor(private readonly db: Database) {}

  /** Held until the surrounding transaction ends. */
  async lockAllocation(): Promise<void> {
    await this.db.manager().query('SELECT pg_advisory_xact_lock($1)', [ALLOCATION_LOCK_KEY]);
  }

  /** Addresses in use, and those released after `since` (still quarantined). */
  async takenAddresses(since: Date): Promise<string[]> {
    const rows: Array<{ address: string }> = await this.db
      .manager()
      .query('SELECT DISTINCT address FROM overlay_leases WHERE released_at IS NULL OR released_at > $1', [since]);
    return rows.map((r) => r.address);
  }

  async insert(values: { address: string; deviceId: string; pool: string }): Promise<void> {
    await this.db
      .manager()
      .getRepository(OverlayLeaseEntity)
      .insert({ ...values, allocatedAt: new Date(), releasedAt: null });
  }

  async releaseAddress(deviceId: string, address: string): Promise<number> {
    const result = await this.db
      .manager()
      .getRepository(OverlayLeaseEntity)
      .update({ deviceId, address, releasedAt: IsNull() }, { releasedAt: new Date() });
    return result.affected ?? 0;
  }

  /** Deletes the device's live lease of this address (a reservation never handed to a peer); returns how many. */
  async deleteLive(deviceId: string, address: string): Promise<number> {
    const result = await this.db.manager().getRepository(OverlayLeaseEntity).delete({ deviceId, address, releasedAt: IsNull() });
    return result.affected ?? 0;
  }

  async isLive(deviceId: string, address: string): Promise<boolean> {
    return this.db
      .manager()
      .getRepository(OverlayLeaseEntity)
      .exists({ where: { deviceId, address, releasedAt: IsNull() } });
  }

  async releaseForDevice(deviceId: string): Promise<number> {
    const result = await this.db
      .manager()
      .getRepository(OverlayLeaseEntity)
      .update({ deviceId, releasedAt: IsNull() }, { releasedAt: new Date() });
    return result.affected ?? 0;
  }
}
