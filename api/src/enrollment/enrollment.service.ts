import { Inject, Injectable } from '@nestjs/common';
import type { EnrollRequest, EnrollResponse } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { randomToken, sha256Hex } from '../common/crypto/secrets.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { AccessChanges } from '../redis/access-changes.js';
import { DevicesService } from '../devices/devices.service.js';
import { modulesOf } from '../devices/device-modules.js';
import { HubPeerSources } from '../hub/hub-peer-sources.js';
import { HubService } from '../hub/hub.service.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { hardwareFingerprint } from '../devices/fingerprint.js';
import { KeyStore } from '../keys/key-store.js';
import { SshCertificateAuthority } from '../ssh/ssh-certificate-authority.js';

@Injectable()
export class EnrollmentService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly rateLimiter: RateLimiter,
    private readonly devices: DevicesService,
    private readonly overlay: OverlayAllocator,
    private readonly hub: HubService,
    private readonly hubPeers: HubPeerSources,
    private readonly events: DeviceEventsService,
    private readonly keys: KeyStore,
    private readonly sshCa: SshCertificateAuthority,
    private readonly accessChanges: AccessChanges,
  ) {}

  /**
   * Redeems a claim code. The device row is locked first, then the code row (the order revoke,
   * retire and new codes use too, so they never deadlock with an enrollment); of many concurrent
   * requests with one code exactly one gets past the "unused" check. The database's part happens
   * in one transaction, so a failure leaves the code usable and nothing half-enrolled.
   *
   * The hub follows the committed state: it is probed before the transaction (down → refused,
   * nothing changed), and the new peer is applied once the transaction has committed, before the
   * answer leaves (any instance: the one that drives the hub applies it, hub-requests.ts). No `wg`
   * run happens while the transaction holds the overlay allocation's locks, so a burst of
   * enrollments does not queue behind the hub. Should the hub fail between the probe and the
   * apply, the device is enrolled and the periodic reconcile adds its peer.
   */
  async enroll(request: EnrollRequest, sourceIp: string | null): Promise<EnrollResponse> {
    await this.rateLimiter.consume(
      'enroll',
      sourceIp ?? 'unknown',
      this.config.API_ENROLL_RATE_LIMIT_PER_IP,
      600,
      'too many enrollment attempts from this address: wait ten minutes',
    );
    const hubPublicKey = await this.hub.probe();

    // The hub silently ignores a peer with its own key: the device could never connect.
    if (request.wgPublicKey === hubPublicKey) throw new AppError('ENROLL_KEY_IS_HUB');

    // Read before the transaction: file reads need not hold the device row's lock.
    const commandSigningKeys = await this.keys.validPublicKeys('command-signing');
    return this.db.transaction(() => this.enrollLocked(request, sourceIp, commandSigningKeys, hubPublicKey));
  }

  private async enrollLocked(
    request: EnrollRequest,
    sourceIp: string | null,
    commandSigningKeys: EnrollResponse['commandSigningKeys'],
    hubPublicKey: string,
  ): Promise<EnrollResponse> {
    // Unknown, used, revoked and expired codes: devices.service.ts (unknown ones all get one answer).
    const { device, claimCodeId } = await this.devices.lockClaimForEnrollment(request.claimCode);
    if (await this.devices.isWgKeyInUse(request.wgPublicKey)) throw new AppError('ENROLL_KEY_IN_USE');
    // A recovery stick's key too (hub-peer-sources.ts): the hub would refuse both peers.
    if ((await this.hubPeers.kindHolding(request.wgPublicKey)) !== undefined) throw new AppError('ENROLL_KEY_IN_USE');

    const address = await this.overlay.allocate(device.organizationKind === 'internal' ? 'internal' : 'customer', device.id);
    const credential = `dc_${randomToken(32)}`;
    const enrolledAt = new Date();
    await this.devices.activateEnrolled(device.id, claimCodeId, sourceIp, {
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
    requestContext.afterCommit(() => this.hub.applyCommitted());
    // A re-enrolled device's previous credential: every instance forgets what it cached.
    requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'device', id: device.id }));
    requestContext.annotate({ details: { hostname: request.hostname, overlayAddress: address, agentVersion: request.agentVersion } });
    await this.events.record(
      {
        deviceId: device.id,
        type: 'device.enrolled',
        severity: 'info',
        at: enrolledAt,
        details: { hostname: request.hostname, overlayAddress: address, agentVersion: request.agentVersion },
      },
      {
        status: 'active',
        hostname: request.hostname,
        agentVersion: request.agentVersion,
        overlayAddress: address,
        enrolledAt: enrolledAt.toISOString(),
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
        hubPublicKey,
        hubEndpoint: this.config.API_WG_ENDPOINT,
        hubAddress: overlay.hubAddress,
        // The hub only: customer LANs are never routed through the overlay.
        allowedIps: [`${overlay.hubAddress}/32`],
        persistentKeepaliveSeconds: this.config.API_WG_PERSISTENT_KEEPALIVE_SECONDS,
      },
      apiUrl: this.config.API_AGENT_API_URL,
      deviceCredential: credential,
      // The current key first; the single field is kept for protocol 1 agents that read only it.
      commandSigningKeys,
      commandSigningPublicKey: commandSigningKeys[0]!.publicKeyPem,
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
      modules: modulesOf(device.type, device.modules),
      // The device's sshd trusts the user CA for its own principal only (terminal and file sessions).
      ssh: await this.sshCa.setupFor(device.id),
    };
  }
}
