'use client';

import { ROLES, ROLE_LABELS, RolePreviewResponseSchema, type Role, type RoleRule } from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { Badge, Button, Field, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import styles from './identity-providers.module.css';
import { listOf, moveRule } from './provider-form';

/** The ordered group → role rules: the first rule whose group the user has decides; no match = no access. */
export function RoleRulesEditor({
  rules,
  onChange,
  disabled,
}: {
  rules: RoleRule[];
  onChange: (rules: RoleRule[]) => void;
  disabled?: boolean;
}) {
  const [group, setGroup] = useState('');
  const [role, setRole] = useState<Role>('read_only');

  function add() {
    const g = group.trim();
    if (!g) return;
    onChange([...rules, { group: g, role }]);
    setGroup('');
  }

  return (
    <div className={styles.rules} data-testid="role-rules">
      {rules.length === 0 ? (
        <p className={uiStyles.muted} style={{ margin: 0 }}>
          No rule: nobody from this provider gets access.
        </p>
      ) : (
        <ol className={styles.ruleList}>
          {rules.map((r, i) => (
            <li key={`${i}:${r.group}`} className={styles.rule} data-testid="role-rule">
              <span className={styles.ruleIndex}>{i + 1}</span>
              <code className={styles.ruleGroup}>{r.group}</code>
              <span aria-hidden="true">→</span>
              <select
                aria-label={`Role for group ${r.group}`}
                value={r.role}
                disabled={disabled}
                onChange={(e) => onChange(rules.map((x, j) => (j === i ? { ...x, role: e.target.value as Role } : x)))}
              >
                {ROLES.map((x) => (
                  <option key={x} value={x}>
                    {ROLE_LABELS[x]}
                  </option>
                ))}
              </select>
              <span className={styles.ruleButtons}>
                <Button
                  size="small"
                  aria-label={`Move ${r.group} up`}
                  disabled={disabled || i === 0}
                  onClick={() => onChange(moveRule(rules, i, -1))}
                >
                  ↑
                </Button>
                <Button
                  size="small"
                  aria-label={`Move ${r.group} down`}
                  disabled={disabled || i === rules.length - 1}
                  onClick={() => onChange(moveRule(rules, i, 1))}
                >
                  ↓
                </Button>
                <Button
                  size="small"
                  variant="danger"
                  aria-label={`Remove ${r.group}`}
                  disabled={disabled}
                  onClick={() => onChange(rules.filter((_, j) => j !== i))}
                >
                  Remove
                </Button>
              </span>
            </li>
          ))}
        </ol>
      )}
      <div className={styles.ruleAdd}>
        <Field label="Group">
          <input
            value={group}
            maxLength={256}
            disabled={disabled}
            placeholder="group name or object id"
            onChange={(e) => setGroup(e.target.value)}
            onKeyDown={(e) => {
              // Enter adds the rule instead of submitting the surrounding form.
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
          />
        </Field>
        <Field label="Gets the role">
          <select value={role} disabled={disabled} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((x) => (
              <option key={x} value={x}>
                {ROLE_LABELS[x]}
              </option>
            ))}
          </select>
        </Field>
        <Button onClick={add} disabled={disabled || group.trim() === ''}>
          Add rule
        </Button>
      </div>
    </div>
  );
}

/** Which role a user with these groups would get from the provider's saved rules (POST …/role-preview). */
export function RolePreview({ providerId, unsaved }: { providerId: string; unsaved: boolean }) {
  const [groups, setGroups] = useState('');
  const [result, setResult] = useState<{ role: Role | null; matchedRule: number | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function preview(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { groups: listOf(groups, /[\n,]+/) };
      setResult(await api(`identity-providers/${providerId}/role-preview`, { method: 'POST', body, schema: RolePreviewResponseSchema }));
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={styles.preview} onSubmit={preview} data-testid="role-preview">
      <Field label="Preview: a user's groups" hint="one per line or separated by commas; uses the saved rules">
        <textarea rows={3} value={groups} onChange={(e) => setGroups(e.target.value)} spellCheck={false} />
      </Field>
      <div className={styles.previewRow}>
        <Button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Preview role'}
        </Button>
        {unsaved && <span className={uiStyles.muted}>Save the rules to preview your changes.</span>}
        {result && (
          <span role="status" data-testid="role-preview-result">
            {result.role ? (
              <>
                <Badge tone="ok">{ROLE_LABELS[result.role]}</Badge>
                {result.matchedRule !== null && <span className={uiStyles.muted}> by rule {result.matchedRule + 1}</span>}
              </>
            ) : (
              <Badge tone="bad">no access</Badge>
            )}
          </span>
        )}
      </div>
      {error ? <ProblemView error={error} /> : null}
    </form>
  );
}
