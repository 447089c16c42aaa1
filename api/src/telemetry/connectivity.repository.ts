import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ConnectivityEventEntity } from './connectivity-event.entity.js';

@Injectable()
export class ConnectivityRepository {
  constructor(private readonly db: Database) {}

  async latestState(deviceId: string): Promise<'online' | 'offline' | null> {
    const row = await this.db
      .manager()
      .getRepository(ConnectivityEventEntity)
      .findOne({ where: { deviceId }, order: { at: 'DESC', id: 'DESC' } });
    return row?.state ?? null;
  }

  async record(deviceId: string, state: 'online' | 'offline', at: Date): Promise<void> {
    await this.db.manager().getRepository(ConnectivityEventEntity).insert({ deviceId, state, at });
  }

  /** Records "offline" for every active device silent for longer than `afterMs` that is still marked online. */
  async markSilentOffline(afterMs: number): Promise<Array<{ deviceId: string; at: Date }>> {
    const rows: Array<{ device_id: string; at: Date }> = await this.db.manager().query(
      `INSERT INTO device_connectivity_events (device_id, state, at)
       SELECT d.id, 'offline', d.last_heartbeat_at + make_interval(secs => $1::double precision / 1000)
         FROM devices d
        WHERE d.status = 'active'
          AND d.last_heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
          AND (SELECT e.state FROM device_connectivity_events e WHERE e.device_id = d.id ORDER BY e.at DESC, e.id DESC LIMIT 1) = 'online'
       RETURNING device_id, at`,
      [afterMs],
    );
    return rows.map((r) => ({ deviceId: r.device_id, at: r.at }));
  }

  async list(deviceId: string, limit: number, offset: number): Promise<{ items: ConnectivityEventEntity[]; total: number }> {
    const [items, total] = await this.db
      .manager()
      .getRepository(ConnectivityEventEntity)
      .findAndCount({ where: { deviceId }, order: { at: 'DESC', id: 'DESC' }, take: limit, skip: offset });
    return { items, total };
  }
}
