'use client';

import { BackupPolicySchema, BackupRunPageSchema, BackupSnapshotPageSchema, type BackupProgress } from '@xspectre/contracts';
import { useEffect, useRef, useState } from 'react';
import { Button, Forbidden } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { hasOpenRun, mayUseBackups, newestFirst } from '../../../../../lib/backups';
import { useSession } from '../../../../../lib/session';
import { useResource } from '../../../../../lib/use-api';
import { useLive, useLiveSubscription } from '../../../../../lib/use-live';
import { useDeviceFrame } from '../device-frame';
import { BackupPolicyCard } from './backup-policy-card';
import { BackupRunsCard } from './backup-runs-card';
import styles from './device-backups.module.css';
import { RestoreDialog } from './restore-dialog';
import { RunProgress } from './run-progress';
import { SnapshotsCard } from './snapshots-card';
import { TransferRestoreDialog } from './transfer-restore-dialog';

/** Runs under way are read again this often (their status; progress also arrives live as `backup.progress`). */
const OPEN_RUN_REFRESH_MS = 10_000;
const RUNS_SHOWN = 50;

type LiveProgress = { runId: string; progress: BackupProgress; at: string };

/**
 * The backups tab: the device's file-backup policy (edited with backups.trigger), a running run's
 * progress (live), the snapshot catalog with "last verified restorable", its runs newest first,
 * "Back up now", a restore of a snapshot's paths (backups.restore, behind the step-up) and, for
 * Super Admins, a restore of another device's backups onto this one (new hardware).
 */
export function DeviceBackups() {
  const { device, org } = useDeviceFrame();
  const { can, me } = useSession();
  const id = device.id;
  const viewable = can('backups.view');
  const policy = useResource(viewable ? `backup-policy:${id}` : null, (signal) =>
    api(`devices/${id}/backup-policy`, { schema: BackupPolicySchema, signal }),
  );
  const runs = useResource(viewable ? `backup-runs:${id}` : null, (signal) =>
    api(`devices/${id}/backup-runs`, { query: { limit: RUNS_SHOWN }, schema: BackupRunPageSchema, signal }),
  );
  const snapshots = useResource(viewable ? `backup-snapshots:${id}` : null, (signal) =>
    api(`devices/${id}/backup-snapshots`, { schema: BackupSnapshotPageSchema, signal }),
  );
  const [restoreFrom, setRestoreFrom] = useState<string | null | undefined>(undefined);
  const [transfer, setTransfer] = useState(false);
  const [live, setLive] = useState<LiveProgress | null>(null);

  const open = hasOpenRun(runs.data?.items);
  const reloadRuns = runs.reload;
  const reloadSnapshots = snapshots.reload;
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(reloadRuns, OPEN_RUN_REFRESH_MS);
    return () => clearInterval(timer);
  }, [open, reloadRuns]);
  // A backup that succeeded added a snapshot (and maybe a check): read the catalog again.
  const lastSucceeded = runs.data
    ? (newestFirst(runs.data.items).find((r) => r.kind === 'backup' && r.status === 'succeeded')?.id ?? '')
    : undefined;
  const seenSucceeded = useRef(lastSucceeded);
  useEffect(() => {
    if (lastSucceeded === undefined) return;
    if (seenSucceeded.current !== undefined && seenSucceeded.current !== lastSucceeded) reloadSnapshots();
    seenSucceeded.current = lastSucceeded;
  }, [lastSucceeded, reloadSnapshots]);

  useLiveSubscription(viewable ? [id] : []);
  useLive(
    (message) => {
      if (message.type !== 'backup.progress' || message.deviceId !== id) return;
      setLive((old) => (old && old.runId === message.runId && Date.parse(old.at) > Date.parse(message.at) ? old : message));
      // A run the list does not show as running yet (it just started): read the runs again.
      if (!runs.data?.items.some((r) => r.id === message.runId && r.status === 'running')) reloadRuns();
    },
    () => {
      reloadRuns();
      reloadSnapshots();
    },
  );

  if (!viewable) return <Forbidden permission="backups.view" what="see backups" />;
  const ownerKind = org?.kind;
  const canTrigger = mayUseBackups('backups.trigger', can, me.role, ownerKind);
  const canRestore = mayUseBackups('backups.restore', can, me.role, ownerKind);
  const canTransfer = canRestore && me.role === 'super_admin';
  const current = runs.data ? newestFirst(runs.data.items).find((r) => r.status === 'running' || r.status === 'scheduled') : undefined;
  // The newer of the run's stored progress and the last live message for it.
  const liveForRun = current && live && live.runId === current.id ? live : null;
  const useLiveOne = liveForRun && (!current?.progressAt || Date.parse(liveForRun.at) >= Date.parse(current.progressAt));
  const progress = useLiveOne ? liveForRun.progress : (current?.progress ?? null);
  const progressAt = useLiveOne ? liveForRun.at : (current?.progressAt ?? null);

  const started = () => {
    setRestoreFrom(undefined);
    setTransfer(false);
    runs.reload();
  };
  return (
    <div className={styles.layout}>
      <BackupPolicyCard deviceId={id} policy={policy} canEdit={canTrigger} />
      {current && <RunProgress run={current} progress={progress} at={progressAt} />}
      <SnapshotsCard snapshots={snapshots} canRestore={canRestore} onRestore={(snapshotId) => setRestoreFrom(snapshotId)} />
      <BackupRunsCard
        deviceId={id}
        runs={runs}
        mode={policy.data?.mode}
        canTrigger={canTrigger}
        canRestore={canRestore}
        onRestore={(snapshotId) => setRestoreFrom(snapshotId)}
      />
      {canTransfer && (
        <div>
          <Button onClick={() => setTransfer(true)}>Restore another device&apos;s backups here…</Button>
        </div>
      )}
      {canRestore && restoreFrom !== undefined && (
        <RestoreDialog
          deviceId={id}
          deviceName={device.name}
          snapshots={snapshots.data?.items}
          snapshotId={restoreFrom}
          onClose={() => setRestoreFrom(undefined)}
          onStarted={started}
        />
      )}
      {canTransfer && transfer && (
        <TransferRestoreDialog deviceId={id} deviceName={device.name} onClose={() => setTransfer(false)} onStarted={started} />
      )}
    </div>
  );
}
