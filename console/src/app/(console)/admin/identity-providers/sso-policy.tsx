'use client';

import { SsoPolicySchema, UserPageSchema, type SsoPolicy } from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import styles from './identity-providers.module.css';

/**
 * Whether SSO is mandatory, and the local accounts that may still sign in with their password
 * (break-glass: the bootstrap admin with TOTP, for when the IdP is down). A critical setting.
 */
export function SsoPolicyCard({ hasEnabledProvider }: { hasEnabledProvider: boolean }) {
  const critical = useCritical();
  const { can } = useSession();
  const policy = useResource('sso-policy', (signal) => api('sso/policy', { schema: SsoPolicySchema, signal }));
  const users = useResource(can('users.manage') ? 'users' : null, (signal) =>
    api('users', { query: { limit: 500 }, schema: UserPageSchema, signal }),
  );
  const [draft, setDraft] = useState<SsoPolicy | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (policy.data) setDraft(policy.data);
  }, [policy.data]);

  async function save() {
    if (!draft) return;
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const fresh = await critical(() => api('sso/policy', { method: 'PUT', body: draft, schema: SsoPolicySchema }));
      policy.mutate(() => fresh);
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const localUsers = (users.data?.items ?? []).filter((u) => u.signIn.password);
  const changed = draft !== null && policy.data !== undefined && JSON.stringify(draft) !== JSON.stringify(policy.data);
  return (
    <Card
      title="SSO policy"
      actions={
        <Button variant="primary" onClick={() => void save()} disabled={!changed || busy}>
          {busy ? 'Saving…' : 'Save policy'}
        </Button>
      }
    >
      {policy.error ? (
        <ProblemView error={policy.error} onRetry={policy.reload} />
      ) : !draft ? (
        <Loading />
      ) : (
        <div className={styles.form} data-testid="sso-policy">
          <label className={styles.inline}>
            <input
              type="checkbox"
              checked={draft.ssoRequired}
              onChange={(e) => (setSaved(false), setDraft({ ...draft, ssoRequired: e.target.checked }))}
            />
            Require single sign-on: passwords work only for the break-glass accounts below
          </label>
          {draft.ssoRequired && !hasEnabledProvider && (
            <div className={styles.warning} role="note">
              No provider is enabled: only the break-glass accounts could sign in.
            </div>
          )}
          {draft.ssoRequired && draft.breakGlassUserIds.length === 0 && (
            <div className={styles.warning} role="note">
              No break-glass account: if the identity provider fails, nobody can sign in.
            </div>
          )}
          <fieldset className={styles.fieldset}>
            <legend className={styles.legend}>Break-glass accounts (local password and TOTP)</legend>
            {users.error ? (
              <ProblemView error={users.error} onRetry={users.reload} />
            ) : !users.data ? (
              <Loading label="Loading users…" />
            ) : localUsers.length === 0 ? (
              <span className={uiStyles.muted}>No account with a local password.</span>
            ) : (
              localUsers.map((u) => (
                <label key={u.id} className={styles.inline}>
                  <input
                    type="checkbox"
                    checked={draft.breakGlassUserIds.includes(u.id)}
                    onChange={(e) => {
                      setSaved(false);
                      setDraft({
                        ...draft,
                        breakGlassUserIds: e.target.checked
                          ? [...draft.breakGlassUserIds, u.id]
                          : draft.breakGlassUserIds.filter((id) => id !== u.id),
                      });
                    }}
                  />
                  {u.displayName} <span className={uiStyles.faint}>{u.email}</span>
                  {!u.totpEnabled && <Badge tone="warn">no 2FA</Badge>}
                </label>
              ))
            )}
          </fieldset>
          {saved && (
            <div className={styles.notice} role="status">
              Policy saved.
            </div>
          )}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
    </Card>
  );
}
