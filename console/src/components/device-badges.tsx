'use client';

import type { Device } from '@xspectre/contracts';
import { relativeTime } from '../lib/format';
import { useNow } from '../lib/use-now';
import { Badge, type Tone } from './ui';

const STATUS_TONE: Record<Device['status'], Tone> = { pending: 'info', active: 'ok', revoked: 'bad', retired: 'neutral' };
const CONNECTIVITY_TONE: Record<Device['connectivity'], Tone> = { online: 'ok', offline: 'bad', never_seen: 'neutral' };
const CONNECTIVITY_LABEL: Record<Device['connectivity'], string> = { online: 'online', offline: 'offline', never_seen: 'never seen' };

export function StatusBadge({ status }: { status: Device['status'] }) {
  return (
    <Badge tone={STATUS_TONE[status]}>
      <span data-testid="device-status">{status}</span>
    </Badge>
  );
}

export function ConnectivityBadge({ connectivity }: { connectivity: Device['connectivity'] }) {
  return (
    <Badge tone={CONNECTIVITY_TONE[connectivity]}>
      <span data-testid="connectivity">{CONNECTIVITY_LABEL[connectivity]}</span>
    </Badge>
  );
}

export function QuarantineBadge({ quarantine }: { quarantine: Device['quarantine'] }) {
  if (!quarantine) return null;
  return (
    <Badge tone="warn" title={quarantine.reason}>
      quarantined
    </Badge>
  );
}

/** "2 m ago", kept current by the shared clock; the exact time in the tooltip. */
export function TimeAgo({ iso, never = 'never' }: { iso: string | null | undefined; never?: string }) {
  const now = useNow();
  if (!iso) return <span className="muted">{never}</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toISOString()}>
      {relativeTime(iso, now)}
    </time>
  );
}

/** Tunnel state from the last WireGuard handshake: fresh within 3 minutes (keepalive 25 s, rekey 2 min). */
export function TunnelBadge({ device }: { device: Device }) {
  const now = useNow();
  const at = device.tunnel.lastHandshakeAt;
  if (!device.tunnel.overlayAddress) return <span className="muted">—</span>;
  if (!at) return <Badge tone="neutral">no handshake</Badge>;
  const age = now - Date.parse(at);
  return (
    <Badge tone={age <= 180_000 ? 'ok' : 'warn'} title={`last handshake ${new Date(at).toISOString()}`}>
      handshake {relativeTime(at, now)}
    </Badge>
  );
}
