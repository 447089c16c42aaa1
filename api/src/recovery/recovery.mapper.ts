import type { RecoveryMedium } from '@xspectre/contracts';
import { sshKeyFingerprint } from '../ssh/ssh-certificate-authority.js';
import type { RecoveryMediumEntity } from './recovery-medium.entity.js';

/** `deviceName` goes into the flashing steps (shown while the image is downloadable). */
export function toRecoveryMediumDto(m: RecoveryMediumEntity, deviceName: string, now = new Date()): RecoveryMedium {
  const downloadable = m.state === 'active' && m.downloadExpiresAt !== null && m.downloadExpiresAt > now;
  const dto: RecoveryMedium = {
    id: m.id,
    deviceId: m.deviceId,
    state: m.state,
    overlayAddress: m.overlayAddress,
    wgPublicKey: m.wgPublicKey,
    imageSha256: m.imageSha256,
    imageSizeBytes: Number(m.imageSizeBytes),
    downloadExpiresAt: downloadable ? m.downloadExpiresAt!.toISOString() : null,
    downloadable,
    flashingSteps: null,
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
  if (downloadable) dto.flashingSteps = flashingSteps(deviceName, dto);
  return dto;
}

export function flashingSteps(
  deviceName: string,
  medium: Pick<RecoveryMedium, 'id' | 'imageSizeBytes' | 'downloadExpiresAt' | 'imageSha256'>,
): string[] {
  const file = `xspectre-recovery-${medium.id.slice(0, 8)}.img`;
  return [
    `Download the image (${medium.imageSizeBytes} bytes) before ${medium.downloadExpiresAt ?? 'its window ends'}; after that it is deleted and a new medium must be created.`,
    `Check it: \`sha256sum ${file}\` (Linux), \`shasum -a 256 ${file}\` (macOS) or \`Get-FileHash ${file}\` (Windows) must print ${medium.imageSha256}.`,
    'Find the USB stick (Linux: `lsblk`; macOS: `diskutil list`, then `diskutil unmountDisk /dev/diskN`). Everything on it is overwritten.',
    `Write it with dd: \`sudo dd if=${file} of=/dev/sdX bs=4M conv=fsync status=progress\` (macOS: of=/dev/rdiskN bs=4m), then \`sync\`.`,
    'Or with balenaEtcher (Windows, macOS, Linux): "Flash from file", choose the image, choose the stick, "Flash!"; Etcher verifies the written stick.',
    `Put the stick into ${deviceName}'s internal USB port and leave it there: it works only for this device.`,
    'Delete the downloaded image after flashing: it holds the stick’s credential and WireGuard key. Lost the stick? Revoke this medium.',
  ];
}
