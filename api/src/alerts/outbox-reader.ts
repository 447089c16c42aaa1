import { Injectable } from '@nestjs/common';
import type { DeviceEventType, EventSeverity } from '@xspectre/contracts';
import { Database } from '../db/database.js';

export interface OutboxEvent {
  id: string;
  xid: string;
  deviceId: string;
  type: DeviceEventType;
  severity: EventSeverity;
  at: Date;
  details: Record<string, unknown>;
}

const CURSOR = 'device_events';

/**
 * Reads device_events as an outbox. Ids are taken at insert but rows become visible at commit, so
 * "id > last id" would skip a row whose transaction commits after a later one's. Instead rows are
 * read in (writing transaction id, id) order and only below the snapshot's xmin: every transaction
 * older than xmin has ended, so no row can still appear before the cursor.
 */
@Injectable()
export class OutboxReader {
  constructor(private readonly db: Database) {}

  /** The next events after the cursor, locking the cursor row for the caller's transaction. */
  async next(limit: number): Promise<OutboxEvent[]> {
    const cursor = await this.db.rows<{ lastXid: string; lastId: string }>(
      `SELECT last_xid AS "lastXid", last_id AS "lastId" FROM alert_outbox_cursors WHERE name = $1 FOR UPDATE`,
      [CURSOR],
    );
    const from = cursor[0] ?? { lastXid: '0', lastId: '0' };
    return this.db.rows<OutboxEvent>(
      `SELECT e.id, e.xid, e.device_id AS "deviceId", e.type, e.severity, e.at, e.details
       FROM device_events e
       WHERE (e.xid, e.id) > ($1::bigint, $2::bigint)
         AND e.xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
       ORDER BY e.xid, e.id
       LIMIT ${Math.trunc(limit)}`,
      [from.lastXid, from.lastId],
    );
  }

  /** Moves the cursor past `last` (in the caller's transaction, with what the events caused). */
  async advance(last: OutboxEvent): Promise<void> {
    await this.db.rows(
      `INSERT INTO alert_outbox_cursors (name, last_xid, last_id, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (name) DO UPDATE SET last_xid = EXCLUDED.last_xid, last_id = EXCLUDED.last_id, updated_at = now()`,
      [CURSOR, last.xid, last.id],
    );
  }
}
