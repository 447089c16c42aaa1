import { execa } from 'execa';
import type { BackupScrubResult } from '@xspectre/contracts';
import { snapshotName, expiredSnapshots, type SnapshotInfo } from './snapshot-retention.js';
import type { DeviceUsage, PoolUsage, SnapshotRound, StorageDriver } from './storage-driver.js';
import { ZFS_GET_PROPERTIES, deviceOfDataset, parseZfsGet, type ZfsDatasetProps } from './zfs-properties.js';
import { parseScrubStatus } from './zpool-status.js';

export interface ZfsStorageOptions {
  /** The parent of the device datasets, e.g. `backup-pool/file-backups`; its first segment is the pool. */
  dataset: string;
  /** Quota of each device dataset, bytes. */
  deviceQuotaBytes: number;
  snapshotFloorDays: number;
  zfsBinary?: string;
  zpoolBinary?: string;
  /** Per command; default 60 s. */
  commandTimeoutMs?: number;
  /** The parent of the per-device image datasets; default `<pool>/disk-images`. */
  imageDataset?: string;
  /** Quota of each device's image dataset, bytes; default deviceQuotaBytes. */
  imageQuotaBytes?: number;
}

/**
 * Device repositories as ZFS datasets `<dataset>/<device>`, each with its own quota so one
 * device cannot fill the pool. Every command is an argument array (execa); nothing here
 * decides: names, parsing and retention are in the pure modules beside it.
 */
export class ZfsStorage implements StorageDriver {
  readonly kind = 'zfs';
  readonly poolName: string;

  constructor(private readonly options: ZfsStorageOptions) {
    this.poolName = options.dataset.split('/')[0]!;
  }

  private async run(binary: 'zfs' | 'zpool', args: string[]): Promise<string> {
    const file = binary === 'zfs' ? (this.options.zfsBinary ?? 'zfs') : (this.options.zpoolBinary ?? 'zpool');
    const result = await execa(file, args, { timeout: this.options.commandTimeoutMs ?? 60_000, reject: false, stdin: 'ignore' });
    if (result.exitCode !== 0 || result.failed) {
      const detail = (result.stderr || result.stdout || result.shortMessage || '').toString().trim().slice(0, 500);
      throw new Error(`${binary} ${args[0]} failed: ${detail}`);
    }
    return String(result.stdout);
  }

  private async props(name: string, recursive: boolean): Promise<ZfsDatasetProps[]> {
    const args = ['get', '-Hp', ...(recursive ? ['-r'] : []), '-o', 'name,property,value', ZFS_GET_PROPERTIES.join(','), name];
    return parseZfsGet(await this.run('zfs', args));
  }

  async prepare(): Promise<string> {
    await this.run('zfs', ['create', '-p', this.options.dataset]);
    const mountpoint = (await this.run('zfs', ['get', '-H', '-o', 'value', 'mountpoint', this.options.dataset])).trim();
    const mounted = (await this.run('zfs', ['get', '-H', '-o', 'value', 'mounted', this.options.dataset])).trim();
    if (!mountpoint.startsWith('/') || mounted !== 'yes') {
      throw new Error(`${this.options.dataset} is not mounted (mountpoint ${mountpoint}, mounted ${mounted})`);
    }
    return mountpoint;
  }

  async ensureDevice(deviceId: string): Promise<void> {
    // -p: succeeds when the dataset exists already. The quota is set at creation only.
    await this.run('zfs', ['create', '-p', '-o', `quota=${this.options.deviceQuotaBytes}`, `${this.options.dataset}/${deviceId}`]);
  }

  async deviceUsage(deviceId: string): Promise<DeviceUsage | undefined> {
    let rows: ZfsDatasetProps[];
    try {
      rows = await this.props(`${this.options.dataset}/${deviceId}`, true);
    } catch (err) {
      if (/does not exist/.test(String(err))) return undefined;
      throw err;
    }
    return this.usageOf(rows).find((u) => u.deviceId === deviceId);
  }

