'use client';

import {
  AuditPageSchema,
  ConnectivityEventPageSchema,
  DeviceEventPageSchema,
  DeviceInventorySchema,
  DeviceTelemetrySchema,
  type Device,
  type DeviceTelemetry,
} from '@xspectre/contracts';
import Link from 'next/link';
import { TimeAgo } from '../../../../components/device-badges';
import { DiskHealthTable } from '../../../../components/disk-health-table';
import { Badge, Card, Empty, KeyValues, Loading, ProblemView, ShowMore, uiStyles, type Tone } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { bytes, dateTime, percent } from '../../../../lib/format';
import type { Resource } from '../../../../lib/use-api';
import { useResource } from '../../../../lib/use-api';
import { usePagedList, type PagedList } from '../../../../lib/use-paged-list';

const EVENTS_PAGE = 20;
const AUDIT_PAGE = 20;
const CONNECTIVITY_PAGE = 10;

/** A card over a newest-first list read a page at a time, with "Show more" under it. */
function PagedSection<T>({
  list,
  title,
  what,
  pageSize,
  empty,
  actions,
  children,
}: {
  list: PagedList<T>;
  title: string;
  what: string;
  pageSize: number;
  empty: string;
  actions?: React.ReactNode;
  children: (items: T[]) => React.ReactNode;
}) {
  return (
    <Card title={title} actions={actions}>
      {list.items === undefined ? (
        list.error ? (
          <ProblemView error={list.error} onRetry={list.reload} />
        ) : (
          <Loading />
        )
      ) : list.items.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <>
          {children(list.items)}
          {list.error ? <ProblemView error={list.error} onRetry={list.more} /> : null}
          <ShowMore
            shown={list.items.length}
            total={list.total}
            pageSize={pageSize}
            busy={list.loadingMore}
            onMore={list.more}
            what={what}
          />
        </>
      )}
    </Card>
  );
}

function stateTone(state: string): Tone {
  if (state === 'active' || state === 'running' || state === 'healthy') return 'ok';
  if (state === 'failed' || state === 'exited' || state === 'dead' || state === 'unhealthy') return 'bad';
  if (state === 'activating' || state === 'restarting' || state === 'starting' || state === 'reloading') return 'warn';
  return 'neutral';
}

function Section<T>({
  resource,
  title,
  children,
  actions,
}: {
  resource: Resource<T>;
  title: string;
  children: (data: T) => React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <Card title={title} actions={actions}>
      {resource.error ? (
        <ProblemView error={resource.error} onRetry={resource.reload} />
      ) : resource.data === undefined ? (
        <Loading />
      ) : (
        children(resource.data)
      )}
    </Card>
  );
}

export function TunnelCard({ device }: { device: Device }) {
  const t = device.tunnel;
  return (
    <Card title="Tunnel">
      <KeyValues
        rows={[
          [
            'Overlay address',
            <span className="mono" key="a">
              {t.overlayAddress ?? '—'}
            </span>,
          ],
          ['Last handshake', <TimeAgo key="h" iso={t.lastHandshakeAt} never="no handshake yet" />],
          ['Received', bytes(t.rxBytes)],
          ['Sent', bytes(t.txBytes)],
          [
            'Seen at (underlay)',
            <span className="mono" key="e">
              {t.endpoint ?? '—'}
            </span>,
          ],
          [
            'Public key',
            <span className="mono" key="k">
              {t.publicKey ?? '—'}
            </span>,
          ],
        ]}
      />
    </Card>
  );
}

export function useTelemetry(deviceId: string) {
  return useResource(`telemetry:${deviceId}`, (signal) => api(`devices/${deviceId}/telemetry`, { schema: DeviceTelemetrySchema, signal }));
}

