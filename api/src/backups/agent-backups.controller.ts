import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  AgentBackupProgressAckSchema,
  AgentBackupProgressSchema,
  AgentBackupTokenRequestSchema,
  AgentBackupTokenResponseSchema,
  type AgentBackupProgress,
  type AgentBackupTokenRequest,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Audited, DeviceAuthenticated, NotAudited } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupProgressService } from './backup-progress.service.js';
import { BackupTokensService } from './backup-tokens.service.js';

@ApiTags('agent')
@Controller('agent')
export class AgentBackupsController {
  constructor(
    private readonly tokens: BackupTokensService,
    private readonly progress: BackupProgressService,
  ) {}

  /** A short-lived token for the device's own repository, for an operation its run needs. */
  @Post('backup-tokens')
  @HttpCode(200)
  @ApiSummary('Get a repository token for a backup run (agent)', { errors: ['BACKUP_RUN_NOT_FOUND', 'BACKUP_TOKEN_REFUSED'] })
  @DeviceAuthenticated()
  @Audited('backup.token_issue', 'device')
  @ZodResponse(200, AgentBackupTokenResponseSchema)
  issue(@ZodBody(AgentBackupTokenRequestSchema) body: AgentBackupTokenRequest) {
    return this.tokens.issueForRun(this.deviceId(), body);
  }

  /** The latest progress of the device's own run under way (kept on the run, pushed to consoles following the device). */
  @Post('backup-progress')
  @HttpCode(200)
  @ApiSummary("Report a backup run's progress (agent)", { errors: ['BACKUP_RUN_NOT_FOUND', 'BACKUP_RUN_NOT_RUNNING'] })
  @DeviceAuthenticated()
  @NotAudited('telemetry every few seconds of a run; the run, its command and its token requests are audited')
  @ZodResponse(200, AgentBackupProgressAckSchema)
  report(@ZodBody(AgentBackupProgressSchema) body: AgentBackupProgress) {
    return this.progress.record(this.deviceId(), body);
  }

  private deviceId(): string {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return device.id;
  }
}
