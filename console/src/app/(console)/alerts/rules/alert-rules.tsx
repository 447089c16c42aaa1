'use client';

import {
  ALERT_RULE_KINDS,
  AlertRuleListSchema,
  AlertRuleSchema,
  type AlertRule,
  type AlertRuleKind,
  type AlertSeverity,
} from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { SeverityBadge } from '../../../../components/alert-list';
import { DevicePicker } from '../../../../components/device-picker';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, ConfirmDialog, Empty, Field, Forbidden, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import {
  emptyRuleForm,
  groupRulesByKey,
  kindLabel,
  paramFields,
  paramValuesOf,
  paramsText,
  ruleFormOf,
  scopeKindsFor,
  scopeText,
  validateNewRule,
  validateRuleUpdate,
  type ParamField,
  type RuleForm,
  type ScopeKind,
} from '../../../../lib/alert-rules';
import { SEVERITIES, problemFieldErrors, type FieldErrors } from '../../../../lib/alerts';
import { api, isApiError } from '../../../../lib/api-client';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { useNames } from '../../../../lib/use-names';
import styles from '../alerts.module.css';
import { AlertsNav } from '../alerts-nav';

type Editor = { mode: 'new' } | { mode: 'edit'; rule: AlertRule } | { mode: 'override'; rule: AlertRule };

const SCOPE_LABELS: Record<ScopeKind, string> = {
  global: 'Every device (global)',
  device_type: 'A device type',
  organization: 'An organization',
  site: 'A site',
  device: 'One device',
};

/**
 * The alert rules (`GET alert-rules`), grouped by key: rules of one key override each other by
 * scope (a device's own rule beats its site's, which beats the organization's, the device
 * type's and the global one). Everyone with `alerts.view` reads them; Super Admins
 * (`settings.manage`) add, change, enable and disable them and delete those that did not ship.
 */
