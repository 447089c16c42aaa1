import type { ClaimCode, Device } from '@xspectre/contracts';
import type { ClaimCodeEntity } from './claim-code.entity.js';
import type { DeviceView } from './fleet-view.repository.js';
import { connectivityOf } from './connectivity.js';
import { modulesOf } from './device-modules.js';

export function toDeviceDto(d: DeviceView, heartbeatIntervalSeconds: number): Device {
  return {
    id: d.id,
    name: d.name,
    organizationId: d.organizationId,
    siteId: d.siteId,
    type: d.type,
    status: d.status,
    billable: d.organizationKind === 'customer',
    hostname: d.hostname,
    agentVersion: d.agentVersion,
    enrolledAt: d.enrolledAt?.toISOString() ?? null,
    lastHeartbeatAt: d.lastHeartbeatAt?.toISOString() ?? null,
    connectivity: connectivityOf(d.status, d.lastHeartbeatAt, heartbeatIntervalSeconds),
    tunnel: {
      overlayAddress: d.overlayAddress,
      publicKey: d.wgPublicKey,
      lastHandshakeAt: d.lastHandshakeAt?.toISOString() ?? null,
      rxBytes: Number(d.rxBytes),
      txBytes: Number(d.txBytes),
      endpoint: d.tunnelEndpoint,
    },
    quarantine: d.quarantinedAt ? { since: d.quarantinedAt.toISOString(), reason: d.quarantineReason ?? '' } : null,
    metrics: d.headline
      ? {
          cpuPercent: d.headline.cpuPercent,
          memUsedPercent: d.headline.memUsedPercent,
          diskUsedPercentMax: d.headline.diskUsedPercentMax,
          netRxBps: d.headline.netRxBps,
          netTxBps: d.headline.netTxBps,
        }
      : null,
    metricsSampledAt: d.headline?.sampledAt.toISOString() ?? null,
    modules: modulesOf(d.type, d.modules),
    createdAt: d.createdAt.toISOString(),
  };
}

export function claimCodeStatus(c: ClaimCodeEntity, now = new Date()): ClaimCode['status'] {
  if (c.usedAt) return 'used';
  if (c.revokedAt) return 'revoked';
  return c.expiresAt <= now ? 'expired' : 'active';
}

export function toClaimCodeDto(c: ClaimCodeEntity): ClaimCode {
  return {
    id: c.id,
    deviceId: c.deviceId,
    status: claimCodeStatus(c),
    expiresAt: c.expiresAt.toISOString(),
    createdAt: c.createdAt.toISOString(),
    usedAt: c.usedAt?.toISOString() ?? null,
    revokedAt: c.revokedAt?.toISOString() ?? null,
  };
}
