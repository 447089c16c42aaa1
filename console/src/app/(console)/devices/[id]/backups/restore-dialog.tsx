'use client';

import { BackupRunSchema, type BackupRun, type BackupSnapshot } from '@xspectre/contracts';
import { useState } from 'react';
import { useCritical } from '../../../../../components/step-up';
import { FormDialog } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { catalogIdOf, emptyPick, restoreRequestOfPick, type RestoreErrors, type RestorePick } from '../../../../../lib/backups-restore';
import { RestoreFields } from './restore-fields';

/**
 * Restores chosen paths of a snapshot (POST devices/:id/backup-restores, a critical route): the
 * paths are checked with the contract before sending, then the step-up dialog asks for a fresh
 * TOTP code before the restore is queued. The API's refusal is shown in the dialog.
 */
export function RestoreDialog({
  deviceId,
  deviceName,
  snapshots,
  snapshotId,
  onClose,
  onStarted,
}: {
  deviceId: string;
  deviceName: string;
  snapshots: readonly BackupSnapshot[] | undefined;
  /** The snapshot chosen beforehand (a catalog row or a succeeded run); null: chosen in the dialog. */
  snapshotId: string | null;
  onClose: () => void;
  onStarted: (run: BackupRun) => void;
}) {
  const critical = useCritical();
  const [pick, setPick] = useState<RestorePick>(() => emptyPick(catalogIdOf(snapshots, snapshotId ?? '')));
  const [errors, setErrors] = useState<RestoreErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit() {
    setError(null);
    const checked = restoreRequestOfPick(pick);
    setErrors(checked.ok ? {} : checked.errors);
    if (!checked.ok) return;
    setBusy(true);
    try {
      const body = checked.request;
      onStarted(await critical(() => api(`devices/${deviceId}/backup-restores`, { method: 'POST', body, schema: BackupRunSchema })));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <FormDialog
      open
      title={`Restore files on ${deviceName}`}
      submitLabel="Restore"
      busy={busy}
      error={error}
      onSubmit={submit}
      onCancel={onClose}
    >
      <p style={{ margin: 0 }}>
        A critical action: files on the device are overwritten with the snapshot&apos;s. You confirm it with a fresh authenticator code.
      </p>
      <RestoreFields snapshots={snapshots} pick={pick} onPick={(patch) => setPick((p) => ({ ...p, ...patch }))} errors={errors} />
    </FormDialog>
  );
}
