import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import type { AuthenticatedRecovery } from '../common/context/request-context.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import { AccessChanges } from '../redis/access-changes.js';
import type { RecoveryRequestAuthenticator } from '../auth/recovery-request-authenticator.js';
import { RecoveryMediaRepository } from './recovery-media.repository.js';

const CACHE_MAX_ENTRIES = 10_000;
/** last_seen_at is written at most this often per medium (per instance). */
const LAST_SEEN_WRITE_MS = 30_000;

interface Cached {
  recovery: AuthenticatedRecovery;
  overlayAddress: string;
  expiresAt: number;
}

/**
 * Checks a recovery stick's request (`@RecoveryAuthenticated()` routes): an `xsr1.` credential of an
 * active medium of a device in service, and (as for agents) the request's source is the medium's
 * overlay address when API_AGENT_SOURCE_CHECK is on. A device credential (`dc_…`) is refused here,
 * as the device authenticator refuses this one. Verified credentials are remembered for
 * API_DEVICE_AUTH_CACHE_SECONDS; a revoke (or the device's revoke or retire) makes every instance
 * forget its device's entries at once (AccessChanges, kind `device`).
 */
@Injectable()
export class RecoveryAuthenticator implements RecoveryRequestAuthenticator {
  private readonly logger = new Logger(RecoveryAuthenticator.name);
  private readonly cache = new Map<string, Cached>();
  private readonly forgottenAt = new Map<string, number>();
  private readonly lastSeenWrite = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly media: RecoveryMediaRepository,
    accessChanges: AccessChanges,
  ) {
    accessChanges.onChange((change) => {
      if (change.kind === 'device') this.forget(change.id);
    });
  }

  async authenticate(request: FastifyRequest): Promise<AuthenticatedRecovery> {
    const header = request.headers.authorization;
    if (!header) throw new AppError('RECOVERY_AUTH_REQUIRED');
    const match = /^Bearer\s+(xsr1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43})$/.exec(header);
    if (!match) throw new AppError('RECOVERY_AUTH_INVALID', 'send the recovery credential as "Authorization: Bearer xsr1.…"');
    const found = await this.lookup(sha256Hex(match[1]!));
    const peer = (request.raw.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (this.config.API_AGENT_SOURCE_CHECK && peer !== found.overlayAddress) {
      throw new AppError('DEVICE_SOURCE_MISMATCH', `recovery requests must come from the stick's overlay address, not ${peer}`);
    }
    this.touch(found.recovery.mediumId);
    return found.recovery;
  }

  private async lookup(credentialHash: string): Promise<Cached> {
    const now = Date.now();
    const cached = this.cache.get(credentialHash);
    if (cached && cached.expiresAt > now) return cached;
    this.cache.delete(credentialHash);
    const started = performance.now();
    const found = await this.media.findActiveByCredentialHash(credentialHash);
    if (!found) throw new AppError('RECOVERY_AUTH_INVALID');
    const entry: Cached = {
      recovery: { mediumId: found.id, deviceId: found.deviceId },
      overlayAddress: found.overlayAddress,
      expiresAt: now + this.config.API_DEVICE_AUTH_CACHE_SECONDS * 1000,
    };
    // A revoke announced while this lookup ran: what it read may be stale.
    if (this.config.API_DEVICE_AUTH_CACHE_SECONDS > 0 && (this.forgottenAt.get(found.deviceId) ?? -Infinity) < started) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(credentialHash, entry);
    }
    return entry;
  }

  /** last_seen_at, throttled: not a write per request. Best-effort, off the request's transaction. */
  private touch(mediumId: string): void {
    const now = Date.now();
    if (now - (this.lastSeenWrite.get(mediumId) ?? 0) < LAST_SEEN_WRITE_MS) return;
    this.lastSeenWrite.set(mediumId, now);
    if (this.lastSeenWrite.size > CACHE_MAX_ENTRIES) this.lastSeenWrite.delete(this.lastSeenWrite.keys().next().value!);
    this.media.touchLastSeen(mediumId, new Date(now)).catch((error: unknown) => {
      this.logger.warn({ msg: 'recovery medium last_seen_at not written', mediumId, err: (error as Error).message });
    });
  }

  private forget(deviceId: string): void {
    for (const [hash, entry] of this.cache) if (entry.recovery.deviceId === deviceId) this.cache.delete(hash);
    const now = performance.now();
    this.forgottenAt.set(deviceId, now);
    for (const [id, at] of this.forgottenAt) if (now - at > 60_000) this.forgottenAt.delete(id);
  }
}
