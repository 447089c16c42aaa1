import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AgentBackupTokenRequestSchema, AgentBackupTokenResponseSchema, type AgentBackupTokenRequest } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Audited, DeviceAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupTokensService } from './backup-tokens.service.js';

@ApiTags('agent')
@Controller('agent/backup-tokens')
export class AgentBackupsController {
  constructor(private readonly tokens: BackupTokensService) {}

  /** A short-lived token for the device's own repository, for an operation its run needs. */
  @Post()
  @HttpCode(200)
  @ApiSummary('Get a repository token for a backup run (agent)', { errors: ['BACKUP_RUN_NOT_FOUND', 'BACKUP_TOKEN_REFUSED'] })
  @DeviceAuthenticated()
  @Audited('backup.token_issue', 'device')
  @ZodResponse(200, AgentBackupTokenResponseSchema)
  issue(@ZodBody(AgentBackupTokenRequestSchema) body: AgentBackupTokenRequest) {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return this.tokens.issueForRun(device.id, body);
  }
}
