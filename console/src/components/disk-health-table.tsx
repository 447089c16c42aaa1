'use client';

import type { DeviceDiskHealth } from '@xspectre/contracts';
import { diskHealthRows } from '../lib/disk-health';
import { dateTime } from '../lib/format';
import { Badge, Empty, uiStyles } from './ui';

/** The device's disks by SMART: a passed/failing badge, temperature, power-on hours and the counters (inventory card). */
export function DiskHealthTable({ health }: { health: DeviceDiskHealth | null }) {
  return (
    <div>
      <h3 style={{ marginBottom: 6 }}>Disk health (SMART)</h3>
      {health === null ? (
        <Empty>The device has not reported disk health yet (agents read SMART every 10 minutes).</Empty>
      ) : health.report.status === 'unavailable' ? (
        <Empty>
          Unavailable: {health.report.reason ?? 'no reason given'} (read {dateTime(health.report.collectedAt)}).
        </Empty>
      ) : health.report.disks.length === 0 ? (
        <Empty>No disks reported.</Empty>
      ) : (
        <>
          <table className={uiStyles.table} data-testid="disk-health">
            <thead>
              <tr>
                <th>Disk</th>
                <th>Health</th>
                <th>Temperature</th>
                <th>Power-on</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {diskHealthRows(health).map((r) => (
                <tr key={r.key}>
                  <td>
                    <code>{r.device}</code>
                    <div>{r.what}</div>
                  </td>
                  <td>
                    <Badge tone={r.badge.tone} title={r.badge.title}>
                      {r.badge.label}
                    </Badge>
                  </td>
                  <td>{r.temperature}</td>
                  <td>{r.hours}</td>
                  <td>{r.details}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p style={{ marginTop: 4 }}>Read {dateTime(health.report.collectedAt)}.</p>
        </>
      )}
    </div>
  );
}
