import { Injectable } from '@nestjs/common';
import type { TunnelPeer } from './tunnel-peers.repository.js';

/** Desired hub peers besides the active devices, read as the current transaction sees them. */
export type HubPeerSource = () => Promise<TunnelPeer[]>;

/**
 * Features above the hub that own peers of their own (recovery sticks: api/src/recovery) register
 * a source here; HubService.sync adds their peers to the devices' (AllowedIPs exactly the /32).
 * The hub never imports those features. Such peers are not devices: fleet counts and tunnel
 * statistics go by the devices table only.
 */
@Injectable()
export class HubPeerSources {
  private readonly sources: HubPeerSource[] = [];

  register(source: HubPeerSource): void {
    this.sources.push(source);
  }

  async peers(): Promise<TunnelPeer[]> {
    const all: TunnelPeer[] = [];
    for (const source of this.sources) all.push(...(await source()));
    return all;
  }
}
