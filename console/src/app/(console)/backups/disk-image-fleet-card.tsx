'use client';

import { DiskImageFleetPageSchema, type DiskImageFleetRow } from '@xspectre/contracts';
import Link from 'next/link';
import { TimeAgo } from '../../../components/device-badges';
import { Badge, Card, Empty, Loading, Pager, ProblemView, uiStyles } from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { offsetOf } from '../../../lib/backups-fleet';
import { durationText } from '../../../lib/backups-progress';
import { bytes, dateTime } from '../../../lib/format';
import { jobStateText } from '../../../lib/recovery';
import { useResource } from '../../../lib/use-api';
import { useUrlState } from '../../../lib/use-url-state';
import styles from './fleet-backups.module.css';

const PAGE = 50;

function Row({ row }: { row: DiskImageFleetRow }) {
  return (
    <tr data-device-id={row.deviceId}>
      <td>
        <Link href={`/devices/${row.deviceId}/recovery`}>{row.deviceName}</Link>
      </td>
      <td className={styles.nowrap} data-testid="images-fleet-last">
        {row.lastImageName ? (
          <span title={dateTime(row.lastImageAt)}>
            <code>{row.lastImageName}</code>
          </span>
        ) : (
          <span className={uiStyles.faint}>none yet</span>
        )}
      </td>
      <td className={styles.nowrap} data-testid="images-fleet-age">
        {row.lastImageAgeSeconds !== null ? `${durationText(row.lastImageAgeSeconds)} ago` : '—'}
      </td>
      <td className={styles.nowrap}>
        {row.lastImageCompressedBytes !== null ? `${bytes(row.lastImageCompressedBytes)} of ${bytes(row.lastImageRawBytes)}` : '—'}
      </td>
      <td>{row.images}</td>
      <td className={styles.nowrap} data-testid="images-fleet-next">
        {row.nextImageAt ? (
          <span title={dateTime(row.nextImageAt)}>
            <TimeAgo iso={row.nextImageAt} />
          </span>
        ) : (
          <span className={uiStyles.faint}>no weekly image</span>
        )}
        {row.overdue ? (
          <>
            {' '}
            <Badge tone="warn">overdue</Badge>
          </>
        ) : null}
      </td>
      <td>
        <span className={styles.badges} data-testid="images-fleet-job">
          {row.openJob ? (
            <Badge tone="info" title={`since ${dateTime(row.openJob.createdAt)}`}>
              {row.openJob.kind === 'image' ? 'image' : 'restore'}: {jobStateText(row.openJob.state)}
            </Badge>
          ) : null}
          {row.lastJobFailed ? <Badge tone="bad">last job failed</Badge> : null}
          {!row.openJob && row.lastImageAt ? (
            <span className={uiStyles.faint}>
              <TimeAgo iso={row.lastImageAt} />
            </span>
          ) : null}
        </span>
      </td>
    </tr>
  );
}

/** Full-disk images of the fleet (`GET disk-images`): each device's last image, its age and size, an open job; a page of 50. */
export function DiskImageFleetCard() {
  const [params, setParams] = useUrlState();
  const offset = offsetOf(params.get('imagesOffset'), PAGE);
  const page = useResource(`disk-images-fleet:${offset}`, (signal) =>
    api('disk-images', { query: { limit: PAGE, offset }, schema: DiskImageFleetPageSchema, signal }),
  );
  return (
    <Card title="Full-disk images">
      {page.data === undefined ? (
        page.error ? (
          <ProblemView error={page.error} onRetry={page.reload} />
        ) : (
          <Loading label="Loading full-disk images…" />
        )
      ) : page.data.items.length === 0 ? (
        <Empty>No device has a full-disk image or an image job yet. Take one on a device’s Recovery tab.</Empty>
      ) : (
        <>
          <table className={uiStyles.table} data-testid="disk-images-fleet">
            <thead>
              <tr>
                <th>Device</th>
                <th>Last image</th>
                <th>Age</th>
                <th>Compressed of raw</th>
                <th>Images</th>
                <th>Next weekly image</th>
                <th>Job</th>
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
            onOffset={(o) => setParams({ imagesOffset: o ? String(o) : null }, false)}
          />
        </>
      )}
    </Card>
  );
}
