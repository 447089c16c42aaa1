import { Injectable } from '@nestjs/common';
import type { AlertRuleKind, AlertSeverity, AlertState, ListAlertsQuery } from '@xspectre/contracts';
import { Database } from '../db/database.js';

/** An alert with the names it is shown with (joined at read time: a renamed site shows its new name). */
export interface AlertRow {
  id: string;
  ruleId: string | null;
  ruleKey: string;
  kind: AlertRuleKind;
  severity: AlertSeverity;
  state: AlertState;
  deviceId: string | null;
  deviceName: string | null;
  organizationId: string | null;
  organizationName: string | null;
  organizationKind: 'customer' | 'internal' | null;
  siteId: string | null;
  siteName: string | null;
  subject: string;
  title: string;
  details: Record<string, unknown>;
  silenced: boolean;
  openedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  acknowledgeNote: string | null;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolution: 'auto' | 'manual' | null;
  resolveNote: string | null;
}

export interface NewAlert {
  id: string;
  ruleId: string;
  ruleKey: string;
  kind: AlertRuleKind;
  severity: AlertSeverity;
  deviceId: string | null;
  organizationId: string | null;
  siteId: string | null;
  subject: string;
  title: string;
  details: Record<string, unknown>;
  silenced: boolean;
  openedAt: Date;
}

/** The unresolved alert of a (rule key, device, subject), as the engine looks it up. */
export interface OpenAlertKey {
  id: string;
  ruleKey: string;
  kind: AlertRuleKind;
  deviceId: string | null;
  subject: string;
}

const SELECT = `SELECT a.id, a.rule_id AS "ruleId", a.rule_key AS "ruleKey", a.kind, a.severity, a.state,
  a.device_id AS "deviceId", d.name AS "deviceName", a.organization_id AS "organizationId", o.name AS "organizationName",
  o.kind AS "organizationKind", a.site_id AS "siteId", s.name AS "siteName", a.subject, a.title, a.details, a.silenced,
  a.opened_at AS "openedAt", a.acknowledged_at AS "acknowledgedAt", a.acknowledged_by AS "acknowledgedBy",
  a.acknowledge_note AS "acknowledgeNote", a.resolved_at AS "resolvedAt", a.resolved_by AS "resolvedBy",
  a.resolution, a.resolve_note AS "resolveNote"
FROM alerts a
LEFT JOIN devices d ON d.id = a.device_id
LEFT JOIN organizations o ON o.id = a.organization_id
LEFT JOIN sites s ON s.id = a.site_id`;

const UNRESOLVED_CONFLICT = `("rule_key", COALESCE("device_id", '00000000-0000-0000-0000-000000000000'::uuid), "subject") WHERE "state" <> 'resolved'`;

