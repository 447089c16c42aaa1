import { Controller, Get } from '@nestjs/common';
import { ApiExtension, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { LiveClientMessageSchema, LiveServerMessageSchema } from '@xspectre/contracts';
import { RequirePermission } from '../common/http/route-access.decorators.js';
import { AppError } from '../common/errors/app-error.js';
import { toOpenApiSchema } from '../common/validation/zod-validation.js';
import { LIVE_PERMISSION } from './live-authenticator.js';

const DESCRIPTION = `A WebSocket (JSON text frames). The upgrade request is checked like any route of this permission: the xs_access cookie (then the Origin header must be one of API_CONSOLE_ORIGINS) or Authorization: Bearer (without Origin, or with an allowed one). Refusals are problem+json HTTP answers before the upgrade.

After the upgrade the server sends \`hello\`, then \`devices.changed\` (partial device state; only the fields present changed), \`device.event\` (one device's event from a request) and \`device.events\` (the events of one heartbeat group commit or offline-detection run together, at most 500 per message) messages. Status, connectivity, enrollment and tunnel changes reach every connection; per-heartbeat telemetry patches (lastHeartbeatAt, lastSequence, metrics) only connections that sent \`{"type":"subscribe","deviceIds":[…]}\` (at most 500 ids; each subscribe replaces the previous set). \`{"type":"ping"}\` is answered with \`pong\`. A bad client message is answered with \`error\` (codes MALFORMED_JSON, VALIDATION_FAILED, LIVE_MESSAGE_UNSUPPORTED) and the connection stays open.

Close codes: 1009 a client message over 64 KiB; 1013 the client read too slowly (reconnect); 4401 the session ended (refresh the session, then reconnect); 1001 the server is shutting down. The session is re-checked every API_LIVE_SESSION_RECHECK_SECONDS. After any reconnect, refetch what is on screen: messages sent while disconnected are not replayed.`;

/**
 * The live endpoint as the router and the OpenAPI document see it: upgrades never reach this
 * handler (LiveGateway takes them on the server's upgrade event), a plain GET gets 426.
 */
@ApiTags('live')
@Controller('live')
export class LiveController {
  @Get()
  @RequirePermission(LIVE_PERMISSION)
  @ApiOperation({ summary: 'Live device updates (WebSocket)', description: DESCRIPTION })
  @ApiResponse({
    status: 101,
    description: 'switched to WebSocket; the server messages',
    schema: toOpenApiSchema(LiveServerMessageSchema, 'output'),
  })
  @ApiResponse({ status: 426, description: 'a plain HTTP request: open the URL as a WebSocket' })
  @ApiExtension('x-websocket-client-messages', toOpenApiSchema(LiveClientMessageSchema, 'input'))
  upgradeRequired(): never {
    throw new AppError(
      'LIVE_UPGRADE_REQUIRED',
      'connect with a WebSocket client (Upgrade: websocket); the route description lists the messages',
    );
  }
}
