/** Pure parsers for the system metrics (/proc/stat, /proc/meminfo, /proc/self/mountinfo, /proc/net/dev). */
import { MAX_MEMORY_BYTES, MAX_RATE_BYTES_PER_SECOND, MAX_STORAGE_BYTES } from '@xspectre/contracts';

/** Within [0, max], and 0 for what is not a finite number: the API refuses a heartbeat with any number out of its bounds. */
export const bounded = (value: number, max: number): number => (Number.isFinite(value) ? Math.min(max, Math.max(0, value)) : 0);

export interface CpuSample {
  total: number;
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal …), or null. */
export function parseProcStat(text: string): CpuSample | null {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const fields = line
    .trim()
    .split(/\s+/)
    .slice(1, 9) // guest and guest_nice are already counted in user and nice
    .map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n) || n < 0)) return null;
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { total, idle };
}

/** Busy share between two samples in percent (0 when no time passed or the counters went back). */
export function cpuPercent(prev: CpuSample, cur: CpuSample): number {
  const total = cur.total - prev.total;
  const idle = cur.idle - prev.idle;
  if (total <= 0 || idle < 0) return 0;
  const percent = ((total - idle) / total) * 100;
  return Math.round(Math.min(100, Math.max(0, percent)) * 100) / 100;
}

export interface MemoryUsage {
  totalBytes: number;
  usedBytes: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
}

/** /proc/meminfo → used = total − available (older kernels without MemAvailable: free + buffers + cached). */
export function parseMemoryUsage(text: string): MemoryUsage {
  const kb = new Map<string, number>();
  for (const match of text.matchAll(/^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s*kB)?\s*$/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) kb.set(match[1], Number(match[2]) * 1024);
  }
  const get = (key: string) => kb.get(key) ?? 0;
  const total = bounded(get('MemTotal'), MAX_MEMORY_BYTES);
  const available = kb.get('MemAvailable') ?? get('MemFree') + get('Buffers') + get('Cached');
  const swapTotal = bounded(get('SwapTotal'), MAX_STORAGE_BYTES);
  return {
    totalBytes: total,
    usedBytes: Math.max(0, Math.min(total, total - available)),
    swapTotalBytes: swapTotal,
    swapUsedBytes: Math.max(0, Math.min(swapTotal, swapTotal - get('SwapFree'))),
  };
}

export interface MountEntry {
  mountpoint: string;
  device: string;
  fsType: string;
}

/** Filesystems on real storage; everything else (proc, sysfs, cgroup, tmpfs, overlay, …) is skipped, except `/`. */
export const REAL_FILESYSTEMS: ReadonlySet<string> = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'f2fs',
  'jfs',
  'reiserfs',
]);

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescapeOctal = (text: string) => text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/**
 * /proc/self/mountinfo → real filesystems (and `/` whatever it is), one per mountpoint (the last
 * mount on a mountpoint hides the earlier ones), in mount order.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const byMountpoint = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    const mountpoint = unescapeOctal(fields[4] ?? '');
    const fsType = fields[dash + 1] ?? '';
    const device = unescapeOctal(fields[dash + 2] ?? '');
    if (mountpoint === '' || (!REAL_FILESYSTEMS.has(fsType) && mountpoint !== '/')) {
      byMountpoint.delete(mountpoint); // a pseudo filesystem mounted over a real one hides it
      continue;
    }
    byMountpoint.delete(mountpoint);
    byMountpoint.set(mountpoint, { mountpoint, device, fsType });
  }
  return [...byMountpoint.values()];
}

export interface NetCounters {
  name: string;
  rxBytes: number;
  txBytes: number;
}

/** 2^53: interface counters are 64-bit; reported modulo this they stay exact in JSON (a wrap reads as a counter reset). */
const COUNTER_MODULUS = 2n ** 53n;
const counter = (field: string | undefined): number | null =>
  field !== undefined && /^\d+$/.test(field) ? Number(BigInt(field) % COUNTER_MODULUS) : null;

/** /proc/net/dev → byte counters per interface, loopback skipped. */
export function parseNetDev(text: string): NetCounters[] {
  const result: NetCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (name === '' || name === 'lo' || fields.length < 9) continue;
    const rxBytes = counter(fields[0]);
    const txBytes = counter(fields[8]);
    if (rxBytes === null || txBytes === null) continue;
    result.push({ name, rxBytes, txBytes });
  }
  return result;
}

export interface NetRates extends NetCounters {
  rxBytesPerSecond: number;
  txBytesPerSecond: number;
}

/**
 * Rates between two samples `seconds` apart; a new interface or a counter reset gives 0, and no
 * rate exceeds the contract's bound (samples taken almost at once could compute anything).
 */
export function rates(prev: readonly NetCounters[], cur: readonly NetCounters[], seconds: number): NetRates[] {
  const before = new Map(prev.map((c) => [c.name, c]));
  const rate = (now: number, then: number | undefined) =>
    then === undefined || seconds <= 0 || now < then
      ? 0
      : bounded(Math.round(((now - then) / seconds) * 100) / 100, MAX_RATE_BYTES_PER_SECOND);
  return cur.map((c) => {
    const p = before.get(c.name);
    return { ...c, rxBytesPerSecond: rate(c.rxBytes, p?.rxBytes), txBytesPerSecond: rate(c.txBytes, p?.txBytes) };
  });
}
