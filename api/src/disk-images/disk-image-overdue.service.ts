import { Injectable, Logger } from '@nestjs/common';
import { DISK_IMAGE_OVERDUE_DAYS } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { DiskImageScheduleRepository } from './disk-image-schedule.repository.js';

/**
 * The worker's overdue job (every 10 minutes): a FULL or HYBRID device without a succeeded image
 * for DISK_IMAGE_OVERDUE_DAYS gets one `disk_image.overdue` event per episode (rule
 * disk-image-overdue); its next succeeded image ends the episode (disk-image-sweep.service.ts)
 * and, by `disk_image.succeeded`, resolves the alert.
 */
@Injectable()
export class DiskImageOverdueService {
  private readonly logger = new Logger(DiskImageOverdueService.name);

  constructor(
    private readonly db: Database,
    private readonly slots: DiskImageScheduleRepository,
    private readonly deviceEvents: DeviceEventsService,
  ) {}

  async detect(now = new Date()): Promise<string[]> {
    const before = new Date(now.getTime() - DISK_IMAGE_OVERDUE_DAYS * 24 * 3600_000);
    const events = await this.db.transaction(async () => {
      const overdue = await this.slots.openOverdue(before, now);
      const recorded: RecordedDeviceEvent[] = [];
      for (const d of overdue) {
        recorded.push(
          await this.deviceEvents.append({
            deviceId: d.deviceId,
            type: 'disk_image.overdue',
            severity: 'warning',
            at: now,
            details: { lastSuccessAt: d.lastSuccessAt?.toISOString() ?? null, overdueDays: DISK_IMAGE_OVERDUE_DAYS },
          }),
        );
      }
      return recorded;
    });
    if (events.length > 0) {
      this.logger.warn({ msg: 'full-disk images overdue', devices: events.length });
      await this.deviceEvents.announceCommitted(events);
    }
    return events.map((e) => e.deviceId);
  }
}
