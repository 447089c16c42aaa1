import { Injectable } from '@nestjs/common';
import {
  MAX_RATE_BYTES_PER_SECOND,
  MAX_STORAGE_BYTES,
  type DEVICE_SORTS,
  type DeviceStatus,
  type DeviceType,
  type OrganizationKind,
} from '@xspectre/contracts';

type DeviceSort = (typeof DEVICE_SORTS)[number];
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { jsonElementsSql, jsonNumberSql, percentSql } from '../db/bounded-sql.js';
import type { DeviceEntity } from './device.entity.js';
import { DevicesRepository, type DeviceRow } from './devices.repository.js';

/** The headline numbers of the newest metrics, computed in the database (the documents stay there). */
export interface HeadlineMetricsRow {
  sampledAt: Date;
  cpuPercent: number;
  memUsedPercent: number;
  diskUsedPercentMax: number | null;
  netRxBps: number;
  netTxBps: number;
}

/** A device as the API shows it: with the headline numbers of its newest metrics. */
export type DeviceView = DeviceRow & { headline: HeadlineMetricsRow | null };

type HeadlineRaw = { organization_kind: OrganizationKind } & {
  h_sampled_at: Date | null;
  h_cpu: number | null;
  h_mem: number | null;
  h_disk: number | null;
  h_rx: number | null;
  h_tx: number | null;
};

export interface DeviceFilter {
  organizationId?: string;
  siteId?: string;
  type?: DeviceType;
  status?: DeviceStatus;
  connectivity?: 'online' | 'offline' | 'never_seen';
  quarantined?: 'true' | 'false';
  q?: string;
  sort: DeviceSort;
  limit: number;
  offset: number;
}

// Over device_telemetry `t`; each is NULL when the device never sent metrics. Every number is read
// bounded (bounded-sql.ts): one device's stored document must not fail the whole fleet's query.
const CPU_SQL = jsonNumberSql(`t.metrics->'cpuPercent'`, 100);
const bytes = (json: string) => jsonNumberSql(json, MAX_STORAGE_BYTES);
const MEM_SQL = `COALESCE(${percentSql(bytes(`t.metrics->'memory'->'usedBytes'`), bytes(`t.metrics->'memory'->'totalBytes'`))},
  CASE WHEN t.metrics IS NOT NULL THEN 0 END)`;
const DISK_SQL = `(SELECT MAX(${percentSql(bytes(`m->'usedBytes'`), bytes(`m->'totalBytes'`))}) FROM ${jsonElementsSql(`t.metrics->'mounts'`)} m)`;
const NET_SQL = (field: 'rxBytesPerSecond' | 'txBytesPerSecond') =>
  `(SELECT SUM(${jsonNumberSql(`n->'${field}'`, MAX_RATE_BYTES_PER_SECOND)}) FROM ${jsonElementsSql(`t.metrics->'network'`)} n)`;

const SORT_COLUMNS: Record<string, string> = {
  name: 'd.name',
  lastHeartbeatAt: 'd.last_heartbeat_at',
  createdAt: 'd.created_at',
  enrolledAt: 'd.enrolled_at',
  status: 'd.status',
  cpu: CPU_SQL,
  memory: MEM_SQL,
  disk: DISK_SQL,
};

/** The devices `GET devices/summary` counts: the same classes as the list's connectivity filter. */
export interface SummaryScope {
  organizationId?: string;
  siteId?: string;
  type?: DeviceType;
}

export interface FleetCounts {
  total: number;
  pending: number;
  active: number;
  revoked: number;
  retired: number;
  online: number;
  offline: number;
  neverSeen: number;
  quarantined: number;
}

export interface OrganizationCounts {
  organizationId: string;
  name: string;
  kind: OrganizationKind;
  active: number;
  online: number;
  pending: number;
}

export interface WorstRow {
  metric: 'cpu' | 'mem' | 'disk';
  id: string;
  name: string;
  value: number;
  sampledAt: Date;
}

// Parameters $2..$4 of the summary statements ($1 is the online cut-off).
const SCOPE_SQL = `($2::uuid IS NULL OR d.organization_id = $2::uuid) AND ($3::uuid IS NULL OR d.site_id = $3::uuid) AND ($4::text IS NULL OR d.type = $4::text)`;
function scopeParams(scope: SummaryScope): Array<string | null> {
  return [scope.organizationId ?? null, scope.siteId ?? null, scope.type ?? null];
}

