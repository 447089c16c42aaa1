import { Global, Module } from '@nestjs/common';
import { LivePublisher } from './live-publisher.js';

/**
 * The publishing half of live updates, global so any feature (API or worker) can announce a
 * change. The WebSocket endpoint and the Redis subscriber are in LiveEndpointModule (API only).
 */
@Global()
@Module({ providers: [LivePublisher], exports: [LivePublisher] })
export class LiveModule {}
