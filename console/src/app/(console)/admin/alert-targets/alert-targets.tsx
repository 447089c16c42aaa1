'use client';

import {
  AlertTargetListSchema,
  AlertTargetSchema,
  AlertTargetTestResultSchema,
  type AlertTarget,
  type AlertTargetTestResult,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useState, type FormEvent, type ReactNode } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Empty,
  Field,
  Forbidden,
  KeyValues,
  Loading,
  ProblemView,
  uiStyles,
} from '../../../../components/ui';
import {
  CHANNELS,
  emptyTargetForm,
  routingText,
  targetFieldErrors,
  targetFormOf,
  validateNewTarget,
  validateTargetUpdate,
  type TargetForm,
} from '../../../../lib/alert-targets';
import { SEVERITIES, problemFieldErrors, type FieldErrors } from '../../../../lib/alerts';
import { api, isApiError } from '../../../../lib/api-client';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import styles from './alert-targets.module.css';

type Editor = { mode: 'new'; kind: TargetForm['kind'] } | { mode: 'edit'; target: AlertTarget };

/**
 * Where alerts are delivered (Super Admins, `settings.manage`): BetterStack's Uptime API (an
 * incident per alert, acknowledged and resolved with it) and signed webhooks. Tokens and secrets
 * are write-only: the API keeps them sealed and shows only their last characters. "Send test"
 * delivers a test message now and shows what the target answered.
 */
