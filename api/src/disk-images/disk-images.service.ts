import { Injectable } from '@nestjs/common';
import {
  BACKUP_DEFAULT_IMAGE_LOCAL_TIME,
  BACKUP_DEFAULT_IMAGE_WEEKDAY,
  DiskImageNameSchema,
  IMAGE_WEEKDAYS,
  type Command,
  type DeviceDiskImages,
  type DiskImageFleetQuery,
  type DiskImageTokenOp,
  type RecoveryImageReport,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { BackupTokensService } from '../backups/backup-tokens.service.js';
import { CommandsService } from '../commands/commands.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImagesRepository } from './disk-images.repository.js';
import { toDiskImageDto, toDiskImageJobDto, toFleetRowDto } from './disk-images.mapper.js';
import { RecoveryPort } from './recovery-port.js';

/** Which recovery command may ask for which image token (nothing else gets one). */
const ACTION_OF_OP: Record<DiskImageTokenOp, Command['action']> = {
  'image-append': 'recovery.image',
  'image-read': 'recovery.restore',
};
/** A command under way: the stick fetched it (delivered) or said it started (running). */
const UNDER_WAY = new Set<Command['status']>(['delivered', 'running']);
/** A command older than this gets no more tokens, whatever its status says. */
const COMMAND_TOKEN_WINDOW_MS = 24 * 3600 * 1000;

/**
 * The catalog of full-disk images (what the stick reported after the backup server accepted an
 * upload) and the image tokens a stick gets for the recovery command it runs.
 */
@Injectable()
export class DiskImagesService {
  constructor(
    private readonly images: DiskImagesRepository,
    private readonly jobs: DiskImageJobsRepository,
    private readonly commands: CommandsService,
    private readonly devices: DevicesService,
    private readonly tokens: BackupTokensService,
    private readonly recovery: RecoveryPort,
  ) {}

  /**
   * An image token for the device's own images, for the recovery command of this device under
   * way that needs it: `image-append` for a `recovery.image`, `image-read` for a `recovery.restore`.
   */
  async issueToken(deviceId: string, request: { commandId: string; op: DiskImageTokenOp }, now = new Date()) {
    const command = await this.ownCommand(deviceId, request.commandId);
    const wanted = ACTION_OF_OP[request.op];
    if (command.action !== wanted) {
      throw new AppError(
        'DISK_IMAGE_TOKEN_REFUSED',
        `${request.op} tokens are for a ${wanted} command; ${command.id} is ${command.action}`,
      );
    }
    if (!UNDER_WAY.has(command.status)) {
      throw new AppError('DISK_IMAGE_COMMAND_NOT_RUNNING', `command ${command.id} (${command.action}) is ${command.status}`);
    }
    if (now.getTime() - Date.parse(command.issuedAt) > COMMAND_TOKEN_WINDOW_MS) {
      throw new AppError('DISK_IMAGE_TOKEN_REFUSED', `command ${command.id} was queued over 24 hours ago`);
    }
    requestContext.annotate({ details: { commandId: command.id } });
    return this.tokens.issueDiskImageToken(deviceId, request.op, now);
  }

  /**
   * Records an image the backup server accepted, for the device's `recovery.image` under way
   * that asked for that name; idempotent per (device, image name) for the same command. Images
   * the backup server pruned by retention (its complete answer) are marked pruned.
   */
  async report(deviceId: string, report: RecoveryImageReport, now = new Date()): Promise<{ imageName: string; recorded: boolean }> {
    const { metadata } = report;
    if (metadata.deviceId !== deviceId) {
      throw new AppError('DISK_IMAGE_REPORT_INVALID', `the image's metadata names device ${metadata.deviceId}, not this device`);
    }
    const existing = await this.images.find(deviceId, metadata.imageName);
    if (existing && existing.commandId === report.commandId) {
      await this.images.markPruned(deviceId, report.pruned ?? [], now);
      return { imageName: metadata.imageName, recorded: false };
    }
    const command = await this.ownCommand(deviceId, report.commandId);
    if (command.action !== 'recovery.image') {
      throw new AppError('DISK_IMAGE_REPORT_INVALID', `command ${command.id} is ${command.action}, not recovery.image`);
    }
    if (!UNDER_WAY.has(command.status)) {
      throw new AppError('DISK_IMAGE_COMMAND_NOT_RUNNING', `command ${command.id} (${command.action}) is ${command.status}`);
    }
    const asked = DiskImageNameSchema.safeParse((command.params as { imageName?: unknown }).imageName);
    if (!asked.success || asked.data !== metadata.imageName) {
      throw new AppError('DISK_IMAGE_REPORT_INVALID', `command ${command.id} takes image ${String(asked.data)}, not ${metadata.imageName}`);
    }
    if (existing) throw new AppError('DISK_IMAGE_REPORT_INVALID', `image ${metadata.imageName} is already in the catalog`);
    const recorded = await this.images.record(deviceId, command.id, metadata, now);
    // A name the report itself brings is never marked pruned.
    await this.images.markPruned(
      deviceId,
      (report.pruned ?? []).filter((n) => n !== metadata.imageName),
      now,
    );
    requestContext.annotate({
      resourceId: deviceId,
      details: {
        commandId: command.id,
        imageName: metadata.imageName,
        compressedBytes: metadata.compressedBytes,
        sha256Compressed: metadata.sha256Compressed,
        pruned: report.pruned ?? [],
      },
    });
    return { imageName: metadata.imageName, recorded };
  }

  /** The device's images, newest first, and its open (else last) job with the stick's progress. */
  async forDevice(deviceId: string): Promise<DeviceDiskImages> {
    await this.devices.requireDevice(deviceId);
    const [images, job] = await Promise.all([this.images.listForDevice(deviceId), this.jobs.currentFor(deviceId)]);
    const mode = job && (job.state === 'imaging' || job.state === 'restoring') ? await this.recovery.currentMode(deviceId) : null;
    return { images: images.map(toDiskImageDto), job: job ? toDiskImageJobDto(job, mode?.progress ?? null) : null };
  }

  async fleet(query: DiskImageFleetQuery) {
    const now = new Date();
    const { rows, total } = await this.images.fleetPage(query, now, {
      weekday: IMAGE_WEEKDAYS.indexOf(BACKUP_DEFAULT_IMAGE_WEEKDAY),
      localTime: BACKUP_DEFAULT_IMAGE_LOCAL_TIME,
    });
    return { items: rows.map((r) => toFleetRowDto(r, now)), total, limit: query.limit, offset: query.offset };
  }

  /** The command, if it is this device's (another device's is as good as none). */
  private async ownCommand(deviceId: string, commandId: string): Promise<Command> {
    const command = await this.commands.findWithOutput(commandId);
    if (!command || command.deviceId !== deviceId) {
      throw new AppError('DISK_IMAGE_TOKEN_REFUSED', `no command ${commandId} of this device`);
    }
    return command;
  }
}
