import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { generateKeyPair } from '@xspectre/wireguard';
import type { RecoveryConf, RecoveryMedium } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { randomToken, sha256Hex } from '../common/crypto/secrets.js';
import { Database } from '../db/database.js';
import { AccessChanges } from '../redis/access-changes.js';
import { AuditService } from '../audit/audit.service.js';
import { KeyStore } from '../keys/key-store.js';
import { HubService } from '../hub/hub.service.js';
import { HubPeerSources } from '../hub/hub-peer-sources.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { RecoveryMediaRepository } from './recovery-media.repository.js';
import type { RecoveryMediumEntity } from './recovery-medium.entity.js';
import { toRecoveryMediumDto } from './recovery.mapper.js';
import { personaliseImage, RecoveryImageError } from './recovery-image.js';

/** How often the API looks for personalised images past their download window. */
const SWEEP_INTERVAL_MS = 60_000;
const IMAGE_FILE = /^([0-9a-f-]{36})\.img$/;
const STAGING_FILE = /^\.[0-9a-f-]{36}\.img\.part$/;
/** A create's staging file or address reservation older than this belongs to a process that died. */
const STALE_CREATE_MS = 3600_000;

/** A personalised image ready to stream. */
export interface RecoveryImageDownload {
  path: string;
  fileName: string;
  sizeBytes: number;
  sha256: string;
}

/** PEM (SPKI) → base64 of its DER: the form recovery.conf's XS_COMMAND_KEYS carries. */
function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
}

/**
 * Recovery media (issue 16, item 2): a stick's own identity (WireGuard key pair, overlay address
 * from the recovery pool, `xsr1.` credential) and its personalised image. Only the public key and
 * the credential's SHA-256 are stored; the private key and the credential exist only in the
 * personalised image, which is deleted when its download window ends or the medium is revoked.
 */
