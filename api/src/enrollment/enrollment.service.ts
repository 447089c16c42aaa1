import { Inject, Injectable } from '@nestjs/common';
import type { EnrollRequest, EnrollResponse } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { deriveKeys, randomToken, sha256Hex } from '../auth/secrets.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { hashClaimCode } from '../devices/claim-code-text.js';
import { ClaimCodesRepository } from '../devices/claim-codes.repository.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { modulesOf } from '../devices/device-modules.js';
import { HubService } from '../hub/hub.service.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { LivePublisher } from '../live/live-publisher.js';
import { DeviceEventsRepository } from '../device-events/device-events.repository.js';
import { commandSigningPublicKeyPem } from './command-signing-key.js';
import { hardwareFingerprint } from './fingerprint.js';

@Injectable()
export class EnrollmentService {
  private readonly claimKey: Buffer;
  private readonly signingPublicKey: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly rateLimiter: RateLimiter,
    private readonly claimCodes: ClaimCodesRepository,
    private readonly devices: DevicesRepository,
    private readonly overlay: OverlayAllocator,
    private readonly hub: HubService,
    private readonly live: LivePublisher,
    private readonly events: DeviceEventsRepository,
  ) {
    const keys = deriveKeys(config.API_SECRET_KEY);
    this.claimKey = keys.claimCodeHmac;
    this.signingPublicKey = commandSigningPublicKeyPem(keys.commandSigningSeed);
  }

  /**
   * Redeems a claim code. The device row is locked first, then the code row (the order revoke,
   * retire and new codes use too, so they never deadlock with an enrollment); of many concurrent
   * requests with one code exactly one gets past the "unused" check. Everything, hub peer
   * included, happens in one transaction, so a failure leaves the code usable and nothing
   * half-enrolled.
   */
  async enroll(request: EnrollRequest, sourceIp: string | null): Promise<EnrollResponse> {
    await this.rateLimiter.consume(
      'enroll',
      sourceIp ?? 'unknown',
      this.config.API_ENROLL_RATE_LIMIT_PER_IP,
      600,
      'too many enrollment attempts from this address: wait ten minutes',
    );
    if (!this.hub.isConfigured) throw new AppError('HUB_NOT_CONFIGURED');

    // The hub silently ignores a peer with its own key: the device could never connect.
    if (request.wgPublicKey === (await this.hub.publicKey())) throw new AppError('ENROLL_KEY_IS_HUB');

    return this.db.transaction(() => this.enrollLocked(request, sourceIp));
  }

  private async enrollLocked(request: EnrollRequest, sourceIp: string | null): Promise<EnrollResponse> {
    // Unknown codes all get the same answer: nobody learns which codes exist.
    const invalid = () => new AppError('CLAIM_CODE_INVALID', 'the claim code is not valid: check it, or ask for a new one');
    const found = await this.claimCodes.findByHash(hashClaimCode(this.claimKey, request.claimCode));
    if (!found) throw invalid();
    const device = await this.devices.findById(found.deviceId, { lock: true });
    const code = await this.claimCodes.findByIdForUpdate(found.id);
    if (!code) throw invalid();
    requestContext.annotate({ resourceId: code.deviceId, details: { claimCodeId: code.id } });
    if (code.usedAt) throw new AppError('CLAIM_CODE_USED');
    if (code.revokedAt) throw new AppError('CLAIM_CODE_REVOKED');
    if (code.expiresAt <= new Date()) throw new AppError('CLAIM_CODE_EXPIRED');
    if (!device || device.status !== 'pending')
      throw new AppError('CLAIM_CODE_REVOKED', 'the device of this claim code is no longer waiting for enrollment');
    const keyOwner = await this.devices.findByWgPublicKey(request.wgPublicKey);
    if (keyOwner) throw new AppError('ENROLL_KEY_IN_USE');

    const address = await this.overlay.allocate(device.organizationKind === 'internal' ? 'internal' : 'customer', device.id);
    await this.devices.releaseAddressOfEnded(address);
    const credential = `dc_${randomToken(32)}`;
    const enrolledAt = new Date();
    await this.activate(device.id, {
      status: 'active',
      hostname: request.hostname,
      agentVersion: request.agentVersion,
      hardware: request.hardware,
      localIps: request.localIps,
      macs: request.macs,
      wgPublicKey: request.wgPublicKey,
      sshHostKey: request.sshHostKey,
      overlayAddress: address,
      credentialHash: sha256Hex(credential),
      fingerprint: hardwareFingerprint({
        serial: request.hardware.serial,
        macs: request.macs,
        cpuId: request.hardware.cpu.id,
        installationSalt: request.installationSalt,
      }),
      installationSalt: request.installationSalt,
      enrolledAt,
    });
    await this.claimCodes.markUsed(code.id, sourceIp);
    await this.hub.sync();
    requestContext.afterCommit(() => this.hub.sync());
    requestContext.annotate({ details: { hostname: request.hostname, overlayAddress: address, agentVersion: request.agentVersion } });
    await this.events.append({
      deviceId: device.id,
      type: 'device.enrolled',
      severity: 'info',
      at: enrolledAt,
      details: { hostname: request.hostname, overlayAddress: address, agentVersion: request.agentVersion },
    });
    this.live.announceAfterCommit(
      {
        id: device.id,
        status: 'active',
        hostname: request.hostname,
        agentVersion: request.agentVersion,
        overlayAddress: address,
        enrolledAt: enrolledAt.toISOString(),
      },
      {
        type: 'device.enrolled',
        severity: 'info',
        at: enrolledAt.toISOString(),
        details: { hostname: request.hostname, overlayAddress: address },
      },
    );

    const overlay = this.overlay.overlay;
    return {
      deviceId: device.id,
      deviceName: device.name,
      deviceType: device.type,
      tunnel: {
        address,
        prefixLength: overlay.prefixLength,
        hubPublicKey: await this.hub.publicKey(),
        hubEndpoint: this.config.API_WG_ENDPOINT,
        hubAddress: overlay.hubAddress,
        // The hub only: customer LANs are never routed through the overlay.
        allowedIps: [`${overlay.hubAddress}/32`],
        persistentKeepaliveSeconds: this.config.API_WG_PERSISTENT_KEEPALIVE_SECONDS,
      },
      apiUrl: this.config.API_AGENT_API_URL,
      deviceCredential: credential,
      commandSigningPublicKey: this.signingPublicKey,
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
      modules: modulesOf(device.type, device.modules),
    };
  }

  /** The key check above cannot see a concurrent enrollment's uncommitted key; the unique index can. */
  private async activate(deviceId: string, values: Parameters<DevicesRepository['update']>[1]): Promise<void> {
    try {
      await this.devices.update(deviceId, values);
    } catch (error) {
      if (isUniqueViolation(error, 'uq_devices_wg_public_key')) throw new AppError('ENROLL_KEY_IN_USE');
      throw error;
    }
  }
}
