'use client';

import { SilencePageSchema, SilenceSchema, type Silence } from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { TimeAgo } from '../../../../components/device-badges';
import { DevicePicker } from '../../../../components/device-picker';
import { PageHeader } from '../../../../components/page-header';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Empty,
  Field,
  Forbidden,
  Loading,
  Pager,
  ProblemView,
  uiStyles,
} from '../../../../components/ui';
import { SILENCE_DURATIONS, buildSilence, problemFieldErrors, type FieldErrors, type SilenceForm } from '../../../../lib/alerts';
import { api, isApiError } from '../../../../lib/api-client';
import { dateTime } from '../../../../lib/format';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { useUrlState } from '../../../../lib/use-url-state';
import styles from '../alerts.module.css';
import { AlertsNav } from '../alerts-nav';

const PAGE_SIZE = 50;
const STATES = [
  { value: 'current', label: 'Active and upcoming' },
  { value: 'active', label: 'Active' },
  { value: 'upcoming', label: 'Upcoming' },
  { value: 'ended', label: 'Ended' },
] as const;

function silenceState(s: Silence, now: number): 'active' | 'upcoming' | 'ended' {
  if (Date.parse(s.endsAt) <= now) return 'ended';
  return s.active || Date.parse(s.startsAt) <= now ? 'active' : 'upcoming';
}

/**
 * Silences (maintenance windows) per device, site or organization: alerts in one are still
 * recorded and listed, but not delivered. Everyone reads them; `alerts.ack` creates and ends them.
 */
