'use client';

import {
  DeviceEventSchema,
  DeviceSchema,
  canMutateResource,
  type Device,
  type DeviceLiveMetrics,
  type DeviceTelemetry,
  type Organization,
  type Site,
} from '@xspectre/contracts';
import Link from 'next/link';
import { useParams, usePathname, useRouter } from 'next/navigation';
import { createContext, useContext, useRef, useState, type ReactNode } from 'react';
import { CommandActions, type TargetInventory } from '../../../../components/command-actions';
import { ConnectivityBadge, StatusBadge, TimeAgo } from '../../../../components/device-badges';
import { PageHeader } from '../../../../components/page-header';
import { SshHostKeyBanner } from '../../../../components/ssh-host-key-banner';
import { useCritical } from '../../../../components/step-up';
import { Badge, Button, ConfirmDialog, Field, Loading, ProblemView } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { applyDevicePatch } from '../../../../lib/device-patch';
import { activeDeviceTab, deviceTabHref, deviceTabsFor } from '../../../../lib/device-tabs';
import { dateTime } from '../../../../lib/format';
import { liveDeviceEvents } from '../../../../lib/live-events';
import { useOrganizationsAndSites } from '../../../../lib/reference-data';
import { useSession } from '../../../../lib/session';
import { useResource, type Resource } from '../../../../lib/use-api';
import { useLive, useLiveSubscription } from '../../../../lib/use-live';
import styles from '../../../../components/tabs.module.css';
import { useTelemetry } from './device-sections';
import { RecoveryModeBanner, useRecoveryMedia, type RecoveryMediaState } from './recovery/recovery-mode';

/** What every tab of the device page reads from the frame: the device, kept live, and what hangs on it. */
export interface DeviceFrameValue {
  device: Device;
  org: Organization | undefined;
  site: Site | undefined;
  telemetry: Resource<DeviceTelemetry>;
  /** Bumped by events that change inventory, events and audit (they are refetched, not patched). */
  version: number;
  bumpVersion: () => void;
  /** The newest live heartbeat's metrics. */
  live: { at: string; metrics: DeviceLiveMetrics } | null;
  /** The device's recovery media, kept live: RECOVERY MODE and the stick's progress (recovery/recovery-mode.tsx). */
  recovery: RecoveryMediaState;
}

const DeviceFrameContext = createContext<DeviceFrameValue | null>(null);

export function useDeviceFrame(): DeviceFrameValue {
  const value = useContext(DeviceFrameContext);
  if (!value) throw new Error('useDeviceFrame outside the device page');
  return value;
}

type EndAction = 'revoke' | 'retire';
const END_TEXT: Record<EndAction, { title: string; body: string; button: string }> = {
  revoke: {
    title: 'Revoke this device?',
    body: 'The tunnel peer is removed at once and the device credential stops working. The device must be enrolled again with a new claim code to come back.',
    button: 'Revoke device',
  },
  retire: {
    title: 'Retire this device?',
    body: 'Use this when the device is decommissioned: it is cut off like a revoke and leaves the active fleet for good.',
    button: 'Retire device',
  },
};

/** The units and containers a device reported, offered in the Actions menu's dialogs. */
function inventoryOf(telemetry: DeviceTelemetry | undefined): TargetInventory {
  return {
    units: telemetry?.services?.map((s) => s.unit),
    containers: telemetry?.docker?.status === 'ok' ? telemetry.docker.containers.map((c) => c.name) : undefined,
  };
}

