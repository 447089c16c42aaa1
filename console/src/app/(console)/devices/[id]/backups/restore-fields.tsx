'use client';

import type { BackupSnapshot } from '@xspectre/contracts';
import { Field, uiStyles } from '../../../../../components/ui';
import { toggled, snapshotLabel, type RestoreErrors, type RestorePick } from '../../../../../lib/backups-restore';
import { bytes } from '../../../../../lib/format';
import styles from './device-backups.module.css';

/**
 * The path picker of a restore: the snapshot (from the catalog; one the catalog does not list can
 * be typed), its backed-up paths to tick, sub-paths typed one per line, and where to restore to.
 * Problems found before sending are shown at their fields.
 */
export function RestoreFields({
  snapshots,
  pick,
  onPick,
  errors,
}: {
  snapshots: readonly BackupSnapshot[] | undefined;
  pick: RestorePick;
  onPick: (patch: Partial<RestorePick>) => void;
  errors: RestoreErrors;
}) {
  const listed = snapshots ?? [];
  const chosen = listed.find((s) => s.snapshotId === pick.snapshotId);
  const known = listed.length > 0;
  return (
    <>
      {known && (
        <Field label="Snapshot" error={errors.snapshotId}>
          <select
            aria-label="Snapshot"
            value={chosen ? chosen.snapshotId : ''}
            onChange={(e) => onPick({ snapshotId: e.target.value, ticked: [] })}
          >
            <option value="">{pick.snapshotId && !chosen ? `${pick.snapshotId} (not in the catalog)` : 'Choose a snapshot…'}</option>
            {listed.map((s) => (
              <option key={s.snapshotId} value={s.snapshotId}>
                {snapshotLabel(s, bytes)}
              </option>
            ))}
          </select>
        </Field>
      )}
      {(!known || (pick.snapshotId && !chosen)) && (
        <Field label="Snapshot id" error={known ? undefined : errors.snapshotId}>
          <input
            className="mono"
            value={pick.snapshotId}
            onChange={(e) => onPick({ snapshotId: e.target.value })}
            maxLength={64}
            spellCheck={false}
          />
        </Field>
      )}
      {chosen?.paths && chosen.paths.length > 0 && (
        <fieldset className={styles.targets} data-testid="restore-paths">
          <legend>Backed-up paths</legend>
          {chosen.paths.map((p) => (
            <label key={p}>
              <input
                type="checkbox"
                checked={pick.ticked.includes(p)}
                onChange={(e) => onPick({ ticked: toggled(pick.ticked, p, e.target.checked) })}
              />
              <span className="mono">{p}</span>
            </label>
          ))}
        </fieldset>
      )}
      <Field
        label={chosen?.paths?.length ? 'Or sub-paths' : 'Paths'}
        error={errors.paths}
        hint={<span className={uiStyles.faint}>One absolute path of the snapshot per line, e.g. /etc/nginx.</span>}
      >
        <textarea
          className={styles.dialogPaths}
          rows={3}
          value={pick.typed}
          onChange={(e) => onPick({ typed: e.target.value })}
          spellCheck={false}
        />
      </Field>
      <fieldset className={styles.targets}>
        <legend>Restore to</legend>
        <label>
          <input type="radio" name="target" checked={pick.target === 'original'} onChange={() => onPick({ target: 'original' })} />
          the original place
        </label>
        <label>
          <input type="radio" name="target" checked={pick.target === 'alternate'} onChange={() => onPick({ target: 'alternate' })} />
          another directory
        </label>
      </fieldset>
      {pick.target === 'alternate' && (
        <Field label="Directory to restore into" error={errors.directory}>
          <input
            className="mono"
            value={pick.directory}
            onChange={(e) => onPick({ directory: e.target.value })}
            placeholder="/srv/restore"
          />
        </Field>
      )}
    </>
  );
}