export function Silences() {
  const { can } = useSession();
  const manage = can('alerts.ack');
  const refs = useOrganizationsAndSites();
  const [params, setParams] = useUrlState();
  const state = params.get('state') ?? 'current';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [version, setVersion] = useState(0);
  const [creating, setCreating] = useState(false);
  const [ending, setEnding] = useState<Silence | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useResource(can('alerts.view') ? `silences:${state}:${offset}:${version}` : null, (signal) =>
    api('silences', { query: { state, limit: PAGE_SIZE, offset }, schema: SilencePageSchema, signal }),
  );

  if (!can('alerts.view')) {
    return (
      <>
        <PageHeader title="Silences" />
        <Forbidden permission="alerts.view" what="see silences" />
      </>
    );
  }

  async function endNow() {
    if (!ending) return;
    const target = ending;
    setBusy(true);
    setError(null);
    try {
      await api(`silences/${target.id}`, { method: 'DELETE', schema: SilenceSchema });
      setNotice(`The silence of ${target.scopeName ?? target.scope.kind} ended.`);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setEnding(null);
    }
  }

  const now = Date.now();
  return (
    <>
      <PageHeader
        title="Silences"
        subtitle="Maintenance windows: alerts of a silenced device, site or organization are recorded and shown, but not delivered to BetterStack or webhooks."
        actions={
          manage ? (
            <Button
              variant="primary"
              onClick={() => {
                setNotice(null);
                setCreating(true);
              }}
            >
              New silence
            </Button>
          ) : undefined
        }
      />
      <AlertsNav />
      {notice && (
        <div className={styles.notice} role="status" data-testid="silences-notice">
          {notice}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
      <div className={styles.layout}>
        <Card
          title="Silences"
          actions={
            <Field label="Show">
              <select
                value={state}
                onChange={(e) => setParams({ state: e.target.value === 'current' ? null : e.target.value })}
                aria-label="Filter silences"
              >
                {STATES.map((s) => (
                  <option key={s.value} value={s.value}>
                    {s.label}
                  </option>
                ))}
              </select>
            </Field>
          }
        >
          {list.data === undefined ? (
            list.error ? (
              <ProblemView error={list.error} onRetry={list.reload} />
            ) : (
              <Loading label="Loading silences…" />
            )
          ) : list.data.items.length === 0 ? (
            <Empty>{state === 'ended' ? 'No ended silences.' : 'No silence is active or planned.'}</Empty>
          ) : (
            <>
              <table className={uiStyles.table} data-testid="silences-table">
                <thead>
                  <tr>
                    <th>Silences</th>
                    <th>From</th>
                    <th>Until</th>
                    <th>Reason</th>
                    <th>By</th>
                    <th>State</th>
                    {manage && (
                      <th>
                        <span className="sr-only">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {list.data.items.map((s) => {
                    const st = silenceState(s, now);
                    return (
                      <tr key={s.id} data-silence-id={s.id}>
                        <td>
                          <span className={uiStyles.muted}>{s.scope.kind}</span> <strong>{s.scopeName ?? s.scope.id.slice(0, 8)}</strong>
                        </td>
                        <td className={styles.nowrap}>{dateTime(s.startsAt)}</td>
                        <td className={styles.nowrap}>
                          {dateTime(s.endsAt)}
                          <div className={uiStyles.faint}>
                            <TimeAgo iso={s.endsAt} />
                          </div>
                        </td>
                        <td style={{ overflowWrap: 'anywhere', maxWidth: 360 }}>{s.reason}</td>
                        <td>
                          {s.createdBy}
                          <div className={uiStyles.faint}>
                            <TimeAgo iso={s.createdAt} />
                          </div>
                        </td>
                        <td>
                          <Badge tone={st === 'active' ? 'warn' : st === 'upcoming' ? 'info' : 'neutral'}>
                            <span data-testid="silence-state">{st}</span>
                          </Badge>
                        </td>
                        {manage && (
                          <td className={styles.actions}>
                            {st !== 'ended' && (
                              <Button size="small" onClick={() => setEnding(s)}>
                                End now
                              </Button>
                            )}
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {list.data.total > PAGE_SIZE && (
                <Pager total={list.data.total} limit={PAGE_SIZE} offset={offset} onOffset={(o) => setParams({ offset: String(o) })} />
              )}
            </>
          )}
        </Card>
        {creating && (
          <SilenceEditor
            organizations={refs.data?.organizations ?? []}
            sites={(refs.data?.sites ?? []).map((s) => ({
              id: s.id,
              name: `${refs.data?.orgById.get(s.organizationId)?.name ?? ''} / ${s.name}`,
            }))}
            onSaved={(s) => {
              setCreating(false);
              setNotice(`${s.scopeName ?? s.scope.kind} is silenced from ${dateTime(s.startsAt)} until ${dateTime(s.endsAt)}.`);
              setVersion((v) => v + 1);
            }}
            onCancel={() => setCreating(false)}
          />
        )}
      </div>
      <ConfirmDialog
        open={ending !== null}
        title="End this silence now?"
        confirmLabel="End now"
        busy={busy}
        onConfirm={() => void endNow()}
        onCancel={() => setEnding(null)}
      >
        <p style={{ margin: 0 }}>
          Alerts of {ending?.scopeName ?? 'its scope'} are delivered again from now on; alerts that are still open are delivered then.
        </p>
      </ConfirmDialog>
    </>
  );
}

function SilenceEditor({
  organizations,
  sites,
  onSaved,
  onCancel,
}: {
  organizations: Array<{ id: string; name: string }>;
  sites: Array<{ id: string; name: string }>;
  onSaved: (s: Silence) => void;
  onCancel: () => void;
}) {
  const [form, setForm] = useState<SilenceForm>({ scopeKind: 'device', scopeId: '', startsAt: '', duration: '4h', endsAt: '', reason: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (changes: Partial<SilenceForm>) => setForm((f) => ({ ...f, ...changes }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const built = buildSilence(form, Date.now());
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      onSaved(await api('silences', { method: 'POST', body: built.body, schema: SilenceSchema }));
    } catch (e) {
      setError(e);
      if (isApiError(e)) setErrors(problemFieldErrors(e.problem));
    } finally {
      setBusy(false);
    }
  }

  const scopeError = errors['scope.id'] ?? errors.scope;
  return (
    <Card className={styles.side} title="New silence">
      <form className={styles.form} onSubmit={submit} noValidate data-testid="silence-editor">
        <div className={styles.formGrid}>
          <Field label="Silence">
            <select value={form.scopeKind} onChange={(e) => set({ scopeKind: e.target.value as SilenceForm['scopeKind'], scopeId: '' })}>
              <option value="device">a device</option>
              <option value="site">a site</option>
              <option value="organization">an organization</option>
            </select>
          </Field>
          {form.scopeKind === 'device' ? (
            <DevicePicker
              label="Device to silence"
              deviceId={form.scopeId}
              onChange={(id) => set({ scopeId: id ?? '' })}
              error={scopeError}
              clearLabel="Choose another device"
            />
          ) : (
            <Field label={form.scopeKind === 'site' ? 'Site' : 'Organization'} error={scopeError}>
              <select value={form.scopeId} onChange={(e) => set({ scopeId: e.target.value })}>
                <option value="">Choose…</option>
                {(form.scopeKind === 'site' ? sites : organizations).map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
          <Field label="Starts (your time; empty: now)" error={errors.startsAt}>
            <input type="datetime-local" value={form.startsAt} onChange={(e) => set({ startsAt: e.target.value })} />
          </Field>
          <Field label="For" error={form.duration === 'custom' ? undefined : errors.endsAt}>
            <select value={form.duration} onChange={(e) => set({ duration: e.target.value })}>
              {SILENCE_DURATIONS.map((d) => (
                <option key={d.value} value={d.value}>
                  {d.label}
                </option>
              ))}
              <option value="custom">until…</option>
            </select>
          </Field>
          {form.duration === 'custom' && (
            <Field label="Ends (your time)" error={errors.endsAt}>
              <input type="datetime-local" value={form.endsAt} onChange={(e) => set({ endsAt: e.target.value })} />
            </Field>
          )}
        </div>
        <Field label="Reason" error={errors.reason}>
          <textarea
            rows={2}
            maxLength={2000}
            value={form.reason}
            onChange={(e) => set({ reason: e.target.value })}
            placeholder="Maintenance window, known issue…"
          />
        </Field>
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Silence'}
          </Button>
        </div>
      </form>
    </Card>
  );
}
