import { Injectable } from '@nestjs/common';
import { type DEVICE_SORTS, type DeviceStatus, type DeviceType, type OrganizationKind } from '@xspectre/contracts';

type DeviceSort = (typeof DEVICE_SORTS)[number];
import { Database } from '../db/database.js';
import { likePattern } from '../db/pg-errors.js';
import { headlineNetSql } from '../db/headline-sql.js';
import { clampSql } from '../db/bounded-sql.js';
import type { EntityMetadata } from 'typeorm';
import { DeviceEntity as DeviceEntityClass, type DeviceEntity } from './device.entity.js';
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

/** A keyset position: the sort key of the last row shown (as text, NULL for a device without it) and its id. */
export interface DevicePosition {
  key: string | null;
  id: string;
}

/**
 * Each sort's column on `devices` and the type its key is read back with. The headline columns
 * are the group commit's copies of the newest metrics' headline numbers (headline-sql.ts, read
 * bounded, NULL for a device that never sent metrics; heartbeat-batch.repository.ts). Every
 * (column, direction, NULLS placement, id) ordering has its index (migrations/1795560000000-FleetReads.ts).
 */
export const SORT_KEYS: Record<string, { column: string; type: 'text' | 'timestamptz' | 'float8'; metric: boolean }> = {
  name: { column: 'd.name', type: 'text', metric: false },
  lastHeartbeatAt: { column: 'd.last_heartbeat_at', type: 'timestamptz', metric: false },
  createdAt: { column: 'd.created_at', type: 'timestamptz', metric: false },
  enrolledAt: { column: 'd.enrolled_at', type: 'timestamptz', metric: false },
  status: { column: 'd.status', type: 'text', metric: false },
  cpu: { column: 'd.headline_cpu_percent', type: 'float8', metric: true },
  memory: { column: 'd.headline_mem_percent', type: 'float8', metric: true },
  disk: { column: 'd.headline_disk_percent', type: 'float8', metric: true },
};