export function AlertRules() {
  const { can } = useSession();
  const manage = can('settings.manage');
  const critical = useCritical();
  const refs = useOrganizationsAndSites();
  const rules = useResource(can('alerts.view') ? 'alert-rules' : null, (signal) =>
    api('alert-rules', { schema: AlertRuleListSchema, signal }),
  );
  const [editor, setEditor] = useState<Editor | null>(null);
  const [deleting, setDeleting] = useState<AlertRule | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const deviceIds = (rules.data?.items ?? []).flatMap((r) => (r.scope.kind === 'device' ? [r.scope.id] : []));
  const deviceNames = useNames('devices', deviceIds);

  if (!can('alerts.view')) {
    return (
      <>
        <PageHeader title="Alert rules" />
        <Forbidden permission="alerts.view" what="see alert rules" />
      </>
    );
  }

  const names = {
    org: (id: string) => refs.data?.orgById.get(id)?.name,
    site: (id: string) => refs.data?.siteById.get(id)?.name,
    device: (id: string) => deviceNames.get(id),
  };

  function replace(rule: AlertRule) {
    rules.mutate((d) =>
      d ? { items: d.items.some((r) => r.id === rule.id) ? d.items.map((r) => (r.id === rule.id ? rule : r)) : [...d.items, rule] } : d,
    );
  }

  async function toggle(rule: AlertRule) {
    setError(null);
    setNotice(null);
    try {
      const updated = await critical(() =>
        api(`alert-rules/${rule.id}`, { method: 'PATCH', body: { enabled: !rule.enabled }, schema: AlertRuleSchema }),
      );
      replace(updated);
      setNotice(`“${updated.name}” is ${updated.enabled ? 'enabled' : 'disabled'}.`);
    } catch (e) {
      setError(e);
    }
  }

  async function remove() {
    if (!deleting) return;
    const target = deleting;
    setBusy(true);
    setError(null);
    try {
      await critical(() => api(`alert-rules/${target.id}`, { method: 'DELETE' }));
      rules.mutate((d) => (d ? { items: d.items.filter((r) => r.id !== target.id) } : d));
      setNotice(`“${target.name}” was deleted.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setDeleting(null);
    }
  }

  const groups = groupRulesByKey(rules.data?.items ?? []);
  return (
    <>
      <PageHeader
        title="Alert rules"
        subtitle="Rules of one key override each other: the most specific scope that matches a device decides (device, site, organization, device type, global)."
        actions={
          manage ? (
            <Button
              variant="primary"
              onClick={() => {
                setNotice(null);
                setEditor({ mode: 'new' });
              }}
            >
              New rule
            </Button>
          ) : undefined
        }
      />
      <AlertsNav />
      {notice && (
        <div className={styles.notice} role="status" data-testid="rules-notice">
          {notice}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
      <div className={styles.layout}>
        <Card title="Rules">
          {rules.data === undefined ? (
            rules.error ? (
              <ProblemView error={rules.error} onRetry={rules.reload} />
            ) : (
              <Loading label="Loading rules…" />
            )
          ) : groups.length === 0 ? (
            <Empty>No rules.</Empty>
          ) : (
            <table className={uiStyles.table} data-testid="rules-table">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Kind</th>
                  <th>Condition</th>
                  <th>Severity</th>
                  <th>Applies to</th>
                  <th>State</th>
                  {manage && (
                    <th>
                      <span className="sr-only">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              {groups.map((g) => (
                <tbody key={g.key} data-rule-key={g.key}>
                  <tr className={styles.groupHead}>
                    <td colSpan={manage ? 6 : 7}>
                      <span className="mono">{g.key}</span>
                      {g.rules.length > 1 && <span className={uiStyles.faint}> · {g.rules.length} scopes</span>}
                    </td>
                    {manage && (
                      <td className={styles.actions}>
                        <Button
                          size="small"
                          onClick={() => {
                            setNotice(null);
                            setEditor({ mode: 'override', rule: g.rules[0]! });
                          }}
                          aria-label={`Add an override of ${g.key}`}
                        >
                          Override…
                        </Button>
                      </td>
                    )}
                  </tr>
                  {g.rules.map((r) => (
                    <tr key={r.id} data-rule-id={r.id}>
                      <td>
                        <strong>{r.name}</strong>
                        {r.builtIn && (
                          <>
                            {' '}
                            <Badge tone="neutral" title="Shipped with xSPECTRE Ops: it can be disabled, not deleted">
                              built-in
                            </Badge>
                          </>
                        )}
                      </td>
                      <td className={styles.nowrap}>{kindLabel(r.kind)}</td>
                      <td className={styles.params}>{paramsText(r.kind, r.params)}</td>
                      <td>
                        <SeverityBadge severity={r.severity} />
                      </td>
                      <td data-testid="rule-scope">{scopeText(r.scope, names)}</td>
                      <td>
                        {manage ? (
                          <label className={styles.inline}>
                            <input type="checkbox" checked={r.enabled} onChange={() => void toggle(r)} aria-label={`Enable ${r.name}`} />
                            {r.enabled ? 'enabled' : 'disabled'}
                          </label>
                        ) : r.enabled ? (
                          <Badge tone="ok">enabled</Badge>
                        ) : (
                          <Badge tone="neutral">disabled</Badge>
                        )}
                      </td>
                      {manage && (
                        <td className={styles.actions}>
                          <Button
                            size="small"
                            onClick={() => {
                              setNotice(null);
                              setEditor({ mode: 'edit', rule: r });
                            }}
                            aria-label={`Edit ${r.name}`}
                          >
                            Edit
                          </Button>
                          {!r.builtIn && (
                            <Button size="small" variant="danger" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>
                              Delete
                            </Button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              ))}
            </table>
          )}
        </Card>
        {editor && (
          <RuleEditor
            key={editor.mode === 'new' ? 'new' : `${editor.mode}:${editor.rule.id}`}
            editor={editor}
            onSaved={(rule, created) => {
              replace(rule);
              setEditor(null);
              setNotice(created ? `“${rule.name}” was added.` : `“${rule.name}” was saved.`);
            }}
            onCancel={() => setEditor(null)}
          />
        )}
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the rule “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p style={{ margin: 0 }}>
          Devices in its scope fall back to the next less specific rule of the key <code>{deleting?.key}</code>. Alerts it opened stay in
          the list.
        </p>
      </ConfirmDialog>
    </>
  );
}

/** Add a rule, add a more specific one for a key (override), or change one; the parameter fields come from the contract of the kind. */
function RuleEditor({
  editor,
  onSaved,
  onCancel,
}: {
  editor: Editor;
  onSaved: (rule: AlertRule, created: boolean) => void;
  onCancel: () => void;
}) {
  const critical = useCritical();
  const refs = useOrganizationsAndSites();
  const editing = editor.mode === 'edit' ? editor.rule : null;
  const [form, setForm] = useState<RuleForm>(() =>
    editor.mode === 'new' ? emptyRuleForm() : ruleFormOf(editor.rule, editor.mode === 'override'),
  );
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (changes: Partial<RuleForm>) => setForm((f) => ({ ...f, ...changes }));
  const fixedIdentity = editor.mode !== 'new';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const checked = editing ? validateRuleUpdate(form) : validateNewRule(form);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const saved = await critical(() =>
        editing
          ? api(`alert-rules/${editing.id}`, { method: 'PATCH', body: checked.body, schema: AlertRuleSchema })
          : api('alert-rules', { method: 'POST', body: checked.body, schema: AlertRuleSchema }),
      );
      onSaved(saved, !editing);
    } catch (e) {
      setError(e);
      if (isApiError(e)) setErrors(problemFieldErrors(e.problem));
    } finally {
      setBusy(false);
    }
  }

  const title =
    editor.mode === 'new' ? 'New rule' : editor.mode === 'override' ? `Override “${editor.rule.key}”` : `Edit “${editor.rule.name}”`;
  const scopeKinds = scopeKindsFor(form.kind);
  return (
    <Card className={styles.side} title={title}>
      <form className={styles.form} onSubmit={submit} noValidate data-testid="rule-editor">
        {editor.mode === 'override' && (
          <p className={uiStyles.muted} style={{ margin: 0 }}>
            A rule with the same key and a narrower scope replaces “{editor.rule.name}” for the devices in that scope.
          </p>
        )}
        <div className={styles.formGrid}>
          <Field label="Key" error={errors.key} hint={fixedIdentity ? undefined : 'lower-case letters, digits and dashes'}>
            <input value={form.key} onChange={(e) => set({ key: e.target.value })} disabled={fixedIdentity} maxLength={63} />
          </Field>
          <Field label="Name" error={errors.name}>
            <input value={form.name} onChange={(e) => set({ name: e.target.value })} maxLength={120} />
          </Field>
          <Field label="Kind" error={errors.kind}>
            <select
              value={form.kind}
              disabled={fixedIdentity}
              onChange={(e) => {
                const kind = e.target.value as AlertRuleKind;
                set({
                  kind,
                  params: paramValuesOf(kind, null),
                  scopeKind: scopeKindsFor(kind).includes(form.scopeKind) ? form.scopeKind : 'global',
                });
              }}
            >
              {ALERT_RULE_KINDS.map((k) => (
                <option key={k} value={k}>
                  {kindLabel(k)}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Severity" error={errors.severity}>
            <select value={form.severity} onChange={(e) => set({ severity: e.target.value as AlertSeverity })}>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </Field>
        </div>
        <fieldset className={styles.form} style={{ border: '1px solid var(--border)', borderRadius: 8, padding: 12 }}>
          <legend className={styles.legend}>Condition</legend>
          <div className={styles.formGrid}>
            {paramFields(form.kind).map((field) => (
              <ParamInput
                key={`${form.kind}:${field.name}`}
                field={field}
                value={form.params[field.name]}
                error={errors[`params.${field.name}`]}
                onChange={(v) => set({ params: { ...form.params, [field.name]: v } })}
              />
            ))}
          </div>
          {errors.params && <span className={uiStyles.fieldError ?? ''}>{errors.params}</span>}
        </fieldset>
        <div className={styles.formGrid}>
          <Field label="Applies to" error={fixedIdentity && editing ? undefined : errors.scope}>
            <select
              value={form.scopeKind}
              disabled={editing !== null}
              onChange={(e) => set({ scopeKind: e.target.value as ScopeKind, scopeRef: e.target.value === 'device_type' ? 'scanner' : '' })}
            >
              {scopeKinds
                .filter((k) => editor.mode !== 'override' || k !== 'global')
                .map((k) => (
                  <option key={k} value={k}>
                    {SCOPE_LABELS[k]}
                  </option>
                ))}
            </select>
          </Field>
          {form.scopeKind === 'device_type' && (
            <Field label="Device type">
              <select value={form.scopeRef} disabled={editing !== null} onChange={(e) => set({ scopeRef: e.target.value })}>
                <option value="scanner">scanner</option>
                <option value="server">server</option>
              </select>
            </Field>
          )}
          {form.scopeKind === 'organization' && (
            <Field label="Organization" error={errors.scope}>
              <select value={form.scopeRef} disabled={editing !== null} onChange={(e) => set({ scopeRef: e.target.value })}>
                <option value="">Choose…</option>
                {(refs.data?.organizations ?? []).map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
          {form.scopeKind === 'site' && (
            <Field label="Site" error={errors.scope}>
              <select value={form.scopeRef} disabled={editing !== null} onChange={(e) => set({ scopeRef: e.target.value })}>
                <option value="">Choose…</option>
                {(refs.data?.sites ?? []).map((s) => (
                  <option key={s.id} value={s.id}>
                    {refs.data?.orgById.get(s.organizationId)?.name ?? ''} / {s.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
          {form.scopeKind === 'device' &&
            (editing ? (
              <Field label="Device">
                <span className="mono">{form.scopeRef}</span>
              </Field>
            ) : (
              <DevicePicker
                label="Device for the rule"
                deviceId={form.scopeRef}
                onChange={(id) => set({ scopeRef: id ?? '' })}
                error={errors.scope}
                clearLabel="Choose another device"
              />
            ))}
        </div>
        <label className={styles.inline}>
          <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} />
          Enabled
        </label>
        {error ? <ProblemView error={error} /> : null}
        <div className={uiStyles.dialogActions}>
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save rule' : 'Add rule'}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function ParamInput({
  field,
  value,
  error,
  onChange,
}: {
  field: ParamField;
  value: string | boolean | undefined;
  error?: string;
  onChange: (v: string | boolean) => void;
}) {
  const label = field.optional && field.type !== 'boolean' ? `${field.label} (optional)` : field.label;
  if (field.type === 'boolean') {
    return (
      <label className={styles.inline}>
        <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
        {field.label}
      </label>
    );
  }
  const text = typeof value === 'string' ? value : '';
  if (field.type === 'enum') {
    return (
      <Field label={label} error={error}>
        <select value={text} onChange={(e) => onChange(e.target.value)}>
          {field.optional && <option value="">—</option>}
          {field.options.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      </Field>
    );
  }
  if (field.type === 'list') {
    return (
      <Field label={label} error={error}>
        <textarea
          rows={2}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          spellCheck={false}
          aria-invalid={error ? true : undefined}
        />
      </Field>
    );
  }
  if (field.type === 'number') {
    const hint = field.min !== undefined && field.max !== undefined ? `${field.min}–${field.max}` : undefined;
    return (
      <Field label={label} error={error} hint={hint}>
        <input
          type="text"
          inputMode="decimal"
          value={text}
          onChange={(e) => onChange(e.target.value)}
          placeholder={field.defaultValue !== undefined ? String(field.defaultValue) : undefined}
          aria-invalid={error ? true : undefined}
        />
      </Field>
    );
  }
  return (
    <Field label={label} error={error}>
      <input value={text} onChange={(e) => onChange(e.target.value)} aria-invalid={error ? true : undefined} />
    </Field>
  );
}
