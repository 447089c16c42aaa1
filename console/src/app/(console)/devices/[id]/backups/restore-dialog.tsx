'use client';

import { BackupRunSchema, type BackupRun } from '@xspectre/contracts';
import { useState } from 'react';
import { useCritical } from '../../../../../components/step-up';
import { Field, FormDialog } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { restoreFormOf, restoreRequestOf, type RestoreForm } from '../../../../../lib/backups';
import styles from './device-backups.module.css';

/**
 * Restores chosen paths of a snapshot (POST devices/:id/backup-restores, a critical route): the
 * step-up dialog asks for a fresh TOTP code before the restore is queued, as for a reboot.
 */
export function RestoreDialog({
  deviceId,
  deviceName,
  from,
  onClose,
  onStarted,
}: {
  deviceId: string;
  deviceName: string;
  /** The succeeded run whose snapshot is prefilled; null: typed by hand. */
  from: BackupRun | null;
  onClose: () => void;
  onStarted: (run: BackupRun) => void;
}) {
  const critical = useCritical();
  const [form, setForm] = useState<RestoreForm>(() => restoreFormOf(from));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (patch: Partial<RestoreForm>) => setForm((f) => ({ ...f, ...patch }));

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      const body = restoreRequestOf(form);
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
      <Field label="Snapshot id">
        <input
          className="mono"
          value={form.snapshotId}
          onChange={(e) => set({ snapshotId: e.target.value })}
          maxLength={64}
          spellCheck={false}
        />
      </Field>
      <Field label="Paths" hint="One absolute path of the snapshot per line.">
        <textarea
          className={styles.dialogPaths}
          rows={4}
          value={form.paths}
          onChange={(e) => set({ paths: e.target.value })}
          spellCheck={false}
        />
      </Field>
      <fieldset className={styles.targets}>
        <legend>Restore to</legend>
        <label>
          <input type="radio" name="target" checked={form.target === 'original'} onChange={() => set({ target: 'original' })} />
          the original place
        </label>
        <label>
          <input type="radio" name="target" checked={form.target === 'alternate'} onChange={() => set({ target: 'alternate' })} />
          another directory
        </label>
      </fieldset>
      {form.target === 'alternate' && (
        <Field label="Directory to restore into">
          <input className="mono" value={form.directory} onChange={(e) => set({ directory: e.target.value })} placeholder="/srv/restore" />
        </Field>
      )}
    </FormDialog>
  );
}
