import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BackupServerReportAckSchema, BackupServerReportSchema, type BackupServerReport } from '@xspectre/contracts';
import { Audited, ServiceAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupCapacityService } from './backup-capacity.service.js';

/** What the backup server (backup-server/) calls, with its service credential. */
@ApiTags('backup-server')
@Controller('backup-server')
export class BackupServerController {
  constructor(private readonly capacity: BackupCapacityService) {}

  @Post('report')
  @HttpCode(200)
  @ApiSummary('Report pool space, scrub result and per-device usage (backup server)')
  @ServiceAuthenticated('backup-server')
  @Audited('backup.server_report', 'service_credential')
  @ZodResponse(200, BackupServerReportAckSchema)
  report(@ZodBody(BackupServerReportSchema) body: BackupServerReport) {
    return this.capacity.record(body);
  }
}
