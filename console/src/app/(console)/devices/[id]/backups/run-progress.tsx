'use client';

import type { BackupProgress, BackupRun } from '@xspectre/contracts';
import { UsageBar } from '../../../../../components/usage-bar';
import { Card, uiStyles } from '../../../../../components/ui';
import { progressView } from '../../../../../lib/backups-progress';
import { bytes } from '../../../../../lib/format';
import { useNow } from '../../../../../lib/use-now';
import styles from './device-backups.module.css';

/** A running backup's or restore's progress: a bar, percent, files, bytes and the time left. */
export function RunProgress({ run, progress, at }: { run: BackupRun; progress: BackupProgress | null; at: string | null }) {
  const now = useNow();
  const title = `${run.kind === 'restore' ? 'Restore' : run.kind === 'check' ? 'Check' : 'Backup'} ${run.status === 'running' ? 'running' : 'scheduled'}`;
  if (!progress) {
    return (
      <Card title={title}>
        <p className={uiStyles.muted} style={{ margin: 0 }} data-testid="backup-progress-waiting">
          {run.status === 'scheduled' ? 'Waiting for the device to pick the run up.' : 'Started; no progress reported yet.'}
        </p>
      </Card>
    );
  }
  const view = progressView(progress, at, now, bytes);
  return (
    <Card title={title}>
      <div className={styles.progress} data-testid="backup-progress" data-run-id={run.id}>
        <div className={styles.progressHead}>
          <strong data-testid="backup-progress-percent">{view.percent} %</strong>
          <span className={uiStyles.muted}>{view.phase}</span>
          {view.eta && <span className={uiStyles.muted}>{view.eta}</span>}
        </div>
        <UsageBar fraction={view.percent / 100} label={`${title}: ${view.percent} %`} testId="backup-progress-bar" />
        <div className={styles.progressHead}>
          <span data-testid="backup-progress-files">{view.files}</span>
          <span data-testid="backup-progress-bytes">{view.bytes}</span>
        </div>
      </div>
    </Card>
  );
}
