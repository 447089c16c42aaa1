'use client';

import { BackupFleetPageSchema, type BackupFleetRow } from '@xspectre/contracts';
import Link from 'next/link';
import { TimeAgo } from '../../../components/device-badges';
import { PageHeader } from '../../../components/page-header';
import { Badge, Card, Empty, Field, Forbidden, Loading, Pager, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { runStatusTone } from '../../../lib/backups';
import { fleetFilterOf, fleetRowBadges, offsetOf, usageText, verifiedView } from '../../../lib/backups-fleet';
import { bytes, dateTime } from '../../../lib/format';
import { useSession } from '../../../lib/session';
import { useResource } from '../../../lib/use-api';
import { useUrlState } from '../../../lib/use-url-state';
import { CapacityPanel } from './capacity-panel';
import { DiskImageFleetCard } from './disk-image-fleet-card';
import styles from './fleet-backups.module.css';
import { RecoveryKeyPanel } from './recovery-key-panel';

const PAGE = 50;

function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className={uiStyles.faint}>never</span>;
  return (
    <span title={dateTime(iso)}>
      <TimeAgo iso={iso} />
    </span>
  );
}

function Row({ row }: { row: BackupFleetRow }) {
  const badges = fleetRowBadges(row);
  const verified = verifiedView(row);
  const usage = usageText(row.usedBytes, row.quotaBytes, bytes);
  return (
    <tr data-device-id={row.deviceId}>
      <td>
        <Link href={`/devices/${row.deviceId}/backups`}>{row.deviceName}</Link>
      </td>
      <td>
        <span data-testid="fleet-mode">{row.mode}</span>
      </td>
      <td className={styles.nowrap}>
        <When iso={row.lastSuccessAt} />
      </td>
      <td>
        {row.lastRunStatus ? (
          <Badge tone={runStatusTone(row.lastRunStatus)}>
            <span data-testid="fleet-last-status">{row.lastRunStatus}</span>
          </Badge>
        ) : (
          <span className={uiStyles.faint}>no run yet</span>
        )}{' '}
        {row.lastRunAt && (
          <span className={uiStyles.faint}>
            <When iso={row.lastRunAt} />
          </span>
        )}
        {row.lastRunError && <div className={styles.error}>{row.lastRunError}</div>}
      </td>
      <td className={styles.nowrap} data-testid="fleet-usage">
        {usage ?? <span className={uiStyles.faint}>not reported</span>}
      </td>
      <td className={styles.nowrap}>
        <Badge tone={verified.tone}>
          <span data-testid="fleet-verified">{verified.text}</span>
        </Badge>{' '}
        {verified.at && <When iso={verified.at} />}
      </td>
      <td>
        <span className={styles.badges} data-testid="fleet-badges">
          {badges.map((b) => (
            <Badge key={b.label} tone={b.tone} title={b.title}>
              {b.label}
            </Badge>
          ))}
        </span>
      </td>
    </tr>
  );
}

/**
 * The fleet's backups (`GET backups`): each device that backs up with its mode, last success, last
 * run, repository use against its quota and when it was last verified restorable; filter failing or
 * overdue in the URL, a page of 50. Above: the backup servers' capacity, and for Super Admins the
 * offline recovery key.
 */
export function FleetBackups() {
  const { can, me } = useSession();
  const [params, setParams] = useUrlState();
  const filter = fleetFilterOf(params.get('filter'));
  const offset = offsetOf(params.get('offset'), PAGE);
  const allowed = can('backups.view');
  const page = useResource(allowed ? `backups-fleet:${filter ?? ''}:${offset}` : null, (signal) =>
    api('backups', { query: { limit: PAGE, offset, filter }, schema: BackupFleetPageSchema, signal }),
  );
  if (!allowed) return <Forbidden permission="backups.view" what="see backups" />;

  return (
    <>
      <PageHeader
        title="Backups"
        subtitle="File backups and full-disk images of every device, the backup servers' capacity, and what was last verified restorable."
      />
      <div className={styles.layout}>
        <CapacityPanel />
        {me.role === 'super_admin' && <RecoveryKeyPanel canSet={can('settings.manage')} />}
        <Card
          title="Devices"
          actions={
            <div className={styles.filters}>
              <Field label="Show">
                <select value={filter ?? ''} onChange={(e) => setParams({ filter: e.target.value || null })} aria-label="Filter backups">
                  <option value="">All devices</option>
                  <option value="failing">Failing (last run failed)</option>
                  <option value="overdue">Overdue (no success in 26 h)</option>
                </select>
              </Field>
            </div>
          }
        >
          {page.data === undefined ? (
            page.error ? (
              <ProblemView error={page.error} onRetry={page.reload} />
            ) : (
              <Loading label="Loading backups…" />
            )
          ) : page.data.items.length === 0 ? (
            <Empty>{filter ? `No ${filter} device.` : 'No device backs up yet. Set a device’s policy to FILE on its Backups tab.'}</Empty>
          ) : (
            <>
              <table className={uiStyles.table} data-testid="backups-fleet">
                <thead>
                  <tr>
                    <th>Device</th>
                    <th>Mode</th>
                    <th>Last success</th>
                    <th>Last run</th>
                    <th>Used / quota</th>
                    <th>Last verified restorable</th>
                    <th>Attention</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.items.map((row) => (
                    <Row key={row.deviceId} row={row} />
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
        </Card>
        <DiskImageFleetCard />
      </div>
    </>
  );
}
