'use client';

import { ScannerFeedScheduleSchema, ScannerFeedScheduleViewSchema, type ScannerFeedSchedule } from '@xspectre/contracts';
import { useState } from 'react';
import { dateTime } from '../lib/format';
import { useResource } from '../lib/use-api';
import { api } from '../lib/api-client';
import { Badge, Button, Card, ConfirmDialog, Field, Loading, ProblemView, uiStyles } from './ui';
import styles from './scanner-ui.module.css';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DEFAULT: ScannerFeedSchedule = { enabled: true, weekdays: [0], hourUtc: 3, jitterMinutes: 60, pruneOldImages: true };

export function scheduleText(s: ScannerFeedSchedule): string {
  const days = [...s.weekdays]
    .sort((a, b) => a - b)
    .map((d) => WEEKDAYS[d])
    .join(', ');
  return `${days} at ${String(s.hourUtc).padStart(2, '0')}:00 UTC, up to ${s.jitterMinutes} min later per scanner${s.pruneOldImages ? ', pruning old feed images' : ''}`;
}

/**
 * A site's feed update schedule (`GET/PUT/DELETE sites/:id/scanner-feed-schedule`): every scanner
 * of the site pulls new feed data images on these weekdays at this hour (UTC), each a random
 * delay of up to `jitter` later so they do not all pull at once. Edited with devices.manage; the
 * form is checked with the contract's schema and the API's refusal is shown under it.
 */
export function ScannerFeedScheduleCard({ siteId, siteName, canEdit }: { siteId: string; siteName: string; canEdit: boolean }) {
  const view = useResource(`scanner-feed-schedule:${siteId}`, (signal) =>
    api(`sites/${siteId}/scanner-feed-schedule`, { schema: ScannerFeedScheduleViewSchema, signal }),
  );
  const [draft, setDraft] = useState<ScannerFeedSchedule | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState(false);

  async function save() {
    if (!draft) return;
    const parsed = ScannerFeedScheduleSchema.safeParse(draft);
    if (!parsed.success) {
      setInvalid(parsed.error.issues.map((i) => `${i.path.join('.') || 'schedule'}: ${i.message}`).join('; '));
      return;
    }
    setInvalid(null);
    setBusy(true);
    setError(null);
    try {
      const saved = await api(`sites/${siteId}/scanner-feed-schedule`, {
        method: 'PUT',
        body: parsed.data,
        schema: ScannerFeedScheduleViewSchema,
      });
      view.mutate(() => saved);
      setDraft(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api(`sites/${siteId}/scanner-feed-schedule`, { method: 'DELETE' });
      setRemoving(false);
      view.reload();
    } catch (e) {
      setError(e);
      setRemoving(false);
    } finally {
      setBusy(false);
    }
  }

  const schedule = view.data?.schedule ?? null;
  return (
    <Card title={<h2>Feed update schedule · {siteName}</h2>}>
      <div className={styles.schedule} data-testid="feed-schedule">
        {view.data === undefined ? (
          view.error ? (
            <ProblemView error={view.error} onRetry={view.reload} />
          ) : (
            <Loading />
          )
        ) : draft ? (
          <form
            noValidate
            className={styles.schedule}
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
            data-testid="feed-schedule-form"
          >
            <label className={styles.inline}>
              <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} /> Enabled
            </label>
            <fieldset className={styles.weekdays}>
              <legend>Weekdays (UTC)</legend>
              {WEEKDAYS.map((name, day) => (
                <label key={name}>
                  <input
                    type="checkbox"
                    checked={draft.weekdays.includes(day)}
                    onChange={(e) =>
                      setDraft({
                        ...draft,
                        weekdays: e.target.checked
                          ? [...draft.weekdays, day].sort((a, b) => a - b)
                          : draft.weekdays.filter((d) => d !== day),
                      })
                    }
                  />
                  {name}
                </label>
              ))}
            </fieldset>
            <div className={styles.scheduleRow}>
              <Field label="Hour (UTC)">
                <input
                  type="number"
                  min={0}
                  max={23}
                  value={draft.hourUtc}
                  onChange={(e) => setDraft({ ...draft, hourUtc: e.target.valueAsNumber })}
                />
              </Field>
              <Field label="Jitter (minutes)" hint="0–240">
                <input
                  type="number"
                  min={0}
                  max={240}
                  value={draft.jitterMinutes}
                  onChange={(e) => setDraft({ ...draft, jitterMinutes: e.target.valueAsNumber })}
                />
              </Field>
              <label className={styles.inline}>
                <input
                  type="checkbox"
                  checked={draft.pruneOldImages}
                  onChange={(e) => setDraft({ ...draft, pruneOldImages: e.target.checked })}
                />{' '}
                Prune old feed images
              </label>
            </div>
            {invalid && (
              <span className={uiStyles.fieldError} role="alert">
                {invalid}
              </span>
            )}
            {error ? <ProblemView error={error} /> : null}
            <div className={styles.inline}>
              <Button type="submit" variant="primary" disabled={busy}>
                {busy ? 'Saving…' : 'Save schedule'}
              </Button>
              <Button
                onClick={() => {
                  setDraft(null);
                  setError(null);
                  setInvalid(null);
                }}
                disabled={busy}
              >
                Cancel
              </Button>
            </div>
          </form>
        ) : (
          <>
            <div data-testid="feed-schedule-text">
              {schedule ? (
                <>
                  <Badge tone={schedule.enabled ? 'ok' : 'neutral'}>{schedule.enabled ? 'enabled' : 'disabled'}</Badge>{' '}
                  {scheduleText(schedule)}
                </>
              ) : (
                <span className={uiStyles.muted}>No schedule: feeds are updated only when someone asks.</span>
              )}
            </div>
            {view.data.nextRunAt && <div className={uiStyles.muted}>Next run {dateTime(view.data.nextRunAt)} (before jitter)</div>}
            {view.data.updatedAt && (
              <div className={uiStyles.faint}>
                Changed {dateTime(view.data.updatedAt)}
                {view.data.updatedBy ? ` by ${view.data.updatedBy}` : ''}
              </div>
            )}
            {error ? <ProblemView error={error} /> : null}
            {canEdit && (
              <div className={styles.inline}>
                <Button onClick={() => setDraft(schedule ?? DEFAULT)}>{schedule ? 'Edit schedule…' : 'Set a schedule…'}</Button>
                {schedule && (
                  <Button variant="danger" onClick={() => setRemoving(true)}>
                    Remove
                  </Button>
                )}
              </div>
            )}
          </>
        )}
      </div>
      <ConfirmDialog
        open={removing}
        title="Remove the feed update schedule?"
        confirmLabel="Remove schedule"
        danger
        busy={busy}
        onCancel={() => setRemoving(false)}
        onConfirm={() => void remove()}
      >
        <p>
          The scanners of <strong>{siteName}</strong> will update their feeds only when someone asks.
        </p>
      </ConfirmDialog>
    </Card>
  );
}
