import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryHardware } from '@xspectre/contracts';
import type { ProcessResult } from '../commands/run-process.js';
import { chooseImageDisks, isMounted, partitionParent, runRecoveryAction, smartSummary, type ActionContext } from './actions.js';
import type { Runner } from './tunnel.js';

const hardware: RecoveryHardware = {
  firmware: 'uefi',
  cpuModel: null,
  cpus: 1,
  memoryBytes: 1,
  nics: [],
  disks: [
    { name: 'sda', sizeBytes: 1000, model: 'A', serial: null, removable: false, rotational: true, role: 'target' },
    { name: 'sdb', sizeBytes: 500, model: 'Stick', serial: null, removable: true, rotational: false, role: 'recovery-stick' },
    { name: 'nvme0n1', sizeBytes: 2000, model: null, serial: 'S1', removable: false, rotational: false, role: 'target' },
  ],
};
const ok = (stdout = '', code = 0): ProcessResult => ({
  code,
  signal: null,
  stdout: Buffer.from(stdout),
  stderr: Buffer.alloc(0),
  stdoutCut: false,
  stderrCut: false,
});

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'xs-actions-'));
  for (const [disk, part] of [
    ['sda', 'sda1'],
    ['sda', 'sda2'],
    ['sdb', 'sdb1'],
  ] as const) {
    await mkdir(join(root, 'sys/devices/block', disk, part), { recursive: true });
    await writeFile(join(root, 'sys/devices/block', disk, part, 'partition'), '1\n');
    await mkdir(join(root, 'sys/class/block'), { recursive: true });
    await symlink(join(root, 'sys/devices/block', disk, part), join(root, 'sys/class/block', part));
  }
  await mkdir(join(root, 'proc'), { recursive: true });
  await writeFile(join(root, 'proc/mounts'), '/dev/sda2 /mnt ext4 rw 0 0\nproc /proc proc rw 0 0\n');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function context(answers: Record<string, ProcessResult> = {}) {
  const calls: string[][] = [];
  const run: Runner = async (file, args) => {
    calls.push([file, ...args]);
    return answers[file] ?? ok();
  };
  const ctx: ActionContext = {
    deviceId: '0b7e0e4c-43c5-4a57-9a53-0c1b5b6f9a10',
    stick: 'sdb',
    hardware,
    diskPath: (name) => `/dev/${name}`,
    tokens: () => async () => {
      throw new Error('no tokens in this test');
    },
    progress: () => undefined,
    reportImage: async () => undefined,
    agentVersion: 'test',
    kernel: null,
    run,
    sysRoot: join(root, 'sys'),
    procRoot: join(root, 'proc'),
  };
  return { calls, ctx };
}

describe('chooseImageDisks', () => {
  it('takes every target disk by default and never the stick', () => {
    expect(chooseImageDisks(hardware, [])).toEqual({ disks: [hardware.disks[0], hardware.disks[2]] });
    expect(chooseImageDisks(hardware, ['nvme0n1'])).toEqual({ disks: [hardware.disks[2]] });
    expect(chooseImageDisks(hardware, ['sdb'])).toEqual({ error: 'sdb is the recovery stick' });
    expect(chooseImageDisks(hardware, ['sdz'])).toEqual({ error: 'no disk sdz on this machine' });
    expect(chooseImageDisks(hardware, ['sda', 'sda'])).toEqual({ error: 'sda is named twice' });
  });
});

describe('smartSummary', () => {
  it('summarises smartctl JSON and flags a failing disk', () => {
    const json = JSON.stringify({
      model_name: 'WDC WD10',
      smart_status: { passed: true },
      temperature: { current: 34 },
      power_on_time: { hours: 12000 },
    });
    expect(smartSummary('sda', json, 0)).toEqual({
      line: 'sda: PASSED model="WDC WD10" temperature=34C power_on_hours=12000',
      failing: false,
    });
    expect(smartSummary('sda', JSON.stringify({ smart_status: { passed: false } }), 8)).toEqual({
      line: 'sda: FAILED smartctl_exit=8',
      failing: true,
    });
    expect(smartSummary('sda', 'garbage', 2).line).toBe('sda: smartctl gave no readable answer (exit 2)');
  });

  it('runs smartctl on the target disks only', async () => {
    const { calls, ctx } = context({ smartctl: ok(JSON.stringify({ smart_status: { passed: true } })) });
    const outcome = await runRecoveryAction('recovery.smart', {}, 'c', ctx);
    expect(outcome.status).toBe('succeeded');
    expect(calls).toEqual([
      ['smartctl', '-j', '-a', '/dev/sda'],
      ['smartctl', '-j', '-a', '/dev/nvme0n1'],
    ]);
    expect(outcome.stdout).toBe('sda: PASSED\nnvme0n1: PASSED\n');
  });
});

