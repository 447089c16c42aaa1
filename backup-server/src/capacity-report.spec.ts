import { describe, expect, it } from 'vitest';
import { collectCapacityReport } from './capacity-report.js';
import type { StorageDriver } from './storage/storage-driver.js';

const DEV = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';

function fakeStorage(overrides: Partial<StorageDriver> = {}): StorageDriver {
  return {
    kind: 'zfs',
    prepare: async () => '/mnt',
    ensureDevice: async () => {},
    deviceUsage: async () => undefined,
    pool: async () => ({ name: 'backup-pool', sizeBytes: 1000, usedBytes: 400, freeBytes: 600 }),
    devices: async () => [{ deviceId: DEV, usedBytes: 300, availableBytes: 700, quotaBytes: 1000, snapshotCount: 3 }],
    snapshotRound: async () => ({ created: [], destroyed: [], failed: [] }),
    startScrub: async () => {},
    scrubStatus: async () => ({ state: 'finished', finishedAt: '2026-12-01T02:00:00.000Z', errors: 0 }),
    imageDirectory: async () => undefined,
    imageDevices: async () => [],
    ...overrides,
  };
}

describe('collectCapacityReport', () => {
  it('reports pool, devices and the last scrub in the contract shape', async () => {
    const report = await collectCapacityReport(fakeStorage(), new Date('2026-12-04T03:00:00Z'));
    expect(report).toEqual({
      generatedAt: '2026-12-04T03:00:00.000Z',
      store: 'zfs',
      pool: { name: 'backup-pool', sizeBytes: 1000, usedBytes: 400, freeBytes: 600 },
      devices: [{ deviceId: DEV, usedBytes: 300, quotaBytes: 1000, snapshotCount: 3 }],
      lastScrub: { state: 'finished', finishedAt: '2026-12-01T02:00:00.000Z', errors: 0 },
    });
  });

  it('refuses to send what breaks the contract', async () => {
    const broken = fakeStorage({ pool: async () => ({ name: 'p', sizeBytes: -1, usedBytes: 0, freeBytes: 0 }) });
    await expect(collectCapacityReport(broken)).rejects.toThrow();
  });
});
