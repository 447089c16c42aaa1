'use client';

import {
  ClaimCodePageSchema,
  CreateDeviceResponseSchema,
  DEVICE_TYPES,
  DevicePageSchema,
  IssuedClaimCodeSchema,
  canMutateResource,
  type ClaimCode,
  type DeviceType,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import type { z } from 'zod';
import { TimeAgo } from '../../../components/device-badges';
import { PageHeader } from '../../../components/page-header';
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  CopyRow,
  Empty,
  Field,
  Forbidden,
  Loading,
  ProblemView,
  uiStyles,
} from '../../../components/ui';
import { api } from '../../../lib/api-client';
import { countdown, dateTime } from '../../../lib/format';
import { liveDeviceEvents } from '../../../lib/live-events';
import { useOrganizationsAndSites } from '../../../lib/reference-data';
import { useSession } from '../../../lib/session';
import { useResource } from '../../../lib/use-api';
import { useLive } from '../../../lib/use-live';
import { useLiveDevices } from '../../../lib/use-live-devices';
import { useNow } from '../../../lib/use-now';

type IssuedCode = z.infer<typeof IssuedClaimCodeSchema>;

function IssuedCodePanel({ deviceName, code, onClose }: { deviceName: string; code: IssuedCode; onClose: () => void }) {
  const now = useNow();
  const left = countdown(code.expiresAt, now);
  // The technician runs the command; the operator sees the device arrive here.
  const [enrolled, setEnrolled] = useState(false);
  useLive((m) => {
    if (m.type === 'devices.changed' && m.devices.some((p) => p.id === code.deviceId && p.status === 'active')) setEnrolled(true);
    if (liveDeviceEvents(m).some((e) => e.deviceId === code.deviceId && e.event.type === 'device.enrolled')) setEnrolled(true);
  });
  if (enrolled) {
    return (
      <Card
        title={`${deviceName} enrolled`}
        actions={
          <Button size="small" onClick={onClose}>
            Done
          </Button>
        }
      >
        <p style={{ margin: 0 }} data-testid="enrolled-notice">
          <Badge tone="ok">enrolled</Badge> The device used its claim code and is joining the fleet.{' '}
          <Link href={`/devices/${code.deviceId}`}>Open {deviceName} →</Link>
        </p>
      </Card>
    );
  }
  return (
    <Card
      title={`Claim code for ${deviceName}`}
      actions={
        <Button size="small" onClick={onClose}>
          Done
        </Button>
      }
    >
      <div style={{ display: 'flex', flexDirection: 'column', gap: 14 }} data-testid="issued-code">
        <p style={{ margin: 0 }}>
          This code is shown <strong>only now</strong>. It enrolls one device once and expires in{' '}
          <Badge tone={left === 'expired' ? 'bad' : 'info'}>
            <span data-testid="code-expiry">{left}</span>
          </Badge>{' '}
          (at {dateTime(code.expiresAt)}).
        </p>
        <div>
          <h3 style={{ marginBottom: 6 }}>Claim code</h3>
          <CopyRow text={code.code} label="Claim code" />
        </div>
        <div>
          <h3 style={{ marginBottom: 6 }}>Run on the device (as root)</h3>
          <CopyRow text={code.bootstrapCommand} label="Bootstrap command" />
        </div>
        <p className={uiStyles.muted} style={{ margin: 0 }}>
          The device appears in the inventory as soon as it enrolls; this page updates by itself.
        </p>
      </div>
    </Card>
  );
}

