import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { IMAGE_MODULES_SQL, imageSlotsSql } from '../backups/image-slot-sql.js';
import type { DiskImageSlotOutcome } from './disk-image-slot.entity.js';

export interface DueImageSlot {
  deviceId: string;
  slotDate: string;
  dueAt: Date;
}

/** The weekly image slots (disk_image_slots) and the per-device overdue episodes (disk_image_device_states). */
@Injectable()
export class DiskImageScheduleRepository {
  constructor(private readonly db: Database) {}

  /**
   * Slots of active FULL and HYBRID devices whose due time (the policy's weekday and local time
   * in the site's zone, Sunday 03:00 by default) passed within the last `catchUpSeconds` and that
   * no worker took yet. Sites whose zone PostgreSQL does not know are left out rather than failing
   * the fleet's statement.
   */
  async due(now: Date, catchUpSeconds: number, defaults: { weekday: number; localTime: string }): Promise<DueImageSlot[]> {
    const rows: Array<{ device_id: string; slot_date: string; due_at: Date }> = await this.db.manager().query(
      `SELECT d.id AS device_id, to_char(s.slot_date, 'YYYY-MM-DD') AS slot_date, s.due_at
         FROM devices d
         JOIN (SELECT st.id, st.time_zone FROM sites st WHERE st.time_zone IN (SELECT name FROM pg_timezone_names)) z ON z.id = d.site_id
         LEFT JOIN backup_policies p ON p.device_id = d.id
        CROSS JOIN LATERAL ${imageSlotsSql('$1', 'z.time_zone', 'COALESCE(p.image_weekday, $3)', 'COALESCE(p.image_local_time, $4)', [0, -1])} s
        WHERE d.status = 'active' AND d.modules ->> 'backups' IN ${IMAGE_MODULES_SQL}
          AND s.due_at <= $1 AND s.due_at > $1::timestamptz - make_interval(secs => $2)
          AND NOT EXISTS (SELECT 1 FROM disk_image_slots x WHERE x.device_id = d.id AND x.slot_date = s.slot_date)
        ORDER BY s.due_at, d.id`,
      [now, catchUpSeconds, defaults.weekday, defaults.localTime],
    );
    return rows.map((r) => ({ deviceId: r.device_id, slotDate: r.slot_date, dueAt: new Date(r.due_at) }));
  }

  /**
   * Takes the slot for the caller's transaction: false when another worker took it (its row
   * committed, or its transaction holds the key: this waits for it and then finds the row).
   */
  async claim(slot: DueImageSlot, now: Date): Promise<boolean> {
    const rows: unknown[] = await this.db.manager().query(
      `INSERT INTO disk_image_slots (device_id, slot_date, due_at, outcome, created_at) VALUES ($1, $2, $3, 'queued', $4)
       ON CONFLICT ON CONSTRAINT pk_disk_image_slots DO NOTHING RETURNING device_id`,
      [slot.deviceId, slot.slotDate, slot.dueAt, now],
    );
    return rows.length > 0;
  }

  async settle(slot: DueImageSlot, outcome: DiskImageSlotOutcome, jobId: string | null, reason: string | null): Promise<void> {
    await this.db
      .manager()
      .query(`UPDATE disk_image_slots SET outcome = $3, job_id = $4, reason = $5 WHERE device_id = $1 AND slot_date = $2`, [
        slot.deviceId,
        slot.slotDate,
        outcome,
        jobId,
        reason,
      ]);
  }

  /** Locks the device row (as "Take full image now" does), so a slot and an operator never both open a job. */
  async lockDevice(deviceId: string): Promise<{ status: string } | null> {
    const rows: Array<{ status: string }> = await this.db
      .manager()
      .query(`SELECT status FROM devices WHERE id = $1 FOR UPDATE`, [deviceId]);
    return rows[0] ?? null;
  }

  /**
   * Opens an overdue episode for every active FULL or HYBRID device without a succeeded image job
   * since `before` (one that never succeeded counts from its first image job, or when its policy
   * was set, or its enrollment, whichever is known first) and none open: those devices, each once.
   * Episodes of devices that stopped imaging are closed without an event.
   */
  async openOverdue(before: Date, now: Date): Promise<Array<{ deviceId: string; lastSuccessAt: Date | null }>> {
    await this.db.manager().query(
      `UPDATE disk_image_device_states s SET overdue_since = NULL
        WHERE s.overdue_since IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id AND d.status = 'active' AND d.modules ->> 'backups' IN ${IMAGE_MODULES_SQL})`,
    );
    const rows: Array<{ device_id: string; last_success_at: Date | null }> = await this.db.manager().query(
      `WITH candidates AS (
         SELECT d.id AS device_id, ls.at AS last_success_at
           FROM devices d
           LEFT JOIN LATERAL (SELECT max(j.finished_at) AS at FROM disk_image_jobs j
                               WHERE j.device_id = d.id AND j.kind = 'image' AND j.state = 'succeeded') ls ON true
           LEFT JOIN LATERAL (SELECT min(j.created_at) AS at FROM disk_image_jobs j WHERE j.device_id = d.id AND j.kind = 'image') fj ON true
           LEFT JOIN backup_policies p ON p.device_id = d.id
           LEFT JOIN disk_image_device_states s ON s.device_id = d.id
          WHERE d.status = 'active' AND d.modules ->> 'backups' IN ${IMAGE_MODULES_SQL} AND s.overdue_since IS NULL
            AND COALESCE(ls.at, LEAST(fj.at, p.updated_at), d.enrolled_at, d.created_at) < $1)
       INSERT INTO disk_image_device_states AS t (device_id, overdue_since)
       SELECT device_id, $2 FROM candidates
       ON CONFLICT (device_id) DO UPDATE SET overdue_since = EXCLUDED.overdue_since WHERE t.overdue_since IS NULL
       RETURNING t.device_id, (SELECT c.last_success_at FROM candidates c WHERE c.device_id = t.device_id) AS last_success_at`,
      [before, now],
    );
    return rows.map((r) => ({ deviceId: r.device_id, lastSuccessAt: r.last_success_at ? new Date(r.last_success_at) : null }));
  }

  /** Ends the device's overdue episode (an image succeeded): true when one was open. */
  async endOverdue(deviceId: string): Promise<boolean> {
    const rows = await this.db.changedRows(
      `UPDATE disk_image_device_states SET overdue_since = NULL WHERE device_id = $1 AND overdue_since IS NOT NULL RETURNING device_id`,
      [deviceId],
    );
    return rows.length > 0;
  }
}
