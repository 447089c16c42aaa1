'use client';

import { ORGANIZATION_KINDS, OrganizationSchema, SiteSchema, type OrganizationKind } from '@xspectre/contracts';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, ConfirmDialog, Empty, Field, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';

// UTC first: browsers do not list it among the canonical zones, yet it is the usual choice for a data centre.
const TIME_ZONES = [
  'UTC',
  ...(typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []).filter((z) => z !== 'UTC'),
];

export function Organizations() {
  const { can } = useSession();
  const manage = can('settings.manage');
  const refs = useOrganizationsAndSites();
  const [orgName, setOrgName] = useState('');
  const [kind, setKind] = useState<OrganizationKind>('customer');
  const [site, setSite] = useState({ organizationId: '', name: '', timeZone: 'UTC' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const critical = useCritical();
  const [deleting, setDeleting] = useState<{ kind: 'organization' | 'site'; id: string; name: string } | null>(null);

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      refs.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function remove() {
    if (!deleting) return;
    const target = deleting;
    setDeleting(null);
    // Removing a customer is critical (fresh TOTP); a site is not.
    void run(() =>
      target.kind === 'organization'
        ? critical(() => api(`organizations/${target.id}`, { method: 'DELETE' }))
        : api(`sites/${target.id}`, { method: 'DELETE' }),
    );
  }

  function createOrg(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      await api('organizations', { method: 'POST', body: { name: orgName, kind }, schema: OrganizationSchema });
      setOrgName('');
    });
  }

  function createSite(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      await api('sites', { method: 'POST', body: site, schema: SiteSchema });
      setSite({ ...site, name: '' });
    });
  }

  return (
    <>
      <PageHeader
        title="Organizations & sites"
        subtitle="Customers (billable) and our internal infrastructure, and the sites their devices stand at."
      />
      {error ? <ProblemView error={error} /> : null}
      {manage && (
        <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(380px, 1fr))', gap: 16 }}>
          <Card title="New organization">
            <form onSubmit={createOrg} style={{ display: 'flex', gap: 10, alignItems: 'end', flexWrap: 'wrap' }}>
              <Field label="Name">
                <input required maxLength={120} value={orgName} onChange={(e) => setOrgName(e.target.value)} />
              </Field>
              <Field label="Kind">
                <select value={kind} onChange={(e) => setKind(e.target.value as OrganizationKind)}>
                  {ORGANIZATION_KINDS.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
              </Field>
              <Button type="submit" variant="primary" disabled={busy}>
                Create
              </Button>
            </form>
          </Card>
          <Card title="New site">
            <form onSubmit={createSite} style={{ display: 'flex', gap: 10, alignItems: 'end', flexWrap: 'wrap' }}>
              <Field label="Organization">
                <select required value={site.organizationId} onChange={(e) => setSite({ ...site, organizationId: e.target.value })}>
                  <option value="">Choose…</option>
                  {refs.data?.organizations.map((o) => (
                    <option key={o.id} value={o.id}>
                      {o.name}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Name">
                <input required maxLength={120} value={site.name} onChange={(e) => setSite({ ...site, name: e.target.value })} />
              </Field>
              <Field label="Time zone">
                <select value={site.timeZone} onChange={(e) => setSite({ ...site, timeZone: e.target.value })}>
                  {TIME_ZONES.map((z) => (
                    <option key={z}>{z}</option>
                  ))}
                </select>
              </Field>
              <Button type="submit" variant="primary" disabled={busy}>
                Create
              </Button>
            </form>
          </Card>
        </div>
      )}
      <Card title="Organizations">
        {refs.error ? (
          <ProblemView error={refs.error} onRetry={refs.reload} />
        ) : !refs.data ? (
          <Loading />
        ) : refs.data.organizations.length === 0 ? (
          <Empty>No organizations yet.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="organizations-table">
            <thead>
              <tr>
                <th>Organization</th>
                <th>Kind</th>
                <th>Sites</th>
                <th>Devices</th>
                {manage && (
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {refs.data.organizations.map((o) => (
                <tr key={o.id}>
                  <td>{o.name}</td>
                  <td>{o.kind === 'customer' ? <Badge tone="info">customer · billable</Badge> : <Badge tone="neutral">internal</Badge>}</td>
                  <td>
                    {refs
                      .data!.sites.filter((s) => s.organizationId === o.id)
                      .map((s) => `${s.name} (${s.timeZone})`)
                      .join(', ') || <span className={uiStyles.faint}>none</span>}
                  </td>
                  <td>
                    <Link href={`/devices?organizationId=${o.id}`}>devices →</Link>
                  </td>
                  {manage && (
                    <td style={{ textAlign: 'right' }}>
                      <Button size="small" variant="danger" onClick={() => setDeleting({ kind: 'organization', id: o.id, name: o.name })}>
                        Delete
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Sites">
        {!refs.data ? (
          <Loading />
        ) : refs.data.sites.length === 0 ? (
          <Empty>No sites yet.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="sites-table">
            <thead>
              <tr>
                <th>Site</th>
                <th>Organization</th>
                <th>Time zone</th>
                {manage && (
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {refs.data.sites.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/devices?organizationId=${s.organizationId}&siteId=${s.id}`}>{s.name}</Link>
                  </td>
                  <td>{refs.data!.orgById.get(s.organizationId)?.name ?? '…'}</td>
                  <td>{s.timeZone}</td>
                  {manage && (
                    <td style={{ textAlign: 'right' }}>
                      <Button size="small" variant="danger" onClick={() => setDeleting({ kind: 'site', id: s.id, name: s.name })}>
                        Delete
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <ConfirmDialog
        open={deleting !== null}
        title={deleting ? `Delete ${deleting.kind} ${deleting.name}?` : ''}
        confirmLabel="Delete"
        danger
        busy={busy}
        onCancel={() => setDeleting(null)}
        onConfirm={remove}
      >
        <p>
          {deleting?.kind === 'organization'
            ? 'Only an organization without sites can be deleted. This cannot be undone and needs a fresh authenticator code.'
            : 'Only a site without devices can be deleted. This cannot be undone.'}
        </p>
      </ConfirmDialog>
    </>
  );
}
