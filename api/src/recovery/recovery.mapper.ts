import type { RecoveryMedium } from '@xspectre/contracts';
import { sshKeyFingerprint } from '../ssh/ssh-certificate-authority.js';
import type { RecoveryMediumEntity } from './recovery-medium.entity.js';

export function toRecoveryMediumDto(m: RecoveryMediumEntity, now = new Date()): RecoveryMedium {
  const downloadable = m.state === 'active' && m.downloadExpiresAt !== null && m.downloadExpiresAt > now;
  return {
    id: m.id,
    deviceId: m.deviceId,
    state: m.state,
    overlayAddress: m.overlayAddress,
    wgPublicKey: m.wgPublicKey,
    imageSha256: m.imageSha256,
    imageSizeBytes: Number(m.imageSizeBytes),
    downloadExpiresAt: downloadable ? m.downloadExpiresAt!.toISOString() : null,
    downloadable,
    createdAt: m.createdAt.toISOString(),
    createdBy: m.createdBy,
    revokedAt: m.revokedAt?.toISOString() ?? null,
    revokedBy: m.revokedBy,
    lastSeenAt: m.lastSeenAt?.toISOString() ?? null,
    recoveryMode:
      m.registeredAt && m.bootId && m.hardware
        ? {
            registeredAt: m.registeredAt.toISOString(),
            bootId: m.bootId,
            hardware: m.hardware,
            progress: m.progress,
            shellHostKeyFingerprint: m.sshHostKey ? sshKeyFingerprint(m.sshHostKey) : null,
          }
        : null,
  };
}
