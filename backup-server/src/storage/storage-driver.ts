import type { BackupScrubResult } from '@xspectre/contracts';

/** One device's repository on the store. */
export interface DeviceUsage {
  deviceId: string;
  usedBytes: number;
  /** What the device may still write: the smaller of its quota's rest and the pool's free space. */
  availableBytes: number;
  /** null on the plain directory store (no quota there). */
  quotaBytes: number | null;
  /** Floor snapshots kept of it (0 on the plain store). */
  snapshotCount: number;
}

export interface PoolUsage {
  name: string;
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
}

/** What one snapshot round did. */
export interface SnapshotRound {
  created: string[];
  destroyed: string[];
  /** Per dataset or snapshot that failed: the name and the error, the others still ran. */
  failed: Array<{ name: string; error: string }>;
}

/**
 * Where device repositories live. Two implementations: ZFS datasets with a quota each
 * (./zfs-storage.ts) and a plain directory tree (./directory-storage.ts) where no ZFS exists.
 * Device ids reaching a driver are already checked lower-case UUIDs (../request-target.ts).
 */
export interface StorageDriver {
  readonly kind: 'zfs' | 'directory';
  /** Creates the root if missing; answers the directory rclone serves (`<root>/<device>/` is a repository). */
  prepare(): Promise<string>;
  /** Creates the device's dataset or directory if missing (idempotent). */
  ensureDevice(deviceId: string): Promise<void>;
  /** undefined when the device has no repository here. */
  deviceUsage(deviceId: string): Promise<DeviceUsage | undefined>;
  pool(): Promise<PoolUsage>;
  devices(): Promise<DeviceUsage[]>;
  /** Takes one snapshot of every device and destroys our own snapshots older than the floor. */
  snapshotRound(now: Date): Promise<SnapshotRound>;
  /** Starts a scrub of the pool (returns when started, not when finished). */
  startScrub(): Promise<void>;
  /** The pool's last or running scrub; null where there is nothing to scrub. */
  scrubStatus(): Promise<BackupScrubResult | null>;
  /**
   * The directory holding the device's full-disk images (`…/disk-images/<device>`; a dataset
   * with its own quota on ZFS), created when `create`; undefined when missing and not created.
   */
  imageDirectory(deviceId: string, create: boolean): Promise<string | undefined>;
  /** Every device that has an image directory, for the expiry of stale uploads. */
  imageDevices(): Promise<Array<{ deviceId: string; dir: string }>>;
}
