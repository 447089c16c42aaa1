import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { WgCliHubDriver, type HubDriver } from '@xspectre/wireguard';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { LivePublisher } from '../live/live-publisher.js';

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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesRepository,
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
    if (!this.cachedPublicKey) this.cachedPublicKey = (await this.requireDriver().status()).publicKey;
    return this.cachedPublicKey;
  }

  /** Applies the desired peer set as the current transaction sees it; throws HUB_UNAVAILABLE when wg fails. */
  async sync(): Promise<void> {
    const driver = this.requireDriver();
    await this.serialized(async () => {
      // Read inside the queue, so the newest caller's view is the one applied last.
      const peers = await this.devices.activeTunnelPeers();
      try {
        const plan = await driver.apply(peers.map((p) => ({ publicKey: p.publicKey, allowedIps: [`${p.address}/32`] })));
        if (plan.add.length + plan.remove.length + plan.update.length > 0) {
          this.logger.log({ msg: 'hub peers updated', added: plan.add.length, removed: plan.remove.length, updated: plan.update.length });
        }
      } catch (error) {
        this.logger.error({ msg: 'hub update failed', err: (error as Error).message });
        throw new AppError('HUB_UNAVAILABLE', 'the WireGuard hub could not be updated; nothing was changed');
      }
    });
  }

  /** Reads `wg show` and stores each device's latest handshake and rx/tx. */
  async refreshTunnelStats(): Promise<void> {
    const driver = this.requireDriver();
    const status = await this.serialized(() => driver.status());
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
  async recordTunnelStats(stats: Parameters<DevicesRepository['recordTunnelStats']>[0]): Promise<void> {
    const changed = await this.devices.recordTunnelStats(stats);
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
  async reconcile(): Promise<void> {
    try {
      await this.sync();
      await this.refreshTunnelStats();
    } catch (error) {
      this.logger.error({ msg: 'hub reconcile failed', err: (error as Error).message });
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
