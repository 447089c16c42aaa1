import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { DiskHealthEntity } from './disk-health.entity.js';

@Injectable()
export class DiskHealthRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(DiskHealthEntity);
  }

  latest(deviceId: string): Promise<DiskHealthEntity | null> {
    return this.repo().findOneBy({ deviceId });
  }

  /** Inserts or replaces the device's row (the caller holds the device row locked). */
  async save(row: DiskHealthEntity): Promise<void> {
    await this.repo().upsert(row, ['deviceId']);
  }
}
