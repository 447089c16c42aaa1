import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { ScannerFeedSchedule, ScannerFeedScheduleView } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { CommandHooks, type CommandPollHook } from '../commands/command-hooks.js';
import { CommandsService } from '../commands/commands.service.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { FeedSchedules } from '../scanners/feed-schedules.service.js';

/** Thrown inside the queueing transaction when another poll linked the run first: undoes the command. */
class RunTakenError extends Error {}

const SYSTEM = 'system:scanner-feed-schedule';

/**
 * Sites' feed update schedules (GET/PUT/DELETE sites/:id/scanner-feed-schedule), and at a
 * scanner's poll its due scheduled run becomes a signed `scanner.feed-update`, linked to the run
 * in the command's transaction (as backup runs are: backups/backup-commands.service.ts), so a run
 * is queued once however many API instances answer polls. The worker makes the runs
 * (scanners/feed-schedule.job.ts).
 */
@Injectable()
export class FeedScheduleService implements OnModuleInit, CommandPollHook {
  constructor(
    private readonly schedules: FeedSchedules,
    private readonly organizations: OrganizationsService,
    private readonly commands: CommandsService,
    private readonly hooks: CommandHooks,
    private readonly devices: DevicesService,
  ) {}

  onModuleInit(): void {
    this.hooks.onPoll(this);
  }

  async get(siteId: string, now = new Date()): Promise<ScannerFeedScheduleView> {
    await this.organizations.getSite(siteId);
    return this.schedules.view(siteId, now);
  }

  /** The schedule queues commands for the site's scanners: internal sites' only for Super Admins, as their commands are. */
  private async assertMayChange(actor: Actor, siteId: string): Promise<void> {
    const site = await this.organizations.getSite(siteId);
    this.devices.assertMayChange(actor, (await this.organizations.get(site.organizationId)).kind);
  }

  async put(actor: Actor, siteId: string, schedule: ScannerFeedSchedule, now = new Date()): Promise<ScannerFeedScheduleView> {
    await this.assertMayChange(actor, siteId);
    const before = await this.schedules.view(siteId, now, { lock: true });
    const after = await this.schedules.save(siteId, schedule, actor.email, now);
    requestContext.annotate({ resourceId: siteId, details: { before: before.schedule, after: after.schedule } });
    return after;
  }

  async remove(actor: Actor, siteId: string, now = new Date()): Promise<void> {
    await this.assertMayChange(actor, siteId);
    const before = await this.schedules.view(siteId, now, { lock: true });
    if (!before.schedule) throw new AppError('SCANNER_FEED_SCHEDULE_NOT_FOUND', `site ${siteId} has no feed update schedule`);
    await this.schedules.remove(siteId);
    requestContext.annotate({ resourceId: siteId, details: { before: before.schedule, deleted: true } });
  }

  async beforePoll(deviceId: string): Promise<void> {
    for (const run of await this.schedules.dueRuns(deviceId, new Date())) {
      try {
        await this.commands.queueSystemCommand(
          deviceId,
          {
            action: 'scanner.feed-update',
            params: { pruneOldImages: run.pruneOldImages },
            by: SYSTEM,
            reason: `feed update scheduled for ${run.slotAt.toISOString()}, due ${run.dueAt.toISOString()}`,
          },
          async (command) => {
            if (!(await this.schedules.attachCommand(run.id, command.id))) throw new RunTakenError();
          },
        );
      } catch (error) {
        if (!(error instanceof RunTakenError)) throw error;
      }
    }
  }
}
