'use client';

import { ScannerPageSchema, SCANNER_LIST_FILTERS, type ScannerRow } from '@xspectre/contracts';
import Link from 'next/link';
import { useRef } from 'react';
import { TimeAgo } from '../../../components/device-badges';
import { PageHeader } from '../../../components/page-header';
import { ContainerStrip, FeedAge, LevelPercent, SeverityCounts } from '../../../components/scanner-ui';
import { FILTER_LABELS, dockerDataLevel, redisMemoryLevel, scannerFilterOf } from '../../../components/scanner-view';
import { Badge, Card, Empty, Field, Forbidden, Loading, Pager, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { liveDeviceEvents } from '../../../lib/live-events';
import { useOrganizationsAndSites } from '../../../lib/reference-data';
import { useSession } from '../../../lib/session';
import { useResource, type Resource } from '../../../lib/use-api';
import { useCoalesced } from '../../../lib/use-coalesced';
import { useLive, useLiveSubscription } from '../../../lib/use-live';
import { useUrlState } from '../../../lib/use-url-state';
import styles from './scanner-ops.module.css';

const PAGE = 50;
/** Short names for the versions column (the full name is each entry's tooltip): the table must fit a laptop's width. */
const SHORT_SERVICE: Record<string, string> = { 'ospd-openvas': 'ospd', 'redis-server': 'redis', 'pg-gvm': 'pg' };
/** A scanner's report lands after its heartbeat's commit (off the request path): read a moment later. */
const RELOAD_DELAY_MS = 1500;

function When({ iso, never = 'never' }: { iso: string | null; never?: string }) {
  return <TimeAgo iso={iso} never={never} />;
}

function Row({ row, orgName, siteName }: { row: ScannerRow; orgName?: string; siteName?: string }) {
  const scanner = row.coreContainers.find((c) => c.service === 'ospd-openvas' || c.service === 'openvasd');
  const alerts = row.openAlerts.critical + row.openAlerts.warning + row.openAlerts.info;
  const versions = Object.entries(row.versions);
  return (
    <tr data-device-id={row.deviceId} data-stale={row.stale} className={row.stale ? styles.stale : undefined}>
      <td>
        <Link href={`/devices/${row.deviceId}/scanner`} className={styles.name}>
          {row.deviceName}
        </Link>
        {row.stale && (
          <>
            {' '}
            <Badge tone="neutral" title={`The last report was collected at ${row.collectedAt}: older than two polls`}>
              <span data-testid="stale">stale</span>
            </Badge>
          </>
        )}
        <div className={styles.sub}>
          {row.organizationName || orgName || '…'} / {row.siteName || siteName || '…'}
        </div>
      </td>
      <td>
        <div className={styles.stack}>
          <span data-testid="gmp-state">
            {row.gmpReachable ? (
              <Badge tone="ok">GMP {row.gmpVersion ?? 'ok'}</Badge>
            ) : (
              <Badge tone="bad" title={row.gmpError ?? undefined}>
                GMP {row.gmpError ?? 'unreachable'}
              </Badge>
            )}
          </span>
          <span data-testid="scanner-state">
            {scanner ? (
              <Badge tone={scanner.state === 'running' ? 'ok' : 'bad'} title={`${scanner.service}: ${scanner.state}`}>
                scanner {scanner.state}
              </Badge>
            ) : (
              <span className={uiStyles.faint}>scanner —</span>
            )}
          </span>
        </div>
      </td>
      <td>
        <div className={styles.stack} data-testid="feeds">
          {row.feeds.length === 0 ? (
            <FeedAge type="NVT" version={row.nvtFeedVersion} at={row.nvtFeedAt} />
          ) : (
            row.feeds.map((f) => <FeedAge key={f.type} type={f.type} version={f.version} at={f.at} />)
          )}
          {row.feedsSyncing && (
            <Badge tone="info">
              <span data-testid="syncing">syncing</span>
            </Badge>
          )}
        </div>
      </td>
      <td className={styles.nowrap}>
        <div className={styles.stack} data-testid="tasks">
          <span>{row.tasksRunning} running</span>
          <span>{row.tasksQueued} queued</span>
        </div>
      </td>
      <td className={styles.nowrap}>
        <div className={styles.stack}>
          <span>
            <span className={styles.label}>last</span>{' '}
            <span data-testid="last-scan">
              <When iso={row.lastFinishedScanAt} />
            </span>
          </span>
          <span>
            <span className={styles.label}>next</span>{' '}
            <span data-testid="next-run">
              <When iso={row.nextRunAt} never="none" />
            </span>
          </span>
        </div>
      </td>
      <td>
        <SeverityCounts counts={row.severityLastWeek} />
      </td>
      <td>
        <ContainerStrip containers={row.coreContainers} />
      </td>
      <td className={styles.nowrap}>
        <div className={styles.stack}>
          <span>
            <span className={styles.label}>disk</span>{' '}
            <LevelPercent value={row.dockerDataUsedPercent} level={dockerDataLevel(row.dockerDataUsedPercent)} testId="docker-data" />
          </span>
          <span>
            <span className={styles.label}>redis</span>{' '}
            <LevelPercent value={row.redisMemoryPercent} level={redisMemoryLevel(row.redisMemoryPercent)} testId="redis-memory" />
          </span>
        </div>
      </td>
      <td>
        <div className={styles.versions} data-testid="versions">
          {versions.length === 0 ? (
            <span className={uiStyles.faint}>—</span>
          ) : (
            versions.map(([service, tag]) => (
              <span key={service} title={`${service}: ${tag}`}>
                <span className={styles.label}>{SHORT_SERVICE[service] ?? service}</span> <code>{tag}</code>
              </span>
            ))
          )}
          {row.versionDrift && (
            <Badge tone="warn" title="A core container runs an older image than the fleet's newest">
              <span data-testid="drift">drift</span>
            </Badge>
          )}
        </div>
      </td>
      <td data-testid="open-alerts">
        {alerts === 0 ? (
          <span className={uiStyles.faint}>none</span>
        ) : (
          <Link href={`/devices/${row.deviceId}/alerts`}>
            <Badge tone={row.openAlerts.critical > 0 ? 'bad' : row.openAlerts.warning > 0 ? 'warn' : 'info'}>{alerts} open</Badge>
          </Link>
        )}
      </td>
    </tr>
  );
}

/**
 * Keeps the page current: the scanners on screen are followed (their heartbeats carry the GMP
 * reports), a heartbeat, connectivity change or scanner alert of one of them reads the page
 * again, coalesced like the other lists (useCoalesced); a new scanner anywhere does too.
 */
function useLiveScanners<T extends { items: ScannerRow[] }>(page: Resource<T>): void {
  const ids = page.data?.items.map((r) => r.deviceId) ?? [];
  useLiveSubscription(ids);
  const latest = useRef(page);
  latest.current = page;
  const reload = useCoalesced(() => latest.current.reload(), RELOAD_DELAY_MS);
  useLive(
    (message) => {
      const shown = new Set(latest.current.data?.items.map((r) => r.deviceId) ?? []);
      if (message.type === 'devices.changed') {
        if (message.devices.some((p) => shown.has(p.id) && (p.lastSequence !== undefined || p.connectivity !== undefined))) reload();
      } else if (message.type === 'alert.changed') {
        if (message.alert.kind === 'scanner') reload();
      } else if (liveDeviceEvents(message).some(({ event }) => event.type === 'device.enrolled' || event.type === 'device.retired')) {
        reload();
      }
    },
    () => reload.resync(),
  );
}

/**
 * The fleet's scanners (`GET scanners`): one row per scanner with its Greenbone state as its last
 * GMP report says; filters and the page in the URL; a row opens the scanner's tab.
 */
export function ScannerOps() {
  const { can } = useSession();
  const [params, setParams] = useUrlState();
  const refs = useOrganizationsAndSites();
  const filter = scannerFilterOf(params.get('filter'));
  const organizationId = params.get('organizationId') ?? undefined;
  const siteId = params.get('siteId') ?? undefined;
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const allowed = can('devices.view');
  const key = allowed ? JSON.stringify(['scanners', filter, organizationId, siteId, offset]) : null;
  const page = useResource(key, (signal) =>
    api('scanners', { query: { limit: PAGE, offset, filter, organizationId, siteId }, schema: ScannerPageSchema, signal }),
  );
  useLiveScanners(page);
  if (!allowed) return <Forbidden permission="devices.view" what="see scanners" />;
  const orgs = refs.data?.organizations ?? [];
  const sites = (refs.data?.sites ?? []).filter((s) => !organizationId || s.organizationId === organizationId);
  const anyFilter = Boolean(filter || organizationId || siteId);

  return (
    <>
      <PageHeader
        title="Scanner Ops"
        subtitle="Every Greenbone scanner as its last GMP report says: feeds, scans, core containers, disk and versions. Results stay on the scanners."
      />
      <Card>
        <div className={styles.filters} role="search">
          <Field label="Show">
            <select value={filter ?? ''} onChange={(e) => setParams({ filter: e.target.value || null })} aria-label="Filter scanners">
              <option value="">All scanners</option>
              {SCANNER_LIST_FILTERS.map((f) => (
                <option key={f} value={f}>
                  {FILTER_LABELS[f]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Organization">
            <select value={organizationId ?? ''} onChange={(e) => setParams({ organizationId: e.target.value || null, siteId: null })}>
              <option value="">All</option>
              {orgs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Site">
            <select value={siteId ?? ''} onChange={(e) => setParams({ siteId: e.target.value || null })}>
              <option value="">All</option>
              {sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </Field>
          {page.data && (
            <span className={styles.count} data-testid="scanner-count">
              {page.data.total} scanner{page.data.total === 1 ? '' : 's'}
              {anyFilter ? ' match' : ''}
            </span>
          )}
        </div>
        {page.data === undefined ? (
          page.error ? (
            <ProblemView error={page.error} onRetry={page.reload} />
          ) : (
            <Loading label="Loading scanners…" />
          )
        ) : (
          <>
            {page.error ? <ProblemView error={page.error} onRetry={page.reload} /> : null}
            {page.data.items.length === 0 ? (
              <Empty>
                {anyFilter ? 'No scanner matches these filters.' : 'No scanner has sent a GMP report yet (agents report every 10 minutes).'}
              </Empty>
            ) : (
              <>
                <table className={`${uiStyles.table} ${styles.table}`} data-testid="scanners-table">
                  <thead>
                    <tr>
                      <th>Scanner</th>
                      <th>GMP / scanner</th>
                      <th>Feed age</th>
                      <th>Tasks</th>
                      <th title="The last finished scan and the next scheduled run">Scans</th>
                      <th title="Results of reports that finished in the last 7 days">Last 7 days</th>
                      <th title="gvmd, ospd-openvas, redis-server, pg-gvm, openvasd">Core</th>
                      <th title="Docker's data filesystem used; redis-server's memory as a share of the host's RAM">Disk · Redis</th>
                      <th>Versions</th>
                      <th>Alerts</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.items.map((row) => (
                      <Row
                        key={row.deviceId}
                        row={row}
                        orgName={refs.data?.orgById.get(row.organizationId)?.name}
                        siteName={refs.data?.siteById.get(row.siteId)?.name}
                      />
                    ))}
                  </tbody>
                </table>
                <Pager
                  total={page.data.total}
                  limit={PAGE}
                  offset={offset}
                  onOffset={(o) => setParams({ offset: o ? String(o) : null }, false)}
                />
              </>
            )}
          </>
        )}
      </Card>
    </>
  );
}
