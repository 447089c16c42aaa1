import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { LiveAuthenticator } from './live-authenticator.js';
import { LiveConnections } from './live-connections.js';
import { LiveController } from './live.controller.js';
import { LiveGateway } from './live.gateway.js';
import { LiveSubscriber } from './live-subscriber.js';
import { WebSocketAdmission } from './websocket-admission.js';
import { WebSocketUpgrades } from './websocket-upgrades.js';

/**
 * The API side of live updates: the WebSocket endpoint and the Redis subscriber feeding it, and the
 * WebSocket plumbing other features share (the upgrade router, admission). Not in the worker.
 */
@Module({
  imports: [AuthModule],
  controllers: [LiveController],
  providers: [LiveAuthenticator, LiveConnections, LiveGateway, LiveSubscriber, WebSocketUpgrades, WebSocketAdmission],
  exports: [LiveAuthenticator, LiveConnections, WebSocketUpgrades, WebSocketAdmission],
})
export class LiveEndpointModule {}
