'use client';

import { DEVICE_STATUSES, DEVICE_TYPES, DevicePageSchema, type Device } from '@xspectre/contracts';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { CommandActions, type CommandTarget } from '../../../components/command-actions';
import { ConnectivityBadge, QuarantineBadge, StatusBadge, TimeAgo, TunnelBadge } from '../../../components/device-badges';
import { PageHeader } from '../../../components/page-header';
import { Button, Card, Empty, Field, Loading, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { FIRST_PAGE, pageStartOf, type PageStart } from '../../../lib/cursor-trail';
import { dateTime, percent } from '../../../lib/format';
import { useOrganizationsAndSites } from '../../../lib/reference-data';
import { useSession } from '../../../lib/session';
import { useResource } from '../../../lib/use-api';
import { useLiveDevices } from '../../../lib/use-live-devices';
import { useUrlState } from '../../../lib/use-url-state';
import { CursorPager, useCursorPaging } from './cursor-pager';
import styles from './devices.module.css';

const PAGE_SIZE = 50;
const FILTER_KEYS = ['organizationId', 'siteId', 'type', 'status', 'connectivity', 'quarantined', 'q', 'sort'] as const;

function SortButton({
  column,
  label,
  sort,
  onSort,
  descendingFirst = false,
}: {
  column: string;
  label: string;
  sort: string;
  onSort: (s: string) => void;
  descendingFirst?: boolean;
}) {
  const active = sort === column || sort === `-${column}`;
  const descending = sort === `-${column}`;
  const first = descendingFirst ? `-${column}` : column;
  const second = descendingFirst ? column : `-${column}`;
  return (
    <button className={uiStyles.sortButton} onClick={() => onSort(active && sort === first ? second : first)} data-active={active}>
      {label} {active ? (descending ? '▼' : '▲') : ''}
    </button>
  );
}

function ariaSort(sort: string, columns: string[]): 'ascending' | 'descending' | 'none' {
  for (const c of columns) {
    if (sort === c) return 'ascending';
    if (sort === `-${c}`) return 'descending';
  }
  return 'none';
}

function SortHeader({ column, label, sort, onSort }: { column: string; label: string; sort: string; onSort: (s: string) => void }) {
  return (
    <th aria-sort={ariaSort(sort, [column])}>
      <SortButton column={column} label={label} sort={sort} onSort={onSort} />
    </th>
  );
}

const SORT_LABELS: Record<string, string> = {
  name: 'name',
  status: 'status',
  lastHeartbeatAt: 'last seen',
  createdAt: 'creation',
  enrolledAt: 'enrollment',
  cpu: 'CPU',
  memory: 'memory',
  disk: 'fullest disk',
};

/** CPU, RAM and disk share a column; each sorts on its own, highest first (devices without metrics last). */
const METRIC_SORTS = [
  { column: 'cpu', label: 'CPU' },
  { column: 'memory', label: 'RAM' },
  { column: 'disk', label: 'disk' },
];

function MetricsHeader({ sort, onSort }: { sort: string; onSort: (s: string) => void }) {
  return (
    <th
      aria-sort={ariaSort(
        sort,
        METRIC_SORTS.map((m) => m.column),
      )}
      data-testid="metrics-header"
    >
      {METRIC_SORTS.map((m, i) => (
        <span key={m.column}>
          {i > 0 && ' · '}
          <SortButton column={m.column} label={m.label} sort={sort} onSort={onSort} descendingFirst />
        </span>
      ))}
    </th>
  );
}

export function DeviceInventory() {
  const { can } = useSession();
  // The bulk selection, kept across pages and filters until cleared; refreshed from the page on screen.
  const [selection, setSelection] = useState<ReadonlyMap<string, CommandTarget>>(new Map());
  const [params, setParams] = useUrlState();
  const refs = useOrganizationsAndSites();
  const query = Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? undefined]));
  const sort = query.sort ?? 'name';
  const scope = JSON.stringify(query);
  // Pages by keyset cursor: deep pages cost the database what the first does. An old link's
  // `offset=` (no cursor) is still honoured for the page it names; Next continues by cursor.
  const at = pageStartOf(params.get('cursor'), params.get('offset'));
  const key = JSON.stringify([scope, at]);
  // Live updates reload this key: the same cursor page, not the first one.
  const devices = useResource(key, (signal) =>
    api('devices', { query: { ...query, sort, limit: PAGE_SIZE, ...at }, schema: DevicePageSchema, signal }).then((page) => ({
      ...page,
      key,
    })),
  );
  const filtered = Boolean(query.status || query.connectivity || query.quarantined || sort.includes('status'));
  useLiveDevices(devices, { filtered });
  const goTo = (start: PageStart) =>
    setParams(
      'cursor' in start ? { cursor: start.cursor, offset: null } : { cursor: null, offset: start.offset ? String(start.offset) : null },
      false,
    );
  const paging = useCursorPaging(scope, at, PAGE_SIZE, goTo);
  /** A filter or sort change starts again at the first page (useUrlState drops `offset`, this the cursor). */
  const setFilters = (changes: Record<string, string | null>) => setParams({ ...changes, cursor: null });

  // The search box updates the URL 300 ms after the last keystroke.
  const [q, setQ] = useState(query.q ?? '');
  const setParamsRef = useRef(setParams);
  setParamsRef.current = setParams;
  const urlQ = query.q ?? '';
  useEffect(() => {
    if (urlQ === q) return;
    const t = setTimeout(() => setParamsRef.current({ q: q || null, cursor: null }), 300);
    return () => clearTimeout(t);
  }, [q, urlQ]);

  const orgs = refs.data?.organizations ?? [];
  const sites = (refs.data?.sites ?? []).filter((s) => !query.organizationId || s.organizationId === query.organizationId);
  const anyFilter = FILTER_KEYS.some((k) => k !== 'sort' && query[k]);
  // Checkboxes only for operators who may ask for actions at all.
  const selectable = can('devices.manage');
  const targetOf = (d: Device): CommandTarget => ({
    id: d.id,
    name: d.name,
    status: d.status,
    quarantine: d.quarantine,
    ownerKind: refs.data?.orgById.get(d.organizationId)?.kind,
  });
  const onPage = devices.data?.items ?? [];
  const targets = [...selection.values()].map((t) => {
    const fresh = onPage.find((d) => d.id === t.id);
    return fresh ? targetOf(fresh) : t;
  });
  const pageSelected = onPage.filter((d) => selection.has(d.id)).length;
  function toggle(d: Device, on: boolean) {
    setSelection((old) => {
      const next = new Map(old);
      if (on) next.set(d.id, targetOf(d));
      else next.delete(d.id);
      return next;
    });
  }
  function togglePage(on: boolean) {
    setSelection((old) => {
      const next = new Map(old);
      for (const d of onPage) {
        if (on) next.set(d.id, targetOf(d));
        else next.delete(d.id);
      }
      return next;
    });
  }

  return (
    <>
      <PageHeader
        title="Devices"
        subtitle={
          devices.data
            ? `${devices.data.total} device${devices.data.total === 1 ? '' : 's'}${anyFilter ? (devices.data.total === 1 ? ' matches the filters' : ' match the filters') : ''} · sorted by ${SORT_LABELS[sort.replace(/^-/, '')] ?? sort}${sort.startsWith('-') ? ', descending' : ''}`
            : ' '
        }
        actions={
          can('devices.manage') && (
            <Link href="/enroll" className={`${uiStyles.button} ${uiStyles.primary}`}>
              + Enroll a device
            </Link>
          )
        }
      />
      {selectable && targets.length > 0 && (
        <div className={styles.bulkBar} role="region" aria-label="Selected devices" data-testid="bulk-bar">
          <strong>
            {targets.length} device{targets.length === 1 ? '' : 's'} selected
          </strong>
          <span className={styles.bulkNames}>{targets.map((t) => t.name).join(', ')}</span>
          <CommandActions targets={targets} label={targets.length === 1 ? 'Actions' : 'Bulk actions'} />
          <Button size="small" onClick={() => setSelection(new Map())}>
            Clear selection
          </Button>
        </div>
      )}
      <Card>
        <div className={styles.filters} role="search">
          <Field label="Search">
            <input type="search" placeholder="Name or hostname" value={q} onChange={(e) => setQ(e.target.value)} maxLength={120} />
          </Field>
          <Field label="Organization">
            <select
              value={query.organizationId ?? ''}
              onChange={(e) => setFilters({ organizationId: e.target.value || null, siteId: null })}
            >
              <option value="">All</option>
              {orgs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Site">
            <select value={query.siteId ?? ''} onChange={(e) => setFilters({ siteId: e.target.value || null })}>
              <option value="">All</option>
              {sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Type">
            <select value={query.type ?? ''} onChange={(e) => setFilters({ type: e.target.value || null })}>
              <option value="">All</option>
              {DEVICE_TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </Field>
          <Field label="Status">
            <select value={query.status ?? ''} onChange={(e) => setFilters({ status: e.target.value || null })}>
              <option value="">All</option>
              {DEVICE_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
          <Field label="Connectivity">
            <select value={query.connectivity ?? ''} onChange={(e) => setFilters({ connectivity: e.target.value || null })}>
              <option value="">All</option>
              <option value="online">online</option>
              <option value="offline">offline</option>
              <option value="never_seen">never seen</option>
            </select>
          </Field>
          <Field label="Quarantine">
            <select value={query.quarantined ?? ''} onChange={(e) => setFilters({ quarantined: e.target.value || null })}>
              <option value="">All</option>
              <option value="true">quarantined</option>
              <option value="false">not quarantined</option>
            </select>
          </Field>
          <Button
            onClick={() => {
              setQ('');
              setFilters(Object.fromEntries(FILTER_KEYS.map((k) => [k, null])));
            }}
            disabled={!anyFilter}
          >
            Clear
          </Button>
        </div>
        {devices.error ? (
          <ProblemView
            error={devices.error}
            onRetry={devices.reload}
            // A stale or foreign cursor (another sort, an old link) is refused: offer the way out.
            action={'cursor' in at && <Button onClick={() => goTo(FIRST_PAGE)}>First page</Button>}
          />
        ) : !devices.data ? (
          <Loading label="Loading devices…" />
        ) : devices.data.items.length === 0 && !('cursor' in at) ? (
          <Empty>{anyFilter ? 'No device matches these filters.' : 'No devices yet. Enroll the first one.'}</Empty>
        ) : (
          <div className={styles.tableWrap}>
            <table className={uiStyles.table} data-testid="device-table" aria-busy={devices.loading}>
              <thead>
                <tr>
                  {selectable && (
                    <th className={styles.check}>
                      <input
                        type="checkbox"
                        aria-label="Select every device on this page"
                        checked={pageSelected > 0 && pageSelected === onPage.length}
                        ref={(el) => {
                          if (el) el.indeterminate = pageSelected > 0 && pageSelected < onPage.length;
                        }}
                        onChange={(e) => togglePage(e.target.checked)}
                      />
                    </th>
                  )}
                  <SortHeader column="name" label="Name" sort={sort} onSort={(s) => setFilters({ sort: s })} />
                  <th>Organization / site</th>
                  <th>Type</th>
                  <SortHeader column="status" label="Status" sort={sort} onSort={(s) => setFilters({ sort: s })} />
                  <th>Connectivity</th>
                  <SortHeader column="lastHeartbeatAt" label="Last seen" sort={sort} onSort={(s) => setFilters({ sort: s })} />
                  <MetricsHeader sort={sort} onSort={(s) => setFilters({ sort: s })} />
                  <th>Overlay</th>
                  <th>Tunnel</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.items.map((d) => (
                  <DeviceRow
                    key={d.id}
                    device={d}
                    org={refs.data?.orgById.get(d.organizationId)?.name}
                    site={refs.data?.siteById.get(d.siteId)?.name}
                    selected={selectable ? selection.has(d.id) : undefined}
                    onSelect={(on) => toggle(d, on)}
                  />
                ))}
              </tbody>
            </table>
            {/* A later page emptied meanwhile keeps its pager: Previous leads back. */}
            {devices.data.items.length === 0 && <Empty>No more devices after the previous page.</Empty>}
            <CursorPager
              paging={paging}
              shown={devices.data.items.length}
              total={devices.data.total}
              nextCursor={devices.data.nextCursor}
              busy={devices.data.key !== key}
            />
          </div>
        )}
      </Card>
    </>
  );
}

function DeviceRow({
  device,
  org,
  site,
  selected,
  onSelect,
}: {
  device: Device;
  org?: string;
  site?: string;
  /** undefined: no checkbox (the role asks for no actions). */
  selected?: boolean;
  onSelect: (on: boolean) => void;
}) {
  const metrics = device.metrics;
  return (
    <tr data-device-id={device.id} aria-selected={selected}>
      {selected !== undefined && (
        <td className={styles.check}>
          <input type="checkbox" aria-label={`Select ${device.name}`} checked={selected} onChange={(e) => onSelect(e.target.checked)} />
        </td>
      )}
      <td>
        <Link href={`/devices/${device.id}`} className={styles.name}>
          {device.name}
        </Link>
        <span className={styles.sub} data-testid="hostname">
          {device.hostname ?? '—'}
        </span>
      </td>
      <td>
        {org ?? '…'}
        <span className={styles.sub}>{site ?? ''}</span>
      </td>
      <td>{device.type}</td>
      <td>
        <StatusBadge status={device.status} /> <QuarantineBadge quarantine={device.quarantine} />
      </td>
      <td>
        <ConnectivityBadge connectivity={device.connectivity} />
      </td>
      <td>
        <TimeAgo iso={device.lastHeartbeatAt} />
      </td>
      <td
        className={styles.metricsCell}
        data-testid="metrics"
        title={device.metricsSampledAt ? `sampled ${dateTime(device.metricsSampledAt)}` : undefined}
      >
        {metrics ? `${percent(metrics.cpuPercent)} · ${percent(metrics.memUsedPercent)} · ${percent(metrics.diskUsedPercentMax)}` : '—'}
      </td>
      <td className="mono">{device.tunnel.overlayAddress ?? '—'}</td>
      <td>
        <TunnelBadge device={device} />
      </td>
    </tr>
  );
}