  private usageOf(rows: ZfsDatasetProps[]): DeviceUsage[] {
    const usage: DeviceUsage[] = [];
    for (const row of rows) {
      const deviceId = row.type === 'filesystem' ? deviceOfDataset(this.options.dataset, row.name) : undefined;
      if (!deviceId) continue;
      usage.push({
        deviceId,
        usedBytes: row.used,
        availableBytes: row.available ?? 0,
        quotaBytes: row.quota ? row.quota : null,
        snapshotCount: rows.filter((r) => r.type === 'snapshot' && r.name.startsWith(`${row.name}@xs-hourly-`)).length,
      });
    }
    return usage;
  }

  async devices(): Promise<DeviceUsage[]> {
    return this.usageOf(await this.props(this.options.dataset, true));
  }

  async pool(): Promise<PoolUsage> {
    // The pool's root dataset: used + available is what datasets can hold (zpool's own size
    // counts parity and reserved space).
    const root = (await this.props(this.poolName, false))[0];
    if (!root || root.available === undefined) throw new Error(`no usage of pool ${this.poolName}`);
    return { name: this.poolName, sizeBytes: root.used + root.available, usedBytes: root.used, freeBytes: root.available };
  }

  async snapshotRound(now: Date): Promise<SnapshotRound> {
    const rows = await this.props(this.options.dataset, true);
    const round: SnapshotRound = { created: [], destroyed: [], failed: [] };
    const name = snapshotName(now);
    for (const dataset of rows.filter((r) => r.type === 'filesystem' && deviceOfDataset(this.options.dataset, r.name))) {
      const snapshot = `${dataset.name}@${name}`;
      try {
        await this.run('zfs', ['snapshot', snapshot]);
        round.created.push(snapshot);
      } catch (err) {
        round.failed.push({ name: snapshot, error: String(err) });
      }
      const own: SnapshotInfo[] = rows
        .filter((r) => r.type === 'snapshot' && r.name.startsWith(`${dataset.name}@`))
        .map((r) => ({ name: r.name, creation: r.creation }));
      if (round.created.includes(snapshot)) own.push({ name: snapshot, creation: Math.floor(now.getTime() / 1000) });
      for (const expired of expiredSnapshots(own, now, this.options.snapshotFloorDays)) {
        try {
          await this.run('zfs', ['destroy', expired]);
          round.destroyed.push(expired);
        } catch (err) {
          round.failed.push({ name: expired, error: String(err) });
        }
      }
    }
    return round;
  }

  private get imageDataset(): string {
    return this.options.imageDataset ?? `${this.poolName}/disk-images`;
  }

  /** `<pool>/disk-images/<device>`, a dataset with its own quota (not snapshotted: images are immutable files). */
  async imageDirectory(deviceId: string, create: boolean): Promise<string | undefined> {
    const dataset = `${this.imageDataset}/${deviceId}`;
    if (create) {
      const quota = this.options.imageQuotaBytes ?? this.options.deviceQuotaBytes;
      await this.run('zfs', ['create', '-p', '-o', `quota=${quota}`, dataset]);
    }
    let out: string;
    try {
      out = await this.run('zfs', ['get', '-H', '-o', 'value', 'mountpoint,mounted', dataset]);
    } catch (err) {
      if (/does not exist/.test(String(err))) return undefined;
      throw err;
    }
    const [mountpoint, mounted] = out.trim().split('\n');
    if (!mountpoint?.startsWith('/') || mounted !== 'yes') throw new Error(`${dataset} is not mounted`);
    return mountpoint;
  }

  async imageDevices(): Promise<Array<{ deviceId: string; dir: string }>> {
    let out: string;
    try {
      out = await this.run('zfs', ['list', '-H', '-r', '-d', '1', '-t', 'filesystem', '-o', 'name,mountpoint,mounted', this.imageDataset]);
    } catch (err) {
      if (/does not exist/.test(String(err))) return [];
      throw err;
    }
    const devices: Array<{ deviceId: string; dir: string }> = [];
    for (const line of out.split('\n')) {
      const [name, mountpoint, mounted] = line.split('\t');
      const deviceId = name ? deviceOfDataset(this.imageDataset, name) : undefined;
      if (deviceId && mountpoint?.startsWith('/') && mounted === 'yes') devices.push({ deviceId, dir: mountpoint });
    }
    return devices;
  }

  async startScrub(): Promise<void> {
    await this.run('zpool', ['scrub', this.poolName]);
  }

  async scrubStatus(): Promise<BackupScrubResult> {
    return parseScrubStatus(await this.run('zpool', ['status', this.poolName]));
  }
}
