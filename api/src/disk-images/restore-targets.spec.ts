import { describe, expect, it } from 'vitest';
import { DiskImageNameSchema, type RecoveryDisk } from '@xspectre/contracts';
import { ImageDiskError, checkImageDisks, imageNameAt, planRestoreTargets } from './restore-targets.js';

const sha = (c: string) => c.repeat(64);
const image = {
  disks: [
    { name: 'sda', model: 'QEMU', sizeBytes: 1000, sha256Raw: sha('a'), partitionTable: { type: 'gpt' as const, partitions: [] } },
    { name: 'sdb', model: 'QEMU', sizeBytes: 500, sha256Raw: sha('b'), partitionTable: { type: 'mbr' as const, partitions: [] } },
  ],
};
const disk = (name: string, sizeBytes: number, role: RecoveryDisk['role'] = 'target'): RecoveryDisk => ({
  name,
  sizeBytes,
  model: null,
  serial: null,
  removable: role === 'recovery-stick',
  rotational: false,
  role,
});

describe('planRestoreTargets', () => {
  it('maps each image disk onto the disk of the same name by default, with its hash and size', () => {
    expect(planRestoreTargets(image, { disks: [disk('sda', 1000), disk('sdb', 4000), disk('sdc', 64, 'recovery-stick')] })).toEqual([
      { imageDisk: 'sda', sha256Raw: sha('a'), sizeBytes: 1000, target: 'sda' },
      { imageDisk: 'sdb', sha256Raw: sha('b'), sizeBytes: 500, target: 'sdb' },
    ]);
  });

  it('refuses a smaller target, the stick, a missing disk and a disk written twice, naming the disk', () => {
    const hw = { disks: [disk('sda', 999), disk('sdb', 500), disk('vda', 2000), disk('sdc', 8000, 'recovery-stick')] };
    expect(() => planRestoreTargets(image, hw)).toThrow(/disk sda \(999 bytes\) is smaller than the image's sda \(1000 bytes\)/);
    expect(() => planRestoreTargets(image, hw, [{ imageDisk: 'sda', target: 'sdc' }])).toThrow(/disk sdc is the recovery stick/);
    expect(() => planRestoreTargets(image, hw, [{ imageDisk: 'sda', target: 'nvme0n1' }])).toThrow(/no disk nvme0n1/);
    expect(() => planRestoreTargets(image, hw, [{ imageDisk: 'sdz', target: 'vda' }])).toThrow(/holds no disk sdz/);
    expect(() =>
      planRestoreTargets(image, hw, [
        { imageDisk: 'sda', target: 'vda' },
        { imageDisk: 'sdb', target: 'vda' },
      ]),
    ).toThrow(/vda is the target of two/);
  });

  it('takes asked-for pairs onto a larger disk of another name (replacement hardware)', () => {
    const hw = { disks: [disk('nvme0n1', 5000)] };
    expect(planRestoreTargets(image, hw, [{ imageDisk: 'sda', target: 'nvme0n1' }])).toEqual([
      { imageDisk: 'sda', sha256Raw: sha('a'), sizeBytes: 1000, target: 'nvme0n1' },
    ]);
  });
});

describe('imageNameAt', () => {
  it('is the UTC start time without colons or milliseconds, a valid image name', () => {
    const name = imageNameAt(new Date('2026-12-05T07:04:09.123Z'));
    expect(name).toBe('2026-12-05T070409Z');
    expect(DiskImageNameSchema.safeParse(name).success).toBe(true);
  });
});

describe('checkImageDisks', () => {
  const hardware = { disks: [disk('sda', 1000), disk('nvme0n1', 4000), disk('sdc', 64, 'recovery-stick')] };
  it('accepts target disks the stick reported, in any order, and an empty list (every target disk)', () => {
    expect(() => checkImageDisks(hardware, ['nvme0n1', 'sda'])).not.toThrow();
    expect(() => checkImageDisks(hardware, [])).not.toThrow();
  });
  it('refuses an unknown disk, the stick and a disk listed twice, naming the disk', () => {
    expect(() => checkImageDisks(hardware, ['sdz'])).toThrow(
      new ImageDiskError('the machine has no disk sdz (its target disks: sda, nvme0n1)'),
    );
    expect(() => checkImageDisks(hardware, ['sda', 'sdc'])).toThrow(/disk sdc is the recovery stick/);
    expect(() => checkImageDisks(hardware, ['sda', 'sda'])).toThrow(/disk sda is listed twice/);
  });
});
