'use client';

import { BACKUP_MODES, BackupPolicySchema, IMAGE_WEEKDAYS, type BackupPolicy } from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { TimeAgo } from '../../../../../components/device-badges';
import { Badge, Button, Card, Field, KeyValues, Loading, ProblemView, uiStyles } from '../../../../../components/ui';
import { api } from '../../../../../lib/api-client';
import { isModeAvailable, policyFormOf, policyUpdateOf, takesImages, weeklySlotText, type PolicyForm } from '../../../../../lib/backups';
import { dateTime } from '../../../../../lib/format';
import type { Resource } from '../../../../../lib/use-api';
import styles from './device-backups.module.css';

function Lines({ items, empty }: { items: readonly string[]; empty: string }) {
  if (items.length === 0) return <span className={uiStyles.faint}>{empty}</span>;
  return (
    <ul className={styles.list}>
      {items.map((item) => (
        <li key={item} className="mono">
          {item}
        </li>
      ))}
    </ul>
  );
}

/** The device's backup policy (files nightly, the weekly full-disk image); operators with backups.trigger edit it in place. */
export function BackupPolicyCard({ deviceId, policy, canEdit }: { deviceId: string; policy: Resource<BackupPolicy>; canEdit: boolean }) {
  const [form, setForm] = useState<PolicyForm | null>(null);
  const p = policy.data;
  return (
    <Card
      title="Backup policy"
      actions={
        canEdit && p && !form ? (
          <Button size="small" onClick={() => setForm(policyFormOf(p))}>
            Edit policy
          </Button>
        ) : null
      }
    >
      {!p ? (
        policy.error ? (
          <ProblemView error={policy.error} onRetry={policy.reload} />
        ) : (
          <Loading label="Loading the backup policy…" />
        )
      ) : form ? (
        <PolicyEditor
          deviceId={deviceId}
          form={form}
          setForm={setForm}
          timeZone={p.timeZone}
          onSaved={(saved) => {
            policy.mutate(() => saved);
            setForm(null);
          }}
        />
      ) : (
        <div data-testid="backup-policy">
          <KeyValues
            rows={[
              [
                'Mode',
                <Badge key="m" tone={p.mode === 'OFF' ? 'neutral' : 'ok'}>
                  <span data-testid="backup-mode">{p.mode}</span>
                </Badge>,
              ],
              ['Paths', <Lines key="p" items={p.paths} empty="none" />],
              ['Excludes', <Lines key="e" items={p.excludes} empty="none" />],
              ['Nightly at', `${p.localTime} (${p.timeZone})`],
              ['Keep', `${p.keepDaily} daily, ${p.keepWeekly} weekly`],
              [
                'Next run',
                p.nextRunAt ? (
                  <span key="n" title={dateTime(p.nextRunAt)}>
                    <TimeAgo iso={p.nextRunAt} />
                  </span>
                ) : (
                  <span key="n" className={uiStyles.faint}>
                    none while {p.mode}
                  </span>
                ),
              ],
              [
                'Full-disk image',
                takesImages(p.mode) ? (
                  <span key="i" data-testid="backup-image-schedule">
                    weekly, {weeklySlotText(p.imageWeekday, p.imageLocalTime)} ({p.timeZone}); keep {p.keepImages}
                  </span>
                ) : (
                  <span key="i" className={uiStyles.faint}>
                    none while {p.mode} (FULL or HYBRID take one weekly)
                  </span>
                ),
              ],
              [
                'Next image',
                p.nextImageAt ? (
                  <span key="ni" title={dateTime(p.nextImageAt)} data-testid="backup-next-image">
                    <TimeAgo iso={p.nextImageAt} />
                  </span>
                ) : (
                  <span key="ni" className={uiStyles.faint}>
                    none while {p.mode}
                  </span>
                ),
              ],
              [
                'Set by',
                p.customized ? (
                  `${p.updatedBy ?? '—'} at ${dateTime(p.updatedAt)}`
                ) : (
                  <span key="s" className={uiStyles.muted} data-testid="backup-policy-defaults">
                    defaults of the device type
                  </span>
                ),
              ],
            ]}
          />
        </div>
      )}
    </Card>
  );
}

