import { Injectable } from '@nestjs/common';
import { SCANNER_FEED_AGE_HOURS, type ScannerListQuery, type ScannerStats } from '@xspectre/contracts';
import { Database } from '../db/database.js';

/** An image reference's version tag as a comparable numeric[] (scanner-checks.ts versionOfImage, in SQL); NULL: not a version. */
function versionParts(image: string): string {
  const name = `regexp_replace(split_part(${image}, '@', 1), '^.*/', '')`;
  const tag = `substring(${name} from ':([^:]*)$')`;
  // Trailing zero parts dropped: 22.4 and 22.4.0 are the same version, as compareParts treats them.
  const digits = `regexp_replace(substring(${tag} from '^v?([0-9]+(?:[.][0-9]+)*)'), '([.]0+)+$', '')`;
  return `string_to_array(${digits}, '.')::numeric[]`;
}

/** A `YYYYMMDDhhmm` feed version that names a real-looking time (feedVersionTime checks the calendar exactly). */
const FEED_VERSION_RE = '^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9]$';

export interface ScannerFleetRecord {
  deviceId: string;
  deviceName: string;
  organizationId: string;
  organizationName: string;
  siteId: string;
  siteName: string;
  collectedAt: Date;
  receivedAt: Date;
  gmpReachable: boolean;
  gmpError: string | null;
  nvtFeedVersion: string | null;
  feedsSyncing: boolean;
  tasksRunning: number;
  tasksQueued: number;
  stats: ScannerStats;
  severityLastWeek: { critical: number; high: number; medium: number; low: number };
  openAlerts: { critical: number; warning: number; info: number };
  versionDrift: boolean;
}

export interface ScannerFleetFilter extends Pick<ScannerListQuery, 'filter' | 'organizationId' | 'siteId' | 'limit' | 'offset'> {
  stale?: boolean;
  staleBefore: Date;
  now: Date;
}

/** A row as the page statement returns it. */
interface FleetRow {
  device_id: string;
  device_name: string;
  organization_id: string;
  organization_name: string;
  site_id: string;
  site_name: string;
  collected_at: Date;
  received_at: Date;
  gmp_reachable: boolean;
  gmp_error: string | null;
  nvt_feed_version: string | null;
  feeds_syncing: boolean;
  tasks_running: number;
  tasks_queued: number;
  stats: ScannerStats;
  alerts_critical: number;
  alerts_warning: number;
  alerts_info: number;
  drift: boolean;
  week_critical: number;
  week_high: number;
  week_medium: number;
  week_low: number;
}

/** Idle: no scan finished in this long (and nothing running or queued). */
export const SCANNER_IDLE_DAYS = 8;

/**
 * The fleet view of scanners (GET scanners): each active scanner's latest report with its
 * organization, site, last week's severity counts, open scanner alerts and version drift, in one
 * statement per page, filters included, so totals and pages agree. Reads the scanner store's
 * tables (scanner_snapshots, scanner_report_counts) and alerts without writing them.
 */
@Injectable()
export class ScannerFleetRepository {
  constructor(private readonly db: Database) {}

