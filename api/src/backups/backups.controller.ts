import { Controller, Get, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  BackupCapacitySchema,
  BackupFleetPageSchema,
  BackupFleetQuerySchema,
  type BackupFleetQuery,
  BackupPolicySchema,
  BackupPolicyUpdateSchema,
  BackupRestoreRequestSchema,
  BackupRunSchema,
  type BackupRestoreRequest,
  BackupRunPageSchema,
  BackupRunsQuerySchema,
  BackupSnapshotPageSchema,
  BackupTokenKeysSchema,
  IdParamSchema,
  type BackupPolicyUpdate,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupCapacityService } from './backup-capacity.service.js';
import { BackupCatalogService } from './backup-catalog.service.js';
import { BackupTokensService } from './backup-tokens.service.js';
import { BackupsService } from './backups.service.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('backups')
@Controller()
export class BackupsController {
  constructor(
    private readonly backups: BackupsService,
    private readonly tokens: BackupTokensService,
    private readonly capacity: BackupCapacityService,
    private readonly catalog: BackupCatalogService,
  ) {}

  @Get('backups')
  @ApiSummary('Devices that back up, with their last run, last success and repository size')
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupFleetPageSchema)
  fleet(@ZodQuery(BackupFleetQuerySchema) query: BackupFleetQuery) {
    return this.backups.fleetPage(query);
  }

  @Get('backups/capacity')
  @ApiSummary("Each backup server's latest capacity report")
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupCapacitySchema)
  servers() {
    return this.capacity.servers();
  }

  @Get('devices/:id/backup-policy')
  @ApiSummary("Get a device's file-backup policy", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupPolicySchema)
  policy(@ZodParams(IdParamSchema) params: Id) {
    return this.backups.policy(params.id);
  }

  /** The whole policy: mode, paths, excludes, the nightly time in the site's zone, retention. */
  @Put('devices/:id/backup-policy')
  @ApiSummary("Set a device's file-backup policy", { errors: ['DEVICE_NOT_FOUND', 'BACKUP_MODE_UNAVAILABLE'] })
  @RequirePermission('backups.trigger')
  @Audited('backup.policy_update', 'device')
  @ZodResponse(200, BackupPolicySchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(BackupPolicyUpdateSchema) body: BackupPolicyUpdate, @CurrentActor() actor: Actor) {
    return this.backups.update(actor, params.id, body);
  }

  /** Outside the nightly schedule; one backup or restore at a time per device. */
  @Post('devices/:id/backup-runs')
  @ApiSummary('Back a device up now', { errors: ['DEVICE_NOT_FOUND', 'BACKUP_NOT_ENABLED', 'BACKUP_RUN_IN_PROGRESS', 'DEVICE_NOT_ACTIVE'] })
  @RequirePermission('backups.trigger')
  @Audited('backup.run_now', 'device')
  @ZodResponse(201, BackupRunSchema)
  backupNow(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.backups.backupNow(actor, params.id);
  }

  /** Files of a snapshot written back on the device: Super Admin's backups.restore with a fresh TOTP. */
  @Post('devices/:id/backup-restores')
  @ApiSummary('Restore paths of a snapshot on a device', { errors: ['DEVICE_NOT_FOUND', 'BACKUP_RUN_IN_PROGRESS', 'DEVICE_NOT_ACTIVE'] })
  @RequirePermission('backups.restore')
  @Critical()
  @Audited('backup.restore', 'device')
  @ZodResponse(201, BackupRunSchema)
  restore(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(BackupRestoreRequestSchema) body: BackupRestoreRequest,
    @CurrentActor() actor: Actor,
  ) {
    return this.backups.restore(actor, params.id, body);
  }

  @Get('devices/:id/backup-runs')
  @ApiSummary("List a device's backup runs, newest first", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupRunPageSchema)
  async runs(@ZodParams(IdParamSchema) params: Id, @ZodQuery(BackupRunsQuerySchema) query: z.infer<typeof BackupRunsQuerySchema>) {
    return { items: await this.backups.listRuns(params.id, query.limit) };
  }

  /** The snapshots the device's repository held at its last successful run, and when it was last verified restorable. */
  @Get('devices/:id/backup-snapshots')
  @ApiSummary("List a device's backup snapshots, newest first", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('backups.view')
  @ZodResponse(200, BackupSnapshotPageSchema)
  snapshots(@ZodParams(IdParamSchema) params: Id) {
    return this.catalog.page(params.id);
  }

  /** Public keys only; the backup server is provisioned with them (backup-server/README.md). */
  @Get('backups/token-keys')
  @ApiSummary('The public keys of repository tokens')
  @RequirePermission('settings.manage')
  @ZodResponse(200, BackupTokenKeysSchema)
  async tokenKeys() {
    return { keys: await this.tokens.publicKeys() };
  }
}
