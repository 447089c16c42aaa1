'use client';

import { headlineMetrics } from '@xspectre/contracts';
import { Card, KeyValues } from '../../../../components/ui';
import { bitsPerSecond, dateTime, percent } from '../../../../lib/format';
import { useSession } from '../../../../lib/session';
import { DeviceCharts } from './device-charts';
import { useDeviceFrame } from './device-frame';
import { ConnectivityCard, ContainersCard, DeviceAuditCard, EventsCard, InventoryCard, ServicesCard, TunnelCard } from './device-sections';

/** The overview tab: live numbers, charts, the device's facts, tunnel, services, containers, inventory, events and audit. */
export function DevicePage() {
  const { can } = useSession();
  const { device: d, org, site, telemetry, version, live } = useDeviceFrame();
  const id = d.id;
  const reported = telemetry.data?.metrics;
  const latest = live?.metrics ?? (reported ? headlineMetrics(reported) : null);

  return (
    <>
      {latest && (
        <Card>
          <KeyValues
            rows={[
              [
                'Now',
                `CPU ${percent(latest.cpuPercent)} · memory ${percent(latest.memUsedPercent)} · fullest disk ${percent(latest.diskUsedPercentMax)}`,
              ],
              ['Network', `↓ ${bitsPerSecond(latest.netRxBps)} · ↑ ${bitsPerSecond(latest.netTxBps)}`],
            ]}
          />
        </Card>
      )}
      <DeviceCharts deviceId={id} live={live} />
      <div
        style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(min(440px, 100%), 1fr))', gap: 16, alignItems: 'start' }}
      >
        <Card title="Device">
          <KeyValues
            rows={[
              ['Name', d.name],
              ['Hostname', d.hostname ?? '—'],
              ['Type', d.type],
              ['Organization', org ? `${org.name} (${org.kind})` : '…'],
              ['Site', site?.name ?? '…'],
              ['Billable', d.billable ? 'yes' : 'no'],
              ['Agent', d.agentVersion ?? '—'],
              ['Enrolled', dateTime(d.enrolledAt)],
              ['Created', dateTime(d.createdAt)],
              [
                'Id',
                <span className="mono" key="id">
                  {d.id}
                </span>,
              ],
            ]}
          />
        </Card>
        <div style={{ display: 'flex', flexDirection: 'column', gap: 16 }}>
          <TunnelCard device={d} />
          <ConnectivityCard deviceId={id} version={version} />
        </div>
      </div>
      <ServicesCard telemetry={telemetry} />
      <ContainersCard telemetry={telemetry} />
      <InventoryCard deviceId={id} version={version} />
      <EventsCard deviceId={id} version={version} />
      {can('audit.view') && <DeviceAuditCard deviceId={id} version={version} />}
    </>
  );
}
