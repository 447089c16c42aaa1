'use client';

import { AlertPageSchema, AlertSchema, SilenceSchema, type Alert } from '@xspectre/contracts';
import Link from 'next/link';
import { useState, type ReactNode } from 'react';
import { isApiError, api } from '../lib/api-client';
import {
  SEVERITY_TONE,
  STATE_TONE,
  SILENCE_DURATIONS,
  buildSilence,
  detailsText,
  liveOutcome,
  mayActOnAlert,
  newAlertsText,
  newerAlert,
  problemFieldErrors,
  silenceScopesOf,
  validateAcknowledge,
  validateResolve,
  alertQuery,
  matchesAlertFilter,
  type AlertFilter,
  type FieldErrors,
  type SilenceForm,
} from '../lib/alerts';
import { dateTime } from '../lib/format';
import { useOrganizationsAndSites } from '../lib/reference-data';
import { useSession } from '../lib/session';
import { refreshAlertCounts } from '../lib/use-alert-counts';
import { useResource } from '../lib/use-api';
import { useLive } from '../lib/use-live';
import styles from './alert-list.module.css';
import { TimeAgo } from './device-badges';
import { Badge, Button, Card, Empty, Field, FormDialog, Loading, Pager, ProblemView, uiStyles } from './ui';

export const ALERT_PAGE_SIZE = 50;

export function SeverityBadge({ severity }: { severity: Alert['severity'] }) {
  return (
    <Badge tone={SEVERITY_TONE[severity]}>
      <span data-testid="alert-severity">{severity}</span>
    </Badge>
  );
}

export function AlertStateBadge({ state }: { state: Alert['state'] }) {
  return (
    <Badge tone={STATE_TONE[state]}>
      <span data-testid="alert-state">{state}</span>
    </Badge>
  );
}

type Action = { kind: 'ack' | 'resolve' | 'silence'; alert: Alert };

/**
 * A page of alerts (newest first) for a filter, with acknowledge, resolve and silence for those
 * the operator may act on. Live `alert.changed` messages change rows in place (a resolved alert
 * stays where it is, dimmed, until the view is read again); a new alert for this filter is
 * counted in a bar floating over the list ("2 new alerts — show") instead of pushing the rows
 * down under the operator's eyes. A reconnect reads the page again.
 */
