import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AgentBackupTransferKeySchema, BackupTransferKeySchema, type AgentBackupTransferKey } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Audited, DeviceAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { BackupEscrowService } from './backup-escrow.service.js';

@ApiTags('agent')
@Controller('agent/backup-transfer-key')
export class AgentBackupTransferController {
  constructor(private readonly escrow: BackupEscrowService) {}

  /** The public half of the age key the device made to receive a repository password; the same key again changes nothing. */
  @Post()
  @HttpCode(200)
  @ApiSummary('Report the device transfer key (agent)')
  @DeviceAuthenticated()
  @Audited('backup.transfer_key_report', 'device')
  @ZodResponse(200, BackupTransferKeySchema)
  report(@ZodBody(AgentBackupTransferKeySchema) body: AgentBackupTransferKey) {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return this.escrow.reportTransferKey(device.id, body.recipient);
  }
}
