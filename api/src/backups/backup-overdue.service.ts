import { Injectable, Logger } from '@nestjs/common';
import { BACKUP_OVERDUE_HOURS } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { BackupDeviceStatesRepository } from './backup-device-states.repository.js';

/**
 * The worker's overdue job (every 10 minutes): a FILE device without a successful backup for
 * BACKUP_OVERDUE_HOURS gets one `backup.overdue` event per episode (rule backup-overdue); its next
 * success ends the episode and, by `backup.succeeded`, resolves the alert.
 */
@Injectable()
export class BackupOverdueService {
  private readonly logger = new Logger(BackupOverdueService.name);

  constructor(
    private readonly db: Database,
    private readonly states: BackupDeviceStatesRepository,
    private readonly deviceEvents: DeviceEventsService,
  ) {}

  async detect(now = new Date()): Promise<string[]> {
    const before = new Date(now.getTime() - BACKUP_OVERDUE_HOURS * 3600_000);
    const events = await this.db.transaction(async () => {
      const overdue = await this.states.openOverdue(before, now);
      const recorded: RecordedDeviceEvent[] = [];
      for (const d of overdue) {
        recorded.push(
          await this.deviceEvents.append({
            deviceId: d.deviceId,
            type: 'backup.overdue',
            severity: 'warning',
            at: now,
            details: { lastSuccessAt: d.lastSuccessAt?.toISOString() ?? null, overdueHours: BACKUP_OVERDUE_HOURS },
          }),
        );
      }
      return recorded;
    });
    if (events.length > 0) {
      this.logger.warn({ msg: 'backups overdue', devices: events.length });
      await this.deviceEvents.announceCommitted(events);
    }
    return events.map((e) => e.deviceId);
  }
}
