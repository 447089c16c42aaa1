import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  DISK_IMAGE_COMPRESSION_LEVEL,
  type Command,
  type CommandAction,
  type DiskImageJob,
  type DiskImageRestoreRequest,
  type DiskImageTakeRequest,
  type JsonObject,
  type RecoveryHardware,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { CommandHooks, type CommandPollHook, type CommandReportListener } from '../commands/command-hooks.js';
import { CommandsService } from '../commands/commands.service.js';
import { Database } from '../db/database.js';
import { DevicesService } from '../devices/devices.service.js';
import type { DiskImageJobEntity } from './disk-image-job.entity.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImagesRepository } from './disk-images.repository.js';
import { DiskImageSweepService } from './disk-image-sweep.service.js';
import { toDiskImageJobDto } from './disk-images.mapper.js';
import { RecoveryPort } from './recovery-port.js';
import { ImageDiskError, RestoreTargetError, checkImageDisks, imageNameAt, planRestoreTargets } from './restore-targets.js';

const ENDED = new Set<Command['status']>(['failed', 'rejected', 'expired', 'interrupted']);

/**
 * Takes and restores full-disk images through the recovery stick (issue 16). A job:
 *
 * - requested by an operator: when the stick is registered now (RECOVERY MODE) its recovery
 *   command is queued at once; else the normal agent gets `reboot-to-recovery` and the job waits
 *   in `booting-recovery` for the stick's registration (a dead device reaches the stick by boot
 *   order: a restore waits for it even when that command expires);
 * - `imaging` / `restoring`: the stick runs `recovery.image` / `recovery.restore`; an image is
 *   done when the command succeeded and the stick reported the image (catalog);
 * - `rebooting`: `recovery.reboot` is queued; the job succeeds when the normal agent polls again;
 * - failed with the reason when a command fails or expires, or the stick (or the normal agent)
 *   is not heard within API_DISK_IMAGE_RECOVERY_WAIT_SECONDS (the worker's sweep, or the next poll).
 *
 * Every end records a device event (disk-image-sweep.service.ts), which consoles following the device hear live.
 */
@Injectable()
export class DiskImageJobsService implements OnModuleInit, CommandPollHook, CommandReportListener {
  private readonly logger = new Logger(DiskImageJobsService.name);

  constructor(
    private readonly db: Database,
    private readonly hooks: CommandHooks,
    private readonly commands: CommandsService,
    private readonly devices: DevicesService,
    private readonly sweeper: DiskImageSweepService,
    private readonly jobs: DiskImageJobsRepository,
    private readonly images: DiskImagesRepository,
    private readonly recovery: RecoveryPort,
  ) {}

  onModuleInit(): void {
    this.hooks.onPoll(this);
    this.hooks.onRecoveryPoll({ beforePoll: (deviceId) => this.beforeStickPoll(deviceId) });
    this.hooks.onReport(this);
    this.recovery.onRegistered((deviceId, hardware) => this.registered(deviceId, hardware));
  }

  /**
   * "Take full image now": every target disk the stick reports, or the ones asked for. In
   * recovery mode those are judged against the stick's disks now (400 naming the disk);
   * otherwise when the stick registers (the job fails, naming it).
   */
  async take(actor: Actor, deviceId: string, request: DiskImageTakeRequest): Promise<DiskImageJob> {
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    await this.refuseOpen(deviceId);
    const mode = await this.recovery.currentMode(deviceId);
    if (mode && request.disks) {
      try {
        checkImageDisks(mode.hardware, request.disks);
      } catch (error) {
        if (!(error instanceof ImageDiskError)) throw error;
        throw new AppError('DISK_IMAGE_DISK_INVALID', error.message, { errors: [{ path: 'disks', message: error.message }] });
      }
    }
    const now = new Date();
    const job = await this.jobs.create(
      {
        deviceId,
        kind: 'image',
        state: 'requested',
        imageName: imageNameAt(now),
        params: { disks: request.disks ?? [] },
        requestedBy: actor.email,
        trigger: 'operator',
      },
      now,
    );
    await this.start(actor, job, now);
    return this.dto(job.id);
  }

  /**
   * "Restore image…": the operator typed the device's name; the image must be in the catalog and
   * not pruned. In recovery mode the targets are judged against the stick's disks now (409
   * naming the disk); otherwise when the stick registers (the job fails, naming it).
   */
  async restore(actor: Actor, deviceId: string, imageName: string, request: DiskImageRestoreRequest): Promise<DiskImageJob> {
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    if (request.confirmDeviceName !== device.name) {
      throw new AppError('DISK_IMAGE_CONFIRMATION_MISMATCH', `confirmDeviceName must be the device's name exactly`, {
        errors: [{ path: 'confirmDeviceName', message: "must equal the device's name" }],
      });
    }
    const image = await this.images.find(deviceId, imageName);
    if (!image || image.prunedAt) throw new AppError('DISK_IMAGE_NOT_FOUND', `device ${device.name} has no image ${imageName}`);
    await this.refuseOpen(deviceId);
    const mode = await this.recovery.currentMode(deviceId);
    if (mode) this.plan(image.metadata, mode.hardware, request.targets);
    const now = new Date();
    const job = await this.jobs.create(
      {
        deviceId,
        kind: 'restore',
        state: 'requested',
        imageName,
        params: request.targets ? { targets: request.targets } : {},
        requestedBy: actor.email,
        trigger: 'operator',
      },
      now,
    );
    await this.start(actor, job, now);
    return this.dto(job.id);
  }

