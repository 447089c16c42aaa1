import type { DiskImageMetadata, RecoveryHardware } from '@xspectre/contracts';

export interface RestoreTarget {
  imageDisk: string;
  sha256Raw: string;
  sizeBytes: number;
  target: string;
}

/** Why a restore cannot be planned: the message names the disk (DISK_IMAGE_TARGET_INVALID). */
export class RestoreTargetError extends Error {}

/**
 * Which disk of the image goes onto which disk of the machine, judged against the disks the
 * stick reported at registration. Asked-for pairs are checked; without any, each disk of the
 * image goes onto the disk of the same name. A target must be a disk the stick reported, never
 * the stick itself, and at least as large as the image's disk; no disk is written twice.
 */
export function planRestoreTargets(
  image: Pick<DiskImageMetadata, 'disks'>,
  hardware: Pick<RecoveryHardware, 'disks'>,
  asked?: ReadonlyArray<{ imageDisk: string; target: string }>,
): RestoreTarget[] {
  const pairs = asked ?? image.disks.map((d) => ({ imageDisk: d.name, target: d.name }));
  const targets = new Set<string>();
  return pairs.map(({ imageDisk, target }) => {
    const source = image.disks.find((d) => d.name === imageDisk);
    if (!source)
      throw new RestoreTargetError(`the image holds no disk ${imageDisk} (it holds ${image.disks.map((d) => d.name).join(', ')})`);
    const disk = hardware.disks.find((d) => d.name === target);
    if (!disk) throw new RestoreTargetError(`the machine has no disk ${target} for the image's ${imageDisk}`);
    if (disk.role === 'recovery-stick') throw new RestoreTargetError(`disk ${target} is the recovery stick: it is never written`);
    if (disk.sizeBytes < source.sizeBytes) {
      throw new RestoreTargetError(
        `disk ${target} (${disk.sizeBytes} bytes) is smaller than the image's ${imageDisk} (${source.sizeBytes} bytes)`,
      );
    }
    if (targets.has(target)) throw new RestoreTargetError(`disk ${target} is the target of two image disks`);
    targets.add(target);
    return { imageDisk, sha256Raw: source.sha256Raw, sizeBytes: source.sizeBytes, target };
  });
}

/** Why the disks asked for an image cannot be imaged: the message names the disk (DISK_IMAGE_DISK_INVALID). */
export class ImageDiskError extends Error {}

/**
 * The disks "Take full image now" asked for, judged against the disks the stick reported: each
 * one a target disk it reported (never the stick itself), each once. Empty: every target disk.
 */
export function checkImageDisks(hardware: Pick<RecoveryHardware, 'disks'>, asked: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of asked) {
    const disk = hardware.disks.find((d) => d.name === name);
    const targets = hardware.disks.filter((d) => d.role === 'target').map((d) => d.name);
    if (!disk) throw new ImageDiskError(`the machine has no disk ${name} (its target disks: ${targets.join(', ') || 'none'})`);
    if (disk.role === 'recovery-stick') throw new ImageDiskError(`disk ${name} is the recovery stick: it is never imaged`);
    if (seen.has(name)) throw new ImageDiskError(`disk ${name} is listed twice`);
    seen.add(name);
  }
}

/** The image's name for a job started at `at`: its start time in UTC, `YYYY-MM-DDTHHMMSSZ` (DiskImageNameSchema). */
export function imageNameAt(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '');
}
