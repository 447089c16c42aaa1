import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isSmallOrderWireGuardKey } from '@xspectre/contracts';
import { WgCliHubDriver, isWireGuardKey, type HubDriver } from '@xspectre/wireguard';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { TunnelPeersRepository, type TunnelStats } from './tunnel-peers.repository.js';
import { LivePublisher } from '../live/live-publisher.js';

/** An active device the hub cannot have as a peer; it stays cut off until re-enrolled with a new key. */
export interface RefusedPeer {
  deviceId: string;
  publicKey: string;
  address: string;
  reason: 'invalid key' | 'small-order key' | "the hub's own key" | 'not kept by the hub';
}

/** The hub's peers at the last `wg show`: each one's latest handshake (null = never). */
export interface TunnelSnapshot {
  readAt: Date;
  handshakes: Array<Date | null>;
}

/**
 * Keeps the hub interface's peers equal to the active devices (AllowedIPs exactly the /32),
 * on every change, at start, and periodically; and copies handshake and traffic counters back.
 */
@Injectable()
export class HubService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HubService.name);
  private readonly driver: HubDriver | null;
  private timer: NodeJS.Timeout | undefined;
  /** Serializes `wg` runs from concurrent requests and the periodic reconcile. */
  private queue: Promise<unknown> = Promise.resolve();
  private cachedPublicKey: string | undefined;
  /** By public key: each is logged once, when first refused. */
  private refused = new Map<string, RefusedPeer>();
  /** The hub's peers as last read by `wg show` (metrics read it; no `wg` run per scrape). */
  private lastTunnel: TunnelSnapshot | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly peers: TunnelPeersRepository,
    private readonly live: LivePublisher,
  ) {
    this.driver = config.API_WG_INTERFACE
      ? new WgCliHubDriver({ interfaceName: config.API_WG_INTERFACE, ...(config.API_WG_NETNS ? { netns: config.API_WG_NETNS } : {}) })
      : null;
  }

  get isConfigured(): boolean {
    return this.driver !== null;
  }

  async publicKey(): Promise<string> {
    const driver = this.requireDriver();
    if (!this.cachedPublicKey) {
      try {
        this.cachedPublicKey = (await driver.status()).publicKey;
      } catch (error) {
        this.logger.error({ msg: 'hub status failed', err: (error as Error).message });
        throw new AppError('HUB_UNAVAILABLE', 'the WireGuard hub could not be read');
      }
    }
    return this.cachedPublicKey;
  }

  /** Active devices the hub cannot take as peers (found by the last sync); enrollment refuses such keys today. */
  get refusedPeers(): RefusedPeer[] {
    return [...this.refused.values()];
  }

  /**
   * Applies the desired peer set as the current transaction sees it; throws HUB_UNAVAILABLE when wg fails.
   * Peers the hub can never take are left out and reported (refusedPeers), not retried silently.
   */
  async sync(): Promise<void> {
    const driver = this.requireDriver();
    const hubKey = await this.publicKey();
    await this.serialized(async () => {
      // Read inside the queue, so the newest caller's view is the one applied last.
      const peers = await this.peers.activeTunnelPeers();
      const refused: RefusedPeer[] = [];
      const usable = peers.filter((p) => {
        const reason = !isWireGuardKey(p.publicKey)
          ? 'invalid key'
          : isSmallOrderWireGuardKey(p.publicKey)
            ? 'small-order key'
            : p.publicKey === hubKey
              ? "the hub's own key"
              : null;
        if (reason) refused.push({ ...p, reason });
        return reason === null;
      });
      try {
        const plan = await driver.apply(usable.map((p) => ({ publicKey: p.publicKey, allowedIps: [`${p.address}/32`] })));
        const notKept = new Set(plan.refused.map((r) => r.publicKey));
        for (const p of usable) if (notKept.has(p.publicKey)) refused.push({ ...p, reason: 'not kept by the hub' });
        const changed = plan.add.length + plan.remove.length + plan.update.length - notKept.size;
        if (changed > 0) {
          this.logger.log({ msg: 'hub peers updated', added: plan.add.length, removed: plan.remove.length, updated: plan.update.length });
        }
      } catch (error) {
        this.logger.error({ msg: 'hub update failed', err: (error as Error).message });
        throw new AppError('HUB_UNAVAILABLE', 'the WireGuard hub could not be updated; nothing was changed');
      }
      this.noteRefused(refused);
    });
  }

  private noteRefused(refused: RefusedPeer[]): void {
    const next = new Map(refused.map((r) => [r.publicKey, r]));
    for (const [key, peer] of next) {
      if (this.refused.get(key)?.deviceId === peer.deviceId) continue;
      this.logger.warn({
        msg: 'the hub refuses a desired peer: the device cannot connect until it is re-enrolled with a new key pair',
        deviceId: peer.deviceId,
        publicKey: peer.publicKey,
        reason: peer.reason,
      });
    }
    this.refused = next;
  }

  /** The peers of the last `wg show` (at start, then every API_WG_RECONCILE_SECONDS); null before the first or without a hub. */
  get tunnelSnapshot(): TunnelSnapshot | null {
    return this.lastTunnel;
  }

  /** Reads `wg show` and stores each device's latest handshake and rx/tx. */
  async refreshTunnelStats(): Promise<void> {
    const driver = this.requireDriver();
    const status = await this.serialized(() => driver.status());
    this.lastTunnel = { readAt: new Date(), handshakes: status.peers.map((p) => p.latestHandshakeAt) };
    await this.recordTunnelStats(
      status.peers.map((p) => ({
        publicKey: p.publicKey,
        lastHandshakeAt: p.latestHandshakeAt,
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        endpoint: p.endpoint,
      })),
    );
  }

  /** Stores the counters of `wg show`; consoles hear of handshakes that changed (rx/tx change constantly and are not pushed). */
  async recordTunnelStats(stats: TunnelStats[]): Promise<void> {
    const changed = await this.peers.recordTunnelStats(stats);
    if (changed.length === 0) return;
    await this.live.devicesChanged(
      changed.map((c) => ({ id: c.id, lastHandshakeAt: c.lastHandshakeAt?.toISOString() ?? null })),
      'fleet',
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.driver) {
      this.logger.warn('API_WG_INTERFACE is not set: this instance drives no WireGuard hub, enrollment answers HUB_NOT_CONFIGURED');
      return;
    }
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.config.API_WG_RECONCILE_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Repairs drift (a restarted hub, a crash between commit and apply) and refreshes the counters. */
  async reconcile(): Promise<{ ok: boolean; refused: RefusedPeer[] }> {
    try {
      await this.sync();
      await this.refreshTunnelStats();
      return { ok: true, refused: this.refusedPeers };
    } catch (error) {
      this.logger.error({ msg: 'hub reconcile failed', err: (error as Error).message });
      return { ok: false, refused: this.refusedPeers };
    }
  }

  private requireDriver(): HubDriver {
    if (!this.driver) throw new AppError('HUB_NOT_CONFIGURED');
    return this.driver;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
