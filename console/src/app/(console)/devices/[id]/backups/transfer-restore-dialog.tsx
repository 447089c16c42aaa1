'use client';

import {
  BackupEscrowSchema,
  BackupRunSchema,
  BackupSnapshotPageSchema,
  BackupTransferKeySchema,
  type BackupRestoreRequest,
  type BackupRun,
} from '@xspectre/contracts';
import { useState } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { DevicePicker } from '../../../../../components/device-picker';
import { useCritical } from '../../../../../components/step-up';
import { Button, Field, FormDialog, ProblemView, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import {
  emptyPick,
  escrowFileName,
  passwordProblem,
  restoreRequestOfPick,
  type RestoreErrors,
  type RestorePick,
} from '../../../../../lib/backups-restore';
import { encryptToTransferKey } from '../../../../../lib/backups-transfer';
import { useResource } from '../../../../../lib/use-api';
import { useNames } from '../../../../../lib/use-names';
import styles from './device-backups.module.css';
import { RestoreFields } from './restore-fields';

/** Saves `text` as a file named `name` (the escrow, to decrypt offline). */
function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * New hardware (Super Admins): restores another (dead) device's backups onto this one. The Super
 * Admin downloads the source device's escrow, decrypts it offline with the recovery key
 * (`age -d -i recovery.key <device>.age`) and pastes the repository password here; the browser
 * encrypts it to this device's transfer key and sends only the ciphertext (`source`). The
 * password lives in this form's state until it is encrypted and is cleared once sent.
 */
export function TransferRestoreDialog({
  deviceId,
  deviceName,
  onClose,
  onStarted,
}: {
  deviceId: string;
  deviceName: string;
  onClose: () => void;
  onStarted: (run: BackupRun) => void;
}) {
  const critical = useCritical();
  const [sourceId, setSourceId] = useState('');
  const [pick, setPick] = useState<RestorePick>(() => emptyPick());
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<RestoreErrors & { source?: string; password?: string }>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [escrowError, setEscrowError] = useState<unknown>(null);
  const names = useNames('devices', sourceId ? [sourceId] : []);
  const sourceName = sourceId ? (names.get(sourceId) ?? sourceId.slice(0, 8)) : '';

  const transferKey = useResource(`backup-transfer-key:${deviceId}`, (signal) =>
    api(`devices/${deviceId}/backup-transfer-key`, { schema: BackupTransferKeySchema, signal }),
  );
  const sourceSnapshots = useResource(sourceId ? `backup-snapshots:${sourceId}` : null, (signal) =>
    api(`devices/${sourceId}/backup-snapshots`, { schema: BackupSnapshotPageSchema, signal }),
  );
  const recipient = transferKey.data?.recipient ?? null;

  async function downloadEscrow() {
    setEscrowError(null);
    try {
      const escrow = await critical(() => api(`devices/${sourceId}/backup-escrow`, { schema: BackupEscrowSchema }));
      download(escrowFileName(sourceName), escrow.ciphertext);
    } catch (e) {
      setEscrowError(e);
    }
  }

  async function submit() {
    setError(null);
    const checked = restoreRequestOfPick(pick);
    const next: typeof errors = checked.ok ? {} : { ...checked.errors };
    if (!sourceId) next.source = 'choose the device whose backups to restore';
    else if (sourceId === deviceId) next.source = 'choose another device: this one restores its own backups with Restore…';
    const problem = passwordProblem(password);
    if (problem) next.password = problem;
    else if (!recipient) next.password = `${deviceName} has no transfer key to encrypt the password to`;
    setErrors(next);
    if (!checked.ok || Object.keys(next).length > 0 || !recipient) return;
    setBusy(true);
    let body: BackupRestoreRequest;
    try {
      body = { ...checked.request, source: { deviceId: sourceId, passwordCiphertext: await encryptToTransferKey(recipient, password) } };
    } catch (e) {
      setBusy(false);
      setError(e);
      return;
    }
    // Only the ciphertext goes on; the field is emptied whatever the API answers.
    setPassword('');
    try {
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
      title={`Restore another device's backups on ${deviceName}`}
      submitLabel="Restore here"
      busy={busy}
      error={error}
      onSubmit={submit}
      onCancel={onClose}
    >
      <p className={styles.note}>
        For new hardware: the backups of a dead device are restored onto this one. A critical action, confirmed with a fresh authenticator
        code.
      </p>
      <div data-testid="transfer-key">
        {transferKey.data === undefined ? (
          transferKey.error ? (
            <ProblemView error={transferKey.error} onRetry={transferKey.reload} />
          ) : (
            <span className={uiStyles.muted}>Reading this device&apos;s transfer key…</span>
          )
        ) : recipient ? (
          <span className={uiStyles.muted}>
            The password is encrypted in this browser to {deviceName}&apos;s transfer key{' '}
            <span className="mono">{recipient.slice(0, 16)}…</span> (reported <TimeAgo iso={transferKey.data.reportedAt} />
            ); only the device can read it.
          </span>
        ) : (
          <span className={styles.error} data-testid="transfer-key-missing">
            {deviceName} has not reported a transfer key yet: its agent makes one and reports it when it starts (a replacement device
            reports it once its agent runs). Until then the password cannot be sent to it.
          </span>
        )}
      </div>
      <DevicePicker
        label="Source device"
        deviceId={sourceId}
        onChange={(id) => setSourceId(id ?? '')}
        error={errors.source}
        clearLabel="Choose another device"
        testId="transfer-source"
      />
      {sourceId && (
        <div className={styles.actions} style={{ alignItems: 'center', flexWrap: 'wrap' }}>
          <Button size="small" onClick={downloadEscrow}>
            Download {escrowFileName(sourceName)}
          </Button>
          <span className={uiStyles.faint}>
            then, offline: <span className="mono">age -d -i recovery.key {escrowFileName(sourceName)}</span>
          </span>
        </div>
      )}
      {escrowError ? <ProblemView error={escrowError} /> : null}
      {sourceId && (
        <RestoreFields
          snapshots={sourceSnapshots.data?.items}
          pick={pick}
          onPick={(patch) => setPick((p) => ({ ...p, ...patch }))}
          errors={errors}
        />
      )}
      <Field label="Repository password" error={errors.password} hint="As age printed it. It is encrypted here and never sent in clear.">
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="off" spellCheck={false} />
      </Field>
    </FormDialog>
  );
}
