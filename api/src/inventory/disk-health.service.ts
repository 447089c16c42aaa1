import { Injectable } from '@nestjs/common';
import { DiskHealthReportSchema, type DeviceDiskHealth, type DiskHealthReport } from '@xspectre/contracts';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { judgeDiskHealth } from './disk-health-episodes.js';
import { DiskHealthRepository } from './disk-health.repository.js';

export interface ReportedDiskHealth {
  deviceId: string;
  sequence: number;
  reportedAt: Date;
  report: DiskHealthReport;
}

/**
 * SMART disk health from heartbeats (`diskHealth`): the latest reading per device, and the
 * device events the alert engine turns into the built-in `disk-smart-failed` alert:
 * `disk.smart_failed` (critical) when a disk turns failing, once per episode, and
 * `disk.smart_ok` when no disk is failing any more (resolves it).
 */
@Injectable()
export class DiskHealthService {
  constructor(
    private readonly diskHealth: DiskHealthRepository,
    private readonly events: DeviceEventsService,
  ) {}

  /** In the caller's transaction (the heartbeat write, which holds the device rows locked). */
  async record(reports: ReportedDiskHealth[]): Promise<RecordedDeviceEvent[]> {
    const sorted = [...reports].sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.sequence - b.sequence);
    const events: RecordedDeviceEvent[] = [];
    for (const reported of sorted) events.push(...(await this.recordOne(reported)));
    return events;
  }

  private async recordOne({ deviceId, sequence, reportedAt, report }: ReportedDiskHealth): Promise<RecordedDeviceEvent[]> {
    const latest = await this.diskHealth.latest(deviceId);
    if (latest && sequence <= Number(latest.sequence)) return [];
    const judged = judgeDiskHealth(latest?.failing ?? [], report);
    await this.diskHealth.save({ deviceId, sequence: String(sequence), reportedAt, report, failing: judged.failing });
    const events: RecordedDeviceEvent[] = [];
    if (judged.newlyFailing.length > 0) {
      events.push(
        await this.events.append({
          deviceId,
          type: 'disk.smart_failed',
          severity: 'critical',
          at: reportedAt,
          details: {
            disks: judged.newlyFailing.map((f) => f.disk),
            reasons: judged.newlyFailing.map((f) => f.reason),
            failingDisks: judged.failing.length,
          },
        }),
      );
    }
    if (judged.recovered) {
      events.push(
        await this.events.append({
          deviceId,
          type: 'disk.smart_ok',
          severity: 'info',
          at: reportedAt,
          details: { disks: (latest?.failing ?? []).map((f) => f.disk) },
        }),
      );
    }
    return events;
  }

  /** The latest reading, or null (none yet, or stored under an older, looser contract). */
  async get(deviceId: string): Promise<DeviceDiskHealth | null> {
    const row = await this.diskHealth.latest(deviceId);
    if (!row || !DiskHealthReportSchema.safeParse(row.report).success) return null;
    return { reportedAt: row.reportedAt.toISOString(), report: row.report, failing: row.failing };
  }
}
