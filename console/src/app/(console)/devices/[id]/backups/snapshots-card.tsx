'use client';

import type { BackupSnapshotPage } from '@xspectre/contracts';
import { TimeAgo } from '../../../../../components/device-badges';
import { Badge, Button, Card, Empty, Loading, ProblemView, uiStyles } from '../../../../../components/ui';
import { durationText } from '../../../../../lib/backups-progress';
import { bytes, dateTime } from '../../../../../lib/format';
import type { Resource } from '../../../../../lib/use-api';
import styles from './device-backups.module.css';

const dash = <span className={uiStyles.faint}>—</span>;

/** The device's snapshot catalog (GET devices/:id/backup-snapshots), newest first, and when it was last verified restorable. */
export function SnapshotsCard({
  snapshots,
  canRestore,
  onRestore,
}: {
  snapshots: Resource<BackupSnapshotPage>;
  canRestore: boolean;
  onRestore: (snapshotId: string) => void;
}) {
  const data = snapshots.data;
  return (
    <Card
      title="Snapshots"
      actions={
        data ? (
          <span className={styles.actions} style={{ alignItems: 'center' }}>
            <span className={uiStyles.muted}>Last verified restorable:</span>
            {data.lastVerifiedAt ? (
              <Badge tone="ok">
                <span data-testid="last-verified" title={dateTime(data.lastVerifiedAt)}>
                  <TimeAgo iso={data.lastVerifiedAt} />
                </span>
              </Badge>
            ) : (
              <Badge tone="neutral">
                <span data-testid="last-verified">never</span>
              </Badge>
            )}
          </span>
        ) : null
      }
    >
      {data === undefined ? (
        snapshots.error ? (
          <ProblemView error={snapshots.error} onRetry={snapshots.reload} />
        ) : (
          <Loading label="Loading snapshots…" />
        )
      ) : data.items.length === 0 ? (
        <Empty>No snapshots in the catalog yet: it is filled after each successful backup.</Empty>
      ) : (
        <>
          <table className={uiStyles.table} data-testid="backup-snapshots">
            <thead>
              <tr>
                <th>Time</th>
                <th>Snapshot</th>
                <th>Size</th>
                <th>Data added</th>
                <th>Files</th>
                <th>Duration</th>
                {canRestore && <th aria-label="Restore" />}
              </tr>
            </thead>
            <tbody>
              {data.items.map((s) => (
                <tr key={s.snapshotId} data-snapshot-id={s.snapshotId}>
                  <td className={styles.nowrap}>{dateTime(s.time)}</td>
                  <td className="mono" title={s.paths ? s.paths.join('\n') : undefined}>
                    {s.snapshotId.slice(0, 12)}
                  </td>
                  <td className={styles.nowrap}>{s.totalBytes === null ? dash : bytes(s.totalBytes)}</td>
                  <td className={styles.nowrap}>{s.dataAddedBytes === null ? dash : `+${bytes(s.dataAddedBytes)}`}</td>
                  <td>{s.totalFiles === null ? dash : s.totalFiles.toLocaleString('en')}</td>
                  <td className={styles.nowrap}>{s.durationSeconds === null ? dash : durationText(s.durationSeconds)}</td>
                  {canRestore && (
                    <td>
                      <Button size="small" onClick={() => onRestore(s.snapshotId)}>
                        Restore…
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <p className={uiStyles.faint} style={{ margin: '8px 0 0' }}>
            Catalog synced {data.syncedAt ? <TimeAgo iso={data.syncedAt} /> : 'never'}.
          </p>
        </>
      )}
    </Card>
  );
}
