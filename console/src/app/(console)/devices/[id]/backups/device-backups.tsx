'use client';

import { BackupPolicySchema, BackupRunPageSchema, type BackupRun } from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { Forbidden } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { hasOpenRun, mayUseBackups } from '../../../../../lib/backups';
import { useSession } from '../../../../../lib/session';
import { useResource } from '../../../../../lib/use-api';
import { useDeviceFrame } from '../device-frame';
import { BackupPolicyCard } from './backup-policy-card';
import { BackupRunsCard } from './backup-runs-card';
import styles from './device-backups.module.css';
import { RestoreDialog } from './restore-dialog';

/** Runs under way are read again this often (nothing live announces a run's status yet). */
const OPEN_RUN_REFRESH_MS = 10_000;
const RUNS_SHOWN = 50;

/**
 * The backups tab: the device's file-backup policy (edited with backups.trigger), its runs newest
 * first, "Back up now", and a restore of a snapshot's paths (backups.restore, behind the step-up).
 */
export function DeviceBackups() {
  const { device, org } = useDeviceFrame();
  const { can, me } = useSession();
  const id = device.id;
  const policy = useResource(can('backups.view') ? `backup-policy:${id}` : null, (signal) =>
    api(`devices/${id}/backup-policy`, { schema: BackupPolicySchema, signal }),
  );
  const runs = useResource(can('backups.view') ? `backup-runs:${id}` : null, (signal) =>
    api(`devices/${id}/backup-runs`, { query: { limit: RUNS_SHOWN }, schema: BackupRunPageSchema, signal }),
  );
  const [restoreFrom, setRestoreFrom] = useState<BackupRun | null | undefined>(undefined);

  const open = hasOpenRun(runs.data?.items);
  const reloadRuns = runs.reload;
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(reloadRuns, OPEN_RUN_REFRESH_MS);
    return () => clearInterval(timer);
  }, [open, reloadRuns]);

  if (!can('backups.view')) return <Forbidden permission="backups.view" what="see backups" />;
  const ownerKind = org?.kind;
  const canTrigger = mayUseBackups('backups.trigger', can, me.role, ownerKind);
  const canRestore = mayUseBackups('backups.restore', can, me.role, ownerKind);
  return (
    <div className={styles.layout}>
      <BackupPolicyCard deviceId={id} policy={policy} canEdit={canTrigger} />
      <BackupRunsCard
        deviceId={id}
        runs={runs}
        mode={policy.data?.mode}
        canTrigger={canTrigger}
        canRestore={canRestore}
        onRestore={(run) => setRestoreFrom(run)}
      />
      {canRestore && restoreFrom !== undefined && (
        <RestoreDialog
          deviceId={id}
          deviceName={device.name}
          from={restoreFrom}
          onClose={() => setRestoreFrom(undefined)}
          onStarted={() => {
            setRestoreFrom(undefined);
            runs.reload();
          }}
        />
      )}
    </div>
  );
}
