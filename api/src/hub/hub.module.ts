import { Module } from '@nestjs/common';
import { HubService } from './hub.service.js';
import { HubPeerSources } from './hub-peer-sources.js';
import { HubRequests } from './hub-requests.js';
import { OverlayAllocator } from './overlay-allocator.js';
import { OverlayLeasesRepository } from './overlay-leases.repository.js';
import { TunnelPeersRepository } from './tunnel-peers.repository.js';

/** The WireGuard hub (peers = active devices) and the overlay address pools. */
@Module({
  providers: [HubService, HubPeerSources, HubRequests, OverlayAllocator, OverlayLeasesRepository, TunnelPeersRepository],
  exports: [HubService, HubPeerSources, OverlayAllocator],
})
export class HubModule {}
