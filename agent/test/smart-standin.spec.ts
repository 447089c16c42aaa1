import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskHealthReportSchema } from '@xspectre/contracts';
import { readDiskHealth } from '../src/collectors/smart.js';

/**
 * The SMART collector's real driver (spawned processes, argument arrays, bounded output) against
 * a stand-in `smartctl` on PATH: a script that answers like smartmontools 7.3 and records how it
 * was called. The parsing itself is unit-tested in src/collectors/smart.spec.ts.
 */
describe('SMART collector with a stand-in smartctl', () => {
  let dir: string;
  let bin: string;
  const savedPath = process.env.PATH;

  const standIn = async (script: string) => {
    await writeFile(join(bin, 'smartctl'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${dir}/calls"\n${script}\n`);
    await chmod(join(bin, 'smartctl'), 0o755);
    await rm(join(dir, 'calls'), { force: true });
  };
  const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-smart-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    process.env.PATH = `${bin}:${savedPath}`;
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('scans, reads each disk with its type, and reports a failing one (exit bit 3)', async () => {
    await standIn(`case "$1" in
  --scan-open) echo '{"devices":[{"name":"/dev/sda","type":"sat","protocol":"ATA"},{"name":"/dev/nvme0","type":"nvme","protocol":"NVMe"}]}' ;;
  *) case "$7" in
       /dev/sda) echo '{"device":{"protocol":"ATA"},"model_name":"WDC WD20EFRX","serial_number":"WD-1","smart_status":{"passed":false},"temperature":{"current":41},"power_on_time":{"hours":52000},"ata_smart_attributes":{"table":[{"id":5,"raw":{"value":1500}},{"id":197,"raw":{"value":3}}]}}'; exit 8 ;;
       *) echo '{"device":{"protocol":"NVMe"},"model_name":"Samsung 970","serial_number":"S4E","smart_status":{"passed":true},"nvme_smart_health_information_log":{"critical_warning":0,"temperature":35,"percentage_used":2,"media_errors":0,"power_on_hours":900}}' ;;
     esac ;;
esac`);
    const report = await readDiskHealth();
    expect(await calls()).toEqual(['--scan-open -j', '-j -H -A -i -d sat /dev/sda', '-j -H -A -i -d nvme /dev/nvme0']);
    expect(DiskHealthReportSchema.parse(report)).toEqual(report);
    expect(report.disks).toEqual([
      expect.objectContaining({
        device: '/dev/sda',
        health: 'failed',
        temperatureC: 41,
        powerOnHours: 52000,
        reallocatedSectors: 1500,
        pendingSectors: 3,
      }),
      expect.objectContaining({
        device: '/dev/nvme0',
        health: 'passed',
        temperatureC: 35,
        powerOnHours: 900,
        percentageUsed: 2,
        mediaErrors: 0,
      }),
    ]);
  });

  it('a disk answering megabytes of garbage is cut and reported unreadable; the others still go', async () => {
    await standIn(`case "$1" in
  --scan-open) echo '{"devices":[{"name":"/dev/sda","type":"sat"},{"name":"/dev/sdb","type":"sat"}]}' ;;
  *) if [ "$7" = /dev/sda ]; then head -c 4000000 /dev/zero | tr '\\0' '{'; else echo '{"device":{"protocol":"ATA"},"smart_status":{"passed":true}}'; fi ;;
esac`);
    const report = await readDiskHealth();
    expect(report.disks.map((d) => [d.device, d.health, d.error])).toEqual([
      ['/dev/sda', 'unknown', 'smartctl gave no readable answer (exit 0)'],
      ['/dev/sdb', 'passed', null],
    ]);
  });

  it('not allowed to open the disks, or smartctl not installed: unavailable with the reason', async () => {
    await standIn(`echo '{"devices":[{"name":"/dev/sda","type":"scsi","open_error":"/dev/sda: Permission denied"}]}'; exit 2`);
    expect((await readDiskHealth()).reason).toMatch(/^smartctl cannot open the disks \(\/dev\/sda: Permission denied\)/);
    process.env.PATH = join(dir, 'empty');
    try {
      expect(await readDiskHealth()).toMatchObject({
        status: 'unavailable',
        reason: 'smartctl is not installed (package smartmontools)',
        disks: [],
      });
    } finally {
      process.env.PATH = `${bin}:${savedPath}`;
    }
  });
});