export function AlertTargets() {
  const { can } = useSession();
  const allowed = can('settings.manage');
  const critical = useCritical();
  const refs = useOrganizationsAndSites();
  const targets = useResource(allowed ? 'alert-targets' : null, (signal) =>
    api('alert-targets', { schema: AlertTargetListSchema, signal }),
  );
  const [editor, setEditor] = useState<Editor | null>(null);
  const [deleting, setDeleting] = useState<AlertTarget | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, AlertTargetTestResult | { error: unknown }>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="Alert delivery" />
        <Forbidden permission="settings.manage" what="manage where alerts are delivered" />
      </>
    );
  }

  async function test(target: AlertTarget) {
    setTesting(target.id);
    try {
      const result = await critical(() => api(`alert-targets/${target.id}/test`, { method: 'POST', schema: AlertTargetTestResultSchema }));
      setResults((r) => ({ ...r, [target.id]: result }));
    } catch (e) {
      setResults((r) => ({ ...r, [target.id]: { error: e } }));
    } finally {
      setTesting(null);
    }
  }

  async function remove() {
    if (!deleting) return;
    const target = deleting;
    setBusy(true);
    setError(null);
    try {
      await critical(() => api(`alert-targets/${target.id}`, { method: 'DELETE' }));
      targets.mutate((d) => (d ? { items: d.items.filter((t) => t.id !== target.id) } : d));
      setNotice(`“${target.name}” was deleted; its pending deliveries are dropped.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setDeleting(null);
    }
  }

  function saved(target: AlertTarget, created: boolean) {
    targets.mutate((d) =>
      d
        ? { items: d.items.some((t) => t.id === target.id) ? d.items.map((t) => (t.id === target.id ? target : t)) : [...d.items, target] }
        : d,
    );
    setEditor(null);
    setNotice(created ? `“${target.name}” was added. “Send test” checks that it works.` : `“${target.name}” was saved.`);
  }

  const orgName = (id: string) => refs.data?.orgById.get(id)?.name;
  return (
    <>
      <PageHeader
        title="Alert delivery"
        subtitle={
          <>
            Where alerts go: BetterStack incidents (on-call calls, SMS, e-mail, push) and signed webhooks. Failed deliveries end in the{' '}
            <Link href="/admin/alert-deliveries">dead letters</Link>.
          </>
        }
        actions={
          <>
            <Button variant="primary" onClick={() => (setNotice(null), setEditor({ mode: 'new', kind: 'betterstack' }))}>
              Add BetterStack
            </Button>
            <Button onClick={() => (setNotice(null), setEditor({ mode: 'new', kind: 'webhook' }))}>Add webhook</Button>
          </>
        }
      />
      {notice && (
        <div className={styles.notice} role="status" data-testid="targets-notice">
          {notice}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
      <div className={styles.layout}>
        <Card title="Targets">
          {targets.data === undefined ? (
            targets.error ? (
              <ProblemView error={targets.error} onRetry={targets.reload} />
            ) : (
              <Loading label="Loading targets…" />
            )
          ) : targets.data.items.length === 0 ? (
            <Empty>No target yet: alerts are recorded and shown here, but delivered nowhere.</Empty>
          ) : (
            <div className={styles.targets} data-testid="targets">
              {targets.data.items.map((t) => {
                const result = results[t.id];
                return (
                  <section key={t.id} className={styles.target} data-target-id={t.id}>
                    <div className={styles.targetHead}>
                      <div>
                        <strong data-testid="target-name">{t.name}</strong>{' '}
                        <Badge tone="neutral">{t.kind === 'betterstack' ? 'BetterStack' : 'webhook'}</Badge>{' '}
                        {t.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="neutral">disabled</Badge>}{' '}
                        {t.allowPrivateAddress && <Badge tone="warn">private addresses allowed</Badge>}
                      </div>
                      <div className={styles.buttons}>
                        <Button size="small" onClick={() => void test(t)} disabled={testing !== null}>
                          {testing === t.id ? 'Sending…' : 'Send test'}
                        </Button>
                        <Button
                          size="small"
                          onClick={() => (setNotice(null), setEditor({ mode: 'edit', target: t }))}
                          aria-label={`Edit ${t.name}`}
                        >
                          Edit
                        </Button>
                        <Button size="small" variant="danger" onClick={() => setDeleting(t)} aria-label={`Delete ${t.name}`}>
                          Delete
                        </Button>
                      </div>
                    </div>
                    <KeyValues
                      rows={[
                        [
                          'URL',
                          <span className="mono" key="u">
                            {String(t.kind === 'betterstack' ? t.config.baseUrl : t.config.url)}
                          </span>,
                        ],
                        ...(t.kind === 'betterstack'
                          ? ([['Requester', String(t.config.requesterEmail ?? '')]] as Array<[string, string]>)
                          : []),
                        ['Routing', routingText(t.routing, orgName)],
                        [
                          t.kind === 'betterstack' ? 'API token' : 'Signing secret',
                          <span key="s" data-testid="secret-hint">
                            set, ends in …{t.secretHint}
                          </span>,
                        ],
                      ]}
                    />
                    {result && <TestResult result={result} />}
                  </section>
                );
              })}
            </div>
          )}
        </Card>
        {editor && (
          <TargetEditor
            key={editor.mode === 'new' ? `new:${editor.kind}` : editor.target.id}
            editor={editor}
            organizations={refs.data?.organizations ?? []}
            onSaved={saved}
            onCancel={() => setEditor(null)}
          />
        )}
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p style={{ margin: 0 }}>Alerts are no longer delivered there; deliveries still waiting for it are dropped.</p>
      </ConfirmDialog>
    </>
  );
}

function TestResult({ result }: { result: AlertTargetTestResult | { error: unknown } }) {
  if ('error' in result) return <ProblemView error={result.error} />;
  return (
    <div className={`${styles.result} ${result.ok ? styles.resultOk : styles.resultBad}`} role="status" data-testid="target-test-result">
      <strong>{result.ok ? 'Delivered' : 'Not delivered'}</strong>
      <KeyValues
        rows={[
          ['Status', result.status === null ? 'no answer' : `HTTP ${result.status}`],
          [
            'Message',
            <span key="m" style={{ overflowWrap: 'anywhere' }}>
              {result.message}
            </span>,
          ],
          ...(result.remoteId
            ? ([
                [
                  'Incident',
                  <span key="r" className="mono" data-testid="test-incident">
                    {result.remoteId}
                  </span>,
                ],
              ] as Array<[string, ReactNode]>)
            : []),
          ['Took', `${Math.round(result.durationMs)} ms`],
        ]}
      />
    </div>
  );
}

function TargetEditor({
  editor,
  organizations,
  onSaved,
  onCancel,
}: {
  editor: Editor;
  organizations: Array<{ id: string; name: string }>;
  onSaved: (t: AlertTarget, created: boolean) => void;
  onCancel: () => void;
}) {
  const critical = useCritical();
  const editing = editor.mode === 'edit' ? editor.target : null;
  const [form, setForm] = useState<TargetForm>(() =>
    editing ? targetFormOf(editing) : emptyTargetForm(editor.mode === 'new' ? editor.kind : 'webhook'),
  );
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (changes: Partial<TargetForm>) => setForm((f) => ({ ...f, ...changes }));
  const better = form.kind === 'betterstack';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const checked = editing ? validateTargetUpdate(form) : validateNewTarget(form);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const saved = await critical(() =>
        editing
          ? api(`alert-targets/${editing.id}`, { method: 'PATCH', body: checked.body, schema: AlertTargetSchema })
          : api('alert-targets', { method: 'POST', body: checked.body, schema: AlertTargetSchema }),
      );
      // The token typed here is not kept in the page once the API has it.
      setForm((f) => ({ ...f, secret: '' }));
      onSaved(saved, !editing);
    } catch (e) {
      setError(e);
      if (isApiError(e)) setErrors(targetFieldErrors(problemFieldErrors(e.problem)));
    } finally {
      setBusy(false);
    }
  }

  const secretLabel = better ? 'API token' : 'Signing secret';
  return (
    <Card className={styles.side} title={editing ? `Edit “${editing.name}”` : better ? 'New BetterStack target' : 'New webhook'}>
      <form className={styles.form} onSubmit={submit} noValidate data-testid="target-editor">
        <div className={styles.formGrid}>
          <Field label="Name" error={errors.name}>
            <input value={form.name} onChange={(e) => set({ name: e.target.value })} maxLength={120} />
          </Field>
          <Field label={better ? 'Uptime API base URL' : 'Webhook URL'} error={errors.url}>
            <input type="url" value={form.url} onChange={(e) => set({ url: e.target.value })} spellCheck={false} />
          </Field>
          {better && (
            <>
              <Field label="Requester e-mail" error={errors.requesterEmail}>
                <input type="email" value={form.requesterEmail} onChange={(e) => set({ requesterEmail: e.target.value })} />
              </Field>
              <Field label="Team (optional)" error={errors.teamName} hint="needed with a global API token">
                <input value={form.teamName} onChange={(e) => set({ teamName: e.target.value })} maxLength={200} />
              </Field>
            </>
          )}
          <Field
            label={editing ? `${secretLabel} (leave empty to keep)` : secretLabel}
            error={errors.secret}
            hint={editing ? `the stored one ends in …${editing.secretHint}; it is never shown` : 'stored sealed; never shown again'}
          >
            <input
              type="password"
              autoComplete="new-password"
              value={form.secret}
              onChange={(e) => set({ secret: e.target.value })}
              spellCheck={false}
              data-testid="target-secret"
            />
          </Field>
        </div>
        {better && (
          <fieldset className={styles.fieldset}>
            <legend className={styles.legend}>How the on-call person is notified</legend>
            <table className={`${uiStyles.table} ${styles.policy}`} data-testid="policy">
              <thead>
                <tr>
                  <th>Severity</th>
                  {CHANNELS.map((c) => (
                    <th key={c}>{c === 'sms' ? 'SMS' : c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {SEVERITIES.map((s) => (
                  <tr key={s}>
                    <td>{s}</td>
                    {CHANNELS.map((c) => (
                      <td key={c}>
                        <input
                          type="checkbox"
                          aria-label={`${c} for ${s}`}
                          checked={form.policy[s][c]}
                          onChange={(e) => set({ policy: { ...form.policy, [s]: { ...form.policy[s], [c]: e.target.checked } } })}
                        />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            {errors.policy && <span className={uiStyles.fieldError}>{errors.policy}</span>}
          </fieldset>
        )}
        <fieldset className={styles.fieldset}>
          <legend className={styles.legend}>Which alerts</legend>
          <div className={styles.checks}>
            {SEVERITIES.map((s) => (
              <label key={s} className={styles.inline}>
                <input
                  type="checkbox"
                  checked={form.severities.includes(s)}
                  onChange={(e) => set({ severities: e.target.checked ? [...form.severities, s] : form.severities.filter((x) => x !== s) })}
                />
                {s}
              </label>
            ))}
          </div>
          {errors.severities && <span className={uiStyles.fieldError}>{errors.severities}</span>}
          <div className={styles.checks}>
            <label className={styles.inline}>
              <input type="radio" name="orgs" checked={form.organizationIds === null} onChange={() => set({ organizationIds: null })} />
              all organizations
            </label>
            <label className={styles.inline}>
              <input
                type="radio"
                name="orgs"
                checked={form.organizationIds !== null}
                onChange={() => set({ organizationIds: form.organizationIds ?? [] })}
              />
              only these:
            </label>
          </div>
          {form.organizationIds !== null && (
            <div className={styles.checks} data-testid="routing-organizations">
              {organizations.map((o) => (
                <label key={o.id} className={styles.inline}>
                  <input
                    type="checkbox"
                    checked={form.organizationIds!.includes(o.id)}
                    onChange={(e) =>
                      set({
                        organizationIds: e.target.checked
                          ? [...form.organizationIds!, o.id]
                          : form.organizationIds!.filter((x) => x !== o.id),
                      })
                    }
                  />
                  {o.name}
                </label>
              ))}
            </div>
          )}
          {errors.organizationIds && <span className={uiStyles.fieldError}>{errors.organizationIds}</span>}
          <label className={styles.inline}>
            <input type="checkbox" checked={form.includeFleet} onChange={(e) => set({ includeFleet: e.target.checked })} />
            fleet-level alerts (share of the fleet offline)
          </label>
        </fieldset>
        <label className={styles.inline}>
          <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
          Enabled
        </label>
        <label className={styles.inline}>
          <input type="checkbox" checked={form.allowPrivateAddress} onChange={(e) => set({ allowPrivateAddress: e.target.checked })} />
          Allow a private address
        </label>
        {form.allowPrivateAddress && (
          <div className={styles.warning} role="note" data-testid="private-warning">
            The API will send to loopback, link-local, private and overlay addresses for this target. Only allow this for a receiver you run
            on your own network: otherwise a target could make the API reach services that are not meant to be reached from it.
          </div>
        )}
        {errors._ && <span className={uiStyles.fieldError}>{errors._}</span>}
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save target' : 'Add target'}
          </Button>
        </div>
      </form>
    </Card>
  );
}
