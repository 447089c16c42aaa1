'use client';

import { BackupRunSchema, type BackupMode, type BackupRun } from '@xspectre/contracts';
import { useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { Badge, Button, Card, Empty, Loading, ProblemView, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { backupNowBlocker, newestFirst, runOriginText, runStatusTone } from '../../../../../lib/backups';
import { bytes, dateTime } from '../../../../../lib/format';
import type { Resource } from '../../../../../lib/use-api';
import styles from './device-backups.module.css';

function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className={uiStyles.faint}>—</span>;
  return (
    <span title={dateTime(iso)}>
      <TimeAgo iso={iso} />
    </span>
  );
}

/** What a run left: its error, or the snapshot restic made and the bytes it added. */
function Outcome({ run }: { run: BackupRun }) {
  if (run.error) return <span className={styles.error}>{run.error}</span>;
  if (run.summary)
    return (
      <span>
        <span className="mono">{run.summary.snapshotId.slice(0, 12)}</span>{' '}
        <span className={uiStyles.muted}>+{bytes(run.summary.dataAddedBytes)}</span>
      </span>
    );
  if (run.request)
    return (
      <span className={uiStyles.muted}>
        <span className="mono">{run.request.snapshotId.slice(0, 12)}</span> to{' '}
        {run.request.target.mode === 'original' ? 'the original place' : run.request.target.directory}
      </span>
    );
  return <span className={uiStyles.faint}>—</span>;
}

/** The device's backup runs, newest first, with "Back up now" and "Restore…" for those who may. */
export function BackupRunsCard({
  deviceId,
  runs,
  mode,
  canTrigger,
  canRestore,
  onRestore,
}: {
  deviceId: string;
  runs: Resource<{ items: BackupRun[] }>;
  mode: BackupMode | undefined;
  canTrigger: boolean;
  canRestore: boolean;
  onRestore: (snapshotId: string | null) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const blocker = backupNowBlocker(mode ? { mode } : undefined);

  async function backupNow() {
    setBusy(true);
    setError(null);
    try {
      await api(`devices/${deviceId}/backup-runs`, { method: 'POST', schema: BackupRunSchema });
      runs.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const items = runs.data ? newestFirst(runs.data.items) : undefined;
  return (
    <Card
      title="Runs"
      actions={
        canTrigger || canRestore ? (
          <div className={styles.actions} style={{ alignItems: 'center' }}>
            {canTrigger && blocker && mode && (
              <span className={styles.blocker} data-testid="backup-now-blocker">
                {blocker}
              </span>
            )}
            {canRestore && (
              <Button size="small" onClick={() => onRestore(null)}>
                Restore…
              </Button>
            )}
            {canTrigger && (
              <Button size="small" variant="primary" onClick={backupNow} disabled={busy || blocker !== null} title={blocker ?? undefined}>
                {busy ? 'Starting…' : 'Back up now'}
              </Button>
            )}
          </div>
        ) : null
      }
    >
      {error ? <ProblemView error={error} /> : null}
      {items === undefined ? (
        runs.error ? (
          <ProblemView error={runs.error} onRetry={runs.reload} />
        ) : (
          <Loading label="Loading backup runs…" />
        )
      ) : items.length === 0 ? (
        <Empty>No backup runs for this device yet.</Empty>
      ) : (
        <table className={uiStyles.table} data-testid="backup-runs">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Slot</th>
              <th>Due</th>
              <th>Status</th>
              <th>Started</th>
              <th>Finished</th>
              <th>Result</th>
              {canRestore && <th aria-label="Restore" />}
            </tr>
          </thead>
          <tbody>
            {items.map((run) => (
              <tr key={run.id} data-run-id={run.id}>
                <td>{run.kind}</td>
                <td>{runOriginText(run)}</td>
                <td className={styles.nowrap}>
                  <When iso={run.dueAt} />
                </td>
                <td>
                  <Badge tone={runStatusTone(run.status)}>
                    <span data-testid="backup-run-status">{run.status}</span>
                  </Badge>
                </td>
                <td className={styles.nowrap}>
                  <When iso={run.startedAt} />
                </td>
                <td className={styles.nowrap}>
                  <When iso={run.finishedAt} />
                </td>
                <td>
                  <Outcome run={run} />
                </td>
                {canRestore && (
                  <td>
                    {run.kind === 'backup' && run.status === 'succeeded' && run.summary && (
                      <Button size="small" onClick={() => onRestore(run.summary?.snapshotId ?? null)}>
                        Restore…
                      </Button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
