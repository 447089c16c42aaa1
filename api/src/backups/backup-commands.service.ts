import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  BACKUP_DEFAULT_KEEP_DAILY,
  BACKUP_CHECK_INTERVAL_DAYS,
  BACKUP_DEFAULT_KEEP_WEEKLY,
  BackupRunResultSchema,
  DEFAULT_BACKUP_EXCLUDES,
  DEFAULT_BACKUP_PATHS,
  type BackupRestoreParams,
  type BackupRestoreRequest,
  type BackupRunParams,
  type BackupRunResult,
  type Command,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { CommandHooks, type CommandPollHook, type CommandReportListener } from '../commands/command-hooks.js';
import { CommandsService } from '../commands/commands.service.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { BackupCatalogService } from './backup-catalog.service.js';
import { BackupEscrowService } from './backup-escrow.service.js';
import { BackupPoliciesRepository } from './backup-policies.repository.js';
import { BackupRunsRepository } from './backup-runs.repository.js';
import { repositoryUrl } from './repository-url.js';
import { BACKUP_CATCH_UP_SECONDS } from './backup-schedule.service.js';

/** Thrown inside the queueing transaction when another poll linked the run first: undoes the command. */
class RunTakenError extends Error {}

const SYSTEM = 'system:backup-schedule';

/**
 * Carries scheduled runs to devices: at a device's poll, a due run without a command becomes a
 * signed `backup.run` (the policy as it is now, and the repository URL), linked to the run in
 * the same transaction (a second poll on another instance finds it linked and its own command
 * undone). The device's reports on that command move the run: running, then succeeded with
 * the agent's result line (restic's summary, the repository's snapshots, the weekly check, the
 * escrowed password) or failed with the reason.
 */