@Injectable()
export class AlertsRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the alerts that have no unresolved twin; returns the ids actually opened. */
  async openMany(alerts: NewAlert[]): Promise<string[]> {
    if (alerts.length === 0) return [];
    const rows = await this.db.rows<{ id: string }>(
      `INSERT INTO alerts (id, rule_id, rule_key, kind, severity, state, device_id, organization_id, site_id, subject, title, details, silenced, opened_at)
       SELECT x.id, x.rule_id, x.rule_key, x.kind, x.severity, 'open', x.device_id, x.organization_id, x.site_id, x.subject, x.title, x.details, x.silenced, x.opened_at
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, rule_id uuid, rule_key text, kind text, severity text, device_id uuid,
         organization_id uuid, site_id uuid, subject text, title text, details jsonb, silenced boolean, opened_at timestamptz)
       ON CONFLICT ${UNRESOLVED_CONFLICT} DO NOTHING
       RETURNING id`,
      [
        JSON.stringify(
          alerts.map((a) => ({
            id: a.id,
            rule_id: a.ruleId,
            rule_key: a.ruleKey,
            kind: a.kind,
            severity: a.severity,
            device_id: a.deviceId,
            organization_id: a.organizationId,
            site_id: a.siteId,
            subject: a.subject,
            title: a.title,
            details: a.details,
            silenced: a.silenced,
            opened_at: a.openedAt.toISOString(),
          })),
        ),
      ],
    );
    return rows.map((r) => r.id);
  }

  findByIds(ids: string[]): Promise<AlertRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.rows<AlertRow>(`${SELECT} WHERE a.id = ANY($1::uuid[]) ORDER BY a.opened_at, a.id`, [ids]);
  }

  async findById(id: string, options: { lock?: boolean } = {}): Promise<AlertRow | null> {
    if (options.lock) await this.db.rows(`SELECT 1 FROM alerts WHERE id = $1 FOR UPDATE`, [id]);
    const rows = await this.db.rows<AlertRow>(`${SELECT} WHERE a.id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Unresolved alerts of these rule kinds (the engine's view of what is open). */
  unresolvedOfKinds(kinds: AlertRuleKind[]): Promise<OpenAlertKey[]> {
    return this.db.rows<OpenAlertKey>(
      `SELECT id, rule_key AS "ruleKey", kind, device_id AS "deviceId", subject FROM alerts WHERE state <> 'resolved' AND kind = ANY($1::text[])`,
      [kinds],
    );
  }

  async acknowledge(id: string, by: string, note: string | null, at: Date): Promise<boolean> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, acknowledge_note = $4
       WHERE id = $1 AND state = 'open' RETURNING id`,
      [id, at, by, note],
    );
    return rows.length > 0;
  }

  /** Resolves the given unresolved alerts; returns the ids it changed. */
  async resolve(ids: string[], change: { by: string; note: string | null; resolution: 'auto' | 'manual'; at: Date }): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE alerts SET state = 'resolved', resolved_at = $2, resolved_by = $3, resolve_note = $4, resolution = $5
       WHERE id = ANY($1::uuid[]) AND state <> 'resolved' RETURNING id`,
      [ids, change.at, change.by, change.note, change.resolution],
    );
    return rows.map((r) => r.id);
  }

  /** Unresolved silenced alerts whose device, site and organization are no longer under an active silence. */
  async unsilenceEnded(now: Date): Promise<string[]> {
    const rows = await this.db.changedRows<{ id: string }>(
      `UPDATE alerts a SET silenced = false
       WHERE a.silenced AND a.state <> 'resolved' AND NOT EXISTS (
         SELECT 1 FROM alert_silences s WHERE s.starts_at <= $1 AND s.ends_at > $1 AND (
           (s.scope_kind = 'device' AND s.scope_id = a.device_id) OR (s.scope_kind = 'site' AND s.scope_id = a.site_id)
           OR (s.scope_kind = 'organization' AND s.scope_id = a.organization_id)))
       RETURNING a.id`,
      [now],
    );
    return rows.map((r) => r.id);
  }

  async list(q: ListAlertsQuery): Promise<{ items: AlertRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.state === 'unresolved') where.push(`a.state <> 'resolved'`);
    else if (q.state) add('a.state = ?', q.state);
    if (q.severity) add('a.severity = ?', q.severity);
    if (q.organizationId) add('a.organization_id = ?', q.organizationId);
    if (q.siteId) add('a.site_id = ?', q.siteId);
    if (q.deviceId) add('a.device_id = ?', q.deviceId);
    if (q.ruleKey) add('a.rule_key = ?', q.ruleKey);
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const totals = await this.db.rows<{ total: number }>(`SELECT count(*)::int AS total FROM alerts a ${whereSql}`, params);
    const items = await this.db.rows<AlertRow>(
      `${SELECT} ${whereSql} ORDER BY a.opened_at DESC, a.id DESC LIMIT ${q.limit} OFFSET ${q.offset}`,
      params,
    );
    return { items, total: totals[0]?.total ?? 0 };
  }

  async counts(): Promise<{ severity: AlertSeverity; state: AlertState; n: number }[]> {
    return this.db.rows(`SELECT severity, state, count(*)::int AS n FROM alerts WHERE state <> 'resolved' GROUP BY severity, state`, []);
  }
}
