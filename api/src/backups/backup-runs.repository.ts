import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { BackupProgress } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { BackupRunEntity } from './backup-run.entity.js';
import { FILE_MODULES_SQL, imageSlotsSql } from './image-slot-sql.js';

export interface ScheduledRun {
  id: string;
  deviceId: string;
  slotDate: string;
  dueAt: Date;
}

/** Local dates a slot may fall on: today's and yesterday's (a 23:30 slot is still due at 00:10). */
const SLOT_DAYS = `(VALUES (($1::timestamptz AT TIME ZONE z.time_zone)::date), (($1::timestamptz AT TIME ZONE z.time_zone)::date - 1))`;

@Injectable()
export class BackupRunsRepository {
  constructor(private readonly db: Database) {}

  private runs() {
    return this.db.manager().getRepository(BackupRunEntity);
  }

  /**
   * Creates the nightly run of every active FILE or HYBRID device whose device-local slot time has come
   * within the last `catchUpSeconds`, once per (device, local date): ON CONFLICT on
   * uq_backup_runs_slot makes every further call, on any instance, a no-op for that slot. The
   * local time is read in the site's zone by PostgreSQL: on the night clocks go forward a slot in
   * the skipped hour is due an hour later; on the night they go back a repeated hour still
   * gives one run, its date being the key. Sites whose zone PostgreSQL does not know are skipped
   * rather than failing the fleet's statement.
   */
  async createDue(now: Date, catchUpSeconds: number, defaultLocalTime: string): Promise<ScheduledRun[]> {
    const rows: Array<{ id: string; device_id: string; slot_date: string; due_at: Date }> = await this.db.manager().query(
      `INSERT INTO backup_runs (id, device_id, kind, slot_date, due_at, status, created_at)
       SELECT gen_random_uuid(), d.id, 'backup', s.slot_date, s.due_at, 'scheduled', $1
         FROM devices d
         JOIN (SELECT st.id, st.time_zone FROM sites st WHERE st.time_zone IN (SELECT name FROM pg_timezone_names)) z ON z.id = d.site_id
         LEFT JOIN backup_policies p ON p.device_id = d.id
        CROSS JOIN LATERAL (
              SELECT v.day AS slot_date,
                     ((v.day + COALESCE(p.local_time, $3)::time) AT TIME ZONE z.time_zone) AS due_at
                FROM ${SLOT_DAYS} AS v(day)) s
        WHERE d.status = 'active' AND d.modules ->> 'backups' IN ${FILE_MODULES_SQL}
          AND s.due_at <= $1 AND s.due_at > $1::timestamptz - make_interval(secs => $2)
       ON CONFLICT ON CONSTRAINT uq_backup_runs_slot DO NOTHING
       RETURNING id, device_id, to_char(slot_date, 'YYYY-MM-DD') AS slot_date, due_at`,
      [now, catchUpSeconds, defaultLocalTime],
    );
    return rows.map((r) => ({ id: r.id, deviceId: r.device_id, slotDate: r.slot_date, dueAt: new Date(r.due_at) }));
  }

  /** The first slot after `now` for a local time in a zone (null: the zone is unknown to PostgreSQL). */
  async nextDueAt(localTime: string, timeZone: string, now: Date): Promise<Date | null> {
    const rows: Array<{ due_at: Date | null }> = await this.db.manager().query(
      `SELECT min(due) AS due_at
         FROM (SELECT ((d + $2::time) AT TIME ZONE z.time_zone) AS due
                 FROM (SELECT name AS time_zone FROM pg_timezone_names WHERE name = $3) z
                CROSS JOIN LATERAL (VALUES (($1::timestamptz AT TIME ZONE z.time_zone)::date),
                                           (($1::timestamptz AT TIME ZONE z.time_zone)::date + 1),
                                           (($1::timestamptz AT TIME ZONE z.time_zone)::date + 2)) AS v(d)) t
        WHERE due > $1`,
      [now, localTime, timeZone],
    );
    return rows[0]?.due_at ? new Date(rows[0].due_at) : null;
  }