  async dto(jobId: string): Promise<DiskImageJob> {
    const job = await this.jobs.find(jobId);
    if (!job) throw new AppError('DISK_IMAGE_NOT_FOUND', `no job ${jobId}`);
    return toDiskImageJobDto(job, null);
  }

  /** The stick of a device registered (RECOVERY MODE): a job waiting for it gets its recovery command. */
  async registered(deviceId: string, hardware: RecoveryHardware): Promise<void> {
    await this.db.transaction(async () => {
      const job = await this.jobs.openFor(deviceId, { lock: true });
      if (!job || (job.state !== 'booting-recovery' && job.state !== 'requested')) return;
      await this.queueRecoveryCommand(null, job, hardware, new Date());
    });
  }

  /**
   * The normal agent polls: a job returning to the main disk is done; a scheduled job (the weekly
   * image, disk-image-schedule.service.ts) starts as "Take full image now" would; a stale wait ends.
   */
  async beforePoll(deviceId: string): Promise<void> {
    // Most polls find no job: only then a transaction (the lock keeps a report from moving it meanwhile).
    if (!(await this.jobs.openFor(deviceId))) return;
    await this.db.transaction(async () => {
      const job = await this.jobs.openFor(deviceId, { lock: true });
      if (!job) return;
      const now = new Date();
      if (job.state === 'rebooting') await this.sweeper.succeed(job, now);
      else if (job.state === 'requested' && job.trigger === 'schedule' && !job.rebootCommandId && !job.recoveryCommandId) {
        await this.startScheduled(job, now);
      } else await this.sweeper.sweepOne(job, now);
    });
  }

  /**
   * The stick polls: a scheduled job whose slot came while the device was already in RECOVERY
   * MODE (no normal agent will poll to start it) gets its recovery command now.
   */
  async beforeStickPoll(deviceId: string): Promise<void> {
    const waiting = (job: DiskImageJobEntity | null): job is DiskImageJobEntity =>
      !!job && job.state === 'requested' && job.trigger === 'schedule' && !job.rebootCommandId && !job.recoveryCommandId;
    if (!waiting(await this.jobs.openFor(deviceId))) return;
    await this.db.transaction(async () => {
      const job = await this.jobs.openFor(deviceId, { lock: true });
      if (!waiting(job)) return;
      const mode = await this.recovery.currentMode(deviceId);
      if (mode) await this.queueRecoveryCommand(null, job, mode.hardware, new Date());
    });
  }

  /** Follows the reports on the commands a job queued. */
  async reported(command: Readonly<Command>): Promise<void> {
    if (command.action !== 'reboot-to-recovery' && !command.action.startsWith('recovery.')) return;
    const job = await this.jobs.byCommand(command.id);
    if (!job || job.state === 'succeeded' || job.state === 'failed') return;
    const now = new Date();
    const why = () => (command.reason ?? lastLine(command.stderr) ?? `the command ${command.status}`).slice(0, 500);

    if (command.id === job.rebootCommandId) {
      // A restore still waits: a device that cannot run the command may reach the stick by boot order.
      if (ENDED.has(command.status) && job.kind === 'image' && job.state === 'booting-recovery') {
        await this.sweeper.fail(job, `reboot-to-recovery ${command.status}: ${why()}`, now);
      }
      return;
    }
    if (command.id === job.recoveryCommandId) {
      if (command.status === 'succeeded') {
        if (job.kind === 'image' && !(await this.images.find(job.deviceId, job.imageName))) {
          await this.sweeper.fail(job, `recovery.image succeeded but the stick reported no image ${job.imageName}`, now);
          await this.queueReturn(job, now);
          return;
        }
        await this.jobs.update(job.id, { state: 'rebooting', waitingSince: now }, now);
        await this.queueReturn(job, now);
        return;
      }
      if (ENDED.has(command.status)) {
        await this.sweeper.fail(job, `${command.action} ${command.status}: ${why()}`, now);
        // Back to the main disk all the same (an image failed: the disk is as it was).
        if (job.kind === 'image') await this.queueReturn(job, now);
      }
      return;
    }
    if (command.id === job.returnCommandId && ENDED.has(command.status)) {
      await this.sweeper.fail(job, `recovery.reboot ${command.status}: ${why()}`, now);
    }
  }

  private async refuseOpen(deviceId: string): Promise<void> {
    const open = await this.jobs.openFor(deviceId);
    if (open) throw new AppError('DISK_IMAGE_JOB_IN_PROGRESS', `job ${open.id} (${open.kind}) is ${open.state}`);
  }

