import { Injectable } from '@nestjs/common';
import type { AgentBackupProgress } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { LivePublisher } from '../live/live-publisher.js';
import { BackupRunsRepository } from './backup-runs.repository.js';

/**
 * A running backup's or restore's progress, as the agent posts it: kept on the run (the latest
 * only; cleared when the run finishes) and pushed live to the consoles that follow the device.
 */
@Injectable()
export class BackupProgressService {
  constructor(
    private readonly runs: BackupRunsRepository,
    private readonly live: LivePublisher,
  ) {}

  async record(deviceId: string, body: AgentBackupProgress, now = new Date()): Promise<{ runId: string; progressAt: string }> {
    if (!(await this.runs.recordProgress(body.runId, deviceId, body.progress, now))) {
      const run = await this.runs.find(body.runId);
      if (!run || run.deviceId !== deviceId) throw new AppError('BACKUP_RUN_NOT_FOUND', `no backup run ${body.runId} of this device`);
      throw new AppError('BACKUP_RUN_NOT_RUNNING', `backup run ${run.id} is ${run.status}`);
    }
    requestContext.afterCommit(() => this.live.backupProgress(deviceId, body.runId, body.progress, now));
    return { runId: body.runId, progressAt: now.toISOString() };
  }
}
