import { describe, expect, it } from 'vitest';
import type { DeviceDiskHealth, DiskHealth } from '@xspectre/contracts';
import { diskBadge, diskHealthRows } from './disk-health';

const ata: DiskHealth = {
  device: '/dev/sda',
  protocol: 'ATA',
  model: 'WDC WD20EFRX',
  serial: 'WD-1',
  health: 'passed',
  temperatureC: 33,
  powerOnHours: 41000,
  reallocatedSectors: 0,
  pendingSectors: 0,
  mediaErrors: null,
  percentageUsed: null,
  criticalWarning: null,
  error: null,
};

describe('disk health rows', () => {
  it('passed, failing (by self-assessment, NVMe warning or sectors), unreadable, unknown', () => {
    expect(diskBadge(ata)).toMatchObject({ tone: 'ok', label: 'passed' });
    expect(diskBadge({ ...ata, health: 'failed' })).toMatchObject({ tone: 'bad', label: 'failing' });
    expect(diskBadge({ ...ata, reallocatedSectors: 90, pendingSectors: 20 })).toMatchObject({
      tone: 'bad',
      title: '110 reallocated and pending sectors (above 100)',
    });
    expect(diskBadge({ ...ata, protocol: 'NVMe', criticalWarning: 8 })).toMatchObject({ tone: 'bad', title: 'NVMe critical warning 0x08' });
    expect(diskBadge({ ...ata, health: 'unknown', error: 'smartctl: timed out after 20000 ms' })).toMatchObject({
      tone: 'warn',
      label: 'unreadable',
    });
    expect(diskBadge({ ...ata, health: 'unknown' })).toMatchObject({ tone: 'neutral', label: 'unknown' });
  });

  it('shows temperature, hours and the counters a disk has', () => {
    const health: DeviceDiskHealth = {
      reportedAt: '2026-12-05T10:00:00.000Z',
      report: {
        collectedAt: '2026-12-05T10:00:00.000Z',
        status: 'ok',
        disks: [
          ata,
          {
            ...ata,
            device: '/dev/nvme0',
            protocol: 'NVMe',
            serial: null,
            temperatureC: null,
            powerOnHours: null,
            reallocatedSectors: null,
            pendingSectors: null,
            mediaErrors: 2,
            percentageUsed: 7,
            criticalWarning: 0,
          },
        ],
      },
      failing: [],
    };
    expect(diskHealthRows(health)).toEqual([
      expect.objectContaining({
        device: '/dev/sda',
        what: 'ATA · WDC WD20EFRX · S/N WD-1',
        temperature: '33 °C',
        hours: '41,000 h',
        details: '0 reallocated · 0 pending',
      }),
      expect.objectContaining({
        device: '/dev/nvme0',
        what: 'NVMe · WDC WD20EFRX',
        temperature: '—',
        hours: '—',
        details: '2 media errors · 7 % used',
      }),
    ]);
  });
});