  /** Queues the first command: the recovery command in recovery mode, else the normal agent's reboot-to-recovery. */
  private async start(actor: Actor, job: DiskImageJobEntity, now: Date): Promise<void> {
    const mode = await this.recovery.currentMode(job.deviceId);
    requestContext.annotate({
      resourceId: job.deviceId,
      details: { jobId: job.id, kind: job.kind, imageName: job.imageName, recoveryMode: !!mode },
    });
    if (mode) {
      await this.queueRecoveryCommand(actor, job, mode.hardware, now);
      return;
    }
    const command = await this.commands.queueApiAction(actor, job.deviceId, 'reboot-to-recovery', {});
    await this.jobs.update(job.id, { state: 'booting-recovery', rebootCommandId: command.id, waitingSince: now }, now);
  }

  /**
   * The first command of a scheduled job, signed for the schedule: the stick's `recovery.image`
   * when it is registered now, else the normal agent's `reboot-to-recovery`.
   */
  private async startScheduled(job: DiskImageJobEntity, now: Date): Promise<void> {
    const mode = await this.recovery.currentMode(job.deviceId);
    if (mode) {
      await this.queueRecoveryCommand(null, job, mode.hardware, now);
      return;
    }
    const command = await this.commands.queueSystemCommand(
      job.deviceId,
      { action: 'reboot-to-recovery', params: {}, by: job.requestedBy, reason: `disk-image job ${job.id}: the weekly full-disk image` },
      async () => undefined,
    );
    if (!command) {
      await this.sweeper.fail(job, `the device cannot take commands now (not active or quarantined)`, now);
      return;
    }
    await this.jobs.update(job.id, { state: 'booting-recovery', rebootCommandId: command.id, waitingSince: now }, now);
  }

  /** `recovery.image` or `recovery.restore` for the stick, linked to the job (operator's or, at registration, the requester's). */
  private async queueRecoveryCommand(actor: Actor | null, job: DiskImageJobEntity, hardware: RecoveryHardware, now: Date): Promise<void> {
    let action: CommandAction;
    let params: JsonObject;
    if (job.kind === 'image') {
      action = 'recovery.image';
      const disks = (job.params as { disks?: string[] }).disks ?? [];
      try {
        checkImageDisks(hardware, disks);
      } catch (error) {
        if (!(error instanceof ImageDiskError)) throw error;
        await this.sweeper.fail(job, error.message, now);
        // The stick runs: back to the main disk, untouched.
        await this.queueReturn(job, now);
        return;
      }
      params = { imageName: job.imageName, disks, compressionLevel: DISK_IMAGE_COMPRESSION_LEVEL };
    } else {
      action = 'recovery.restore';
      const image = await this.images.find(job.deviceId, job.imageName);
      if (!image || image.prunedAt) {
        await this.sweeper.fail(job, `image ${job.imageName} is no longer in the catalog`, now);
        return;
      }
      let targets;
      try {
        targets = this.plan(image.metadata, hardware, (job.params as Pick<DiskImageRestoreRequest, 'targets'>).targets);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        await this.sweeper.fail(job, error.detail, now);
        return;
      }
      params = {
        imageName: image.imageName,
        sha256Compressed: image.sha256Compressed,
        compressedBytes: Number(image.compressedBytes),
        targets,
      } as unknown as JsonObject;
    }
    const command = actor
      ? await this.commands.queueApiAction(actor, job.deviceId, action, params)
      : await this.commands.queueSystemCommand(
          job.deviceId,
          { action, params, by: job.requestedBy, reason: `disk-image job ${job.id}: the recovery stick registered` },
          async () => undefined,
        );
    if (!command) {
      await this.sweeper.fail(job, `the device cannot take commands now (not active or quarantined)`, now);
      return;
    }
    await this.jobs.update(
      job.id,
      { state: job.kind === 'image' ? 'imaging' : 'restoring', recoveryCommandId: command.id, waitingSince: now },
      now,
    );
  }

  /** `recovery.reboot` back to the main disk (best effort: a device that cannot take it keeps the job's outcome). */
  private async queueReturn(job: DiskImageJobEntity, now: Date): Promise<void> {
    const command = await this.commands.queueSystemCommand(
      job.deviceId,
      { action: 'recovery.reboot', params: {}, by: job.requestedBy, reason: `disk-image job ${job.id}: back to the main disk` },
      async () => undefined,
    );
    if (command) await this.jobs.update(job.id, { returnCommandId: command.id }, now);
    else this.logger.warn({ msg: 'recovery.reboot not queued: the device takes no commands now', deviceId: job.deviceId, jobId: job.id });
  }

  private plan(metadata: Parameters<typeof planRestoreTargets>[0], hardware: RecoveryHardware, asked?: DiskImageRestoreRequest['targets']) {
    try {
      return planRestoreTargets(metadata, hardware, asked);
    } catch (error) {
      if (error instanceof RestoreTargetError) throw new AppError('DISK_IMAGE_TARGET_INVALID', error.message);
      throw error;
    }
  }
}

function lastLine(text: string | null): string | null {
  const line = text?.trim().split('\n').at(-1)?.trim();
  return line ? line : null;
}
