'use client';

import { DevicePageSchema, DeviceSummarySchema, type DeviceSummary } from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { ConnectivityBadge, TimeAgo } from '../../components/device-badges';
import { OpenAlertsCard } from '../../components/open-alerts';
import { PageHeader } from '../../components/page-header';
import { Card, Empty, Loading, ProblemView, uiStyles } from '../../components/ui';
import { api, type Query } from '../../lib/api-client';
import { billable, changesFleet, withLiveValues, worstDeviceIds, type LiveSample, type WorstMetric } from '../../lib/fleet-summary';
import { percent } from '../../lib/format';
import { useOrganizationsAndSites } from '../../lib/reference-data';
import { useResource } from '../../lib/use-api';
import { useLive, useLiveSubscription } from '../../lib/use-live';
import { useLiveDevices } from '../../lib/use-live-devices';
import { useCoalesced } from '../../lib/use-coalesced';
import { liveDeviceEvents } from '../../lib/live-events';
import styles from './overview.module.css';

/** Live changes to the fleet are gathered for this long before the summary is read again. */
const SUMMARY_DEBOUNCE_MS = 1500;
const RECENT_LIMIT = 6;

const COUNTS: Array<{ key: string; label: string; query: Query; value: (s: DeviceSummary) => number; tone?: 'ok' | 'bad' | 'warn' }> = [
  { key: 'total', label: 'Devices', query: {}, value: (s) => s.total },
  { key: 'online', label: 'Online', query: { connectivity: 'online' }, value: (s) => s.connectivity.online, tone: 'ok' },
  { key: 'offline', label: 'Offline', query: { connectivity: 'offline' }, value: (s) => s.connectivity.offline, tone: 'bad' },
  { key: 'quarantined', label: 'Quarantined', query: { quarantined: 'true' }, value: (s) => s.quarantined, tone: 'warn' },
  { key: 'pending', label: 'Pending enrollment', query: { status: 'pending' }, value: (s) => s.byStatus.pending },
];

const HEALTH: Array<{ metric: WorstMetric; label: string; short: string; sort: string }> = [
  { metric: 'cpuPercent', label: 'CPU', short: 'CPU', sort: '-cpu' },
  { metric: 'memUsedPercent', label: 'memory', short: 'memory', sort: '-memory' },
  { metric: 'diskUsedPercentMax', label: 'disk (fullest mount)', short: 'disk', sort: '-disk' },
];

function devicesLink(query: Query): string {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const qs = params.toString();
  return qs ? `/devices?${qs}` : '/devices';
}

/** The summary and when it was asked for (live heartbeats received later are newer than it). */
async function loadSummary(signal: AbortSignal) {
  const requestedAt = Date.now();
  const summary = await api('devices/summary', { schema: DeviceSummarySchema, signal });
  return { summary, requestedAt };
}

