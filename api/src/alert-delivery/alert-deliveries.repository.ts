import { Injectable } from '@nestjs/common';
import type { DeliveryKind } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import type { AlertDeliveryEntity } from './alert-delivery.entity.js';

/** A delivery row with the names the list shows (the alert's title from its snapshot, the target's name). */
export type DeliveryListRow = AlertDeliveryEntity & { alertTitle: string; targetName: string };

export interface DeliveryFilter {
  state?: 'pending' | 'done' | 'dead';
  alertId?: string;
  targetId?: string;
  limit: number;
  offset: number;
}

const COLUMNS = `d.id, d.alert_id AS "alertId", d.target_id AS "targetId", d.kind, d.sequence, d.state, d.attempts,
  d.last_error AS "lastError", d.remote_id AS "remoteId", d.payload, d.next_attempt_at AS "nextAttemptAt",
  d.created_at AS "createdAt", d.done_at AS "doneAt"`;

/**
 * The head of an (alert, target) chain: a row with no earlier row of the same alert and target
 * that is not done. Only heads are sent, so each target gets an alert's messages in sequence
 * order, and a failing (or dead) message holds back the ones behind it.
 */
const IS_HEAD = `NOT EXISTS (SELECT 1 FROM alert_deliveries e
  WHERE e.alert_id = d.alert_id AND e.target_id = d.target_id AND e.sequence < d.sequence AND e.state <> 'done')`;

@Injectable()
export class AlertDeliveriesRepository {
  constructor(private readonly db: Database) {}

  /** One row per target, numbered after that (alert, target)'s last row; in the caller's transaction. */
  async insert(alertId: string, targetIds: string[], kind: DeliveryKind, payload: Record<string, unknown>): Promise<number> {
    if (targetIds.length === 0) return 0;
    const rows = await this.db.rows<{ id: string }>(
      `INSERT INTO alert_deliveries (alert_id, target_id, kind, sequence, state, attempts, payload, next_attempt_at, created_at)
       SELECT $1, t.id, $2,
              COALESCE((SELECT MAX(x.sequence) FROM alert_deliveries x WHERE x.alert_id = $1 AND x.target_id = t.id), 0) + 1,
              'pending', 0, $3::jsonb, now(), now()
       FROM unnest($4::uuid[]) AS t(id)
       RETURNING id`,
      [alertId, kind, JSON.stringify(payload), targetIds],
    );
    return rows.length;
  }

  /** Targets that got (or are getting) a create of this alert: its acknowledge and resolve go to them. */
  async targetsWithCreate(alertId: string): Promise<string[]> {
    const rows = await this.db.rows<{ targetId: string }>(
      `SELECT DISTINCT target_id AS "targetId" FROM alert_deliveries WHERE alert_id = $1 AND kind = 'create'`,
      [alertId],
    );
    return rows.map((r) => r.targetId);
  }

  /** Heads of this alert's chains that are due now. */
  dueHeads(alertId: string): Promise<AlertDeliveryEntity[]> {
    return this.db.rows<AlertDeliveryEntity>(
      `SELECT ${COLUMNS} FROM alert_deliveries d
       WHERE d.alert_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= now() AND ${IS_HEAD}
       ORDER BY d.target_id, d.sequence`,
      [alertId],
    );
  }

  /**
   * Deletes the delivery history of alerts resolved before `cutoff` whose every message is done
   * (dead ones stay: they are the dead-letter list). At most `limit` alerts per call.
   */
  async pruneDelivered(cutoff: Date, limit: number): Promise<number> {
    const rows = await this.db.changedRows<{ id: string }>(
      `DELETE FROM alert_deliveries d WHERE d.alert_id IN (
         SELECT a.id FROM alerts a
         WHERE a.state = 'resolved' AND a.resolved_at < $1
           AND EXISTS (SELECT 1 FROM alert_deliveries x WHERE x.alert_id = a.id)
           AND NOT EXISTS (SELECT 1 FROM alert_deliveries x WHERE x.alert_id = a.id AND x.state <> 'done')
         LIMIT $2)
       RETURNING d.id`,
      [cutoff, limit],
    );
    return rows.length;
  }