@Injectable()
export class BackupCommandsService implements OnModuleInit, CommandPollHook, CommandReportListener {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'API_BACKUP_SERVER_URL'>,
    private readonly hooks: CommandHooks,
    private readonly commands: CommandsService,
    private readonly devices: DevicesService,
    private readonly policies: BackupPoliciesRepository,
    private readonly runs: BackupRunsRepository,
    private readonly deviceEvents: DeviceEventsService,
    private readonly catalog: BackupCatalogService,
    private readonly escrow: BackupEscrowService,
  ) {}

  onModuleInit(): void {
    this.hooks.onPoll(this);
    this.hooks.onReport(this);
  }

  async beforePoll(deviceId: string): Promise<void> {
    const due = await this.runs.dueWithoutCommand(deviceId, new Date(Date.now() - BACKUP_CATCH_UP_SECONDS * 1000));
    for (const run of due) {
      const queued = run.kind === 'restore' ? this.restoreParams(deviceId, run) : await this.paramsFor(deviceId, run.id, new Date());
      if (!queued) continue;
      const action = run.kind === 'restore' ? 'backup.restore' : 'backup.run';
      try {
        await this.commands.queueSystemCommand(
          deviceId,
          {
            action,
            params: { ...queued },
            by: run.requestedBy ?? SYSTEM,
            reason: `${run.kind} run ${run.id} due ${run.dueAt.toISOString()}`,
          },
          async (command) => {
            if (!(await this.runs.attachCommand(run.id, command.id))) throw new RunTakenError();
          },
        );
      } catch (error) {
        if (!(error instanceof RunTakenError)) throw error;
      }
    }
  }

  async reported(command: Readonly<Command>): Promise<void> {
    if (command.action !== 'backup.run' && command.action !== 'backup.restore') return;
    const run = await this.runs.findByCommand(command.id);
    if (!run) return;
    const now = new Date();
    if (command.status === 'running' || command.status === 'delivered') return this.runs.start(run.id, now);
    if (command.status === 'succeeded' && command.action === 'backup.restore') {
      await this.runs.finish(run.id, { status: 'succeeded', finishedAt: now, error: null, summary: null });
      return;
    }
    if (command.status === 'succeeded') {
      const result = resultOf(command.stdout);
      const error = result ? null : 'the agent reported success without a valid result line (summary, snapshots, check, escrow)';
      await this.runs.finish(run.id, {
        status: result ? 'succeeded' : 'failed',
        finishedAt: now,
        error,
        summary: result?.summary ?? null,
        check: result?.check ?? null,
      });
      if (result) await this.catalog.recordResult(run.deviceId, run.id, result, now);
      await this.backupEnded(run.deviceId, run.id, now, error, result?.summary.snapshotId ?? null);
      return;
    }
    if (['failed', 'rejected', 'expired', 'interrupted'].includes(command.status)) {
      const why = (command.reason ?? lastLine(command.stderr) ?? `the command ${command.status}`).slice(0, 500);
      await this.runs.finish(run.id, { status: 'failed', finishedAt: now, error: why, summary: null });
      if (command.action === 'backup.run') await this.backupEnded(run.deviceId, run.id, now, why, null);
    }
  }

  /** The device's event (in the report's transaction): a failure alerts (rule backup-failed), the next success resolves it. */
  private async backupEnded(deviceId: string, runId: string, at: Date, error: string | null, snapshotId: string | null): Promise<void> {
    await this.deviceEvents.record(
      error
        ? { deviceId, type: 'backup.failed', severity: 'warning', at, details: { runId, error } }
        : { deviceId, type: 'backup.succeeded', severity: 'info', at, details: { runId, snapshotId } },
    );
  }

  private restoreParams(deviceId: string, run: { id: string; request: BackupRestoreRequest | null }): BackupRestoreParams | null {
    if (!run.request) return null;
    const source = run.request.source ?? null;
    return {
      runId: run.id,
      // Another device's backups onto this one (new hardware): that device's repository.
      repositoryUrl: repositoryUrl(this.config, source?.deviceId ?? deviceId),
      snapshotId: run.request.snapshotId,
      include: run.request.paths,
      target: run.request.target.mode === 'original' ? '/' : run.request.target.directory,
      source,
    };
  }

  /**
   * The signed params: the policy now (defaults where none is stored); null when the device no
   * longer backs up. The weekly check is asked for when no check passed within
   * BACKUP_CHECK_INTERVAL_DAYS (a failed one is tried again at the next run).
   */
  private async paramsFor(deviceId: string, runId: string, now: Date): Promise<BackupRunParams | null> {
    const device = await this.devices.findDevice(deviceId);
    if (!device || (device.modules.backups !== 'file' && device.modules.backups !== 'hybrid')) return null;
    const policy = await this.policies.find(deviceId);
    const verifiedAt = await this.catalog.lastVerifiedAt(deviceId);
    return {
      runId,
      repositoryUrl: repositoryUrl(this.config, deviceId),
      paths: policy?.paths ?? [...DEFAULT_BACKUP_PATHS[device.type]],
      excludes: policy?.excludes ?? [...DEFAULT_BACKUP_EXCLUDES],
      keepDaily: policy?.keepDaily ?? BACKUP_DEFAULT_KEEP_DAILY,
      keepWeekly: policy?.keepWeekly ?? BACKUP_DEFAULT_KEEP_WEEKLY,
      check: !verifiedAt || now.getTime() - verifiedAt.getTime() >= BACKUP_CHECK_INTERVAL_DAYS * 24 * 3600_000,
      escrowRecipient: await this.escrow.recipientFor(deviceId),
    };
  }
}

/** The result is the last line of stdout (agent/src/commands/backup-action.ts); anything else counts as none. */
function resultOf(stdout: string | null): BackupRunResult | null {
  const line = lastLine(stdout);
  if (!line) return null;
  try {
    const parsed = BackupRunResultSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function lastLine(text: string | null): string | null {
  const line = text?.trim().split('\n').at(-1)?.trim();
  return line ? line : null;
}
