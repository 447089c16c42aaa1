import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AgentCredentialRequestSchema, AgentCredentialResponseSchema, type AgentCredentialRequest } from '@xspectre/contracts';
import { Audited, DeviceAuthenticated } from '../common/http/route-access.decorators.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { CredentialRotationService } from './credential-rotation.service.js';

@ApiTags('agent')
@Controller('agent/credential')
export class AgentCredentialController {
  constructor(private readonly rotation: CredentialRotationService) {}

  /** The credential a running credential.rotate made, sent with the current one; it works beside it until its first use. */
  @Post()
  @HttpCode(200)
  @ApiSummary('Hand over a rotated device credential (agent)', { errors: ['COMMAND_NOT_FOUND', 'DEVICE_CREDENTIAL_REFUSED'] })
  @DeviceAuthenticated()
  @Audited('device.credential_rotate', 'device')
  @ZodResponse(200, AgentCredentialResponseSchema)
  receive(@ZodBody(AgentCredentialRequestSchema) body: AgentCredentialRequest) {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return this.rotation.receive(device, body);
  }
}
