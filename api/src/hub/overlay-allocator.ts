import { Inject, Injectable } from '@nestjs/common';
import { PoolExhaustedError, allocateAddress, parseOverlayConfig, type OverlayConfig, type PoolName } from '@xspectre/wireguard';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { OverlayLeasesRepository } from './overlay-leases.repository.js';

export function overlayConfigFrom(config: AppConfig): OverlayConfig {
  const pools: Partial<Record<PoolName, string>> = {};
  if (config.API_OVERLAY_POOL_INTERNAL) pools.internal = config.API_OVERLAY_POOL_INTERNAL;
  if (config.API_OVERLAY_POOL_CUSTOMER) pools.customer = config.API_OVERLAY_POOL_CUSTOMER;
  if (config.API_OVERLAY_POOL_RESERVED) pools.reserved = config.API_OVERLAY_POOL_RESERVED;
  if (config.API_OVERLAY_POOL_RECOVERY) pools.recovery = config.API_OVERLAY_POOL_RECOVERY;
  return parseOverlayConfig({ cidr: config.API_OVERLAY_CIDR, hubAddress: config.API_OVERLAY_HUB_ADDRESS, pools });
}

/** Hands out overlay addresses from the device's pool; released addresses sit in quarantine first. */
@Injectable()
export class OverlayAllocator {
  readonly overlay: OverlayConfig;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly leases: OverlayLeasesRepository,
  ) {
    this.overlay = overlayConfigFrom(config);
  }

  /**
   * Must run inside a transaction (enrollment's; or one of its own, as a reservation that a
   * later transaction claims: recovery-media.service.ts).
   */
  async allocate(pool: PoolName, deviceId: string): Promise<string> {
    await this.leases.lockAllocation();
    const since = new Date(Date.now() - this.config.API_OVERLAY_QUARANTINE_SECONDS * 1000);
    const taken = new Set(await this.leases.takenAddresses(since));
    let address: string;
    try {
      address = allocateAddress(this.overlay, pool, taken);
    } catch (error) {
      if (error instanceof PoolExhaustedError) {
        throw new AppError(
          'OVERLAY_POOL_EXHAUSTED',
          `all ${error.size} addresses of the ${pool} pool are in use or quarantined: widen the pool (API_OVERLAY_POOL_*) or retire devices`,
        );
      }
      throw error;
    }
    await this.leases.insert({ address, deviceId, pool });
    return address;
  }

  /** Whether the device still holds this address (a reservation not released or dropped meanwhile). */
  holds(deviceId: string, address: string): Promise<boolean> {
    return this.leases.isLive(deviceId, address);
  }

  /**
   * Drops a reservation that never became a peer (its create failed): deleted, not quarantined,
   * since no packet and no config of a peer ever carried it outside the failed create's temp file.
   */
  unreserve(deviceId: string, address: string): Promise<number> {
    return this.leases.deleteLive(deviceId, address);
  }

  release(deviceId: string): Promise<number> {
    return this.leases.releaseForDevice(deviceId);
  }

  /** Releases one address of the device (a revoked recovery stick's) into quarantine; the device's other leases stay. */
  releaseAddress(deviceId: string, address: string): Promise<number> {
    return this.leases.releaseAddress(deviceId, address);
  }
}
