import { DiskHealthReportSchema, type DiskHealth, type DiskHealthReport } from '@xspectre/contracts';
import { runProcess, type ProcessResult } from '../commands/run-process.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { cleanText, parseSmartDisk, parseSmartScan } from './smart-parsers.js';

/** How often the disks are read: SMART values move slowly and a reading wakes every disk. */
export const SMART_INTERVAL_MS = 10 * 60_000;
/** Per smartctl call; a disk that hangs is reported with an error, the others still go. */
export const SMARTCTL_TIMEOUT_MS = 20_000;
/** smartctl's JSON for one disk is a few KiB (a SCSI disk's log pages are the largest). */
export const SMARTCTL_MAX_BYTES = 256 * 1024;

export type SmartRunner = (args: string[]) => Promise<ProcessResult>;

export const hostSmartctl: SmartRunner = (args) =>
  runProcess('smartctl', args, { timeoutMs: SMARTCTL_TIMEOUT_MS, maxBytes: SMARTCTL_MAX_BYTES });

const unavailable = (collectedAt: Date, reason: string): DiskHealthReport => ({
  collectedAt: collectedAt.toISOString(),
  status: 'unavailable',
  reason: cleanText(reason, 300) ?? 'unavailable',
  disks: [],
});

/**
 * One SMART reading of every disk: `smartctl --scan-open -j`, then `smartctl -j -H -A -i -d <type>
 * <disk>` per disk (argument arrays, bounded output, a timeout each). smartctl missing, not
 * allowed to open the disks, or no disk with SMART (a VM's virtio disks) is a report with status
 * `unavailable` and the reason, never an exception.
 */
export async function readDiskHealth(run: SmartRunner = hostSmartctl, now: () => Date = () => new Date()): Promise<DiskHealthReport> {
  const collectedAt = now();
  const scan = await run(['--scan-open', '-j']);
  if (scan.error)
    return unavailable(
      collectedAt,
      scan.error.endsWith('is not installed') ? 'smartctl is not installed (package smartmontools)' : `smartctl: ${scan.error}`,
    );
  const scanned = parseSmartScan(scan.stdout.toString('utf8'));
  if (!scanned || scan.stdoutCut)
    return unavailable(collectedAt, `smartctl --scan-open gave no readable answer (exit ${scan.code ?? 'none'})`);
  if (scanned.disks.length === 0) {
    return unavailable(
      collectedAt,
      scanned.openErrors.length > 0
        ? `smartctl cannot open the disks (${scanned.openErrors[0]})${process.getuid?.() === 0 ? '' : ': the agent does not run as root'}`
        : 'no disk with SMART found (virtual disks have none)',
    );
  }
  const disks: DiskHealth[] = [];
  for (const disk of scanned.disks) {
    const result = await run(['-j', '-H', '-A', '-i', '-d', disk.type, disk.name]);
    const parsed = parseSmartDisk(disk.name, result.stdoutCut ? '' : result.stdout.toString('utf8'), result.code);
    disks.push(result.error ? { ...parsed, error: cleanText(`smartctl: ${result.error}`, 300) } : parsed);
  }
  return DiskHealthReportSchema.parse({ collectedAt: collectedAt.toISOString(), status: 'ok', disks });
}

export interface DueDiskHealth {
  diskHealth: DiskHealthReport;
  key: number;
}

/**
 * Reads the disks in the background every SMART_INTERVAL_MS (never inside a heartbeat's
 * collector time limit: a slow disk must not hold the heartbeat), and offers each new reading
 * to heartbeats until one carrying it is acknowledged.
 */
export class SmartCollector {
  private latest: DueDiskHealth | null = null;
  private acknowledgedKey = -1;
  private reading: Promise<void> | null = null;
  private lastStart = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(
    private readonly log: Logger,
    private readonly read: () => Promise<DiskHealthReport> = () => readDiskHealth(),
    private readonly intervalMs = SMART_INTERVAL_MS,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** The reading to send with this heartbeat, else null; starts a new reading when one is due. */
  due(): DueDiskHealth | null {
    if (this.reading === null && this.clock() - this.lastStart >= this.intervalMs) {
      this.lastStart = this.clock();
      this.reading = this.read()
        .then((diskHealth) => {
          this.latest = { diskHealth, key: ++this.count };
        })
        .catch((err: unknown) => this.log.warn('SMART reading failed', { error: errorMessage(err) }))
        .finally(() => {
          this.reading = null;
        });
    }
    return this.latest && this.latest.key !== this.acknowledgedKey ? this.latest : null;
  }

  /** The heartbeat carrying the reading with this key was acknowledged. */
  acknowledged(key: number): void {
    this.acknowledgedKey = key;
  }

  /** Tests: the reading in flight. */
  settled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }
}