export function AlertList({
  filter,
  offset,
  onOffset,
  showDevice = true,
  title = 'Alerts',
  filters,
  emptyText,
}: {
  filter: AlertFilter;
  offset: number;
  onOffset: (offset: number) => void;
  showDevice?: boolean;
  title?: ReactNode;
  filters?: ReactNode;
  emptyText: string;
}) {
  const { me, can } = useSession();
  const refs = useOrganizationsAndSites();
  const filterKey = JSON.stringify(filter);
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState<ReadonlyMap<string, Alert>>(new Map());
  const [pending, setPending] = useState<{ key: string; ids: ReadonlySet<string> }>({ key: filterKey, ids: new Set() });
  const [action, setAction] = useState<Action | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useResource(`alerts:${filterKey}:${offset}:${version}`, (signal) =>
    api('alerts', { query: { ...alertQuery(filter), limit: ALERT_PAGE_SIZE, offset }, schema: AlertPageSchema, signal }),
  );
  const pendingIds = pending.key === filterKey ? pending.ids : new Set<string>();
  const page = list.data;

  useLive(
    (message) => {
      if (message.type !== 'alert.changed' || !page) return;
      const alert = message.alert;
      const outcome = liveOutcome(alert, filter, {
        shownIds: new Set(page.items.map((a) => a.id)),
        pendingIds,
        firstPage: offset === 0,
        newestOpenedAt: offset === 0 ? (page.items[0]?.openedAt ?? null) : null,
        empty: page.items.length === 0,
      });
      if (outcome === 'patch')
        setLive((old) => new Map(old).set(alert.id, old.has(alert.id) ? newerAlert(old.get(alert.id)!, alert) : alert));
      else if (outcome === 'new') setPending({ key: filterKey, ids: new Set([...pendingIds, alert.id]) });
      else if (outcome === 'reload') setVersion((v) => v + 1);
    },
    () => {
      setPending({ key: filterKey, ids: new Set() });
      setVersion((v) => v + 1);
    },
  );

  function showNew() {
    setPending({ key: filterKey, ids: new Set() });
    if (offset !== 0) onOffset(0);
    setVersion((v) => v + 1);
  }

  function done(updated: Alert, message?: string) {
    setNotice(message ?? null);
    setLive((old) => new Map(old).set(updated.id, old.has(updated.id) ? newerAlert(old.get(updated.id)!, updated) : updated));
    setAction(null);
    refreshAlertCounts();
  }

  const orgKind = (id: string) => refs.data?.orgById.get(id)?.kind;
  const items = (page?.items ?? []).map((a) => (live.has(a.id) ? newerAlert(a, live.get(a.id)!) : a));

  return (
    <Card title={title} actions={filters}>
      <div className={styles.barSlot} aria-live="polite">
        {pendingIds.size > 0 && (
          <button type="button" className={styles.newBar} onClick={showNew} data-testid="new-alerts">
            {newAlertsText(pendingIds.size)} — show
          </button>
        )}
      </div>
      {notice && (
        <div className={styles.notice} role="status" data-testid="alert-notice">
          {notice}
        </div>
      )}
      {page === undefined ? (
        list.error ? (
          <ProblemView error={list.error} onRetry={list.reload} />
        ) : (
          <Loading label="Loading alerts…" />
        )
      ) : items.length === 0 ? (
        <Empty>{emptyText}</Empty>
      ) : (
        <>
          {list.error ? <ProblemView error={list.error} onRetry={list.reload} /> : null}
          <table className={`${uiStyles.table} ${styles.table}`} data-testid="alerts-table">
            <thead>
              <tr>
                <th>Severity</th>
                <th>State</th>
                <th>Alert</th>
                {showDevice && <th>Device</th>}
                <th>Opened</th>
                <th>Handled</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => {
                const mayAct = mayActOnAlert(a, me.role, can, orgKind);
                const details = detailsText(a.details);
                return (
                  <tr
                    key={a.id}
                    data-alert-id={a.id}
                    data-severity={a.severity}
                    className={`${styles[a.severity]} ${matchesAlertFilter(a, filter) ? '' : styles.stale}`}
                  >
                    <td>
                      <SeverityBadge severity={a.severity} />
                    </td>
                    <td className={styles.nowrap}>
                      <AlertStateBadge state={a.state} />
                      {a.silenced && (
                        <div>
                          <Badge tone="neutral" title="Opened during a silence: recorded, not delivered">
                            silenced
                          </Badge>
                        </div>
                      )}
                    </td>
                    <td className={styles.what}>
                      <div className={styles.title} data-testid="alert-title">
                        {a.title}
                      </div>
                      <div className={uiStyles.faint}>
                        {a.subject && (
                          <>
                            <span className="mono" data-testid="alert-subject">
                              {a.subject}
                            </span>
                            {' · '}
                          </>
                        )}
                        {a.ruleKey}
                        {details && ` · ${details}`}
                      </div>
                    </td>
                    {showDevice && (
                      <td>
                        {a.deviceId ? (
                          <Link href={`/devices/${a.deviceId}/alerts`} className={styles.nowrap}>
                            {a.deviceName ?? a.deviceId.slice(0, 8)}
                          </Link>
                        ) : (
                          <span className={uiStyles.muted}>fleet</span>
                        )}
                        <div className={uiStyles.faint}>
                          {[a.organizationName, a.siteName].filter(Boolean).join(' / ') || (a.deviceId ? '' : 'every device')}
                        </div>
                      </td>
                    )}
                    <td className={styles.nowrap}>
                      <TimeAgo iso={a.openedAt} />
                    </td>
                    <td className={styles.handled} data-testid="alert-handled">
                      <Handled alert={a} />
                    </td>
                    <td className={styles.actions}>
                      {mayAct && a.state === 'open' && (
                        <Button size="small" onClick={() => setAction({ kind: 'ack', alert: a })}>
                          Acknowledge
                        </Button>
                      )}
                      {mayAct && a.state !== 'resolved' && (
                        <Button size="small" onClick={() => setAction({ kind: 'resolve', alert: a })}>
                          Resolve
                        </Button>
                      )}
                      {mayAct && a.state !== 'resolved' && silenceScopesOf(a).length > 0 && (
                        <Button size="small" onClick={() => setAction({ kind: 'silence', alert: a })}>
                          Silence…
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {page.total > ALERT_PAGE_SIZE && <Pager total={page.total} limit={ALERT_PAGE_SIZE} offset={offset} onOffset={onOffset} />}
        </>
      )}
      {action && (
        <AlertActionDialog key={`${action.kind}:${action.alert.id}`} action={action} onDone={done} onCancel={() => setAction(null)} />
      )}
    </Card>
  );
}

function Handled({ alert: a }: { alert: Alert }) {
  if (a.state === 'open') return <span className={uiStyles.faint}>—</span>;
  return (
    <>
      {a.acknowledgedAt && (
        <div>
          acknowledged by {a.acknowledgedBy ?? '—'} <TimeAgo iso={a.acknowledgedAt} />
          {a.acknowledgeNote && <div className={styles.note}>“{a.acknowledgeNote}”</div>}
        </div>
      )}
      {a.resolvedAt && (
        <div>
          {a.resolution === 'auto' ? 'resolved automatically' : `resolved by ${a.resolvedBy ?? '—'}`} <TimeAgo iso={a.resolvedAt} />
          {a.resolveNote && <div className={styles.note}>“{a.resolveNote}”</div>}
        </div>
      )}
    </>
  );
}

/** Acknowledge (optional note), resolve (a note is required) or silence (a window for the alert's device, site or organization). */
function AlertActionDialog({
  action,
  onDone,
  onCancel,
}: {
  action: Action;
  onDone: (a: Alert, notice?: string) => void;
  onCancel: () => void;
}) {
  const { alert, kind } = action;
  const scopes = silenceScopesOf(alert);
  const [note, setNote] = useState('');
  const [silence, setSilence] = useState<SilenceForm>({
    scopeKind: scopes[0]?.kind ?? 'device',
    scopeId: scopes[0]?.id ?? '',
    startsAt: '',
    duration: '4h',
    endsAt: '',
    reason: '',
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit() {
    setError(null);
    if (kind === 'silence') {
      const built = buildSilence(silence, Date.now());
      if (!built.ok) return setErrors(built.errors);
      setErrors({});
      setBusy(true);
      try {
        const created = await api('silences', { method: 'POST', body: built.body, schema: SilenceSchema });
        const scope = scopes.find((s) => s.id === created.scope.id)?.label ?? created.scopeName ?? created.scope.kind;
        // The alert may now be marked silenced: read it again.
        const fresh = await api(`alerts/${alert.id}`, { schema: AlertSchema }).catch(() => alert);
        onDone(fresh, `Silenced ${scope} until ${dateTime(created.endsAt)}.`);
      } catch (e) {
        setError(e);
        if (isApiError(e)) setErrors(problemFieldErrors(e.problem));
      } finally {
        setBusy(false);
      }
      return;
    }
    const checked = kind === 'ack' ? validateAcknowledge(note) : validateResolve(note);
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    setBusy(true);
    try {
      const updated = await api(`alerts/${alert.id}/${kind === 'ack' ? 'ack' : 'resolve'}`, {
        method: 'POST',
        body: checked.body,
        schema: AlertSchema,
      });
      onDone(updated);
    } catch (e) {
      setError(e);
      if (isApiError(e)) setErrors(problemFieldErrors(e.problem));
    } finally {
      setBusy(false);
    }
  }

  const what = (
    <p style={{ margin: 0 }}>
      <strong>{alert.title}</strong>
      {alert.deviceName ? ` on ${alert.deviceName}` : ''}
      {alert.subject ? ` (${alert.subject})` : ''}
    </p>
  );
  if (kind === 'silence') {
    return (
      <FormDialog
        open
        title="Silence alerts"
        submitLabel="Silence"
        busy={busy}
        error={error}
        onSubmit={() => void submit()}
        onCancel={onCancel}
      >
        {what}
        <p className={uiStyles.muted} style={{ margin: 0 }}>
          Alerts in a silence are still recorded and shown here, but not delivered to BetterStack or webhooks.
        </p>
        <Field label="Silence" error={errors['scope.id'] ?? errors['scope']}>
          <select
            value={`${silence.scopeKind}:${silence.scopeId}`}
            onChange={(e) => {
              const [scopeKind, scopeId] = e.target.value.split(':') as [SilenceForm['scopeKind'], string];
              setSilence((s) => ({ ...s, scopeKind, scopeId }));
            }}
          >
            {scopes.map((s) => (
              <option key={s.kind} value={`${s.kind}:${s.id}`}>
                {s.label}
              </option>
            ))}
          </select>
        </Field>
        <div className={styles.formRow}>
          <Field label="For" error={silence.duration === 'custom' ? undefined : errors.endsAt}>
            <select value={silence.duration} onChange={(e) => setSilence((s) => ({ ...s, duration: e.target.value }))}>
              {SILENCE_DURATIONS.map((d) => (
                <option key={d.value} value={d.value}>
                  {d.label}
                </option>
              ))}
              <option value="custom">until…</option>
            </select>
          </Field>
          {silence.duration === 'custom' && (
            <Field label="Ends (your time)" error={errors.endsAt}>
              <input type="datetime-local" value={silence.endsAt} onChange={(e) => setSilence((s) => ({ ...s, endsAt: e.target.value }))} />
            </Field>
          )}
        </div>
        <Field label="Reason" error={errors.reason}>
          <textarea
            rows={2}
            maxLength={2000}
            value={silence.reason}
            onChange={(e) => setSilence((s) => ({ ...s, reason: e.target.value }))}
            placeholder="Maintenance window, known issue…"
          />
        </Field>
      </FormDialog>
    );
  }
  const ack = kind === 'ack';
  return (
    <FormDialog
      open
      title={ack ? 'Acknowledge the alert' : 'Resolve the alert'}
      submitLabel={ack ? 'Acknowledge' : 'Resolve'}
      busy={busy}
      error={error}
      onSubmit={() => void submit()}
      onCancel={onCancel}
    >
      {what}
      <p className={uiStyles.muted} style={{ margin: 0 }}>
        {ack
          ? 'Says someone is on it: the incident in BetterStack is acknowledged too. The alert resolves by itself when the condition clears.'
          : 'Closes the alert now, whether or not the condition cleared; if it still holds, the next evaluation opens a new one.'}
      </p>
      <Field label={ack ? 'Note (optional)' : 'Why is it resolved?'} error={errors.note ?? errors._}>
        <textarea rows={3} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} autoFocus />
      </Field>
    </FormDialog>
  );
}