@Injectable()
export class RecoveryMediaService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RecoveryMediaService.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    private readonly media: RecoveryMediaRepository,
    private readonly devices: DevicesService,
    private readonly overlay: OverlayAllocator,
    private readonly hub: HubService,
    private readonly keys: KeyStore,
    private readonly events: DeviceEventsService,
    private readonly audit: AuditService,
    private readonly accessChanges: AccessChanges,
    peerSources: HubPeerSources,
  ) {
    // Active media are hub peers (AllowedIPs their /32), never devices.
    peerSources.register('recovery', () => this.media.activePeers());
    // A revoked or retired device's stick is revoked with it (same transaction, device row locked first).
    devices.onEndOfService(async (actor, deviceId, status) => {
      const active = await this.media.lockActiveForDevice(deviceId);
      if (active) await this.revokeLocked(actor, active, `the device was ${status}`);
    });
  }

  private get mediaDir(): string {
    return resolve(this.config.API_RECOVERY_MEDIA_DIR);
  }

  private imagePath(mediumId: string): string {
    return join(this.mediaDir, `${mediumId}.img`);
  }

  /** Where create() writes the image before its transaction (a name no download or sweep of images matches). */
  private stagingPath(mediumId: string): string {
    return join(this.mediaDir, `.${mediumId}.img.part`);
  }

  async list(deviceId: string): Promise<{ media: RecoveryMedium[] }> {
    const device = await this.devices.requireDevice(deviceId);
    const now = new Date();
    return { media: (await this.media.listForDevice(deviceId)).map((m) => toRecoveryMediumDto(m, device.name, now)) };
  }

  /**
   * Issues a new stick identity and its personalised image; an active medium of the device is
   * revoked (at most one per device). The slow part, copying and hashing the ~166 MiB image,
   * holds no lock and no transaction:
   *
   * 1. checks (generic image, hub, device) and the stick's key pair and credential, in memory;
   * 2. a recovery-pool address reserved in a short transaction of its own (a live lease under the
   *    device: allocation is serialized by OverlayAllocator, so no other create or enrollment gets
   *    it), because recovery.conf must carry it;
   * 3. the personalised image written to `.<id>.img.part` in the media directory and hashed;
   * 4. one short transaction: the device row locked and checked again, the previous medium
   *    revoked, the reservation claimed, the medium and its audit row inserted, the file renamed
   *    to `<id>.img` as the last step before the commit; then the hub applies the peer set.
   *
   * Any failure removes both files and drops the reservation: no row, no peer, no file. A process
   * that dies between 2 and 4 leaves a reservation and a `.part` file, which sweep() removes after
   * an hour. Two concurrent creates for one device both get here; the second to lock the device
   * revokes the first's medium (its image is deleted after the commit), so one stays active.
   */
  async create(actor: Actor, deviceId: string): Promise<{ medium: RecoveryMedium; flashingSteps: string[] }> {
    const genericImage = await this.genericImage();
    // Read before any transaction: the key store's files, and the hub (down: nothing changes), as enrollment does.
    const hubPublicKey = await this.hub.probe();
    const commandKeys = await this.keys.validPublicKeys('command-signing');
    // Checked here to fail before reserving anything, and again under the device's lock.
    this.assertMayCreate(actor, await this.devices.requireDevice(deviceId));

    const id = randomUUID();
    const keyPair = generateKeyPair();
    const credential = `xsr1.${id}.${randomToken(32)}`;
    const address = await this.db.detached(() => this.overlay.allocate('recovery', deviceId));
    const staging = this.stagingPath(id);
    const target = this.imagePath(id);
    try {
      const device = await this.devices.requireDevice(deviceId);
      const overlay = this.overlay.overlay;
      const conf: RecoveryConf = {
        XS_RECOVERY_CONF_VERSION: '1',
        XS_DEVICE_ID: deviceId,
        XS_MEDIUM_ID: id,
        XS_API_URL: this.config.API_AGENT_API_URL,
        XS_CREDENTIAL: credential,
        XS_WG_PRIVATE_KEY: keyPair.privateKey,
        XS_WG_ADDRESS: `${address}/32`,
        XS_WG_HUB_PUBLIC_KEY: hubPublicKey,
        XS_WG_HUB_ENDPOINT: this.config.API_WG_ENDPOINT,
        // The hub only, as for the device's own tunnel (enrollment.service.ts).
        XS_WG_ALLOWED_IPS: `${overlay.hubAddress}/32`,
        XS_COMMAND_KEYS: commandKeys.map((k) => `${k.keyId}:${pemBody(k.publicKeyPem)}`).join(','),
        ...(/^[^\p{Cc}]{1,200}$/u.test(device.name) ? { XS_DEVICE_NAME: device.name } : {}),
      };
      let image: { sha256: string; sizeBytes: number };
      try {
        image = await personaliseImage({ genericImage, target: staging, workDir: this.mediaDir, conf });
      } catch (error) {
        if (error instanceof RecoveryImageError) throw new AppError('RECOVERY_IMAGE_INVALID', error.message);
        throw error;
      }

      const created = await this.committed(async (manager) => {
        const locked = await this.devices.requireDevice(deviceId, { lock: true });
        this.assertMayCreate(actor, locked);
        const previous = await this.media.lockActiveForDevice(deviceId);
        if (previous) await this.revokeLocked(actor, previous, 'replaced by a new recovery medium');
        if (!(await this.overlay.holds(deviceId, address))) {
          throw new Error(`the reserved recovery address ${address} of device ${deviceId} was released meanwhile`);
        }
        const now = new Date();
        await this.media.insert({
          id,
          deviceId,
          wgPublicKey: keyPair.publicKey,
          overlayAddress: address,
          credentialHash: sha256Hex(credential),
          imageSha256: image.sha256,
          imageSizeBytes: String(image.sizeBytes),
          downloadExpiresAt: new Date(now.getTime() + this.config.API_RECOVERY_DOWNLOAD_SECONDS * 1000),
          createdBy: actor.email,
          createdAt: now,
        });
        await rename(staging, target);
        // Young for sweep() (a file without its row is spared for a minute) while this commits.
        await utimes(target, now, now);
        // The route has no request transaction (@OwnTransaction): the audit row commits with the medium.
        await this.audit.append(manager, {
          action: 'recovery_medium.create',
          resourceType: 'device',
          resourceId: deviceId,
          result: 'success',
          details: {
            method: 'POST',
            route: 'devices/:id/recovery-media',
            params: { id: deviceId },
            mediumId: id,
            overlayAddress: address,
            wgPublicKey: keyPair.publicKey,
            imageSha256: image.sha256,
            replaced: previous?.id ?? null,
          },
        });
        return { device: locked };
      });
      // The new peer (and a replaced one's removal), here or on the instance that drives the hub.
      await this.hub.applyCommitted().catch((error: unknown) => {
        // Committed: the periodic reconcile adds the peer (API_WG_RECONCILE_SECONDS).
        this.logger.warn({ msg: 'hub not updated after a recovery medium was created', deviceId, err: (error as Error).message });
      });
      const dto = toRecoveryMediumDto((await this.media.findById(id))!, created.device.name);
      return { medium: dto, flashingSteps: dto.flashingSteps ?? [] };
    } catch (error) {
      await rm(staging, { force: true });
      if (!(await this.media.findById(id))) {
        await rm(target, { force: true });
        await this.db
          .detached(() => this.overlay.unreserve(deviceId, address))
          .catch((e: unknown) => {
            this.logger.warn({ msg: 'recovery address reservation not dropped (the sweep drops it)', deviceId, err: (e as Error).message });
          });
      }
      throw error;
    }
  }

  private assertMayCreate(actor: Actor, device: Awaited<ReturnType<DevicesService['requireDevice']>>): void {
    this.devices.assertMayChange(actor, device.organizationKind);
    if (device.status !== 'active')
      throw new AppError('DEVICE_NOT_ACTIVE', `device ${device.name} is ${device.status}: only an enrolled device gets a recovery stick`);
  }

  /**
   * A transaction of its own whose after-commit steps (a replaced medium's image deleted, the
   * access change announced) run before this returns, as the request unit of work would run them.
   */
  private async committed<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const ctx = requestContext.get();
    const steps: Array<() => Promise<void>> = [];
    const outer = ctx?.afterCommit;
    if (ctx) ctx.afterCommit = steps;
    let result: T;
    try {
      result = await this.db.detached(fn);
    } finally {
      if (ctx) ctx.afterCommit = outer;
    }
    for (const step of steps) {
      await step().catch((error: unknown) => this.logger.error({ msg: 'after-commit step failed', err: (error as Error).message }));
    }
    return result;
  }

  /** The personalised image while it is downloadable; RECOVERY_IMAGE_GONE after its window or a revoke. Audited either way. */
  async download(actor: Actor, deviceId: string, mediumId: string): Promise<RecoveryImageDownload> {
    const record = (result: 'success' | 'failure', errorMessage?: string) =>
      this.audit.appendDetached({
        action: 'recovery_medium.image_download',
        resourceType: 'device',
        resourceId: deviceId,
        result,
        userId: actor.userId,
        userEmail: actor.email,
        ...(errorMessage ? { errorMessage } : {}),
        details: { method: 'GET', mediumId },
      });
    const medium = await this.media.findForDevice(mediumId, deviceId);
    if (!medium) {
      await record('failure', 'RECOVERY_MEDIUM_NOT_FOUND');
      throw new AppError('RECOVERY_MEDIUM_NOT_FOUND', `device ${deviceId} has no recovery medium ${mediumId}`);
    }
    const path = this.imagePath(medium.id);
    const now = new Date();
    if (medium.state !== 'active' || !medium.downloadExpiresAt || medium.downloadExpiresAt <= now) {
      await this.forgetImage(medium.id);
      await record('failure', 'RECOVERY_IMAGE_GONE');
      throw new AppError(
        'RECOVERY_IMAGE_GONE',
        `the image of recovery medium ${medium.id} is no longer downloadable (${medium.state === 'active' ? 'its download window ended' : 'the medium was revoked'})`,
      );
    }
    const size = await stat(path)
      .then((s) => s.size)
      .catch(() => null);
    if (size === null) {
      await record('failure', 'RECOVERY_IMAGE_GONE');
      throw new AppError('RECOVERY_IMAGE_GONE', `the image of recovery medium ${medium.id} is no longer on this server`);
    }
    await record('success');
    return { path, fileName: `xspectre-recovery-${medium.id.slice(0, 8)}.img`, sizeBytes: size, sha256: medium.imageSha256 };
  }

  /** Revokes: state revoked, hub peer removed after commit, credential dead on every instance, image deleted. */
  async revoke(actor: Actor, deviceId: string, mediumId: string): Promise<RecoveryMedium> {
    const { medium, device } = await this.db.transaction(async () => {
      const device = await this.devices.requireDevice(deviceId, { lock: true });
      this.devices.assertMayChange(actor, device.organizationKind);
      const found = await this.media.lockForDevice(mediumId, deviceId);
      if (!found) throw new AppError('RECOVERY_MEDIUM_NOT_FOUND', `device ${deviceId} has no recovery medium ${mediumId}`);
      requestContext.annotate({ resourceId: deviceId, details: { mediumId, previousState: found.state } });
      if (found.state === 'active') {
        await this.revokeLocked(actor, found, 'revoked by an operator');
        // Like a device's revoke: a hub that cannot drop the peer fails the revoke; applied again after commit.
        await this.hub.applyWithinTransaction();
      }
      return { medium: found, device };
    });
    return toRecoveryMediumDto((await this.media.findById(medium.id))!, device.name);
  }

  /** In the caller's transaction, the medium row locked. */
  private async revokeLocked(actor: Actor, medium: RecoveryMediumEntity, why: string): Promise<void> {
    const now = new Date();
    await this.media.revoke(medium.id, actor.email, now);
    await this.overlay.releaseAddress(medium.deviceId, medium.overlayAddress);
    if (medium.registeredAt) {
      await this.events.record({
        deviceId: medium.deviceId,
        type: 'device.recovery-mode-ended',
        severity: 'info',
        at: now,
        details: { mediumId: medium.id, reason: why },
      });
    }
    requestContext.afterCommit(async () => {
      await this.forgetImage(medium.id);
      // Every instance forgets the stick's cached credential (recovery-authenticator.ts listens for its device).
      await this.accessChanges.announce({ kind: 'device', id: medium.deviceId });
    });
  }

  private async forgetImage(mediumId: string): Promise<void> {
    await rm(this.imagePath(mediumId), { force: true });
    await this.media.clearDownload(mediumId).catch(() => undefined);
  }

  private async genericImage(): Promise<string> {
    const path = this.config.API_RECOVERY_IMAGE;
    if (!path) {
      throw new AppError(
        'RECOVERY_IMAGE_NOT_BUILT',
        'API_RECOVERY_IMAGE is not set: build the generic image with `sudo recovery-usb/build.sh --out DIR` and set API_RECOVERY_IMAGE=DIR/xspectre-recovery.img',
      );
    }
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new AppError(
        'RECOVERY_IMAGE_NOT_BUILT',
        `API_RECOVERY_IMAGE (${path}) cannot be read: build it with \`sudo recovery-usb/build.sh --out DIR\``,
      );
    }
    return path;
  }

  /**
   * Deletes personalised images past their download window, and any file of the directory that no
   * downloadable medium owns (a create that rolled back after writing it). Never throws.
   */
  async sweep(now = new Date()): Promise<number> {
    let removed = 0;
    try {
      for (const m of await this.media.expiredDownloads(now)) {
        await this.forgetImage(m.id);
        removed++;
      }
      const names = await readdir(this.mediaDir).catch(() => [] as string[]);
      for (const name of names) {
        // A create's staging file outlives it only when its process died (create() removes it otherwise).
        if (STAGING_FILE.test(name)) {
          const info = await stat(join(this.mediaDir, name)).catch(() => null);
          if (info && now.getTime() - info.mtimeMs > STALE_CREATE_MS) {
            await rm(join(this.mediaDir, name), { force: true });
            removed++;
          }
          continue;
        }
        const match = IMAGE_FILE.exec(name);
        if (!match) continue;
        const medium = await this.media.findById(match[1]!);
        const info = await stat(join(this.mediaDir, name)).catch(() => null);
        // A file younger than a minute may belong to a create still in its transaction.
        const young = info !== null && now.getTime() - info.mtimeMs < 60_000;
        if (!young && (!medium || medium.state !== 'active' || !medium.downloadExpiresAt || medium.downloadExpiresAt <= now)) {
          await rm(join(this.mediaDir, name), { force: true });
          removed++;
        }
      }
      // Recovery addresses reserved by a create whose process died before its transaction (create()
      // drops them otherwise): never a peer, so deleted rather than quarantined.
      const dropped = await this.db.changedRows<{ address: string }>(
        `DELETE FROM overlay_leases l
          WHERE l.pool = 'recovery' AND l.released_at IS NULL AND l.allocated_at < $1
            AND NOT EXISTS (SELECT 1 FROM recovery_media m WHERE m.device_id = l.device_id AND m.overlay_address = l.address AND m.state = 'active')
          RETURNING l.address`,
        [new Date(now.getTime() - STALE_CREATE_MS)],
      );
      if (dropped.length > 0)
        this.logger.warn({ msg: 'dropped recovery address reservations of creates that never finished', count: dropped.length });
    } catch (error) {
      this.logger.warn({ msg: 'recovery image sweep failed', err: (error as Error).message });
    }
    return removed;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
