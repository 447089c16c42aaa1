import { Injectable } from '@nestjs/common';
import type { AgentCredentialRequest, AgentCredentialResponse } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type AuthenticatedDevice } from '../common/context/request-context.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import { DevicesService } from '../devices/devices.service.js';
import { CommandsRepository } from './commands.repository.js';

/**
 * `credential.rotate`: the agent makes the new credential itself (so it is never in the stored,
 * signed command) and sends it once, authenticated with the old one, while the command runs.
 * The API keeps its hash as the device's pending credential; both work until the first request
 * with the new one (DevicesService.findActiveByCredentialHash), which drops the old one on every
 * instance (api/src/ingest/credential-invalidations.ts).
 */
@Injectable()
export class CredentialRotationService {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly devices: DevicesService,
  ) {}

  async receive(device: AuthenticatedDevice, request: AgentCredentialRequest): Promise<AgentCredentialResponse> {
    // Never the credential itself in the trail: its hash's first digits tell retries apart.
    const hash = sha256Hex(request.credential);
    requestContext.annotate({
      resourceId: device.id,
      subjectEmail: `device:${device.id}`,
      details: { commandId: request.commandId, credentialSha256Prefix: hash.slice(0, 12) },
    });
    const command = await this.commands.findById(request.commandId);
    if (
      !command ||
      command.deviceId !== device.id ||
      command.action !== 'credential.rotate' ||
      !['delivered', 'running'].includes(command.status)
    )
      throw new AppError('COMMAND_NOT_FOUND', `device ${device.id} has no credential rotation ${request.commandId} in progress`);
    await this.devices.setPendingCredential(device.id, hash);
    return { commandId: command.id, status: 'pending' };
  }
}