/** The fleet as operators see it: devices with their headline metrics, for the list, a device page and the overview. */
@Injectable()
export class FleetViewRepository {
  constructor(private readonly db: Database) {}

  /** Also the latest telemetry's headline numbers (only where a device is shown: not for lookups and locks). */
  private withHeadline() {
    return DevicesRepository.withKind(this.db)
      .leftJoin('device_telemetry', 't', 't.device_id = d.id')
      .addSelect(`CASE WHEN t.metrics IS NOT NULL THEN t.sampled_at END`, 'h_sampled_at')
      .addSelect(CPU_SQL, 'h_cpu')
      .addSelect(MEM_SQL, 'h_mem')
      .addSelect(DISK_SQL, 'h_disk')
      .addSelect(NET_SQL('rxBytesPerSecond'), 'h_rx')
      .addSelect(NET_SQL('txBytesPerSecond'), 'h_tx');
  }

  private static attachHeadline(entities: DeviceEntity[], raw: HeadlineRaw[]): DeviceView[] {
    return DevicesRepository.attachKind(entities, raw).map((d, i) => {
      const r = raw[i]!;
      const headline =
        r.h_sampled_at === null || r.h_cpu === null
          ? null
          : {
              sampledAt: r.h_sampled_at,
              cpuPercent: Number(r.h_cpu),
              memUsedPercent: Number(r.h_mem ?? 0),
              diskUsedPercentMax: r.h_disk === null ? null : Number(r.h_disk),
              netRxBps: Number(r.h_rx ?? 0),
              netTxBps: Number(r.h_tx ?? 0),
            };
      return Object.assign(d, { headline });
    });
  }

  async findViewById(id: string): Promise<DeviceView | null> {
    const { entities, raw } = await this.withHeadline().where('d.id = :id', { id }).getRawAndEntities();
    return FleetViewRepository.attachHeadline(entities, raw)[0] ?? null;
  }

  /** `offlineAfterMs`: silence after which an active device counts as offline (the connectivity filter). */
  async list(filter: DeviceFilter, offlineAfterMs: number): Promise<{ items: DeviceView[]; total: number }> {
    const descending = filter.sort.startsWith('-');
    const key = filter.sort.replace(/^-/, '');
    const column = SORT_COLUMNS[key]!;
    // Metric sorts put devices without metrics last both ways: "lowest CPU" should not start with silent devices.
    const nulls = descending || key === 'cpu' || key === 'memory' || key === 'disk' ? 'NULLS LAST' : 'NULLS FIRST';
    const qb = this.withHeadline()
      .orderBy(column, descending ? 'DESC' : 'ASC', nulls)
      .addOrderBy('d.id', 'ASC')
      .limit(filter.limit)
      .offset(filter.offset);
    const onlineSince = new Date(Date.now() - offlineAfterMs);
    if (filter.connectivity === 'never_seen') qb.andWhere('d.last_heartbeat_at IS NULL');
    if (filter.connectivity === 'online') qb.andWhere(`d.status = 'active' AND d.last_heartbeat_at >= :onlineSince`, { onlineSince });
    if (filter.connectivity === 'offline')
      qb.andWhere(`d.last_heartbeat_at IS NOT NULL AND (d.status <> 'active' OR d.last_heartbeat_at < :onlineSince)`, { onlineSince });
    if (filter.quarantined === 'true') qb.andWhere('d.quarantined_at IS NOT NULL');
    if (filter.quarantined === 'false') qb.andWhere('d.quarantined_at IS NULL');
    if (filter.organizationId) qb.andWhere('d.organization_id = :organizationId', { organizationId: filter.organizationId });
    if (filter.siteId) qb.andWhere('d.site_id = :siteId', { siteId: filter.siteId });
    if (filter.type) qb.andWhere('d.type = :type', { type: filter.type });
    if (filter.status) qb.andWhere('d.status = :status', { status: filter.status });
    if (filter.q) {
      qb.andWhere(`(d.name ILIKE :q ESCAPE '\\' OR d.hostname ILIKE :q ESCAPE '\\' OR d.overlay_address ILIKE :q ESCAPE '\\')`, {
        q: likePattern(filter.q),
      });
    }
    const [{ entities, raw }, total] = await Promise.all([qb.getRawAndEntities(), qb.getCount()]);
    return { items: FleetViewRepository.attachHeadline(entities, raw), total };
  }

