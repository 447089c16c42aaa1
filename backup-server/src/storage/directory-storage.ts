import { mkdir, readdir, lstat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { DEVICE_ID } from '../request-target.js';
import type { DeviceUsage, PoolUsage, SnapshotRound, StorageDriver } from './storage-driver.js';

/**
 * Device repositories as plain directories `<root>/<device>` where no ZFS exists. No quota (one
 * device can fill the disk), no snapshots (a stolen prune token can delete for good), no scrub:
 * for the lab and small installs; backup-server/README.md says so.
 */
export class DirectoryStorage implements StorageDriver {
  readonly kind = 'directory';

  constructor(private readonly root: string) {}

  async prepare(): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    return this.root;
  }

  async ensureDevice(deviceId: string): Promise<void> {
    await mkdir(join(this.root, deviceId), { recursive: true, mode: 0o700 });
  }

  async deviceUsage(deviceId: string): Promise<DeviceUsage | undefined> {
    const dir = join(this.root, deviceId);
    try {
      if (!(await lstat(dir)).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    const free = (await this.pool()).freeBytes;
    return { deviceId, usedBytes: await treeBytes(dir), availableBytes: free, quotaBytes: null, snapshotCount: 0 };
  }

  async pool(): Promise<PoolUsage> {
    const fs = await statfs(this.root);
    const sizeBytes = fs.blocks * fs.bsize;
    return { name: this.root, sizeBytes, usedBytes: sizeBytes - fs.bfree * fs.bsize, freeBytes: fs.bavail * fs.bsize };
  }

  async devices(): Promise<DeviceUsage[]> {
    const entries = await readdir(this.root, { withFileTypes: true });
    const usage: DeviceUsage[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !DEVICE_ID.test(entry.name)) continue;
      const one = await this.deviceUsage(entry.name);
      if (one) usage.push(one);
    }
    return usage;
  }

  async snapshotRound(): Promise<SnapshotRound> {
    return { created: [], destroyed: [], failed: [] };
  }

  async startScrub(): Promise<void> {}

  /** `<root>/disk-images/<device>`: beside the repositories; the front never hands this path to rclone. */
  async imageDirectory(deviceId: string, create: boolean): Promise<string | undefined> {
    const dir = join(this.root, 'disk-images', deviceId);
    if (create) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return dir;
    }
    try {
      return (await lstat(dir)).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  async imageDevices(): Promise<Array<{ deviceId: string; dir: string }>> {
    const root = join(this.root, 'disk-images');
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && DEVICE_ID.test(e.name)).map((e) => ({ deviceId: e.name, dir: join(root, e.name) }));
  }

  async scrubStatus(): Promise<null> {
    return null;
  }
}

/** Bytes of the regular files under `dir` (symbolic links not followed; a repository has none). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}