export function ServicesCard({ telemetry }: { telemetry: Resource<DeviceTelemetry> }) {
  return (
    <Section
      resource={telemetry}
      title="Services"
      actions={
        telemetry.data?.sampledAt ? (
          <span className={uiStyles.faint}>
            reported <TimeAgo iso={telemetry.data.sampledAt} />
          </span>
        ) : null
      }
    >
      {(t) =>
        !t.services || t.services.length === 0 ? (
          <Empty>No watched or failed systemd units reported.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="services">
            <thead>
              <tr>
                <th>Unit</th>
                <th>State</th>
                <th>Since</th>
                <th>Watched</th>
              </tr>
            </thead>
            <tbody>
              {t.services.map((s) => (
                <tr key={s.unit}>
                  <td className="mono">{s.unit}</td>
                  <td>
                    <Badge tone={stateTone(s.activeState)}>
                      {s.activeState} / {s.subState}
                    </Badge>
                  </td>
                  <td>
                    <TimeAgo iso={s.since} never="—" />
                  </td>
                  <td>{s.watched ? 'yes' : 'failed, not watched'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Section>
  );
}

export function ContainersCard({ telemetry }: { telemetry: Resource<DeviceTelemetry> }) {
  return (
    <Section resource={telemetry} title="Containers">
      {(t) =>
        !t.docker ? (
          <Empty>No Docker report yet.</Empty>
        ) : t.docker.status === 'not_installed' ? (
          <Empty>Docker is not installed on this device.</Empty>
        ) : t.docker.status === 'error' ? (
          <ProblemView
            problem={{ type: 'about:blank', title: 'Docker could not be read', status: 0, detail: t.docker.error, code: 'DOCKER_ERROR' }}
          />
        ) : t.docker.containers.length === 0 ? (
          <Empty>No containers.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="containers">
            <thead>
              <tr>
                <th>Name</th>
                <th>Image</th>
                <th>State</th>
                <th>Restarts</th>
                <th>CPU</th>
                <th>Memory</th>
              </tr>
            </thead>
            <tbody>
              {t.docker.containers.map((c) => (
                <tr key={c.id}>
                  <td className="mono">{c.name}</td>
                  <td className="mono">{c.image}</td>
                  <td>
                    <Badge tone={stateTone(c.health ?? c.state)}>
                      {c.state}
                      {c.health ? ` (${c.health})` : ''}
                    </Badge>
                  </td>
                  <td>{c.restartCount}</td>
                  <td>{percent(c.cpuPercent)}</td>
                  <td>{bytes(c.memoryBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Section>
  );
}

export function InventoryCard({ deviceId, version }: { deviceId: string; version: number }) {
  const inventory = useResource(`inventory:${deviceId}:${version}`, (signal) =>
    api(`devices/${deviceId}/inventory`, { query: { limit: 20 }, schema: DeviceInventorySchema, signal }),
  );
  return (
    <Section resource={inventory} title="Inventory">
      {(inv) => {
        const cur = inv.current;
        if (!cur) return <Empty>The device has not reported its inventory yet.</Empty>;
        const i = cur.inventory;
        return (
          <div style={{ display: 'flex', flexDirection: 'column', gap: 16 }}>
            <KeyValues
              rows={[
                ['Vendor / model', `${i.vendor ?? '—'} ${i.model ?? ''}`],
                ['Serial', i.serial ?? '—'],
                ['CPU', `${i.cpu.model} (${i.cpu.cores} cores)`],
                ['Memory', bytes(i.ramBytes)],
                ['Disks', i.disks.map((d) => `${d.name} ${bytes(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}`).join(', ') || '—'],
                ['OS', `${i.os.name} ${i.os.version} (kernel ${i.os.kernel})`],
                ['Network', (i.nics ?? []).map((n) => `${n.name}${n.mac ? ` ${n.mac}` : ''} ${n.addresses.join(' ')}`).join(' · ') || '—'],
                ['Agent', i.agentVersion ?? '—'],
                ['Version', `#${cur.version}, reported ${dateTime(cur.reportedAt)}`],
              ]}
            />
            <DiskHealthTable health={inv.diskHealth} />
            <div>
              <h3 style={{ marginBottom: 6 }}>Hardware change history</h3>
              {inv.history.items.length === 0 ? (
                <Empty>No changes recorded.</Empty>
              ) : (
                <table className={uiStyles.table} data-testid="inventory-history">
                  <thead>
                    <tr>
                      <th>Version</th>
                      <th>Reported</th>
                      <th>Fingerprint</th>
                      <th>Changes</th>
                    </tr>
                  </thead>
                  <tbody>
                    {inv.history.items.map((v) => (
                      <tr key={v.version}>
                        <td>#{v.version}</td>
                        <td>{dateTime(v.reportedAt)}</td>
                        <td>
                          {v.fingerprintMatches === null ? (
                            <Badge tone="neutral">unknown</Badge>
                          ) : v.fingerprintMatches ? (
                            <Badge tone="ok">matches</Badge>
                          ) : (
                            <Badge tone="bad">changed</Badge>
                          )}
                        </td>
                        <td>
                          {v.changes.length === 0
                            ? v.version === 1
                              ? 'first report'
                              : '—'
                            : v.changes.map((c) => (
                                <div key={c.path}>
                                  <code>{c.path}</code>: {c.before ?? '∅'} → {c.after ?? '∅'}
                                </div>
                              ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
        );
      }}
    </Section>
  );
}

export function EventsCard({ deviceId, version }: { deviceId: string; version: number }) {
  const events = usePagedList(
    `events:${deviceId}`,
    version,
    EVENTS_PAGE,
    (page, signal) => api(`devices/${deviceId}/events`, { query: page, schema: DeviceEventPageSchema, signal }),
    (e) => e.id,
  );
  const tone = { info: 'info', warning: 'warn', critical: 'bad' } as const;
  return (
    <PagedSection list={events} title="Events" what="events" pageSize={EVENTS_PAGE} empty="No events for this device.">
      {(items) => (
        <table className={uiStyles.table} data-testid="device-events">
          <thead>
            <tr>
              <th>When</th>
              <th>Event</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.at)}</td>
                <td>
                  <Badge tone={tone[e.severity]}>{e.type}</Badge>
                </td>
                <td>
                  <code>{JSON.stringify(e.details)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </PagedSection>
  );
}

export function DeviceAuditCard({ deviceId, version }: { deviceId: string; version: number }) {
  const audit = usePagedList(
    `audit:${deviceId}`,
    version,
    AUDIT_PAGE,
    (page, signal) => api('audit', { query: { resourceId: deviceId, ...page }, schema: AuditPageSchema, signal }),
    (a) => a.id,
  );
  return (
    <PagedSection
      list={audit}
      title="Audit trail"
      what="entries"
      pageSize={AUDIT_PAGE}
      empty="No audited actions on this device."
      actions={<Link href={`/admin/audit?resourceId=${deviceId}`}>Full audit log →</Link>}
    >
      {(items) => (
        <table className={uiStyles.table} data-testid="device-audit">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id}>
                <td>{dateTime(a.timestamp)}</td>
                <td>{a.userEmail ?? <span className={uiStyles.faint}>device / system</span>}</td>
                <td className="mono">{a.action}</td>
                <td>
                  <Badge tone={a.result === 'success' ? 'ok' : 'bad'}>{a.result}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </PagedSection>
  );
}

export function ConnectivityCard({ deviceId, version }: { deviceId: string; version: number }) {
  const history = usePagedList(
    `connectivity:${deviceId}`,
    version,
    CONNECTIVITY_PAGE,
    (page, signal) => api(`devices/${deviceId}/connectivity`, { query: page, schema: ConnectivityEventPageSchema, signal }),
    (e) => `${e.at}|${e.state}`,
  );
  return (
    <PagedSection
      list={history}
      title="Connectivity history"
      what="transitions"
      pageSize={CONNECTIVITY_PAGE}
      empty="No online or offline transition recorded yet."
    >
      {(items) => (
        <table className={uiStyles.table} data-testid="connectivity-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Became</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={`${e.at}|${e.state}`}>
                <td>
                  {dateTime(e.at)}{' '}
                  <span className={uiStyles.faint}>
                    (<TimeAgo iso={e.at} />)
                  </span>
                </td>
                <td>
                  <Badge tone={e.state === 'online' ? 'ok' : 'bad'}>{e.state}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </PagedSection>
  );
}
