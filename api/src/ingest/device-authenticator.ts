import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import type { AuthenticatedDevice } from '../common/context/request-context.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import { DevicesService } from '../devices/devices.service.js';
import { AuditService } from '../audit/audit.service.js';
import { CredentialInvalidations } from './credential-invalidations.js';
import { AccessChanges } from '../redis/access-changes.js';

/** Bound on remembered credentials: a fleet of this size fits, an attacker's garbage does not grow it. */
const CACHE_MAX_ENTRIES = 100_000;

/**
 * Checks an agent request: a device credential, an active device, and (WireGuard's cryptokey
 * routing makes this unforgeable) the request's source is that device's own overlay address.
 *
 * Verified credentials are remembered for API_DEVICE_AUTH_CACHE_SECONDS (several heartbeat
 * intervals, or most heartbeats would miss) so heartbeats at fleet rate skip a query. Safe
 * because a revoke, retire, quarantine or new enrollment of the device makes every instance
 * forget it at once (AccessChanges), every write re-checks that the device is still active (the
 * heartbeat group commit), and a revoked device's tunnel peer is removed at once; the TTL bounds
 * only a lost announcement.
 */
@Injectable()
export class DeviceAuthenticator {
  private readonly cache = new Map<string, { device: AuthenticatedDevice; expiresAt: number }>();
  /** When each device's credentials were last forgotten: a lookup that started before must not cache what it read. */
  private readonly forgottenAt = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesService,
    private readonly invalidations: CredentialInvalidations,
    private readonly audit: AuditService,
    accessChanges: AccessChanges,
  ) {
    // A rotation finished (here or on another instance): the old credential must stop working at once.
    invalidations.onInvalidate((deviceId) => this.forget(deviceId));
    accessChanges.onChange((change) => {
      if (change.kind === 'device') this.forget(change.id);
    });
  }

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

    const started = performance.now();
    const found = await this.devices.findActiveByCredentialHash(credentialHash);
    if (!found) throw new AppError('DEVICE_AUTH_INVALID');
    const device: AuthenticatedDevice = { id: found.id, overlayAddress: found.overlayAddress };
    if (found.promoted) await this.rotated(device.id);
    const ttlMs = this.config.API_DEVICE_AUTH_CACHE_SECONDS * 1000;
    // A rotation finished while this lookup ran: what it read may be the old credential.
    if (ttlMs > 0 && (this.forgottenAt.get(device.id) ?? -Infinity) < started) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(credentialHash, { device, expiresAt: now + ttlMs });
    }
    return device;
  }

  /** The first request with a rotated credential made it current: every instance forgets the old one; the trail records it. */
  private async rotated(deviceId: string): Promise<void> {
    await this.invalidations.invalidate(deviceId);
    await this.audit.appendDetached({
      action: 'device.credential_confirmed',
      resourceType: 'device',
      resourceId: deviceId,
      result: 'success',
      userId: null,
      userEmail: `device:${deviceId}`,
      details: { detail: 'first request with the rotated credential: the previous credential no longer works' },
    });
  }

  /** Drops every cached credential of the device (a linear pass: rotations are rare, the cache bounded). */
  private forget(deviceId: string): void {
    for (const [hash, entry] of this.cache) if (entry.device.id === deviceId) this.cache.delete(hash);
    const now = performance.now();
    this.forgottenAt.set(deviceId, now);
    // Only lookups in flight need the mark; a few seconds cover them.
    for (const [id, at] of this.forgottenAt) if (now - at > 60_000) this.forgottenAt.delete(id);
  }
}