/** A key as text that casts back to the same value: timestamps in a fixed UTC form with microseconds, float8 exactly. */
function keyTextSql(column: string, type: 'text' | 'timestamptz' | 'float8'): string {
  return type === 'timestamptz' ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` : `${column}::text`;
}

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

/** The prepared statement of FleetViewRepository.viewsByIds. */
const VIEWS_STATEMENT = 'xs_device_views';

/** From this offset on, a page in the back half of the list is read from the end. */
const DEEP_OFFSET = 100;

// Parameters $2..$4 of the summary statements ($1 is the online cut-off).
const SCOPE_SQL = `($2::uuid IS NULL OR d.organization_id = $2::uuid) AND ($3::uuid IS NULL OR d.site_id = $3::uuid) AND ($4::text IS NULL OR d.type = $4::text)`;
function scopeParams(scope: SummaryScope): Array<string | null> {
  return [scope.organizationId ?? null, scope.siteId ?? null, scope.type ?? null];
}

/** The fleet as operators see it: devices with their headline metrics, for the list, a device page and the overview. */
@Injectable()
export class FleetViewRepository {
  constructor(private readonly db: Database) {}

  /**
   * Also the headline numbers (only where a device is shown: not for lookups and locks): CPU,
   * memory and disk from the group commit's copies on `devices`, the network rates (shown, never
   * sorted by) from the latest telemetry document, all read bounded (bounded-sql.ts).
   */
  private withHeadline() {
    return DevicesRepository.withKind(this.db)
      .leftJoin('device_telemetry', 't', 't.device_id = d.id')
      .addSelect(`CASE WHEN t.metrics IS NOT NULL THEN t.sampled_at END`, 'h_sampled_at')
      .addSelect(clampSql('d.headline_cpu_percent', 100), 'h_cpu')
      .addSelect(clampSql('d.headline_mem_percent', 100), 'h_mem')
      .addSelect(clampSql('d.headline_disk_percent', 100), 'h_disk')
      .addSelect(headlineNetSql('t.metrics', 'rxBytesPerSecond'), 'h_rx')
      .addSelect(headlineNetSql('t.metrics', 'txBytesPerSecond'), 'h_tx');
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

  /**
   * One page of the list. The page's ids come first from `devices` alone (filters and sort keys
   * are its columns, each sort has its index), then the rows are built (organization, documents,
   * headline numbers) for those ids only. `after`: keyset pagination, the rows after that position
   * in the sort order (then `offset` is 0). `more`: whether rows follow the page.
   * `offlineAfterMs`: silence after which an active device counts as offline (the connectivity filter).
   */
  async list(
    filter: DeviceFilter,
    offlineAfterMs: number,
    after?: DevicePosition,
  ): Promise<{ items: DeviceView[]; total: number; last: DevicePosition | null; more: boolean }> {
    const descending = filter.sort.startsWith('-');
    const sort = SORT_KEYS[filter.sort.replace(/^-/, '')]!;
    // Metric sorts put devices without metrics last both ways: "lowest CPU" should not start with silent devices.
    const nullsLast = descending || sort.metric;
    const ids = this.db.manager().createQueryBuilder().from('devices', 'd').select('d.id', 'id');
    const onlineSince = new Date(Date.now() - offlineAfterMs);
    if (filter.connectivity === 'never_seen') ids.andWhere('d.last_heartbeat_at IS NULL');
    if (filter.connectivity === 'online') ids.andWhere(`d.status = 'active' AND d.last_heartbeat_at >= :onlineSince`, { onlineSince });
    if (filter.connectivity === 'offline')
      ids.andWhere(`d.last_heartbeat_at IS NOT NULL AND (d.status <> 'active' OR d.last_heartbeat_at < :onlineSince)`, { onlineSince });
    if (filter.quarantined === 'true') ids.andWhere('d.quarantined_at IS NOT NULL');
    if (filter.quarantined === 'false') ids.andWhere('d.quarantined_at IS NULL');
    if (filter.organizationId) ids.andWhere('d.organization_id = :organizationId', { organizationId: filter.organizationId });
    if (filter.siteId) ids.andWhere('d.site_id = :siteId', { siteId: filter.siteId });
    if (filter.type) ids.andWhere('d.type = :type', { type: filter.type });
    if (filter.status) ids.andWhere('d.status = :status', { status: filter.status });
    if (filter.q) {
      ids.andWhere(`(d.name ILIKE :q ESCAPE '\\' OR d.hostname ILIKE :q ESCAPE '\\' OR d.overlay_address ILIKE :q ESCAPE '\\')`, {
        q: likePattern(filter.q),
      });
    }
    const counted = ids
      .clone()
      .select('COUNT(*)::int', 'n')
      .getRawOne<{ n: number }>()
      .then((r) => r?.n ?? 0);
    if (after) ids.andWhere(afterSql(sort.column, sort.type, descending, nullsLast, after.key), { afterKey: after.key, afterId: after.id });
    ids.addSelect(keyTextSql(sort.column, sort.type), 'k');
    const order = (reversed: boolean) =>
      ids
        .orderBy(sort.column, descending !== reversed ? 'DESC' : 'ASC', nullsLast !== reversed ? 'NULLS LAST' : 'NULLS FIRST')
        .addOrderBy('d.id', reversed ? 'DESC' : 'ASC');

    let shown: Array<{ id: string; k: string | null }>;
    let more: boolean;
    const total = !after && filter.offset >= DEEP_OFFSET ? await counted : null;
    if (total !== null && filter.offset > total / 2) {
      // A deep offset in the back half is read from the end (the same index scanned backwards), so
      // the last page costs what the first does instead of a walk over every row before it.
      const count = Math.max(0, Math.min(filter.limit, total - filter.offset));
      const page: Array<{ id: string; k: string | null }> = count
        ? await order(true)
            .limit(count)
            .offset(total - filter.offset - count)
            .getRawMany()
        : [];
      shown = page.reverse();
      more = filter.offset + shown.length < total;
    } else {
      const page: Array<{ id: string; k: string | null }> = await order(false)
        .limit(filter.limit + 1)
        .offset(after ? 0 : filter.offset)
        .getRawMany();
      more = page.length > filter.limit;
      shown = page.slice(0, filter.limit);
    }
    const items = shown.length ? await this.viewsByIds(shown.map((r) => r.id)) : [];
    const lastRow = shown.at(-1);
    return { items, total: total ?? (await counted), last: lastRow ? { key: lastRow.k, id: lastRow.id } : null, more };
  }

  /**
   * The full rows of these devices, in the order of `ids` (a device deleted meanwhile is left out).
   * Every list page runs this statement: it is prepared once per connection (its planning cost as
   * much as running it for a page) and its rows are mapped to entities by the entity's columns.
   */
  private async viewsByIds(ids: string[]): Promise<DeviceView[]> {
    const statement = (this.views ??= this.viewsStatement());
    const raw = await this.db.prepared<Record<string, unknown> & HeadlineRaw>(VIEWS_STATEMENT, statement.text, [ids]);
    const entities = raw.map((row) => {
      const entity = statement.metadata.create() as DeviceEntity;
      for (const column of statement.columns) (entity as unknown as Record<string, unknown>)[column.propertyName] = row[column.alias];
      return entity;
    });
    const byId = new Map(FleetViewRepository.attachHeadline(entities, raw).map((d) => [d.id, d]));
    return ids.map((id) => byId.get(id)).filter((d): d is DeviceView => d !== undefined);
  }

  private views: { text: string; metadata: EntityMetadata; columns: Array<{ propertyName: string; alias: string }> } | undefined;

  /** The rows statement of viewsByIds, from the same query builder as a single view (so both select the same). */
  private viewsStatement() {
    const [text] = this.withHeadline().where('d.id = ANY(:ids::uuid[])', { ids: [] }).getQueryAndParameters();
    const metadata = this.db.dataSource.getMetadata(DeviceEntityClass);
    const columns = metadata.columns.filter((c) => c.isSelect).map((c) => ({ propertyName: c.propertyName, alias: `d_${c.databaseName}` }));
    return { text, metadata, columns };
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
      // The group commit's headline columns (the same numbers as the documents', without reading a
      // document per device), read bounded: a row stored before the bounds must not fail the summary.
      `WITH h AS MATERIALIZED (
         SELECT d.id, d.name, t.sampled_at, ${clampSql('d.headline_cpu_percent', 100)} AS cpu,
                ${clampSql('d.headline_mem_percent', 100)} AS mem, ${clampSql('d.headline_disk_percent', 100)} AS disk
           FROM devices d JOIN device_telemetry t ON t.device_id = d.id
          WHERE d.status = 'active' AND d.last_heartbeat_at >= $1 AND d.headline_cpu_percent IS NOT NULL AND ${SCOPE_SQL}
       )
       (SELECT 'cpu' AS metric, id, name, cpu AS value, sampled_at AS "sampledAt" FROM h WHERE cpu IS NOT NULL ORDER BY cpu DESC, name, id LIMIT $5)
       UNION ALL
       (SELECT 'mem', id, name, mem, sampled_at FROM h WHERE mem IS NOT NULL ORDER BY mem DESC, name, id LIMIT $5)
       UNION ALL
       (SELECT 'disk', id, name, disk, sampled_at FROM h WHERE disk IS NOT NULL ORDER BY disk DESC, name, id LIMIT $5)`,
      [onlineSince, ...scopeParams(scope), limit],
    );
    return rows.map((r) => ({ ...r, value: Number(r.value) }));
  }
}

/**
 * The rows after `key`/`afterId` in the order (column direction NULLS placement, id ASC); a NULL
 * key is a position among the devices without one. Where no NULLs follow, a plain bound on the
 * column comes first so the sort's index starts at the position. Values are parameters
 * (:afterKey, :afterId); only the column and its type are interpolated.
 */
function afterSql(column: string, type: string, descending: boolean, nullsLast: boolean, key: string | null): string {
  const k = `CAST(:afterKey AS ${type})`;
  const id = 'd.id > CAST(:afterId AS uuid)';
  if (key === null) return nullsLast ? `(${column} IS NULL AND ${id})` : `((${column} IS NULL AND ${id}) OR ${column} IS NOT NULL)`;
  const op = descending ? '<' : '>';
  const past = `(${column} ${op} ${k} OR (${column} = ${k} AND ${id}))`;
  return nullsLast ? `(${past} OR ${column} IS NULL)` : `(${column} ${op}= ${k} AND ${past})`;
}
