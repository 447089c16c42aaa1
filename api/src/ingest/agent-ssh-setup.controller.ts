import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DeviceSshSetupSchema } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { AppError } from '../common/errors/app-error.js';
import { DeviceAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { SshCertificateAuthority } from '../ssh/ssh-certificate-authority.js';

/**
 * What the calling device's sshd must trust for terminal and file sessions: the same `ssh` the
 * enroll answer carries, for devices enrolled before it existed (`xspectre-agent configure-ssh`,
 * run by `bootstrap.sh --configure-ssh`).
 */
@ApiTags('agent')
@Controller('agent/ssh-setup')
export class AgentSshSetupController {
  constructor(private readonly sshCa: SshCertificateAuthority) {}

  @Get()
  @ApiSummary("Fetch the device's SSH setup (agent)")
  @DeviceAuthenticated()
  @ZodResponse(200, DeviceSshSetupSchema)
  setup() {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return this.sshCa.setupFor(device.id);
  }
}
