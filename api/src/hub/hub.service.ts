import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isSmallOrderWireGuardKey } from '@xspectre/contracts';
import { WgCliHubDriver, isWireGuardKey, type HubDriver } from '@xspectre/wireguard';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { TunnelPeersRepository, type TunnelStats } from './tunnel-peers.repository.js';
import { LivePublisher } from '../live/live-publisher.js';
import { HubPeerSources, type HubPeerKind } from './hub-peer-sources.js';
import { HubRequests, type HubReply, type HubRequestKind } from './hub-requests.js';

/** A desired peer the hub cannot have (a device's, or a recovery stick's); it stays cut off until re-issued with a new key. */
export interface RefusedPeer {
  deviceId: string;
  kind: HubPeerKind;
  publicKey: string;
  address: string;
  reason: 'invalid key' | 'small-order key' | "the hub's own key" | 'not kept by the hub' | 'key claimed by two peers';
}

/**
 * The hub's peers at the last `wg show`: each one's kind as the last applied peer set knew it
 * (`unknown`: a peer the hub holds that no device or feature claims, e.g. before the first sync)
 * and its latest handshake (null = never).
 */
export interface TunnelSnapshot {
  readAt: Date;
  peers: Array<{ kind: HubPeerKind | 'unknown'; latestHandshakeAt: Date | null }>;
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
  private probing: Promise<string> | null = null;
  /** By kind, device and public key: each is logged once, when first refused. */
  private refused = new Map<string, RefusedPeer>();
  /** The hub's peers as last read by `wg show` (metrics read it; no `wg` run per scrape). */
  private lastTunnel: TunnelSnapshot | null = null;
  /** Kind of each peer of the last applied set, by public key: `wg show` has only keys. */
  private peerKinds = new Map<string, HubPeerKind>();
  /** A sync queued but not started yet: later callers share it (it reads the peers when it starts). */
  private pendingSync: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly peers: TunnelPeersRepository,
    private readonly live: LivePublisher,
    private readonly requests: HubRequests,
    private readonly peerSources: HubPeerSources,
  ) {
    this.driver = config.API_WG_INTERFACE
      ? new WgCliHubDriver({ interfaceName: config.API_WG_INTERFACE, ...(config.API_WG_NETNS ? { netns: config.API_WG_NETNS } : {}) })
      : null;
  }

  /** This instance drives the hub interface itself (API_WG_INTERFACE). Others ask it (hub-requests.ts). */
  get isConfigured(): boolean {
    return this.driver !== null;
  }

  /**
   * Checks that the hub is up now and returns its public key: one short `wg` run here, or a
   * question to the instance that drives it. HUB_NOT_CONFIGURED when none does, HUB_UNAVAILABLE
   * when it does not answer. Enrollment asks before its transaction, so a hub that is down
   * refuses the enrollment with nothing changed.
   */
  async probe(): Promise<string> {
    // Probes asked while one runs share it: a burst of enrollments runs one `wg` (or one Redis
    // question), not one each; a probe that started a moment ago answers "up now" as well.
    this.probing ??= this.probeOnce().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async probeOnce(): Promise<string> {
    if (!this.driver) {
      const reply = await this.requests.ask('probe', this.config.API_HUB_REQUEST_TIMEOUT_MS);
      if (!reply.publicKey) throw new AppError('HUB_UNAVAILABLE', 'the instance that drives the WireGuard hub sent no key');
      return reply.publicKey;
    }
    try {
      this.cachedPublicKey = await this.driver.publicKey();
    } catch (error) {
      this.logger.error({ msg: 'hub probe failed', err: (error as Error).message });
      throw new AppError('HUB_UNAVAILABLE', 'the WireGuard hub could not be read');
    }
    return this.cachedPublicKey;
  }

  /**
   * Applies the committed peer set, here or on the instance that drives the hub: called after a
   * commit (never while a transaction holds locks, so a burst of enrollments does not queue
   * behind `wg` runs). Throws when the hub could not be updated; the periodic reconcile repairs.
   */
  async applyCommitted(): Promise<void> {
    if (this.driver) return this.syncCommitted();
    await this.requests.ask('sync', this.config.API_HUB_REQUEST_TIMEOUT_MS);
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

  /**
   * For a change that takes a peer away (revoke, retire), inside the caller's transaction. With
   * the hub on this instance the peer set as the transaction sees it is applied at once, so a hub
   * that cannot drop the peer fails the change; on another instance's hub it is probed (down →
   * the change fails) and asked to apply. Either way the committed state is applied after commit.
   */
  async applyWithinTransaction(): Promise<void> {
    if (this.driver) await this.sync();
    else await this.probe();
    requestContext.afterCommit(() => this.applyCommitted());
  }

  /** Active devices the hub cannot take as peers (found by the last sync); enrollment refuses such keys today. */
  get refusedPeers(): RefusedPeer[] {
    return [...this.refused.values()];
  }

  /**
   * Applies the desired peer set as the current transaction sees it; throws HUB_UNAVAILABLE when wg fails.
   * Peers the hub can never take are left out and reported (refusedPeers), not retried silently.
   */
  sync(): Promise<void> {
    return this.syncNow();
  }

  /**
   * sync() outside any transaction, shared by every caller that arrives before it starts reading
   * the peers (what a burst of enrollments asks for once each has committed).
   */
  private syncCommitted(): Promise<void> {
    if (this.pendingSync) return this.pendingSync;
    const run = requestContext.run({ requestId: 'hub-sync', sourceIp: null, audit: {} }, () =>
      this.syncNow(() => {
        if (this.pendingSync === run) this.pendingSync = null;
      }),
    );
    this.pendingSync = run;
    void run
      .catch(() => undefined)
      .finally(() => {
        if (this.pendingSync === run) this.pendingSync = null;
      });
    return run;
  }

  private async syncNow(onStart?: () => void): Promise<void> {
    const driver = this.requireDriver();
    const hubKey = await this.publicKey();
    await this.serialized(async () => {
      // From here on this run reads the peers: a caller arriving now needs a run of its own.
      onStart?.();
      // Read inside the queue, so the newest caller's view is the one applied last.
      // The devices, then the peers other features own (hub-peer-sources.ts: recovery sticks).
      const peers = [
        ...(await this.peers.activeTunnelPeers()).map((p) => ({ ...p, kind: 'device' as const })),
        ...(await this.peerSources.peers()),
      ];
      // A key two peers claim (a device enrolled with a stick's public key, say) is nobody's: one
      // peer per key on the hub, and its handshakes could not be told apart.
      const claims = new Map<string, number>();
      for (const p of peers) claims.set(p.publicKey, (claims.get(p.publicKey) ?? 0) + 1);
      const refused: RefusedPeer[] = [];
      const usable = peers.filter((p) => {
        const reason = !isWireGuardKey(p.publicKey)
          ? 'invalid key'
          : isSmallOrderWireGuardKey(p.publicKey)
            ? 'small-order key'
            : p.publicKey === hubKey
              ? "the hub's own key"
              : claims.get(p.publicKey)! > 1
                ? 'key claimed by two peers'
                : null;
        if (reason) refused.push({ ...p, reason });
        return reason === null;
      });
      try {
        const plan = await driver.apply(usable.map((p) => ({ publicKey: p.publicKey, allowedIps: [`${p.address}/32`] })));
        const notKept = new Set(plan.refused.map((r) => r.publicKey));
        for (const p of usable) if (notKept.has(p.publicKey)) refused.push({ ...p, reason: 'not kept by the hub' });
        this.peerKinds = new Map(usable.map((p) => [p.publicKey, p.kind]));
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
    const next = new Map(refused.map((r) => [`${r.kind} ${r.deviceId} ${r.publicKey}`, r]));
    for (const [key, peer] of next) {
      if (this.refused.has(key)) continue;
      this.logger.warn({
        msg:
          peer.kind === 'device'
            ? 'the hub refuses a desired peer: the device cannot connect until it is re-enrolled with a new key pair'
            : `the hub refuses a desired ${peer.kind} peer: it cannot connect until it is issued again with a new key pair`,
        deviceId: peer.deviceId,
        kind: peer.kind,
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

  /**
   * Reads `wg show` and stores each device's latest handshake and rx/tx. A peer of another kind
   * (a recovery stick: its own key, never the device's) is counted under its kind and never
   * copied onto a device row.
   */
  async refreshTunnelStats(): Promise<void> {
    const driver = this.requireDriver();
    const status = await this.serialized(() => driver.status());
    const kindOf = (key: string) => this.peerKinds.get(key) ?? 'unknown';
    this.lastTunnel = {
      readAt: new Date(),
      peers: status.peers.map((p) => ({ kind: kindOf(p.publicKey), latestHandshakeAt: p.latestHandshakeAt })),
    };
    const devicePeers = status.peers.filter((p) => {
      const kind = kindOf(p.publicKey);
      return kind === 'device' || kind === 'unknown';
    });
    await this.recordTunnelStats(
      devicePeers.map((p) => ({
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
      this.logger.warn(
        'API_WG_INTERFACE is not set: this instance drives no WireGuard hub; enrollment and revocation ask the instance that does (Redis)',
      );
      return;
    }
    const driver = this.driver;
    this.requests.serve(async (kind: HubRequestKind): Promise<HubReply> => {
      if (kind === 'probe') return { ok: true, publicKey: await driver.publicKey() };
      await this.syncCommitted();
      return { ok: true };
    });
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
