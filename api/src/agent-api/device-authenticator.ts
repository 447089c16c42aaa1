import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import type { AuthenticatedDevice } from '../common/context/request-context.js';
import { sha256Hex } from '../auth/secrets.js';
import { DevicesRepository } from '../devices/devices.repository.js';

/**
 * Checks an agent request: a device credential, an active device, and (WireGuard's cryptokey
 * routing makes this unforgeable) the request's source is that device's own overlay address.
 */
@Injectable()
export class DeviceAuthenticator {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesRepository,
  ) {}

  async authenticate(request: FastifyRequest): Promise<AuthenticatedDevice> {
    const match = /^Bearer\s+(dc_[A-Za-z0-9_-]{20,100})$/.exec(request.headers.authorization ?? '');
    if (!request.headers.authorization) throw new AppError('DEVICE_AUTH_REQUIRED');
    if (!match) throw new AppError('DEVICE_AUTH_INVALID', 'send the device credential as "Authorization: Bearer dc_…"');
    const device = await this.devices.findByCredentialHash(sha256Hex(match[1]!));
    if (!device || device.status !== 'active' || !device.overlayAddress) throw new AppError('DEVICE_AUTH_INVALID');
    if (this.config.API_AGENT_SOURCE_CHECK && request.ip !== device.overlayAddress) {
      throw new AppError('DEVICE_SOURCE_MISMATCH', `agent requests must come from the device's overlay address, not ${request.ip}`);
    }
    return { id: device.id, overlayAddress: device.overlayAddress, lastHeartbeatAt: device.lastHeartbeatAt };
  }
}
