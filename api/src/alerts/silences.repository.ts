import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { SilenceEntity } from './silence.entity.js';

export type SilenceRow = SilenceEntity & { scopeName: string | null };

const SELECT = `SELECT s.id, s.scope_kind AS "scopeKind", s.scope_id AS "scopeId", s.starts_at AS "startsAt", s.ends_at AS "endsAt",
  s.reason, s.created_by AS "createdBy", s.created_at AS "createdAt",
  COALESCE(d.name, si.name, o.name) AS "scopeName"
FROM alert_silences s
LEFT JOIN devices d ON s.scope_kind = 'device' AND d.id = s.scope_id
LEFT JOIN sites si ON s.scope_kind = 'site' AND si.id = s.scope_id
LEFT JOIN organizations o ON s.scope_kind = 'organization' AND o.id = s.scope_id`;

@Injectable()
export class SilencesRepository {
  constructor(private readonly db: Database) {}

  async insert(silence: SilenceEntity): Promise<void> {
    await this.db.manager().getRepository(SilenceEntity).insert(silence);
  }

  async findById(id: string, options: { lock?: boolean } = {}): Promise<SilenceRow | null> {
    if (options.lock) await this.db.rows(`SELECT 1 FROM alert_silences WHERE id = $1 FOR UPDATE`, [id]);
    const rows = await this.db.rows<SilenceRow>(`${SELECT} WHERE s.id = $1`, [id]);
    return rows[0] ?? null;
  }

  async end(id: string, at: Date): Promise<void> {
    // A silence that has not started yet ends before it began: keep ends_at > starts_at.
    await this.db.rows(
      `UPDATE alert_silences SET starts_at = LEAST(starts_at, $2::timestamptz - interval '1 millisecond'), ends_at = $2::timestamptz WHERE id = $1`,
      [id, at],
    );
  }

  async list(filter: { state?: 'active' | 'upcoming' | 'ended' | 'current'; limit: number; offset: number }, now: Date) {
    const where =
      filter.state === 'active'
        ? `WHERE s.starts_at <= $1 AND s.ends_at > $1`
        : filter.state === 'upcoming'
          ? `WHERE s.starts_at > $1`
          : filter.state === 'ended'
            ? `WHERE s.ends_at <= $1`
            : filter.state === 'current'
              ? `WHERE s.ends_at > $1`
              : `WHERE $1::timestamptz IS NOT NULL`;
    const totals = await this.db.rows<{ total: number }>(`SELECT count(*)::int AS total FROM alert_silences s ${where}`, [now]);
    const items = await this.db.rows<SilenceRow>(
      `${SELECT} ${where} ORDER BY s.ends_at DESC, s.id LIMIT ${filter.limit} OFFSET ${filter.offset}`,
      [now],
    );
    return { items, total: totals[0]?.total ?? 0 };
  }

  /** Whether an active silence covers this device, its site or its organization. */
  async covering(now: Date, targets: Array<{ deviceId: string | null; siteId: string | null; organizationId: string | null }>) {
    if (targets.length === 0) return [] as boolean[];
    const rows = await this.db.rows<{ i: number }>(
      `SELECT x.i FROM jsonb_to_recordset($2::jsonb) AS x(i int, device_id uuid, site_id uuid, organization_id uuid)
       WHERE EXISTS (SELECT 1 FROM alert_silences s WHERE s.starts_at <= $1 AND s.ends_at > $1 AND (
         (s.scope_kind = 'device' AND s.scope_id = x.device_id) OR (s.scope_kind = 'site' AND s.scope_id = x.site_id)
         OR (s.scope_kind = 'organization' AND s.scope_id = x.organization_id)))`,
      [now, JSON.stringify(targets.map((t, i) => ({ i, device_id: t.deviceId, site_id: t.siteId, organization_id: t.organizationId })))],
    );
    const covered = new Set(rows.map((r) => r.i));
    return targets.map((_, i) => covered.has(i));
  }
}