  /** Alerts with a due head: what the sweeper hands the queue. */
  async dueAlertIds(limit: number): Promise<string[]> {
    const rows = await this.db.rows<{ alertId: string }>(
      `SELECT d.alert_id AS "alertId", MIN(d.next_attempt_at) AS due FROM alert_deliveries d
       WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND ${IS_HEAD}
       GROUP BY d.alert_id ORDER BY due LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.alertId);
  }

  /** When this alert's earliest waiting head is due (null: nothing pending, or only rows behind dead ones). */
  async nextDue(alertId: string): Promise<Date | null> {
    const rows = await this.db.rows<{ due: Date | null }>(
      `SELECT MIN(d.next_attempt_at) AS due FROM alert_deliveries d WHERE d.alert_id = $1 AND d.state = 'pending' AND ${IS_HEAD}`,
      [alertId],
    );
    return rows[0]?.due ?? null;
  }

  /**
   * Starts an attempt, committed before anything is sent: attempts + 1, and the row leased until
   * `leaseMs` from now (if this process dies mid-send, the row is due again then, and its
   * attempts say a create may have arrived). Only one caller wins a row: the update matches the
   * attempts it read. Returns the new attempt count, or null when another caller has the row.
   */
  async claim(id: string, attemptsSeen: number, leaseMs: number): Promise<number | null> {
    const rows = await this.db.changedRows<{ attempts: number }>(
      `UPDATE alert_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE d.id = $1 AND d.state = 'pending' AND d.attempts = $2 AND d.next_attempt_at <= now() AND ${IS_HEAD}
       RETURNING d.attempts`,
      [id, attemptsSeen, leaseMs],
    );
    return rows[0]?.attempts ?? null;
  }

  /** The attempt succeeded (or needs no sending); `note` says why when nothing was sent. */
  async markDone(id: string, attempts: number, result: { remoteId?: string | null; note?: string | null }): Promise<boolean> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE alert_deliveries SET state = 'done', done_at = now(), next_attempt_at = NULL,
         remote_id = COALESCE($3, remote_id), last_error = $4
       WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
      [id, attempts, result.remoteId ?? null, result.note ?? null],
    );
    return rows.length > 0;
  }

  /** The attempt failed: retry at `retryAt`, or dead (null) after the last attempt. */
  async markFailed(id: string, attempts: number, error: string, retryAt: Date | null): Promise<boolean> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE alert_deliveries SET last_error = $3, state = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,
         next_attempt_at = $4::timestamptz
       WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
      [id, attempts, error, retryAt],
    );
    return rows.length > 0;
  }

  /** The incident the (alert, target)'s create made (null: no create done yet, or a webhook). */
  async remoteIdOfCreate(alertId: string, targetId: string): Promise<string | null> {
    const rows = await this.db.rows<{ remoteId: string | null }>(
      `SELECT remote_id AS "remoteId" FROM alert_deliveries
       WHERE alert_id = $1 AND target_id = $2 AND kind = 'create' AND state = 'done' AND remote_id IS NOT NULL
       ORDER BY sequence LIMIT 1`,
      [alertId, targetId],
    );
    return rows[0]?.remoteId ?? null;
  }

  /** Whether a resolve of this (alert, target) is queued or delivered. */
  async hasResolve(alertId: string, targetId: string): Promise<boolean> {
    const rows = await this.db.rows<{ id: string }>(
      `SELECT id FROM alert_deliveries WHERE alert_id = $1 AND target_id = $2 AND kind = 'resolve' LIMIT 1`,
      [alertId, targetId],
    );
    return rows.length > 0;
  }

  async list(filter: DeliveryFilter): Promise<{ items: DeliveryListRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (filter.state) add('d.state = ?', filter.state);
    if (filter.alertId) add('d.alert_id = ?', filter.alertId);
    if (filter.targetId) add('d.target_id = ?', filter.targetId);
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [counted] = await this.db.rows<{ total: string }>(`SELECT count(*) AS total FROM alert_deliveries d ${whereSql}`, params);
    const items = await this.db.rows<DeliveryListRow>(
      `SELECT ${COLUMNS}, COALESCE(d.payload->>'title', '') AS "alertTitle", t.name AS "targetName"
       FROM alert_deliveries d JOIN alert_targets t ON t.id = d.target_id ${whereSql}
       ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { items, total: Number(counted?.total ?? 0) };
  }

  async findListRow(id: string): Promise<DeliveryListRow | null> {
    const rows = await this.db.rows<DeliveryListRow>(
      `SELECT ${COLUMNS}, COALESCE(d.payload->>'title', '') AS "alertTitle", t.name AS "targetName"
       FROM alert_deliveries d JOIN alert_targets t ON t.id = d.target_id WHERE d.id = $1 FOR UPDATE OF d`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Dead → pending, due now, attempts from zero (last_error stays: a create retried looks its incident up first). */
  async revive(id: string): Promise<void> {
    await this.db.changedRows(
      `UPDATE alert_deliveries SET state = 'pending', attempts = 0, next_attempt_at = now() WHERE id = $1 AND state = 'dead'`,
      [id],
    );
  }
}
