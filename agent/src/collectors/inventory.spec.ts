import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HardwareFacts } from '@xspectre/contracts';
import { INVENTORY_HASH_FILE, InventoryTracker, inventoryHash } from './inventory.js';

const HARDWARE: HardwareFacts = {
  vendor: 'QEMU',
  model: 'Standard PC',
  serial: null,
  cpu: { model: 'Intel Xeon', cores: 2, id: null },
  ramBytes: 4_000_000_000,
  disks: [{ name: 'vda', model: null, serial: null, sizeBytes: 1_000_000_000 }],
  os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
};

describe('InventoryTracker', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-inv-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends at start until acknowledged, then only when it changed', async () => {
    let hardware = HARDWARE;
    const tracker = new InventoryTracker(dir, () => Promise.resolve(hardware));
    const first = await tracker.due();
    expect(first?.inventory).toEqual(HARDWARE);
    expect(await tracker.due()).not.toBeNull(); // not acknowledged yet: still due
    await tracker.acknowledged(first!.hash);
    expect((await readFile(join(dir, INVENTORY_HASH_FILE), 'utf8')).trim()).toBe(inventoryHash(HARDWARE));
    expect(await tracker.due()).toBeNull();

    hardware = { ...HARDWARE, ramBytes: 8_000_000_000 };
    const changed = await tracker.due();
    expect(changed?.inventory.ramBytes).toBe(8_000_000_000);
    await tracker.acknowledged(changed!.hash);
    expect(await tracker.due()).toBeNull();

    // a restart sends it once again even though the hash is unchanged
    const restarted = new InventoryTracker(dir, () => Promise.resolve(hardware));
    expect(await restarted.due()).not.toBeNull();
  });

  it('reads the real host by default', async () => {
    const due = await new InventoryTracker(dir).due();
    expect(due?.inventory.cpu.cores).toBeGreaterThan(0);
  });
});
