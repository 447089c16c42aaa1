import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { InventoryVersionEntity } from './inventory-version.entity.js';

@Injectable()
export class InventoryRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(InventoryVersionEntity);
  }

  latest(deviceId: string): Promise<InventoryVersionEntity | null> {
    return this.repo().findOne({ where: { deviceId }, order: { version: 'DESC' } });
  }

  async insert(values: Omit<InventoryVersionEntity, 'id'>): Promise<void> {
    await this.repo().insert(values);
  }

  /** Newest first, without the inventory documents (the history lists what changed). */
  async history(deviceId: string, limit: number, offset: number): Promise<{ items: InventoryVersionEntity[]; total: number }> {
    const [items, total] = await this.repo().findAndCount({
      where: { deviceId },
      order: { version: 'DESC' },
      take: limit,
      skip: offset,
      select: {
        id: true,
        deviceId: true,
        version: true,
        sequence: true,
        reportedAt: true,
        hash: true,
        fingerprintMatches: true,
        changes: true,
      },
    });
    return { items, total };
  }
}
