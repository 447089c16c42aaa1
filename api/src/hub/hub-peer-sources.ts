import { Injectable } from '@nestjs/common';
import type { TunnelPeer } from './tunnel-peers.repository.js';

/** Desired hub peers besides the active devices, read as the current transaction sees them. */
export type HubPeerSource = () => Promise<TunnelPeer[]>;

/** What a hub peer is: a device's own tunnel, or a peer a feature owns (`recovery`: a recovery stick). */
export type HubPeerKind = 'device' | 'recovery';

/**
 * Features above the hub that own peers of their own (recovery sticks: api/src/recovery) register
 * a source here, with the kind of its peers; HubService.sync adds their peers to the devices'
 * (AllowedIPs exactly the /32). The hub never imports those features. Such peers are not devices:
 * fleet counts and the devices' tunnel statistics go by the devices table only, and the hub's
 * metrics count them under their own kind (hub.service.ts, api-metrics.service.ts).
 */
@Injectable()
export class HubPeerSources {
  private readonly sources: Array<{ kind: Exclude<HubPeerKind, 'device'>; source: HubPeerSource }> = [];

  register(kind: Exclude<HubPeerKind, 'device'>, source: HubPeerSource): void {
    this.sources.push({ kind, source });
  }

  /** The kind of the registered peer holding this public key, if any (enrollment refuses such a key for a device). */
  async kindHolding(publicKey: string): Promise<Exclude<HubPeerKind, 'device'> | undefined> {
    for (const { kind, source } of this.sources) if ((await source()).some((p) => p.publicKey === publicKey)) return kind;
    return undefined;
  }

  async peers(): Promise<Array<TunnelPeer & { kind: HubPeerKind }>> {
    const all: Array<TunnelPeer & { kind: HubPeerKind }> = [];
    for (const { kind, source } of this.sources) all.push(...(await source()).map((p) => ({ ...p, kind })));
    return all;
  }
}