describe('fsck', () => {
  it('knows partitions, their disk and mounts', async () => {
    expect(await partitionParent(join(root, 'sys'), 'sda1')).toBe('sda');
    expect(await partitionParent(join(root, 'sys'), 'sda9')).toBeNull();
    expect(isMounted('/dev/sda2 /mnt ext4 rw 0 0\n', 'sda2')).toBe(true);
    expect(isMounted('/dev/sda22 /mnt ext4 rw 0 0\n', 'sda2')).toBe(false);
  });

  it('refuses the stick, mounted and unknown partitions and unsupported file systems, running nothing', async () => {
    const { calls, ctx } = context({ blkid: ok('ntfs\n') });
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sdb1', repair: true }, 'c', ctx)).toMatchObject({
      status: 'failed',
      reason: 'sdb1 is on the recovery stick',
    });
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sda2', repair: false }, 'c', ctx)).toMatchObject({
      status: 'failed',
      reason: 'sda2 is mounted',
    });
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sda7', repair: false }, 'c', ctx)).toMatchObject({
      reason: 'sda7 is not a partition on this machine',
    });
    expect(await runRecoveryAction('recovery.fsck', { partition: '../x', repair: false }, 'c', ctx)).toMatchObject({ status: 'failed' });
    expect(calls).toEqual([]);
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sda1', repair: false }, 'c', ctx)).toMatchObject({
      status: 'failed',
      reason: 'sda1: file system ntfs is not supported (ext2/3/4 and vfat are)',
    });
  });

  it('checks ext4 read-only or repairs with -p; exit 4 is a failure', async () => {
    const clean = context({ blkid: ok('ext4\n'), e2fsck: ok('sda1: clean, 11/65536 files\n', 0) });
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sda1', repair: false }, 'c', clean.ctx)).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
    });
    expect(clean.calls[1]).toEqual(['e2fsck', '-n', '-f', '/dev/sda1']);
    const broken = context({ blkid: ok('ext4\n'), e2fsck: ok('UNEXPECTED INCONSISTENCY\n', 4) });
    expect(await runRecoveryAction('recovery.fsck', { partition: 'sda1', repair: true }, 'c', broken.ctx)).toMatchObject({
      status: 'failed',
      exitCode: 4,
      reason: 'e2fsck exit 4: errors left uncorrected',
    });
    expect(broken.calls[1]).toEqual(['e2fsck', '-p', '-f', '/dev/sda1']);
    const fat = context({ blkid: ok('vfat\n') });
    await runRecoveryAction('recovery.fsck', { partition: 'sda1', repair: true }, 'c', fat.ctx);
    expect(fat.calls[1]).toEqual(['fsck.vfat', '-a', '/dev/sda1']);
  });
});

describe('reboot and dispatch', () => {
  it('reports first and reboots after; unknown actions and bad params fail', async () => {
    const { calls, ctx } = context();
    const outcome = await runRecoveryAction('recovery.reboot', {}, 'c', ctx);
    expect(outcome.status).toBe('succeeded');
    expect(calls).toEqual([]);
    await outcome.after?.();
    expect(calls).toEqual([['busybox', 'reboot']]);
    expect(await runRecoveryAction('recovery.shell', {}, 'c', ctx)).toMatchObject({
      status: 'failed',
      reason: 'unknown recovery action recovery.shell',
    });
    expect((await runRecoveryAction('recovery.image', { imageName: 'x' }, 'c', ctx)).status).toBe('failed');
    expect(
      await runRecoveryAction(
        'recovery.restore',
        {
          imageName: '2026-12-05T030000Z',
          sha256Compressed: 'a'.repeat(64),
          compressedBytes: 1,
          targets: [{ imageDisk: 'sda', sha256Raw: 'b'.repeat(64), sizeBytes: 1, target: 'sdq' }],
        },
        'c',
        ctx,
      ),
    ).toMatchObject({ status: 'failed', reason: 'target: no disk sdq on this machine (nothing was written)' });
  });
});
