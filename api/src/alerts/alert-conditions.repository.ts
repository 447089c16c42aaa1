import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';

export interface ConditionRow {
  ruleId: string;
  deviceId: string;
  subject: string;
  since: Date;
  details: Record<string, unknown>;
}

export type ConditionKey = Pick<ConditionRow, 'ruleId' | 'deviceId' | 'subject'>;

/** Breaching conditions: inserted when one starts, deleted when it clears (never updated per heartbeat). */
@Injectable()
export class AlertConditionsRepository {
  constructor(private readonly db: Database) {}

  forDevices(deviceIds: string[]): Promise<ConditionRow[]> {
    if (deviceIds.length === 0) return Promise.resolve([]);
    return this.db.rows<ConditionRow>(
      `SELECT rule_id AS "ruleId", device_id AS "deviceId", subject, since, details FROM alert_conditions WHERE device_id = ANY($1::uuid[])`,
      [deviceIds],
    );
  }

  all(): Promise<ConditionRow[]> {
    return this.db.rows<ConditionRow>(
      `SELECT rule_id AS "ruleId", device_id AS "deviceId", subject, since, details FROM alert_conditions`,
      [],
    );
  }

  /** Keeps the earliest `since` when another instance recorded the same start first. */
  async insertMany(rows: ConditionRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.rows(
      `INSERT INTO alert_conditions (rule_id, device_id, subject, since, details)
       SELECT x.rule_id, x.device_id, x.subject, x.since, x.details
       FROM jsonb_to_recordset($1::jsonb) AS x(rule_id uuid, device_id uuid, subject text, since timestamptz, details jsonb)
       WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = x.device_id) AND EXISTS (SELECT 1 FROM alert_rules r WHERE r.id = x.rule_id)
       ON CONFLICT (rule_id, device_id, subject) DO NOTHING`,
      [
        JSON.stringify(
          rows.map((r) => ({
            rule_id: r.ruleId,
            device_id: r.deviceId,
            subject: r.subject,
            since: r.since.toISOString(),
            details: r.details,
          })),
        ),
      ],
    );
  }

  async deleteMany(keys: ConditionKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.rows(
      `DELETE FROM alert_conditions c USING jsonb_to_recordset($1::jsonb) AS x(rule_id uuid, device_id uuid, subject text)
       WHERE c.rule_id = x.rule_id AND c.device_id = x.device_id AND c.subject = x.subject`,
      [JSON.stringify(keys.map((k) => ({ rule_id: k.ruleId, device_id: k.deviceId, subject: k.subject })))],
    );
  }

  /** The scope of each device (for rule precedence), read with its conditions. */
  deviceScopes(deviceIds: string[]): Promise<Array<{ id: string; organizationId: string; siteId: string; type: 'scanner' | 'server' }>> {
    if (deviceIds.length === 0) return Promise.resolve([]);
    return this.db.rows(
      `SELECT id, organization_id AS "organizationId", site_id AS "siteId", type FROM devices WHERE id = ANY($1::uuid[]) AND status = 'active'`,
      [deviceIds],
    );
  }
}
