import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ScannerFeedSchedule } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { ScannerFeedRunEntity, ScannerFeedScheduleEntity } from './feed-schedule.entity.js';

export interface PlannedRun {
  deviceId: string;
  slotAt: Date;
  dueAt: Date;
  pruneOldImages: boolean;
}

/** Sites' feed update schedules and the runs they scheduled (scanner_feed_schedules, scanner_feed_runs). */
@Injectable()
export class FeedScheduleRepository {
  constructor(private readonly db: Database) {}

  find(siteId: string, options: { lock?: boolean } = {}): Promise<ScannerFeedScheduleEntity | null> {
    const qb = this.db.manager().getRepository(ScannerFeedScheduleEntity).createQueryBuilder('s').where('s.site_id = :siteId', { siteId });
    if (options.lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async save(siteId: string, schedule: ScannerFeedSchedule, by: string, at: Date): Promise<ScannerFeedScheduleEntity> {
    const row = Object.assign(new ScannerFeedScheduleEntity(), { siteId, ...schedule, updatedAt: at, updatedBy: by });
    await this.db.manager().getRepository(ScannerFeedScheduleEntity).save(row);
    return row;
  }

  async delete(siteId: string): Promise<boolean> {
    const result = await this.db.manager().getRepository(ScannerFeedScheduleEntity).delete({ siteId });
    return (result.affected ?? 0) > 0;
  }

  /** Every enabled schedule with the active scanners of its site. */
  async enabledWithScanners(): Promise<Array<{ schedule: ScannerFeedScheduleEntity; deviceIds: string[] }>> {
    const schedules = await this.db.manager().getRepository(ScannerFeedScheduleEntity).findBy({ enabled: true });
    if (schedules.length === 0) return [];
    const devices = await this.db.rows<{ id: string; site_id: string }>(
      `SELECT id, site_id FROM devices WHERE type = 'scanner' AND status = 'active' AND site_id = ANY($1) ORDER BY id`,
      [schedules.map((s) => s.siteId)],
    );
    return schedules.map((schedule) => ({ schedule, deviceIds: devices.filter((d) => d.site_id === schedule.siteId).map((d) => d.id) }));
  }

  /** Inserts the runs not yet there (one per device and slot); the ones this call inserted. */
  async insertRuns(runs: PlannedRun[], at: Date): Promise<ScannerFeedRunEntity[]> {
    if (runs.length === 0) return [];
    const rows = await this.db.rows<{
      id: string;
      device_id: string;
      slot_at: Date;
      due_at: Date;
      prune_old_images: boolean;
      command_id: string | null;
      created_at: Date;
    }>(
      `INSERT INTO scanner_feed_runs (id, device_id, slot_at, due_at, prune_old_images, created_at)
       SELECT u.*, $6::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::boolean[]) AS u
       ON CONFLICT ON CONSTRAINT uq_scanner_feed_runs_slot DO NOTHING
       RETURNING id, device_id, slot_at, due_at, prune_old_images, command_id, created_at`,
      [
        runs.map(() => randomUUID()),
        runs.map((r) => r.deviceId),
        runs.map((r) => r.slotAt),
        runs.map((r) => r.dueAt),
        runs.map((r) => r.pruneOldImages),
        at,
      ],
    );
    return rows.map((r) =>
      Object.assign(new ScannerFeedRunEntity(), {
        id: r.id,
        deviceId: r.device_id,
        slotAt: r.slot_at,
        dueAt: r.due_at,
        pruneOldImages: r.prune_old_images,
        commandId: r.command_id,
        createdAt: r.created_at,
      }),
    );
  }

  /** The device's runs due by `now` and not queued, from `oldestDue` on. */
  dueWithoutCommand(deviceId: string, now: Date, oldestDue: Date): Promise<ScannerFeedRunEntity[]> {
    return this.db
      .manager()
      .getRepository(ScannerFeedRunEntity)
      .createQueryBuilder('r')
      .where('r.device_id = :deviceId AND r.command_id IS NULL AND r.due_at <= :now AND r.due_at >= :oldestDue', {
        deviceId,
        now,
        oldestDue,
      })
      .orderBy('r.slot_at', 'ASC')
      .getMany();
  }

  /** Links the run to its command unless another poll did first (then false). */
  async attachCommand(runId: string, commandId: string): Promise<boolean> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE scanner_feed_runs SET command_id = $2 WHERE id = $1 AND command_id IS NULL RETURNING id`,
      [runId, commandId],
    );
    return rows.length > 0;
  }
}