  async page(filter: ScannerFleetFilter): Promise<{ items: ScannerFleetRecord[]; total: number }> {
    const params: unknown[] = [filter.staleBefore];
    const p = (value: unknown) => `$${params.push(value)}`;
    const where: string[] = [`d.status = 'active'`];
    if (filter.stale === true) where.push('s.collected_at < $1');
    if (filter.stale === false) where.push('s.collected_at >= $1');
    if (filter.organizationId) where.push(`d.organization_id = ${p(filter.organizationId)}`);
    if (filter.siteId) where.push(`d.site_id = ${p(filter.siteId)}`);
    switch (filter.filter) {
      case 'stale_feeds': {
        // A version compares as text with the cutoff's: both YYYYMMDDhhmm (UTC).
        const cut = (hours: number) => p(new Date(filter.now.getTime() - hours * 3600_000).toISOString().replace(/\D/g, '').slice(0, 12));
        const ages = Object.entries(SCANNER_FEED_AGE_HOURS)
          .map(([type, t]) => `(f->>'type' = ${p(type)} AND f->>'version' < ${cut(t.warning)})`)
          .join(' OR ');
        where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements(s.stats->'feeds') f
                             WHERE f->>'version' ~ '${FEED_VERSION_RE}' AND (${ages}))`);
        break;
      }
      case 'failing':
        where.push(`(NOT s.gmp_reachable
                     OR jsonb_typeof(s.stats->'gmp'->'error') = 'object'
                     OR EXISTS (SELECT 1 FROM jsonb_array_elements(s.stats->'scanners') sc WHERE sc->'reachable' = 'false'::jsonb)
                     OR EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(s.stats->'coreContainers', '[]'::jsonb)) c WHERE c->>'state' <> 'running')
                     OR a.critical + a.warning + a.info > 0)`);
        break;
      case 'idle':
        where.push(`s.tasks_running = 0 AND s.tasks_queued = 0
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s.stats->'tasks') t
                                     WHERE (t->'lastReport'->>'scanEndedAt')::timestamptz >= ${p(new Date(filter.now.getTime() - SCANNER_IDLE_DAYS * 86_400_000))})`);
        break;
      case 'version_drift':
        where.push('v.drift');
        break;
      case undefined:
        break;
    }
    const weekAgo = p(new Date(filter.now.getTime() - 7 * 86_400_000));
    const from = `
      WITH newest AS (
        SELECT c->>'service' AS service, max(${versionParts(`c->>'image'`)}) AS parts
          FROM scanner_snapshots s0
          JOIN devices d0 ON d0.id = s0.device_id AND d0.status = 'active'
          CROSS JOIN jsonb_array_elements(COALESCE(s0.stats->'coreContainers', '[]'::jsonb)) c
         WHERE s0.collected_at >= $1
         GROUP BY 1)
      SELECT %COLUMNS%
        FROM scanner_snapshots s
        JOIN devices d ON d.id = s.device_id
        JOIN organizations o ON o.id = d.organization_id
        JOIN sites si ON si.id = d.site_id
        CROSS JOIN LATERAL (
          SELECT count(*) FILTER (WHERE al.severity = 'critical')::int AS critical,
                 count(*) FILTER (WHERE al.severity = 'warning')::int AS warning,
                 count(*) FILTER (WHERE al.severity = 'info')::int AS info
            FROM alerts al WHERE al.device_id = s.device_id AND al.kind = 'scanner' AND al.state <> 'resolved') a
        CROSS JOIN LATERAL (
          SELECT COALESCE(sum((rc.counts->>'critical')::bigint), 0)::int AS critical, COALESCE(sum((rc.counts->>'high')::bigint), 0)::int AS high,
                 COALESCE(sum((rc.counts->>'medium')::bigint), 0)::int AS medium, COALESCE(sum((rc.counts->>'low')::bigint), 0)::int AS low
            FROM scanner_report_counts rc WHERE rc.device_id = s.device_id AND rc.scan_ended_at >= ${weekAgo}) w
        CROSS JOIN LATERAL (
          SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(s.stats->'coreContainers', '[]'::jsonb)) c
                           JOIN newest n ON n.service = c->>'service'
                          WHERE ${versionParts(`c->>'image'`)} < n.parts) AS drift) v
       WHERE ${where.join(' AND ')}`;
    const [counted] = await this.db.rows<{ total: number }>(from.replace('%COLUMNS%', 'count(*)::int AS total'), params);
    const total = counted?.total ?? 0;
    const columns = `s.device_id, d.name AS device_name, d.organization_id, o.name AS organization_name, d.site_id, si.name AS site_name,
        s.collected_at, s.received_at, s.gmp_reachable, s.gmp_error, s.nvt_feed_version, s.feeds_syncing, s.tasks_running, s.tasks_queued, s.stats,
        a.critical AS alerts_critical, a.warning AS alerts_warning, a.info AS alerts_info, v.drift,
        w.critical AS week_critical, w.high AS week_high, w.medium AS week_medium, w.low AS week_low`;
    const rows = await this.db.rows<FleetRow>(
      `${from.replace('%COLUMNS%', columns)} ORDER BY d.name, s.device_id LIMIT ${p(filter.limit)} OFFSET ${p(filter.offset)}`,
      params,
    );
    return {
      total,
      items: rows.map((r) => ({
        deviceId: r.device_id,
        deviceName: r.device_name,
        organizationId: r.organization_id,
        organizationName: r.organization_name,
        siteId: r.site_id,
        siteName: r.site_name,
        collectedAt: r.collected_at,
        receivedAt: r.received_at,
        gmpReachable: r.gmp_reachable,
        gmpError: r.gmp_error,
        nvtFeedVersion: r.nvt_feed_version,
        feedsSyncing: r.feeds_syncing,
        tasksRunning: r.tasks_running,
        tasksQueued: r.tasks_queued,
        stats: r.stats,
        severityLastWeek: { critical: r.week_critical, high: r.week_high, medium: r.week_medium, low: r.week_low },
        openAlerts: { critical: r.alerts_critical, warning: r.alerts_warning, info: r.alerts_info },
        versionDrift: r.drift,
      })),
    };
  }
}
