'use client';

import { DevicePageSchema, type Device, type DeviceLiveMetrics } from '@xspectre/contracts';
import Link from 'next/link';
import { useState } from 'react';
import { ConnectivityBadge, TimeAgo } from '../../components/device-badges';
import { PageHeader } from '../../components/page-header';
import { Card, Empty, Loading, ProblemView, uiStyles } from '../../components/ui';
import { api, type Query } from '../../lib/api-client';
import { percent } from '../../lib/format';
import { useOrganizationsAndSites } from '../../lib/reference-data';
import { useResource } from '../../lib/use-api';
import { useLive } from '../../lib/use-live';
import { useLiveDevices } from '../../lib/use-live-devices';
import styles from './overview.module.css';

/** The fleet sample behind "billable per customer", "recent enrollments" and the health strip. */
const SAMPLE_LIMIT = 500;

const COUNTS: Array<{ key: string; label: string; query: Query; tone?: 'ok' | 'bad' | 'warn' }> = [
  { key: 'total', label: 'Devices', query: {} },
  { key: 'online', label: 'Online', query: { connectivity: 'online' }, tone: 'ok' },
  { key: 'offline', label: 'Offline', query: { connectivity: 'offline' }, tone: 'bad' },
  { key: 'quarantined', label: 'Quarantined', query: { quarantined: 'true' }, tone: 'warn' },
  { key: 'pending', label: 'Pending enrollment', query: { status: 'pending' } },
];

function devicesLink(query: Query): string {
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const qs = params.toString();
  return qs ? `/devices?${qs}` : '/devices';
}

async function loadOverview(signal: AbortSignal) {
  // Exact counts from the list's `total` (limit 1): one request per number, independent of fleet size.
  const counts = await Promise.all(
    COUNTS.map((c) => api('devices', { query: { ...c.query, limit: 1 }, schema: DevicePageSchema, signal }).then((p) => p.total)),
  );
  const active = await api('devices', {
    query: { status: 'active', sort: '-createdAt', limit: SAMPLE_LIMIT },
    schema: DevicePageSchema,
    signal,
  });
  return { counts: Object.fromEntries(COUNTS.map((c, i) => [c.key, counts[i] ?? 0])), items: active.items, activeTotal: active.total };
}

export function Overview() {
  const overview = useResource('overview', loadOverview);
  const refs = useOrganizationsAndSites();
  useLiveDevices(overview, { filtered: true });
  const [metrics, setMetrics] = useState<Record<string, DeviceLiveMetrics>>({});
  useLive((m) => {
    if (m.type !== 'devices.changed') return;
    const fresh = m.devices.filter((p) => p.metrics);
    if (fresh.length) setMetrics((old) => ({ ...old, ...Object.fromEntries(fresh.map((p) => [p.id, p.metrics!])) }));
  });

  if (overview.error) return <ProblemView error={overview.error} onRetry={overview.reload} />;
  if (!overview.data) return <Loading label="Loading the fleet…" />;
  const { counts, items, activeTotal } = overview.data;

  const billable = new Map<string, number>();
  for (const d of items) if (d.billable) billable.set(d.organizationId, (billable.get(d.organizationId) ?? 0) + 1);
  const customers = (refs.data?.organizations ?? []).filter((o) => o.kind === 'customer').sort((a, b) => a.name.localeCompare(b.name));
  const recent = [...items]
    .filter((d) => d.enrolledAt)
    .sort((a, b) => Date.parse(b.enrolledAt!) - Date.parse(a.enrolledAt!))
    .slice(0, 6);

  return (
    <>
      <PageHeader title="Overview" subtitle="The fleet at a glance. Every number opens the matching device list." />
      <div className={styles.stats}>
        {COUNTS.map((c) => (
          <Link
            key={c.key}
            href={devicesLink(c.query)}
            className={`${styles.stat} ${!counts[c.key] ? '' : c.tone === 'ok' ? styles.statOk : c.tone === 'bad' ? styles.statBad : c.tone === 'warn' ? styles.statWarn : ''}`}
            data-testid={`count-${c.key}`}
          >
            <div className={styles.statValue}>{counts[c.key]}</div>
            <div className={styles.statLabel}>{c.label}</div>
          </Link>
        ))}
      </div>
      <Card
        title="Fleet health"
        actions={<span className={uiStyles.muted}>worst of the active devices, from their latest heartbeats</span>}
      >
        <HealthStrip items={items} metrics={metrics} />
      </Card>
      <div className={styles.grid}>
        <Card title="Billable devices per customer">
          {activeTotal > SAMPLE_LIMIT && (
            <p className={uiStyles.muted}>Counted over the {SAMPLE_LIMIT} newest active devices (the API has no per-customer count yet).</p>
          )}
          {customers.length === 0 ? (
            <Empty>No customer organizations yet.</Empty>
          ) : (
            <table className={uiStyles.table}>
              <thead>
                <tr>
                  <th>Customer</th>
                  <th className={styles.right}>Billable active devices</th>
                </tr>
              </thead>
              <tbody>
                {customers.map((o) => (
                  <tr key={o.id}>
                    <td>{o.name}</td>
                    <td className={styles.right}>
                      <Link href={devicesLink({ organizationId: o.id, status: 'active' })}>{billable.get(o.id) ?? 0}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card
          title="Recent enrollments"
          actions={<Link href={devicesLink({ status: 'active', sort: '-createdAt' })}>All active devices →</Link>}
        >
          {recent.length === 0 ? (
            <Empty>No device has enrolled yet.</Empty>
          ) : (
            <table className={uiStyles.table}>
              <thead>
                <tr>
                  <th>Device</th>
                  <th>Enrolled</th>
                  <th>Connectivity</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((d) => (
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

function HealthStrip({ items, metrics }: { items: Device[]; metrics: Record<string, DeviceLiveMetrics> }) {
  const names = new Map(items.map((d) => [d.id, d.name]));
  const reporting = items.filter((d) => metrics[d.id]);
  const worst = (pick: (m: DeviceLiveMetrics) => number | null) => {
    let best: { id: string; value: number } | null = null;
    for (const d of reporting) {
      const v = pick(metrics[d.id]!);
      if (v !== null && (!best || v > best.value)) best = { id: d.id, value: v };
    }
    return best;
  };
  const rows = [
    { label: 'CPU', top: worst((m) => m.cpuPercent) },
    { label: 'Memory', top: worst((m) => m.memUsedPercent) },
    { label: 'Disk (fullest mount)', top: worst((m) => m.diskUsedPercentMax) },
  ];
  if (items.length === 0) return <Empty>No active devices.</Empty>;
  return (
    <>
      <div className={styles.health} data-testid="health-strip">
        {rows.map((r) => (
          <div key={r.label} className={styles.healthItem}>
            <div className={uiStyles.muted}>Worst {r.label}</div>
            {r.top ? (
              <>
                <div style={{ fontSize: 20, fontWeight: 600 }}>{percent(r.top.value)}</div>
                <div className={styles.bar}>
                  <div className={styles.barFill} style={{ width: `${Math.min(100, r.top.value)}%`, background: tone(r.top.value) }} />
                </div>
                <Link href={`/devices/${r.top.id}`}>{names.get(r.top.id)}</Link>
              </>
            ) : (
              <div className={uiStyles.faint} style={{ marginTop: 6 }}>
                waiting for heartbeats…
              </div>
            )}
          </div>
        ))}
      </div>
      <p className={uiStyles.faint} style={{ margin: '10px 0 0', fontSize: 12 }}>
        {reporting.length} of {items.length} active devices reported since this page opened.
      </p>
    </>
  );
}