function CreateDeviceForm({ onCreated }: { onCreated: (name: string, code: IssuedCode) => void }) {
  const { me } = useSession();
  const refs = useOrganizationsAndSites();
  const [organizationId, setOrganizationId] = useState('');
  const [siteId, setSiteId] = useState('');
  const [type, setType] = useState<DeviceType>('scanner');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (refs.error) return <ProblemView error={refs.error} onRetry={refs.reload} />;
  if (!refs.data) return <Loading />;
  // SOC operators cannot create devices in internal infrastructure: do not offer it.
  const orgs = refs.data.organizations.filter((o) => canMutateResource(me.role, o.kind));
  const sites = refs.data.sites.filter((s) => s.organizationId === organizationId);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api('devices', {
        method: 'POST',
        body: { name, organizationId, siteId, type },
        schema: CreateDeviceResponseSchema,
      });
      onCreated(created.device.name, created.claimCode);
      setName('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (orgs.length === 0) {
    return (
      <Empty>
        No organization to enroll into yet. <Link href="/admin/organizations">Create an organization and a site</Link> first.
      </Empty>
    );
  }
  return (
    <form
      onSubmit={submit}
      style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(180px, 1fr))', gap: 12, alignItems: 'end' }}
    >
      <Field label="Organization">
        <select
          required
          value={organizationId}
          onChange={(e) => {
            setOrganizationId(e.target.value);
            setSiteId('');
          }}
        >
          <option value="">Choose…</option>
          {orgs.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
              {o.kind === 'internal' ? ' (internal)' : ''}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Site">
        <select required value={siteId} onChange={(e) => setSiteId(e.target.value)} disabled={!organizationId}>
          <option value="">{organizationId && sites.length === 0 ? 'This organization has no site' : 'Choose…'}</option>
          {sites.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Type">
        <select value={type} onChange={(e) => setType(e.target.value as DeviceType)}>
          {DEVICE_TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </Field>
      <Field label="Device name">
        <input
          name="name"
          required
          maxLength={120}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. acme-scanner-01"
        />
      </Field>
      <Button type="submit" variant="primary" disabled={busy || !organizationId || !siteId || !name.trim()}>
        {busy ? 'Creating…' : 'Create device and claim code'}
      </Button>
      {error ? (
        <div style={{ gridColumn: '1 / -1' }}>
          <ProblemView error={error} />
        </div>
      ) : null}
    </form>
  );
}

async function loadPending(signal: AbortSignal) {
  const [devices, codes] = await Promise.all([
    api('devices', { query: { status: 'pending', sort: '-createdAt', limit: 200 }, schema: DevicePageSchema, signal }),
    api('claim-codes', { query: { status: 'active', limit: 500 }, schema: ClaimCodePageSchema, signal }),
  ]);
  const codesByDevice = new Map<string, ClaimCode[]>();
  for (const c of codes.items) codesByDevice.set(c.deviceId, [...(codesByDevice.get(c.deviceId) ?? []), c]);
  return { ...devices, codesByDevice };
}

export function Enrollment() {
  const { can } = useSession();
  const allowed = can('devices.manage');
  const refs = useOrganizationsAndSites();
  const pending = useResource(allowed ? 'pending' : null, loadPending);
  useLiveDevices(pending, { filtered: true });
  const [issued, setIssued] = useState<{ name: string; code: IssuedCode } | null>(null);
  const [revoking, setRevoking] = useState<{ code: ClaimCode; name: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const now = useNow();

  if (!allowed) {
    return (
      <>
        <PageHeader title="Enrollment" />
        <Forbidden permission="devices.manage" what="enroll devices or issue claim codes" />
      </>
    );
  }

  async function newCode(deviceId: string, name: string) {
    setActionError(null);
    try {
      const code = await api(`devices/${deviceId}/claim-codes`, { method: 'POST', schema: IssuedClaimCodeSchema });
      setIssued({ name, code });
      pending.reload();
    } catch (e) {
      setActionError(e);
    }
  }

  async function revoke() {
    if (!revoking) return;
    setBusy(true);
    setActionError(null);
    try {
      await api(`claim-codes/${revoking.code.id}/revoke`, { method: 'POST' });
      setRevoking(null);
      pending.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader title="Enrollment" subtitle="Create a device, hand its claim code to the technician, watch it come online." />
      {issued ? (
        <IssuedCodePanel deviceName={issued.name} code={issued.code} onClose={() => setIssued(null)} />
      ) : (
        <Card title="New device">
          <CreateDeviceForm
            onCreated={(name, code) => {
              setIssued({ name, code });
              pending.reload();
            }}
          />
        </Card>
      )}
      {actionError && !revoking ? <ProblemView error={actionError} /> : null}
      <Card title="Pending devices" actions={<span className={uiStyles.muted}>created, not enrolled yet</span>}>
        {pending.error ? (
          <ProblemView error={pending.error} onRetry={pending.reload} />
        ) : !pending.data ? (
          <Loading />
        ) : pending.data.items.length === 0 ? (
          <Empty>No device is waiting for enrollment.</Empty>
        ) : (
          <table className={uiStyles.table} data-testid="pending-devices">
            <thead>
              <tr>
                <th>Device</th>
                <th>Organization / site</th>
                <th>Created</th>
                <th>Claim code</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pending.data.items.map((d) => {
                const codes = pending.data!.codesByDevice.get(d.id) ?? [];
                const active = codes.find((c) => Date.parse(c.expiresAt) > now);
                return (
                  <tr key={d.id}>
                    <td>
                      <Link href={`/devices/${d.id}`}>{d.name}</Link> <span className={uiStyles.faint}>{d.type}</span>
                    </td>
                    <td>
                      {refs.data?.orgById.get(d.organizationId)?.name ?? '…'}
                      <div className={uiStyles.faint}>{refs.data?.siteById.get(d.siteId)?.name ?? ''}</div>
                    </td>
                    <td>
                      <TimeAgo iso={d.createdAt} />
                    </td>
                    <td>
                      {active ? (
                        <Badge tone="info">expires in {countdown(active.expiresAt, now)}</Badge>
                      ) : (
                        <Badge tone="neutral">no active code</Badge>
                      )}
                    </td>
                    <td style={{ textAlign: 'right', whiteSpace: 'nowrap' }}>
                      <Button size="small" onClick={() => void newCode(d.id, d.name)}>
                        New code
                      </Button>{' '}
                      {active && (
                        <Button size="small" variant="danger" onClick={() => setRevoking({ code: active, name: d.name })}>
                          Revoke code
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
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this claim code?"
        confirmLabel="Revoke code"
        danger
        busy={busy}
        onCancel={() => {
          setRevoking(null);
          setActionError(null);
        }}
        onConfirm={() => void revoke()}
      >
        <p>
          The code for <strong>{revoking?.name}</strong> stops working at once. The device stays pending; issue a new code when it is ready.
        </p>
        {actionError ? <ProblemView error={actionError} /> : null}
      </ConfirmDialog>
    </>
  );
}
