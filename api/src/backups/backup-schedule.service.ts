import { Injectable, Logger } from '@nestjs/common';
import { BACKUP_DEFAULT_LOCAL_TIME } from '@xspectre/contracts';
import { BackupRunsRepository, type ScheduledRun } from './backup-runs.repository.js';

/**
 * A slot whose time passed while no worker ran (a restart, an outage) is still taken within
 * this window; later it is left to the overdue alert rather than backing up at midday.
 */
export const BACKUP_CATCH_UP_SECONDS = 6 * 3600;

/** The worker's every-minute job: a run row for each device whose nightly slot has come. */
@Injectable()
export class BackupScheduleService {
  private readonly logger = new Logger(BackupScheduleService.name);

  constructor(private readonly runs: BackupRunsRepository) {}

  async scheduleDue(now = new Date()): Promise<ScheduledRun[]> {
    const created = await this.runs.createDue(now, BACKUP_CATCH_UP_SECONDS, BACKUP_DEFAULT_LOCAL_TIME);
    if (created.length > 0) this.logger.log({ msg: 'backup runs scheduled', runs: created.length });
    return created;
  }
}
