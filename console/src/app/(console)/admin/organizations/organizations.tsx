'use client';

import { ORGANIZATION_KINDS, OrganizationSchema, SiteSchema, type OrganizationKind } from '@xspectre/contracts';
import Link from 'next/link';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { PageHeader } from '../../../../components/page-header';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, Card, ConfirmDialog, Empty, Field, FormDialog, Loading, ProblemView, uiStyles } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';
import styles from './organizations.module.css';

// UTC first: browsers do not list it among the canonical zones, yet it is the usual choice for a data centre.
const TIME_ZONES = [
  'UTC',
  ...(typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []).filter((z) => z !== 'UTC'),
];

interface Editing {
  kind: 'organization' | 'site';
  id: string;
  name: string;
  /** Sites only. */
  timeZone: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

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
  const [editing, setEditing] = useState<Editing | null>(null);
  const [editError, setEditError] = useState<unknown>(null);
  const problemRef = useRef<HTMLDivElement>(null);
  // A refusal (a site that gained a device meanwhile: SITE_NOT_EMPTY) is shown where the operator looks.
  useEffect(() => {
    if (error) problemRef.current?.scrollIntoView({ block: 'nearest' });
  }, [error]);

  function startEdit(target: Editing) {
    setEditError(null);
    setEditing(target);
  }

  async function saveEdit() {
    if (!editing) return;
    setBusy(true);
    setEditError(null);
    try {
      if (editing.kind === 'organization') {
        await api(`organizations/${editing.id}`, { method: 'PATCH', body: { name: editing.name }, schema: OrganizationSchema });
      } else {
        await api(`sites/${editing.id}`, { method: 'PATCH', body: { name: editing.name, timeZone: editing.timeZone }, schema: SiteSchema });
      }
      setEditing(null);
      setError(null);
      refs.reload();
    } catch (e) {
      setEditError(e);
    } finally {
      setBusy(false);
    }
  }

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      // Also after a refusal: a raced change (a site that gained a device) shows as it is now.
      refs.reload();
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
      {error ? (
        <div ref={problemRef}>
          <ProblemView error={error} />
        </div>
      ) : null}
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
                    <td className={styles.actions}>
                      <Button size="small" onClick={() => startEdit({ kind: 'organization', id: o.id, name: o.name, timeZone: '' })}>
                        Rename
                      </Button>
                      <Button
                        size="small"
                        variant="danger"
                        disabled={o.siteCount > 0}
                        title={o.siteCount > 0 ? `${o.name} still has ${plural(o.siteCount, 'site')}: delete them first` : undefined}
                        onClick={() => setDeleting({ kind: 'organization', id: o.id, name: o.name })}
                      >
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
                <th>Devices</th>
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
                  <td data-testid="site-devices">
                    <Link href={`/devices?organizationId=${s.organizationId}&siteId=${s.id}`}>{plural(s.deviceCount, 'device')}</Link>
                  </td>
                  {manage && (
                    <td className={styles.actions}>
                      <Button size="small" onClick={() => startEdit({ kind: 'site', id: s.id, name: s.name, timeZone: s.timeZone })}>
                        Edit
                      </Button>
                      <Button
                        size="small"
                        variant="danger"
                        disabled={s.deviceCount > 0}
                        title={
                          s.deviceCount > 0
                            ? `${s.name} still has ${plural(s.deviceCount, 'device')} (retired ones keep their history here): only an empty site can be deleted`
                            : undefined
                        }
                        onClick={() => setDeleting({ kind: 'site', id: s.id, name: s.name })}
                      >
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
      <FormDialog
        open={editing !== null}
        title={editing?.kind === 'organization' ? 'Rename the organization' : 'Edit the site'}
        submitLabel="Save"
        busy={busy}
        error={editError}
        onCancel={() => setEditing(null)}
        onSubmit={() => void saveEdit()}
      >
        {editing && (
          <>
            <Field label={editing.kind === 'organization' ? 'Organization name' : 'Site name'}>
              <input required maxLength={120} value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} />
            </Field>
            {editing.kind === 'site' && (
              <Field label="Site time zone">
                <select value={editing.timeZone} onChange={(e) => setEditing({ ...editing, timeZone: e.target.value })}>
                  {(TIME_ZONES.includes(editing.timeZone) ? TIME_ZONES : [editing.timeZone, ...TIME_ZONES]).map((z) => (
                    <option key={z}>{z}</option>
                  ))}
                </select>
              </Field>
            )}
          </>
        )}
      </FormDialog>
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
