import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import type { AuthenticatedDevice } from '../common/context/request-context.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import { DevicesService } from '../devices/devices.service.js';

/** Bound on remembered credentials: a fleet of this size fits, an attacker's garbage does not grow it. */
const CACHE_MAX_ENTRIES = 100_000;

/**
 * Checks an agent request: a device credential, an active device, and (WireGuard's cryptokey
 * routing makes this unforgeable) the request's source is that device's own overlay address.
 *
 * Verified credentials are remembered for API_DEVICE_AUTH_CACHE_SECONDS so heartbeats at fleet
 * rate skip a query. Safe because every write re-checks that the device is still active (the
 * heartbeat group commit), and a revoked device's tunnel peer is removed at once.
 */
@Injectable()
export class DeviceAuthenticator {
  private readonly cache = new Map<string, { device: AuthenticatedDevice; expiresAt: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesService,
  ) {}

  async authenticate(request: FastifyRequest): Promise<AuthenticatedDevice> {
    const match = /^Bearer\s+(dc_[A-Za-z0-9_-]{20,100})$/.exec(request.headers.authorization ?? '');
    if (!request.headers.authorization) throw new AppError('DEVICE_AUTH_REQUIRED');
    if (!match) throw new AppError('DEVICE_AUTH_INVALID', 'send the device credential as "Authorization: Bearer dc_…"');
    const device = await this.lookup(sha256Hex(match[1]!));
    // The TCP peer itself, never request.ip: a trusted proxy's X-Forwarded-For (API_TRUST_PROXY)
    // must not vouch for an overlay address. Agents reach the API directly over the tunnel.
    const peer = (request.raw.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (this.config.API_AGENT_SOURCE_CHECK && peer !== device.overlayAddress) {
      throw new AppError('DEVICE_SOURCE_MISMATCH', `agent requests must come from the device's overlay address, not ${peer}`);
    }
    return device;
  }

  private async lookup(credentialHash: string): Promise<AuthenticatedDevice> {
    const now = Date.now();
    const cached = this.cache.get(credentialHash);
    if (cached && cached.expiresAt > now) return cached.device;
    this.cache.delete(credentialHash);

    const found = await this.devices.findActiveByCredentialHash(credentialHash);
    if (!found) throw new AppError('DEVICE_AUTH_INVALID');
    const device: AuthenticatedDevice = { id: found.id, overlayAddress: found.overlayAddress };
    const ttlMs = this.config.API_DEVICE_AUTH_CACHE_SECONDS * 1000;
    if (ttlMs > 0) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(credentialHash, { device, expiresAt: now + ttlMs });
    }
    return device;
  }
}
