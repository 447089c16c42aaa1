import { Injectable } from '@nestjs/common';
import {
  AVAILABLE_BACKUP_MODES,
  BACKUP_DEFAULT_IMAGE_LOCAL_TIME,
  BACKUP_DEFAULT_IMAGE_WEEKDAY,
  BACKUP_DEFAULT_KEEP_DAILY,
  BACKUP_DEFAULT_KEEP_IMAGES,
  FILE_BACKUP_MODES,
  IMAGE_BACKUP_MODES,
  IMAGE_WEEKDAYS,
  BACKUP_DEFAULT_KEEP_WEEKLY,
  BACKUP_DEFAULT_LOCAL_TIME,
  DEFAULT_BACKUP_EXCLUDES,
  DEFAULT_BACKUP_PATHS,
  type BackupMode,
  type BackupPolicy,
  type BackupPolicyUpdate,
  BACKUP_OVERDUE_HOURS,
  type BackupFleetQuery,
  type BackupFleetRow,
  type BackupRestoreRequest,
  type BackupRun,
  type DeviceModules,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import type { Actor } from '../common/context/request-context.js';
import { requestContext } from '../common/context/request-context.js';
import { CommandsService } from '../commands/commands.service.js';
import { DevicesService, type DeviceRecord } from '../devices/devices.service.js';
import { OrganizationsService } from '../organizations/organizations.service.js';
import { BackupPoliciesRepository } from './backup-policies.repository.js';
import { BackupFleetRepository } from './backup-fleet.repository.js';
import type { BackupPolicyEntity } from './backup-policy.entity.js';
import { BackupRunsRepository } from './backup-runs.repository.js';
import { BackupEscrowService, auditableRestoreRequest } from './backup-escrow.service.js';
import { toBackupRunDto } from './backups.mapper.js';

const MODE_OF_MODULE: Record<DeviceModules['backups'], BackupMode> = { off: 'OFF', file: 'FILE', full: 'FULL', hybrid: 'HYBRID' };
const MODULE_OF_MODE: Record<BackupMode, DeviceModules['backups']> = { OFF: 'off', FILE: 'file', FULL: 'full', HYBRID: 'hybrid' };

/** A device's backup policy (mode in the device's modules, the rest in backup_policies) and its runs. */
@Injectable()
export class BackupsService {
  constructor(
    private readonly devices: DevicesService,
    private readonly organizations: OrganizationsService,
    private readonly policies: BackupPoliciesRepository,
    private readonly runs: BackupRunsRepository,
    private readonly commands: CommandsService,
    private readonly fleet: BackupFleetRepository,
    private readonly escrow: BackupEscrowService,
  ) {}

  /** Devices that back up, with their last run, last success and repository size; filter failing or overdue. */
  async fleetPage(query: BackupFleetQuery, now = new Date()) {
    const overdueBefore = new Date(now.getTime() - BACKUP_OVERDUE_HOURS * 3600_000);
    const { rows, total } = await this.fleet.page({
      ...(query.filter ? { kind: query.filter } : {}),
      overdueBefore,
      limit: query.limit,
      offset: query.offset,
    });
    const items: BackupFleetRow[] = rows.map((r) => ({
      deviceId: r.device_id,
      deviceName: r.device_name,
      organizationId: r.organization_id,
      siteId: r.site_id,
      mode: MODE_OF_MODULE[r.mode as DeviceModules['backups']] ?? 'OFF',
      lastRunAt: r.last_run_at ? new Date(r.last_run_at).toISOString() : null,
      lastRunStatus: (r.last_run_status as BackupFleetRow['lastRunStatus']) ?? null,
      lastRunError: r.last_run_error,
      lastSuccessAt: r.last_success_at ? new Date(r.last_success_at).toISOString() : null,
      lastSnapshotId: r.last_snapshot_id,
      overdue: (r.mode === 'file' || r.mode === 'hybrid') && (!r.last_success_at || new Date(r.last_success_at) < overdueBefore),
      usedBytes: r.used_bytes === null ? null : Number(r.used_bytes),
      quotaBytes: r.quota_bytes === null ? null : Number(r.quota_bytes),
      lastVerifiedAt: r.last_verified_at ? new Date(r.last_verified_at).toISOString() : null,
      lastCheckOk: r.last_check_ok,
    }));
    return { items, total, limit: query.limit, offset: query.offset };
  }

  /** A backup now, outside the schedule: carried to the device at its next poll (woken at once). */
  async backupNow(actor: Actor, deviceId: string): Promise<BackupRun> {
    const device = await this.commandableDevice(actor, deviceId);
    if (device.modules.backups !== 'file' && device.modules.backups !== 'hybrid') {
      throw new AppError('BACKUP_NOT_ENABLED', `set the policy of ${device.name} to FILE or HYBRID first`);
    }
    return this.startManual(actor, device, 'backup', null);
  }

  /**
   * A restore of chosen paths of a snapshot (backups.restore, step-up): to the original place or
   * another directory; with a `source`, from another device's repository (new hardware, Super
   * Admin only: backup-escrow.service.ts).
   */
  async restore(actor: Actor, deviceId: string, body: BackupRestoreRequest): Promise<BackupRun> {
    const device = await this.commandableDevice(actor, deviceId);
    if (body.source) await this.escrow.assertRestoreSource(actor, device, body.source.deviceId);
    return this.startManual(actor, device, 'restore', body);
  }

  private async commandableDevice(actor: Actor, deviceId: string): Promise<DeviceRecord> {
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    if (device.status !== 'active') throw new AppError('DEVICE_NOT_ACTIVE', `device ${device.name} is ${device.status}`);
    if (device.quarantinedAt) throw new AppError('DEVICE_QUARANTINED');
    return device;
  }

  /** One backup or restore at a time per device: restic would wait on the repository lock anyway. */
  private async startManual(actor: Actor, device: DeviceRecord, kind: 'backup' | 'restore', request: BackupRestoreRequest | null) {
    const open = (await this.runs.listForDevice(device.id, 20)).find((r) => r.status === 'scheduled' || r.status === 'running');
    if (open && Date.now() - open.createdAt.getTime() < 24 * 3600_000) {
      throw new AppError('BACKUP_RUN_IN_PROGRESS', `run ${open.id} (${open.kind}) is ${open.status}`);
    }
    const run = await this.runs.createManual({ deviceId: device.id, kind, request, requestedBy: actor.email }, new Date());
    requestContext.annotate({
      resourceId: device.id,
      details: { runId: run.id, kind, ...(request ? { request: auditableRestoreRequest(request) } : {}) },
    });
    requestContext.afterCommit(() => this.commands.wake(device.id));
    return toBackupRunDto(run);
  }

  async policy(deviceId: string): Promise<BackupPolicy> {
    const device = await this.devices.requireDevice(deviceId);
    return this.view(device, await this.policies.find(device.id), device.modules.backups ?? 'off');
  }

  /**
   * Replaces the policy. FULL and HYBRID take a weekly full-disk image through the recovery stick
   * (api/src/disk-images/disk-image-schedule.service.ts; a device without an active stick gets a
   * failed slot and an alert each week, not a refusal here: the stick may be flashed later). The
   * device row is locked, so two operators' changes apply one after the other.
   */
  async update(actor: Actor, deviceId: string, body: BackupPolicyUpdate): Promise<BackupPolicy> {
    if (!AVAILABLE_BACKUP_MODES.includes(body.mode)) {
      throw new AppError('BACKUP_MODE_UNAVAILABLE', `${body.mode} is not available; use ${AVAILABLE_BACKUP_MODES.join(', ')}`);
    }
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    const before = await this.policies.find(device.id);
    const beforeView = await this.view(device, before, device.modules.backups ?? 'off');
    const row: BackupPolicyEntity = {
      deviceId: device.id,
      paths: body.paths ?? [...DEFAULT_BACKUP_PATHS[device.type]],
      excludes: body.excludes ?? [...DEFAULT_BACKUP_EXCLUDES],
      localTime: body.localTime ?? BACKUP_DEFAULT_LOCAL_TIME,
      keepDaily: body.keepDaily ?? BACKUP_DEFAULT_KEEP_DAILY,
      keepWeekly: body.keepWeekly ?? BACKUP_DEFAULT_KEEP_WEEKLY,
      imageWeekday: IMAGE_WEEKDAYS.indexOf(body.imageWeekday ?? BACKUP_DEFAULT_IMAGE_WEEKDAY),
      imageLocalTime: body.imageLocalTime ?? BACKUP_DEFAULT_IMAGE_LOCAL_TIME,
      keepImages: body.keepImages ?? BACKUP_DEFAULT_KEEP_IMAGES,
      updatedBy: actor.email,
      updatedAt: new Date(),
    };
    await this.policies.save(row);
    const modules = await this.devices.setModules(device, { backups: MODULE_OF_MODE[body.mode] });
    const after = await this.view(device, row, modules.backups);
    requestContext.annotate({ resourceId: device.id, details: { before: auditable(beforeView), after: auditable(after) } });
    return after;
  }

  async listRuns(deviceId: string, limit: number): Promise<BackupRun[]> {
    const device = await this.devices.requireDevice(deviceId);
    return (await this.runs.listForDevice(device.id, limit)).map(toBackupRunDto);
  }

  private async view(device: DeviceRecord, row: BackupPolicyEntity | null, module: DeviceModules['backups']): Promise<BackupPolicy> {
    const site = await this.organizations.getSite(device.siteId);
    const mode = MODE_OF_MODULE[module];
    const localTime = row?.localTime ?? BACKUP_DEFAULT_LOCAL_TIME;
    const imageWeekday = row ? (IMAGE_WEEKDAYS[row.imageWeekday] ?? BACKUP_DEFAULT_IMAGE_WEEKDAY) : BACKUP_DEFAULT_IMAGE_WEEKDAY;
    const imageLocalTime = row?.imageLocalTime ?? BACKUP_DEFAULT_IMAGE_LOCAL_TIME;
    const now = new Date();
    const next = FILE_BACKUP_MODES.includes(mode) ? await this.runs.nextDueAt(localTime, site.timeZone, now) : null;
    const nextImage = IMAGE_BACKUP_MODES.includes(mode)
      ? await this.runs.nextImageAt(IMAGE_WEEKDAYS.indexOf(imageWeekday), imageLocalTime, site.timeZone, now)
      : null;
    return {
      deviceId: device.id,
      mode,
      paths: row?.paths ?? [...DEFAULT_BACKUP_PATHS[device.type]],
      excludes: row?.excludes ?? [...DEFAULT_BACKUP_EXCLUDES],
      localTime,
      keepDaily: row?.keepDaily ?? BACKUP_DEFAULT_KEEP_DAILY,
      keepWeekly: row?.keepWeekly ?? BACKUP_DEFAULT_KEEP_WEEKLY,
      timeZone: site.timeZone,
      nextRunAt: next?.toISOString() ?? null,
      imageWeekday,
      imageLocalTime,
      keepImages: row?.keepImages ?? BACKUP_DEFAULT_KEEP_IMAGES,
      nextImageAt: nextImage?.toISOString() ?? null,
      customized: row !== null,
      updatedAt: row?.updatedAt.toISOString() ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  }
}

/** The policy as the audit row keeps it: what an operator chose, not what the clock says. */
function auditable(policy: BackupPolicy) {
  return {
    mode: policy.mode,
    paths: policy.paths,
    excludes: policy.excludes,
    localTime: policy.localTime,
    keepDaily: policy.keepDaily,
    keepWeekly: policy.keepWeekly,
    imageWeekday: policy.imageWeekday,
    imageLocalTime: policy.imageLocalTime,
    keepImages: policy.keepImages,
    timeZone: policy.timeZone,
  };
}