  /** Counts by status, connectivity and quarantine in one pass. `onlineSince`: the oldest heartbeat that still counts as online. */
  async summaryCounts(scope: SummaryScope, onlineSince: Date): Promise<FleetCounts> {
    const [row]: Array<Record<keyof FleetCounts, number>> = await this.db.manager().query(
      `SELECT COUNT(*)::int AS total,
              COUNT(*) FILTER (WHERE status = 'pending')::int AS pending,
              COUNT(*) FILTER (WHERE status = 'active')::int AS active,
              COUNT(*) FILTER (WHERE status = 'revoked')::int AS revoked,
              COUNT(*) FILTER (WHERE status = 'retired')::int AS retired,
              COUNT(*) FILTER (WHERE status = 'active' AND last_heartbeat_at >= $1)::int AS online,
              COUNT(*) FILTER (WHERE last_heartbeat_at IS NOT NULL AND (status <> 'active' OR last_heartbeat_at < $1))::int AS offline,
              COUNT(*) FILTER (WHERE last_heartbeat_at IS NULL)::int AS "neverSeen",
              COUNT(*) FILTER (WHERE quarantined_at IS NOT NULL)::int AS quarantined
         FROM devices d
        WHERE ${SCOPE_SQL}`,
      [onlineSince, ...scopeParams(scope)],
    );
    return row!;
  }

  /** Every organization in scope (zeros included), with its active, online and pending devices. */
  organizationCounts(scope: SummaryScope, onlineSince: Date): Promise<OrganizationCounts[]> {
    return this.db.manager().query(
      `SELECT o.id AS "organizationId", o.name, o.kind,
              COUNT(d.id) FILTER (WHERE d.status = 'active')::int AS active,
              COUNT(d.id) FILTER (WHERE d.status = 'active' AND d.last_heartbeat_at >= $1)::int AS online,
              COUNT(d.id) FILTER (WHERE d.status = 'pending')::int AS pending
         FROM organizations o
         LEFT JOIN devices d ON d.organization_id = o.id AND ${SCOPE_SQL}
        WHERE ($2::uuid IS NULL OR o.id = $2::uuid)
          AND ($3::uuid IS NULL OR o.id = (SELECT s.organization_id FROM sites s WHERE s.id = $3::uuid))
        GROUP BY o.id
        ORDER BY lower(o.name), o.id`,
      [onlineSince, ...scopeParams(scope)],
    );
  }

  /** The online devices with the highest CPU, memory and fullest disk in their newest metrics. */
  async worst(scope: SummaryScope, onlineSince: Date, limit: number): Promise<WorstRow[]> {
    const rows: Array<Omit<WorstRow, 'value'> & { value: number | string }> = await this.db.manager().query(
      `WITH h AS MATERIALIZED (
         SELECT d.id, d.name, t.sampled_at, ${CPU_SQL} AS cpu, ${MEM_SQL} AS mem, ${DISK_SQL} AS disk
           FROM devices d JOIN device_telemetry t ON t.device_id = d.id
          WHERE d.status = 'active' AND d.last_heartbeat_at >= $1 AND t.metrics IS NOT NULL AND ${SCOPE_SQL}
       )
       (SELECT 'cpu' AS metric, id, name, cpu AS value, sampled_at AS "sampledAt" FROM h ORDER BY cpu DESC, name, id LIMIT $5)
       UNION ALL
       (SELECT 'mem', id, name, mem, sampled_at FROM h ORDER BY mem DESC, name, id LIMIT $5)
       UNION ALL
       (SELECT 'disk', id, name, disk, sampled_at FROM h WHERE disk IS NOT NULL ORDER BY disk DESC, name, id LIMIT $5)`,
      [onlineSince, ...scopeParams(scope), limit],
    );
    return rows.map((r) => ({ ...r, value: Number(r.value) }));
  }
}
