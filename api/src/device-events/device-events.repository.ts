import { Injectable } from '@nestjs/common';
import type { DeviceEventType } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { DeviceEventEntity } from './device-event.entity.js';

type NewDeviceEvent = Omit<DeviceEventEntity, 'id' | 'xid'>;

@Injectable()
export class DeviceEventsRepository {
  constructor(private readonly db: Database) {}

  private repo() {
    return this.db.manager().getRepository(DeviceEventEntity);
  }

  /** Appended in the caller's transaction, so the event commits with what caused it. */
  async append(event: NewDeviceEvent): Promise<Omit<DeviceEventEntity, 'xid'>> {
    const result = await this.repo().insert(event);
    return { ...event, id: String(result.identifiers[0]!.id) };
  }

  async list(
    deviceId: string,
    filter: { type?: DeviceEventType; limit: number; offset: number },
  ): Promise<{ items: DeviceEventEntity[]; total: number }> {
    const [items, total] = await this.repo().findAndCount({
      where: filter.type ? { deviceId, type: filter.type } : { deviceId },
      order: { at: 'DESC', id: 'DESC' },
      take: filter.limit,
      skip: filter.offset,
    });
    return { items, total };
  }
}