  /** The first weekly full-disk image slot after `now` (image-slot-sql.ts; null: the zone is unknown to PostgreSQL). */
  async nextImageAt(weekday: number, localTime: string, timeZone: string, now: Date): Promise<Date | null> {
    const rows: Array<{ due_at: Date | null }> = await this.db.manager().query(
      `SELECT min(s.due_at) AS due_at
         FROM (SELECT name AS time_zone FROM pg_timezone_names WHERE name = $4) z
        CROSS JOIN LATERAL ${imageSlotsSql('$1', 'z.time_zone', '$2', '$3', [0, 1, 2])} s
        WHERE s.due_at > $1`,
      [now, weekday, localTime, timeZone],
    );
    return rows[0]?.due_at ? new Date(rows[0].due_at) : null;
  }

  listForDevice(deviceId: string, limit: number): Promise<BackupRunEntity[]> {
    return this.runs().find({ where: { deviceId }, order: { createdAt: 'DESC', id: 'DESC' }, take: limit });
  }

  /** A run asked for by hand (backup now, a restore): due at once, carried to the device at its next poll. */
  async createManual(values: Pick<BackupRunEntity, 'deviceId' | 'kind' | 'request' | 'requestedBy'>, now: Date): Promise<BackupRunEntity> {
    return this.runs().save(
      this.runs().create({
        ...values,
        id: randomUUID(),
        slotDate: null,
        dueAt: now,
        status: 'scheduled',
        startedAt: null,
        finishedAt: null,
        error: null,
        commandId: null,
        summary: null,
        check: null,
        progress: null,
        progressAt: null,
        createdAt: now,
      }),
    );
  }

  /** Scheduled runs of a device that no command carries yet, due within the catch-up window (ix_backup_runs_due). */
  dueWithoutCommand(deviceId: string, since: Date): Promise<BackupRunEntity[]> {
    return this.runs()
      .createQueryBuilder('r')
      .where(`r.device_id = :deviceId AND r.status = 'scheduled' AND r.command_id IS NULL AND r.due_at > :since`, { deviceId, since })
      .orderBy('r.due_at', 'ASC')
      .getMany();
  }

  /** Links the run to its command; false when another poll linked it first. */
  async attachCommand(runId: string, commandId: string): Promise<boolean> {
    const result = await this.runs()
      .createQueryBuilder()
      .update()
      .set({ commandId })
      .where('id = :runId AND command_id IS NULL', { runId })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  findByCommand(commandId: string): Promise<BackupRunEntity | null> {
    return this.runs().findOneBy({ commandId });
  }

  /** The run's end; its progress goes (a finished run shows its summary, not the last progress). */
  async finish(
    id: string,
    changes: Pick<BackupRunEntity, 'status' | 'finishedAt' | 'error' | 'summary'> & Partial<Pick<BackupRunEntity, 'check'>>,
  ): Promise<void> {
    await this.runs().update({ id }, { check: null, ...changes, progress: null, progressAt: null });
  }

  /**
   * Stores a progress report on the device's own run while it is scheduled or running; false when
   * no such run is under way (the caller tells which).
   */
  async recordProgress(id: string, deviceId: string, progress: BackupProgress, at: Date): Promise<boolean> {
    const result = await this.runs()
      .createQueryBuilder()
      .update()
      .set({ progress, progressAt: at })
      .where(`id = :id AND device_id = :deviceId AND status IN ('scheduled', 'running')`, { id, deviceId })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  /** A scheduled run starts at its device's first token request or first report on its command, whichever comes first. */
  async start(id: string, at: Date): Promise<void> {
    await this.runs().update({ id, status: 'scheduled' }, { status: 'running', startedAt: at });
  }

  find(id: string): Promise<BackupRunEntity | null> {
    return this.runs().findOneBy({ id });
  }
}