/** The device page's frame: header with the Actions menu, the quarantine banner, the tabs; the tab's page below. */
export function DeviceFrame({ children }: { children: ReactNode }) {
  const { id } = useParams<{ id: string }>();
  const pathname = usePathname();
  const router = useRouter();
  const { me, can } = useSession();
  const refs = useOrganizationsAndSites();
  const device = useResource(`device:${id}`, (signal) => api(`devices/${id}`, { schema: DeviceSchema, signal }));
  const telemetry = useTelemetry(id);
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState<{ at: string; metrics: DeviceLiveMetrics } | null>(null);
  const [ending, setEnding] = useState<EndAction | null>(null);
  const [endError, setEndError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const lastSequence = useRef<number | null>(null);
  const critical = useCritical();
  const [accepting, setAccepting] = useState(false);
  const [reason, setReason] = useState('');
  const recovery = useRecoveryMedia(id, version);

  useLiveSubscription([id]);
  useLive(
    (message) => {
      if (message.type === 'devices.changed') {
        for (const patch of message.devices) {
          if (patch.id !== id) continue;
          if (device.data) {
            const outcome = applyDevicePatch(device.data, patch);
            device.mutate(() => outcome.device);
            if (outcome.needsRefetch) device.reload();
          }
          if (patch.metrics && patch.lastHeartbeatAt) setLive({ at: patch.lastHeartbeatAt, metrics: patch.metrics });
          // Services and containers ride on heartbeats: refetch them when a new one arrived.
          if (patch.lastSequence !== undefined && patch.lastSequence !== lastSequence.current) {
            lastSequence.current = patch.lastSequence;
            telemetry.reload();
          }
        }
      } else if (liveDeviceEvents(message).some((e) => e.deviceId === id)) {
        setVersion((v) => v + 1);
      }
    },
    () => {
      device.reload();
      telemetry.reload();
      setVersion((v) => v + 1);
    },
  );

  if (device.error) {
    return (
      <>
        <PageHeader title="Device" subtitle={<Link href="/devices">← All devices</Link>} />
        <ProblemView error={device.error} onRetry={device.reload} />
      </>
    );
  }
  if (!device.data) return <Loading label="Loading the device…" />;
  const d = device.data;
  const org = refs.data?.orgById.get(d.organizationId);
  const site = refs.data?.siteById.get(d.siteId);
  const mayManage = can('devices.manage') && org !== undefined && canMutateResource(me.role, org.kind);
  const inService = d.status === 'active' || d.status === 'pending';
  const tabs = deviceTabsFor(d.type);
  const tab = activeDeviceTab(pathname, id, tabs);

  async function acceptHardware() {
    setBusy(true);
    setEndError(null);
    try {
      await critical(() => api(`devices/${id}/fingerprint/accept`, { method: 'POST', body: { reason }, schema: DeviceEventSchema }));
      setAccepting(false);
      setReason('');
      device.reload();
      setVersion((v) => v + 1);
    } catch (e) {
      setEndError(e);
    } finally {
      setBusy(false);
    }
  }

  async function endService(action: EndAction) {
    setBusy(true);
    setEndError(null);
    try {
      const updated = await api(`devices/${id}/${action}`, { method: 'POST', schema: DeviceSchema });
      device.mutate(() => updated);
      setEnding(null);
      setVersion((v) => v + 1);
    } catch (e) {
      setEndError(e);
    } finally {
      setBusy(false);
    }
  }

  const value: DeviceFrameValue = {
    device: d,
    org,
    site,
    telemetry,
    version,
    bumpVersion: () => setVersion((v) => v + 1),
    live,
    recovery,
  };

  return (
    <DeviceFrameContext.Provider value={value}>
      <PageHeader
        title={
          <span style={{ display: 'flex', gap: 10, alignItems: 'center', flexWrap: 'wrap' }}>
            <span data-testid="device-name">{d.name}</span>
            <StatusBadge status={d.status} />
            <ConnectivityBadge connectivity={d.connectivity} />
            {d.quarantine && (
              <Badge tone="warn" title={d.quarantine.reason}>
                quarantined since {dateTime(d.quarantine.since)}
              </Badge>
            )}
            {recovery.mode?.recoveryMode && (
              <Badge tone="warn" title={`the recovery stick registered ${dateTime(recovery.mode.recoveryMode.registeredAt)}`}>
                <span data-testid="recovery-mode-badge">RECOVERY MODE</span>
              </Badge>
            )}
          </span>
        }
        subtitle={
          <>
            <Link href="/devices">← All devices</Link> · {d.type} · {org?.name ?? '…'} / {site?.name ?? '…'} · host{' '}
            <span data-testid="device-hostname">{d.hostname ?? '—'}</span> · last seen <TimeAgo iso={d.lastHeartbeatAt} />
          </>
        }
        actions={
          <>
            {/* Until the owner is known the menu waits: internal infrastructure is read-only for SOC operators. */}
            {org && (
              <CommandActions
                targets={[{ id: d.id, name: d.name, status: d.status, quarantine: d.quarantine, ownerKind: org.kind }]}
                inventory={inventoryOf(telemetry.data)}
                onQueued={(command) => router.push(`/devices/${id}/commands?command=${command.id}`)}
              />
            )}
            {mayManage && inService && (
              <>
                <Button variant="danger" onClick={() => setEnding('revoke')}>
                  Revoke
                </Button>
                <Button variant="danger" onClick={() => setEnding('retire')}>
                  Retire
                </Button>
              </>
            )}
          </>
        }
      />
      {d.quarantine && (
        <ProblemView
          problem={{
            type: 'about:blank',
            title: 'Quarantined: the hardware fingerprint changed',
            status: 0,
            detail: `${d.quarantine.reason}. Commands are neither queued nor delivered while the device is quarantined: the Actions menu is disabled until a Super Admin accepts the new hardware.`,
            code: 'DEVICE_QUARANTINED',
          }}
          action={
            can('devices.critical_actions') ? (
              <Button size="small" onClick={() => setAccepting(true)}>
                Accept the new hardware…
              </Button>
            ) : undefined
          }
        />
      )}
      <RecoveryModeBanner deviceId={id} state={recovery} />
      {can('devices.view') && <SshHostKeyBanner deviceId={id} deviceName={d.name} version={version} />}
      <nav className={styles.tabs} aria-label="Device sections" data-testid="device-tabs">
        {tabs.map((t) => (
          <Link
            key={t.segment}
            href={deviceTabHref(id, t)}
            className={`${styles.tab} ${t === tab ? styles.active : ''}`}
            aria-current={t === tab ? 'page' : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {children}
      <ConfirmDialog
        open={accepting}
        title="Accept the new hardware?"
        confirmLabel="Accept and end the quarantine"
        busy={busy}
        onCancel={() => {
          setAccepting(false);
          setEndError(null);
        }}
        onConfirm={() => void acceptHardware()}
      >
        <p>
          The fingerprint of <strong>{d.name}</strong> is bound to its current hardware and the quarantine ends. Do this only when you know
          why the hardware changed (a repair, a replaced disk).
        </p>
        <Field label="Why is the new hardware trusted?">
          <textarea rows={3} minLength={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        {endError ? <ProblemView error={endError} /> : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={ending !== null}
        title={ending ? END_TEXT[ending].title : ''}
        confirmLabel={ending ? END_TEXT[ending].button : ''}
        danger
        busy={busy}
        onCancel={() => {
          setEnding(null);
          setEndError(null);
        }}
        onConfirm={() => ending && void endService(ending)}
      >
        <p>
          <strong>{d.name}</strong>: {ending ? END_TEXT[ending].body : ''}
        </p>
        {endError ? <ProblemView error={endError} /> : null}
      </ConfirmDialog>
    </DeviceFrameContext.Provider>
  );
}