const MODE_LABELS: Record<PolicyForm['mode'], string> = {
  OFF: 'OFF: no backups',
  FILE: 'FILE: files nightly (restic)',
  FULL: 'FULL: full-disk image weekly',
  HYBRID: 'HYBRID: files nightly + full-disk image weekly',
};

/** The form keeps what was typed: a refusal shows the API's detail beside it and changes nothing here. */
function PolicyEditor({
  deviceId,
  form,
  setForm,
  timeZone,
  onSaved,
}: {
  deviceId: string;
  form: PolicyForm;
  setForm: (form: PolicyForm | null) => void;
  timeZone: string;
  onSaved: (policy: BackupPolicy) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (patch: Partial<PolicyForm>) => setForm({ ...form, ...patch });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await api(`devices/${deviceId}/backup-policy`, { method: 'PUT', body: policyUpdateOf(form), schema: BackupPolicySchema }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={styles.form} onSubmit={submit} data-testid="backup-policy-form">
      <Field label="Mode">
        <select value={form.mode} onChange={(e) => set({ mode: e.target.value as PolicyForm['mode'] })}>
          {BACKUP_MODES.map((mode) => (
            <option key={mode} value={mode} disabled={!isModeAvailable(mode)}>
              {MODE_LABELS[mode]}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Paths" hint="One absolute path per line.">
        <textarea rows={6} value={form.paths} onChange={(e) => set({ paths: e.target.value })} spellCheck={false} />
      </Field>
      <Field label="Excludes" hint="One restic exclude pattern per line.">
        <textarea rows={3} value={form.excludes} onChange={(e) => set({ excludes: e.target.value })} spellCheck={false} />
      </Field>
      <div className={styles.row}>
        <Field label={`Nightly at (${timeZone})`}>
          <input value={form.localTime} onChange={(e) => set({ localTime: e.target.value })} placeholder="HH:MM" maxLength={5} />
        </Field>
        <Field label="Keep daily">
          <input inputMode="numeric" value={form.keepDaily} onChange={(e) => set({ keepDaily: e.target.value })} maxLength={4} />
        </Field>
        <Field label="Keep weekly">
          <input inputMode="numeric" value={form.keepWeekly} onChange={(e) => set({ keepWeekly: e.target.value })} maxLength={4} />
        </Field>
      </div>
      {takesImages(form.mode) ? (
        <div className={styles.row}>
          <Field label="Full-disk image on" hint="Weekly, through the recovery stick (the device reboots into it for the image).">
            <select value={form.imageWeekday} onChange={(e) => set({ imageWeekday: e.target.value as PolicyForm['imageWeekday'] })}>
              {IMAGE_WEEKDAYS.map((day) => (
                <option key={day} value={day}>
                  {weeklySlotText(day, '').trim()}
                </option>
              ))}
            </select>
          </Field>
          <Field label={`At (${timeZone})`}>
            <input
              value={form.imageLocalTime}
              onChange={(e) => set({ imageLocalTime: e.target.value })}
              placeholder="HH:MM"
              maxLength={5}
              aria-label="Full-disk image time"
            />
          </Field>
          <Field label="Keep images" hint="2–4; the backup server prunes older ones.">
            <input
              inputMode="numeric"
              value={form.keepImages}
              onChange={(e) => set({ keepImages: e.target.value })}
              maxLength={2}
              aria-label="Keep images"
            />
          </Field>
        </div>
      ) : null}
      {error ? <ProblemView error={error} /> : null}
      <div className={styles.actions}>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save policy'}
        </Button>
        <Button onClick={() => setForm(null)} disabled={busy}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
