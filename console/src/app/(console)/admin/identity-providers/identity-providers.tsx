'use client';

import { IdentityProviderListSchema, IdentityProviderSchema, type IdentityProvider } from '@xspectre/contracts';
import { useState } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, ConfirmDialog, Empty, Forbidden, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useSession } from '../../../../lib/session';
import { useResource } from '../../../../lib/use-api';
import styles from './identity-providers.module.css';
import { PRESET_LABELS, ProviderEditor, type Editing } from './provider-editor';
import { ProviderDetails } from './provider-details';
import { SsoPolicyCard } from './sso-policy';

/**
 * Single sign-on (Super Admins, `identity_providers.manage`): SAML 2.0 and OpenID Connect
 * providers, what to register at them, how their groups map to roles, and whether SSO is
 * mandatory. Every change is critical (step-up); client secrets are write-only.
 */
export function IdentityProviders() {
  const { can } = useSession();
  const allowed = can('identity_providers.manage');
  const critical = useCritical();
  const providers = useResource(allowed ? 'identity-providers' : null, (signal) =>
    api('identity-providers', { schema: IdentityProviderListSchema, signal }),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [deleting, setDeleting] = useState<IdentityProvider | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="Identity providers" />
        <Forbidden permission="identity_providers.manage" what="manage single sign-on" />
      </>
    );
  }

  const items = providers.data?.items ?? [];
  const current = items.find((p) => p.id === selected) ?? (items.length > 0 && !editing ? items[0] : undefined);

  function replace(p: IdentityProvider) {
    providers.mutate((d) =>
      d ? { items: d.items.some((x) => x.id === p.id) ? d.items.map((x) => (x.id === p.id ? p : x)) : [...d.items, p] } : d,
    );
  }

  async function setEnabled(p: IdentityProvider, enabled: boolean) {
    setBusy(true);
    setError(null);
    try {
      replace(
        await critical(() => api(`identity-providers/${p.id}`, { method: 'PATCH', body: { enabled }, schema: IdentityProviderSchema })),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!deleting) return;
    const p = deleting;
    setBusy(true);
    setError(null);
    try {
      await critical(() => api(`identity-providers/${p.id}`, { method: 'DELETE' }));
      providers.mutate((d) => (d ? { items: d.items.filter((x) => x.id !== p.id) } : d));
      setNotice(`“${p.name}” was deleted; its users can no longer sign in with it.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setDeleting(null);
    }
  }

  const startNew = (protocol: 'saml' | 'oidc') => {
    setNotice(null);
    setEditing({ mode: 'new', protocol });
  };

  return (
    <>
      <PageHeader
        title="Identity providers"
        subtitle="Operators sign in with their Microsoft Entra ID or Google Workspace account (SAML 2.0 or OpenID Connect); their groups decide the role."
        actions={
          <>
            <Button variant="primary" onClick={() => startNew('oidc')}>
              Add OpenID Connect
            </Button>
            <Button onClick={() => startNew('saml')}>Add SAML 2.0</Button>
          </>
        }
      />
      {notice && (
        <div className={styles.notice} role="status" data-testid="providers-notice">
          {notice}
        </div>
      )}
      {error ? <ProblemView error={error} /> : null}
      <Card title="Providers">
        {providers.data === undefined ? (
          providers.error ? (
            <ProblemView error={providers.error} onRetry={providers.reload} />
          ) : (
            <Loading label="Loading identity providers…" />
          )
        ) : items.length === 0 ? (
          <Empty>No identity provider: operators sign in with their password and TOTP.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="providers">
            <thead>
              <tr>
                <th>Name</th>
                <th>Protocol</th>
                <th>Preset</th>
                <th>Status</th>
                <th>E-mail domains</th>
                <th>Rules</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id} data-provider-id={p.id} className={current?.id === p.id && !editing ? styles.selectedRow : undefined}>
                  <td>
                    <button type="button" className={styles.linkButton} onClick={() => (setEditing(null), setSelected(p.id))}>
                      {p.name}
                    </button>
                  </td>
                  <td>{p.protocol === 'saml' ? 'SAML 2.0' : 'OpenID Connect'}</td>
                  <td>{PRESET_LABELS[p.preset]}</td>
                  <td>{p.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="neutral">disabled</Badge>}</td>
                  <td className="mono">{p.allowedEmailDomains.join(', ')}</td>
                  <td>{p.roleRules.length}</td>
                  <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                    <Button
                      size="small"
                      onClick={() => (setNotice(null), setEditing({ mode: 'edit', provider: p }))}
                      aria-label={`Edit ${p.name}`}
                    >
                      Edit
                    </Button>{' '}
                    <Button
                      size="small"
                      onClick={() => void setEnabled(p, !p.enabled)}
                      disabled={busy}
                      aria-label={`${p.enabled ? 'Disable' : 'Enable'} ${p.name}`}
                    >
                      {p.enabled ? 'Disable' : 'Enable'}
                    </Button>{' '}
                    <Button size="small" variant="danger" onClick={() => setDeleting(p)} disabled={busy} aria-label={`Delete ${p.name}`}>
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {editing ? (
        <ProviderEditor
          key={editing.mode === 'new' ? `new:${editing.protocol}` : editing.provider.id}
          editing={editing}
          onCancel={() => setEditing(null)}
          onSaved={(p, created) => {
            replace(p);
            setEditing(null);
            setSelected(p.id);
            setNotice(
              created
                ? `“${p.name}” was added. Register the values below at the identity provider, then test the connection.`
                : `“${p.name}” was saved.`,
            );
          }}
        />
      ) : (
        current && <ProviderDetails key={current.id} provider={current} onSaved={replace} />
      )}
      {providers.data && <SsoPolicyCard hasEnabledProvider={items.some((p) => p.enabled)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p style={{ margin: 0 }}>Its users can no longer sign in with it; accounts and their other ways to sign in stay.</p>
      </ConfirmDialog>
    </>
  );
}
