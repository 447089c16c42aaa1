import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_LOAD_AVERAGE, MAX_STORAGE_BYTES, SystemMetricsSchema, type SystemMetrics } from '@xspectre/contracts';
import { cleanText } from '../facts-parsers.js';
import {
  bounded,
  cpuPercent,
  parseMemoryUsage,
  parseMountInfo,
  parseNetDev,
  parseProcStat,
  rates,
  type CpuSample,
  type MountEntry,
  type NetCounters,
} from './system-parsers.js';

/** The first heartbeat has no earlier CPU sample: it measures over this long. */
export const FIRST_CPU_WINDOW_MS = 250;
const MAX_ENTRIES = 256;

export interface SystemSources {
  procRoot: string;
  loadavg: () => number[];
  statfs: (path: string) => Promise<{
    blocks: number | bigint;
    bfree: number | bigint;
    bavail: number | bigint;
    bsize: number | bigint;
    files: number | bigint;
    ffree: number | bigint;
  }>;
  nowMs: () => number;
}

export const HOST_SYSTEM_SOURCES: SystemSources = {
  procRoot: '/proc',
  loadavg: () => os.loadavg(),
  statfs: (path) => statfs(path),
  nowMs: () => performance.now(),
};

const text = (value: string, max: number) => cleanText(value, max) ?? '?';
const num = (v: number | bigint) => bounded(Number(v), MAX_STORAGE_BYTES);

/** Collects SystemMetrics; keeps the previous CPU and network samples between calls. */
export class SystemCollector {
  private cpu: CpuSample | null = null;
  private net: { at: number; counters: NetCounters[] } | null = null;

  constructor(private readonly sources: SystemSources = HOST_SYSTEM_SOURCES) {}

  async collect(): Promise<SystemMetrics> {
    const read = (name: string) => readFile(`${this.sources.procRoot}/${name}`, 'utf8');
    let prevCpu = this.cpu;
    if (prevCpu === null) {
      prevCpu = parseProcStat(await read('stat'));
      await sleep(FIRST_CPU_WINDOW_MS);
    }
    const [stat, meminfo, mountinfo, netdev] = await Promise.all([read('stat'), read('meminfo'), read('self/mountinfo'), read('net/dev')]);
    const cpu = parseProcStat(stat);
    const at = this.sources.nowMs();
    const counters = parseNetDev(netdev);
    const network = rates(this.net?.counters ?? [], counters, this.net ? (at - this.net.at) / 1000 : 0);
    this.cpu = cpu;
    this.net = { at, counters };

    const [l1 = 0, l5 = 0, l15 = 0] = this.sources.loadavg();
    return SystemMetricsSchema.parse({
      cpuPercent: prevCpu && cpu ? cpuPercent(prevCpu, cpu) : 0,
      load: [bounded(l1, MAX_LOAD_AVERAGE), bounded(l5, MAX_LOAD_AVERAGE), bounded(l15, MAX_LOAD_AVERAGE)],
      memory: parseMemoryUsage(meminfo),
      mounts: await this.mounts(parseMountInfo(mountinfo).slice(0, MAX_ENTRIES)),
      network: network.slice(0, MAX_ENTRIES).map((n) => ({ ...n, name: text(n.name, 64) })),
    });
  }

  private async mounts(entries: MountEntry[]): Promise<SystemMetrics['mounts']> {
    const sized = await Promise.all(
      entries.map(async (m) => {
        try {
          const s = await this.sources.statfs(m.mountpoint);
          const bsize = num(s.bsize);
          const total = num(s.blocks) * bsize;
          const files = num(s.files);
          return {
            mountpoint: text(m.mountpoint, 512),
            device: text(m.device, 512),
            fsType: text(m.fsType, 64),
            totalBytes: num(total),
            usedBytes: num(Math.max(0, total - num(s.bfree) * bsize)),
            inodesTotal: files,
            inodesUsed: Math.max(0, files - num(s.ffree)),
          };
        } catch {
          return null; // gone or not permitted (stale NFS, autofs): skip
        }
      }),
    );
    return sized.filter((m) => m !== null);
  }
}
