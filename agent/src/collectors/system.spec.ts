import { describe, expect, it } from 'vitest';
import { MAX_MEMORY_BYTES, MAX_RATE_BYTES_PER_SECOND, MAX_STORAGE_BYTES, SystemMetricsSchema } from '@xspectre/contracts';
import { cpuPercent, parseMemoryUsage, parseMountInfo, parseNetDev, parseProcStat, rates } from './system-parsers.js';
import { SystemCollector } from './system.js';

const STAT_A = `cpu  288163 0 136344 766828 4936 0 7560 0 0 0
cpu0 137693 0 63367 395417 1063 0 3696 0 0 0
cpu1 150469 0 72977 371410 3872 0 3864 0 0 0
intr 123 0 0
ctxt 456
`;
const STAT_B = `cpu  288263 0 136394 766978 4986 0 7560 0 0 0
cpu0 137743 0 63392 395492 1088 0 3696 0 0 0
`;

const MEMINFO = `MemTotal:       16314768 kB
MemFree:          401240 kB
MemAvailable:    9208016 kB
Buffers:          541140 kB
Cached:          8144220 kB
SwapCached:         1024 kB
SwapTotal:       2097148 kB
SwapFree:        1048574 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

const MOUNTINFO = `21 26 0:20 / /proc rw,relatime - proc proc rw
22 26 0:21 / /sys rw,relatime - sysfs sysfs rw
23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334448k
26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
29 24 0:26 / /dev/shm rw,relatime shared:4 - tmpfs tmpfs rw
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
45 26 8:1 / /boot/efi rw,relatime shared:30 - vfat /dev/sda1 rw,fmask=0077
46 26 253:1 / /srv/my\\040data rw,relatime shared:31 - xfs /dev/mapper/vg-data rw
47 26 0:45 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/x
48 26 0:46 / /tank rw,noatime shared:40 - zfs tank rw,xattr
49 26 0:47 / /run rw,nosuid - tmpfs tmpfs rw,mode=755
`;

const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 813845087  194941    0    0    0     0          0         0 813845087  194941    0    0    0     0       0          0
  eth0: 1297097098   49787    0    0    0     0          0         0  3817655   34181    0    0    0     0       0          0
wlp2s0:1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
`;

describe('system parsers', () => {
  it('parses the aggregate cpu line and computes the busy share', () => {
    const a = parseProcStat(STAT_A);
    const b = parseProcStat(STAT_B);
    expect(a).toEqual({ total: 288163 + 136344 + 766828 + 4936 + 7560, idle: 766828 + 4936 });
    expect(b).not.toBeNull();
    // Δtotal = 100 + 50 + 150 + 50 = 350, Δidle = 150 + 50 = 200 → 150/350
    expect(cpuPercent(a!, b!)).toBeCloseTo(42.86, 2);
    expect(cpuPercent(a!, a!)).toBe(0);
    expect(cpuPercent(b!, a!)).toBe(0);
    expect(parseProcStat('intr 1 2 3\n')).toBeNull();
  });

  it('computes memory and swap usage from meminfo', () => {
    expect(parseMemoryUsage(MEMINFO)).toEqual({
      totalBytes: 16314768 * 1024,
      usedBytes: (16314768 - 9208016) * 1024,
      swapTotalBytes: 2097148 * 1024,
      swapUsedBytes: (2097148 - 1048574) * 1024,
    });
    // no MemAvailable (old kernels): free + buffers + cached
    const old = MEMINFO.replace(/^MemAvailable.*\n/m, '');
    expect(parseMemoryUsage(old).usedBytes).toBe((16314768 - 401240 - 541140 - 8144220) * 1024);
  });

  it('keeps real filesystems and / only', () => {
    expect(parseMountInfo(MOUNTINFO)).toEqual([
      { mountpoint: '/', device: '/dev/vda', fsType: 'ext4' },
      { mountpoint: '/boot/efi', device: '/dev/sda1', fsType: 'vfat' },
      { mountpoint: '/srv/my data', device: '/dev/mapper/vg-data', fsType: 'xfs' },
      { mountpoint: '/tank', device: 'tank', fsType: 'zfs' },
    ]);
    // / on overlay (a container) is still reported
    expect(parseMountInfo('1 0 0:1 / / rw - overlay overlay rw,lowerdir=/a\n')).toEqual([
      { mountpoint: '/', device: 'overlay', fsType: 'overlay' },
    ]);
  });

  it('parses /proc/net/dev without loopback and computes rates', () => {
    const first = parseNetDev(NETDEV);
    expect(first).toEqual([
      { name: 'eth0', rxBytes: 1297097098, txBytes: 3817655 },
      { name: 'wlp2s0', rxBytes: 1000, txBytes: 2000 },
    ]);
    const second = [
      { name: 'eth0', rxBytes: 1297097098 + 5000, txBytes: 3817655 + 1000 },
      { name: 'wlp2s0', rxBytes: 10, txBytes: 2000 }, // counter reset
      { name: 'wg0', rxBytes: 50, txBytes: 60 }, // new
    ];
    expect(rates(first, second, 10)).toEqual([
      { ...second[0], rxBytesPerSecond: 500, txBytesPerSecond: 100 },
      { ...second[1], rxBytesPerSecond: 0, txBytesPerSecond: 0 },
      { ...second[2], rxBytesPerSecond: 0, txBytesPerSecond: 0 },
    ]);
    expect(rates([], first, 0).every((r) => r.rxBytesPerSecond === 0)).toBe(true);
  });

  it('keeps every number within the bounds the API accepts (a heartbeat out of them is refused)', () => {
    // 64-bit counters past 2^53 are reported modulo 2^53 instead of dropping the interface.
    const huge = parseNetDev(`eth9: 18446744073709551615 1 0 0 0 0 0 0 9007199254740993 1 0 0 0 0 0 0\n`);
    expect(huge).toEqual([{ name: 'eth9', rxBytes: 9007199254740991, txBytes: 1 }]);
    // Two samples a microsecond apart: no rate beyond the contract's bound.
    const [fast] = rates([{ name: 'eth0', rxBytes: 0, txBytes: 0 }], [{ name: 'eth0', rxBytes: 1e12, txBytes: 5 }], 1e-6);
    expect(fast).toMatchObject({ rxBytesPerSecond: MAX_RATE_BYTES_PER_SECOND, txBytesPerSecond: 5e6 });
    const memory = parseMemoryUsage(`MemTotal: 9007199254740 kB\nMemAvailable: 0 kB\nSwapTotal: 9007199254740990 kB\nSwapFree: 0 kB\n`);
    expect(memory).toEqual({
      totalBytes: MAX_MEMORY_BYTES,
      usedBytes: MAX_MEMORY_BYTES,
      swapTotalBytes: MAX_STORAGE_BYTES,
      swapUsedBytes: MAX_STORAGE_BYTES,
    });
  });
});

describe('SystemCollector on this host', () => {
  it('collects metrics that follow the contract, twice', async () => {
    const collector = new SystemCollector();
    const first = await collector.collect();
    expect(SystemMetricsSchema.parse(first)).toEqual(first);
    expect(first.memory.totalBytes).toBeGreaterThan(0);
    expect(first.mounts.some((m) => m.mountpoint === '/')).toBe(true);
    const second = await collector.collect();
    expect(SystemMetricsSchema.safeParse(second).success).toBe(true);
  });
});