export function Overview() {
  const overview = useResource('overview-summary', loadSummary);
  const recent = useResource('overview-recent', (signal) =>
    api('devices', { query: { status: 'active', sort: '-enrolledAt', limit: RECENT_LIMIT }, schema: DevicePageSchema, signal }),
  );
  const refs = useOrganizationsAndSites();
  useLiveDevices(recent, { filtered: true });

  // Heartbeats of the devices in the health strip move its values between summary reads.
  const [live, setLive] = useState<Record<string, LiveSample>>({});
  useLiveSubscription(overview.data ? worstDeviceIds(overview.data.summary) : []);

  // Counts change with status, connectivity, quarantine and enrollment: read the summary again, debounced.
  const scheduleSummary = useCoalesced(overview.reload, SUMMARY_DEBOUNCE_MS);
  useLive((m) => {
    if (liveDeviceEvents(m).length > 0) {
      scheduleSummary();
      return;
    }
    if (m.type !== 'devices.changed') return;
    if (m.devices.some(changesFleet)) scheduleSummary();
    const fresh = m.devices.filter((p) => p.metrics);
    if (fresh.length) {
      const now = Date.now();
      setLive((old) => ({ ...old, ...Object.fromEntries(fresh.map((p) => [p.id, { metrics: p.metrics!, receivedAt: now }])) }));
    }
  }, scheduleSummary.resync);

  if (overview.error) return <ProblemView error={overview.error} onRetry={overview.reload} />;
  if (!overview.data) return <Loading label="Loading the fleet…" />;
  const { summary, requestedAt } = overview.data;
  const customers = billable(summary);

  return (
    <>
      <PageHeader title="Overview" subtitle="The fleet at a glance. Every number opens the matching device list." />
      <div className={styles.stats} aria-busy={overview.loading}>
        {COUNTS.map((c) => {
          const value = c.value(summary);
          return (
            <Link
              key={c.key}
              href={devicesLink(c.query)}
              className={`${styles.stat} ${!value ? '' : c.tone === 'ok' ? styles.statOk : c.tone === 'bad' ? styles.statBad : c.tone === 'warn' ? styles.statWarn : ''}`}
              data-testid={`count-${c.key}`}
            >
              <div className={styles.statValue}>{value}</div>
              <div className={styles.statLabel}>{c.label}</div>
            </Link>
          );
        })}
      </div>
      <OpenAlertsCard />
      <Card title="Fleet health" actions={<span className={uiStyles.muted}>online devices, newest heartbeats</span>}>
        {summary.connectivity.online === 0 ? (
          <Empty>No device is online.</Empty>
        ) : (
          <div className={styles.health} data-testid="health-strip">
            {HEALTH.map((h) => (
              <HealthItem
                key={h.metric}
                label={h.label}
                short={h.short}
                sort={h.sort}
                devices={withLiveValues(summary.worst[h.metric], h.metric, live, requestedAt)}
              />
            ))}
          </div>
        )}
      </Card>
      <div className={styles.grid}>
        <Card title="Billable devices per customer">
          {customers.rows.length === 0 ? (
            <Empty>No customer organizations yet.</Empty>
          ) : (
            <table className={uiStyles.table} data-testid="billable">
              <thead>
                <tr>
                  <th>Customer</th>
                  <th className={styles.right}>Active</th>
                  <th className={styles.right}>Online</th>
                  <th className={styles.right}>Pending</th>
                </tr>
              </thead>
              <tbody>
                {customers.rows.map((o) => (
                  <tr key={o.organizationId} data-organization-id={o.organizationId}>
                    <td>{o.name}</td>
                    <td className={styles.right}>
                      <Link href={devicesLink({ organizationId: o.organizationId, status: 'active' })} data-testid="billable-active">
                        {o.active}
                      </Link>
                    </td>
                    <td className={styles.right}>
                      <Link href={devicesLink({ organizationId: o.organizationId, connectivity: 'online' })}>{o.online}</Link>
                    </td>
                    <td className={styles.right}>
                      <Link href={devicesLink({ organizationId: o.organizationId, status: 'pending' })}>{o.pending}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
              {customers.rows.length > 1 && (
                <tfoot>
                  <tr>
                    <td>All customers</td>
                    <td className={styles.right} data-testid="billable-total">
                      {customers.active}
                    </td>
                    <td colSpan={2} />
                  </tr>
                </tfoot>
              )}
            </table>
          )}
        </Card>
        <Card
          title="Recent enrollments"
          actions={<Link href={devicesLink({ status: 'active', sort: '-enrolledAt' })}>All active devices →</Link>}
        >
          {recent.error ? (
            <ProblemView error={recent.error} onRetry={recent.reload} />
          ) : !recent.data ? (
            <Loading />
          ) : recent.data.items.length === 0 ? (
            <Empty>No device has enrolled yet.</Empty>
          ) : (
            <table className={uiStyles.table} data-testid="recent-enrollments">
              <thead>
                <tr>
                  <th>Device</th>
                  <th>Enrolled</th>
                  <th>Connectivity</th>
                </tr>
              </thead>
              <tbody>
                {recent.data.items.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Link href={`/devices/${d.id}`}>{d.name}</Link>
                      <div className={uiStyles.faint}>{refs.data?.orgById.get(d.organizationId)?.name ?? ''}</div>
                    </td>
                    <td>
                      <TimeAgo iso={d.enrolledAt} />
                    </td>
                    <td>
                      <ConnectivityBadge connectivity={d.connectivity} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </>
  );
}

function tone(value: number): string {
  return value >= 90 ? 'var(--bad)' : value >= 75 ? 'var(--warn)' : 'var(--ok)';
}

function HealthItem({
  label,
  short,
  sort,
  devices,
}: {
  label: string;
  short: string;
  sort: string;
  devices: DeviceSummary['worst'][WorstMetric];
}) {
  const [top, ...rest] = devices;
  return (
    <div className={styles.healthItem} data-testid={`health-${sort.slice(1)}`}>
      <div className={styles.healthHead}>
        <span className={uiStyles.muted}>Highest {label}</span>
        <Link href={devicesLink({ sort })} className={styles.healthAll}>
          all by {short} →
        </Link>
      </div>
      {top ? (
        <>
          <div className={styles.healthValue}>{percent(top.value)}</div>
          <div className={styles.bar}>
            <div className={styles.barFill} style={{ width: `${Math.min(100, top.value)}%`, background: tone(top.value) }} />
          </div>
          <Link href={`/devices/${top.id}`} className={styles.healthTop}>
            {top.name}
          </Link>
          {rest.length > 0 && (
            <ol className={styles.healthRest}>
              {rest.map((d) => (
                <li key={d.id}>
                  <Link href={`/devices/${d.id}`}>{d.name}</Link>
                  <span style={{ color: tone(d.value) }}>{percent(d.value)}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      ) : (
        <div className={uiStyles.faint} style={{ marginTop: 6 }}>
          no values reported
        </div>
      )}
    </div>
  );
}
