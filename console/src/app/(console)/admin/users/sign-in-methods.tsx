'use client';

import { IdentityProviderListSchema, type IdentityProvider, type User } from '@xspectre/contracts';
import { useState } from 'react';
import { Badge, Button, Field, FormDialog, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useResource } from '../../../../lib/use-api';

/** The identity providers by id, for naming a user's SSO identities (only with identity_providers.manage). */
export function useProviderNames(allowed: boolean): Map<string, IdentityProvider> {
  const providers = useResource(allowed ? 'identity-providers' : null, (signal) =>
    api('identity-providers', { schema: IdentityProviderListSchema, signal }),
  );
  return new Map((providers.data?.items ?? []).map((p) => [p.id, p]));
}

/** How a user signs in: a local password, SSO identities (by provider), break-glass while SSO is mandatory. */
export function SignInCell({
  user,
  providers,
  busy,
  onUnlink,
}: {
  user: User;
  providers: Map<string, IdentityProvider>;
  busy: boolean;
  /** Absent: the operator may not unlink identities. */
  onUnlink?: (identityId: string, label: string) => void;
}) {
  const { password, identities, breakGlass } = user.signIn;
  return (
    <div style={{ display: 'flex', flexWrap: 'wrap', gap: 4, alignItems: 'center' }} data-testid="user-sign-in">
      {password && <Badge tone="neutral">Password</Badge>}
      {identities.map((i) => {
        // Without the providers list (loading, or not permitted) the identity is shown unnamed.
        const name = providers.get(i.providerId)?.name;
        return (
          <span key={i.id} style={{ display: 'inline-flex', gap: 2, alignItems: 'center' }}>
            <Badge tone="info" title={`subject ${i.subject}`}>
              {name ? `SSO: ${name}` : 'SSO'}
            </Badge>
            {onUnlink && (
              <Button
                size="small"
                aria-label={`Unlink the ${name ?? 'SSO'} identity of ${user.email}`}
                disabled={busy}
                onClick={() => onUnlink(i.id, name ?? 'SSO')}
              >
                ×
              </Button>
            )}
          </span>
        );
      })}
      {breakGlass && <Badge tone="warn">Break-glass</Badge>}
      {!password && identities.length === 0 && <span className={uiStyles.faint}>none</span>}
    </div>
  );
}

/**
 * Links an SSO identity (provider + the IdP's stable subject) to an existing account: the only way
 * a local account is reached by SSO, as a login with the same e-mail alone is refused.
 */
export function LinkIdentityDialog({
  user,
  providers,
  onCancel,
  onLink,
}: {
  user: User | null;
  providers: IdentityProvider[];
  onCancel: () => void;
  onLink: (userId: string, body: { providerId: string; subject: string }) => Promise<void>;
}) {
  const [providerId, setProviderId] = useState('');
  const [subject, setSubject] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const chosen = providerId || providers[0]?.id || '';

  async function submit() {
    if (!user) return;
    setBusy(true);
    setError(null);
    try {
      await onLink(user.id, { providerId: chosen, subject: subject.trim() });
      setSubject('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <FormDialog
      open={user !== null}
      title={user ? `Link an SSO identity to ${user.email}` : ''}
      submitLabel="Link identity"
      busy={busy}
      error={error}
      onCancel={() => (setError(null), onCancel())}
      onSubmit={() => void submit()}
    >
      <Field label="Identity provider">
        <select value={chosen} onChange={(e) => setProviderId(e.target.value)} required>
          {providers.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Subject" hint="the IdP's stable user id: the SAML NameID or the OIDC sub, not the e-mail">
        <input required maxLength={512} value={subject} spellCheck={false} onChange={(e) => setSubject(e.target.value)} />
      </Field>
    </FormDialog>
  );
}
