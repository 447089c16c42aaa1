'use client';

import {
  ROLES,
  ROLE_LABELS,
  ROLE_PERMISSIONS,
  SecuritySettingsSchema,
  UserPageSchema,
  UserSchema,
  type Role,
  type User,
} from '@xspectre/contracts';
import { useState, type FormEvent } from 'react';
import { TimeAgo } from '../../../../components/device-badges';
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
  FormDialog,
  Loading,
  ProblemView,
  uiStyles,
} from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import { LinkIdentityDialog, SignInCell, useProviderNames } from './sign-in-methods';

export function Users() {
  const { can, me, reload: reloadSession } = useSession();
  const allowed = can('users.manage');
  const users = useResource(allowed ? 'users' : null, (signal) => api('users', { query: { limit: 500 }, schema: UserPageSchema, signal }));
  const [form, setForm] = useState({ email: '', displayName: '', role: 'soc_operator' as Role, password: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Disabling someone or resetting their 2FA is confirmed first.
  const [confirming, setConfirming] = useState<{ title: string; body: string; label: string; action: () => Promise<unknown> } | null>(null);
  const [renaming, setRenaming] = useState<{ user: User; displayName: string } | null>(null);
  const [renameError, setRenameError] = useState<unknown>(null);
  // Creating, promoting, demoting, disabling or enabling a Super Admin, unlocking and resetting 2FA
  // are critical: the API answers AUTH_STEP_UP_REQUIRED and the step-up dialog asks for a code.
  const critical = useCritical();
  // SSO identities are named by their provider and linked by those who manage the providers.
  const manageSso = can('identity_providers.manage');
  const providers = useProviderNames(allowed && manageSso);
  const [linking, setLinking] = useState<User | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="Users & roles" />
        <Forbidden permission="users.manage" what="manage users and roles" />
      </>
    );
  }

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await critical(action);
      users.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function create(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      await api('users', { method: 'POST', body: form, schema: UserSchema });
      setForm({ ...form, email: '', displayName: '', password: '' });
    });
  }

  async function saveName() {
    if (!renaming) return;
    setBusy(true);
    setRenameError(null);
    try {
      await api(`users/${renaming.user.id}`, { method: 'PATCH', body: { displayName: renaming.displayName }, schema: UserSchema });
      // The operator's own name is also in the shell.
      if (renaming.user.id === me.id) await reloadSession();
      setRenaming(null);
      users.reload();
    } catch (e) {
      setRenameError(e);
    } finally {
      setBusy(false);
    }
  }

  const update = (u: User, body: Record<string, unknown>) => run(() => api(`users/${u.id}`, { method: 'PATCH', body, schema: UserSchema }));

  return (
    <>
      <PageHeader title="Users & roles" subtitle="Operators of this console and what their role lets them do." />
      {error ? <ProblemView error={error} /> : null}
      <Card title="New user">
        <form
          onSubmit={create}
          style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(170px, 1fr))', gap: 10, alignItems: 'end' }}
        >
          <Field label="Email">
            <input
              type="email"
              required
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.target.value })}
              autoComplete="off"
            />
          </Field>
          <Field label="Display name">
            <input required maxLength={120} value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} />
          </Field>
          <Field label="Role">
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Initial password">
            <input
              placeholder="at least 12 characters"
              type="password"
              required
              minLength={12}
              value={form.password}
              onChange={(e) => setForm({ ...form, password: e.target.value })}
              autoComplete="new-password"
            />
          </Field>
          <Button type="submit" variant="primary" disabled={busy}>
            Create user
          </Button>
        </form>
      </Card>
      <Card title="Users">
        {users.error ? (
          <ProblemView error={users.error} onRetry={users.reload} />
        ) : !users.data ? (
          <Loading />
        ) : users.data.items.length === 0 ? (
          <Empty>No users.</Empty>
        ) : (
          <table className={uiStyles.table}>
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>Status</th>
                <th>Sign-in</th>
                <th>2FA</th>
                <th>Last sign-in</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((u) => {
                const self = u.id === me.id;
                return (
                  <tr key={u.id}>
                    <td>
                      <span data-testid="user-display-name">{u.displayName}</span>
                      <div className={uiStyles.faint}>{u.email}</div>
                    </td>
                    <td>
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        disabled={self || busy}
                        onChange={(e) => void update(u, { role: e.target.value })}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {ROLE_LABELS[r]}
                          </option>
                        ))}
                      </select>
                      {u.signIn.identities.length > 0 && (
                        // An SSO sign-in sets the role again from the groups (api/src/sso/sso-login.service.ts).
                        <div className={uiStyles.faint} data-testid="role-from-idp">
                          set again from IdP groups at each SSO sign-in
                        </div>
                      )}
                    </td>
                    <td>
                      {u.status === 'active' ? <Badge tone="ok">active</Badge> : <Badge tone="neutral">disabled</Badge>}{' '}
                      {u.isLocked && <Badge tone="bad">locked</Badge>}
                    </td>
                    <td>
                      <SignInCell
                        user={u}
                        providers={providers}
                        busy={busy}
                        onUnlink={
                          manageSso
                            ? (identityId, name) =>
                                setConfirming({
                                  title: `Unlink the ${name} identity of ${u.email}?`,
                                  body: 'They can no longer sign in with this identity; their account and other ways to sign in stay.',
                                  label: 'Unlink',
                                  action: () => api(`users/${u.id}/identities/${identityId}`, { method: 'DELETE' }),
                                })
                            : undefined
                        }
                      />
                    </td>
                    <td>
                      {u.totpEnabled ? (
                        <Badge tone="ok">on</Badge>
                      ) : !u.signIn.password && u.signIn.identities.length > 0 ? (
                        // No password to protect: the identity provider enforces the second factor.
                        <Badge tone="neutral" title="an SSO-only account: multi-factor authentication happens at the identity provider">
                          at the IdP
                        </Badge>
                      ) : (
                        <Badge tone="warn">off</Badge>
                      )}
                    </td>
                    <td>
                      <TimeAgo iso={u.lastLoginAt} />
                    </td>
                    <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                      <Button
                        size="small"
                        onClick={() => {
                          setRenameError(null);
                          setRenaming({ user: u, displayName: u.displayName });
                        }}
                        disabled={busy}
                        aria-label={`Edit the display name of ${u.email}`}
                      >
                        Edit name
                      </Button>{' '}
                      {!self && (
                        <Button
                          size="small"
                          onClick={() =>
                            u.status === 'active'
                              ? setConfirming({
                                  title: `Disable ${u.email}?`,
                                  body: 'Their sessions stop working at once and they cannot sign in until enabled again.',
                                  label: 'Disable user',
                                  action: () => api(`users/${u.id}`, { method: 'PATCH', body: { status: 'disabled' }, schema: UserSchema }),
                                })
                              : void update(u, { status: 'active' })
                          }
                          disabled={busy}
                        >
                          {u.status === 'active' ? 'Disable' : 'Enable'}
                        </Button>
                      )}{' '}
                      {manageSso && providers.size > 0 && (
                        <Button
                          size="small"
                          onClick={() => setLinking(u)}
                          disabled={busy}
                          aria-label={`Link an SSO identity to ${u.email}`}
                        >
                          Link identity
                        </Button>
                      )}{' '}
                      {u.isLocked && (
                        <Button
                          size="small"
                          onClick={() => void run(() => api(`users/${u.id}/unlock`, { method: 'POST' }))}
                          disabled={busy}
                        >
                          Unlock
                        </Button>
                      )}{' '}
                      {u.totpEnabled && !self && (
                        <Button
                          size="small"
                          variant="danger"
                          onClick={() =>
                            setConfirming({
                              title: `Reset two-factor authentication of ${u.email}?`,
                              body: 'Their authenticator and recovery codes stop working; they set up a new authenticator at their next sign-in.',
                              label: 'Reset 2FA',
                              action: () => api(`users/${u.id}/totp/reset`, { method: 'POST' }),
                            })
                          }
                          disabled={busy}
                        >
                          Reset 2FA
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      <FormDialog
        open={renaming !== null}
        title={renaming ? `Display name of ${renaming.user.email}` : ''}
        submitLabel="Save"
        busy={busy}
        error={renameError}
        onCancel={() => setRenaming(null)}
        onSubmit={() => void saveName()}
      >
        {renaming && (
          <Field label="Display name" hint="How the console shows this operator; they still sign in with their email.">
            <input
              required
              maxLength={120}
              value={renaming.displayName}
              onChange={(e) => setRenaming({ ...renaming, displayName: e.target.value })}
            />
          </Field>
        )}
      </FormDialog>
      <LinkIdentityDialog
        user={linking}
        providers={[...providers.values()]}
        onCancel={() => setLinking(null)}
        onLink={async (userId, body) => {
          await critical(() => api(`users/${userId}/identities`, { method: 'POST', body }));
          setLinking(null);
          users.reload();
        }}
      />
      <ConfirmDialog
        open={confirming !== null}
        title={confirming?.title ?? ''}
        confirmLabel={confirming?.label ?? ''}
        danger
        busy={busy}
        onCancel={() => setConfirming(null)}
        onConfirm={() => {
          const action = confirming?.action;
          setConfirming(null);
          if (action) void run(action);
        }}
      >
        <p>{confirming?.body}</p>
      </ConfirmDialog>
      {can('settings.manage') && <SignInPolicy />}
      <Card title="Roles">
        <table className={uiStyles.table}>
          <thead>
            <tr>
              <th>Role</th>
              <th>Permissions</th>
            </tr>
          </thead>
          <tbody>
            {ROLES.map((r) => (
              <tr key={r}>
                <td>{ROLE_LABELS[r]}</td>
                <td className="mono">{ROLE_PERMISSIONS[r].join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

/** The installation-wide sign-in policy; changing it is a critical action (fresh TOTP code). */
function SignInPolicy() {
  const critical = useCritical();
  const settings = useResource('security-settings', (signal) => api('settings/security', { schema: SecuritySettingsSchema, signal }));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function toggle(requireTotp: boolean) {
    setBusy(true);
    setError(null);
    try {
      const saved = await critical(() =>
        api('settings/security', { method: 'PUT', body: { requireTotp }, schema: SecuritySettingsSchema }),
      );
      settings.mutate(() => saved);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Sign-in policy">
      {settings.error ? (
        <ProblemView error={settings.error} onRetry={settings.reload} />
      ) : !settings.data ? (
        <Loading />
      ) : (
        <label style={{ display: 'flex', gap: 10, alignItems: 'center' }}>
          <input type="checkbox" checked={settings.data.requireTotp} disabled={busy} onChange={(e) => void toggle(e.target.checked)} />
          Require two-factor authentication (TOTP) for every operator
        </label>
      )}
      {error ? <ProblemView error={error} /> : null}
    </Card>
  );
}
