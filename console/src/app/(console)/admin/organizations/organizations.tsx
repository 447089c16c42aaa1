'use client';

import { ORGANIZATION_KINDS, OrganizationSchema, SiteSchema, type OrganizationKind } from '@xspectre/contracts';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { Badge, Button, Card, Empty, Field, Loading, ProblemView, uiStyles } from '../../../../components/ui';
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
          <table className={uiStyles.table}>
            <thead>
              <tr>
                <th>Organization</th>
                <th>Kind</th>
                <th>Sites</th>
                <th>Devices</th>
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
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
