import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppError } from '../common/errors/app-error.js';
import { toProblem } from '../common/errors/to-problem.js';
import { refuseUpgrade } from './upgrade-refusal.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Handles one WebSocket path's upgrade requests; throw an AppError to refuse (answered as problem+json). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer, requestId: string) => Promise<void>;

/**
 * The HTTP server's one `upgrade` listener: dispatches each WebSocket path to the feature that
 * registered it (live updates, terminals) and refuses everything else before any WebSocket exists.
 * A handler's thrown error becomes the same problem+json answer as any other API error.
 */
@Injectable()
export class WebSocketUpgrades implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebSocketUpgrades.name);
  private readonly routes = new Map<string, UpgradeHandler>();
  private server: Server | undefined;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.dispatch(request, socket, head);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Registers the handler of an exact path (e.g. /api/v1/live); call before the application starts. */
  register(path: string, handler: UpgradeHandler): void {
    if (this.routes.has(path)) throw new Error(`a WebSocket handler for ${path} is registered already`);
    this.routes.set(path, handler);
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
  }

  /** Before the HTTP server closes: no new WebSockets while the features close theirs. */
  beforeApplicationShutdown(): void {
    this.server?.off('upgrade', this.onUpgrade);
  }

  private async dispatch(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that resets the connection while we authenticate must not crash the process.
    socket.on('error', () => undefined);
    const incoming = request.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    try {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const handler = this.routes.get(path);
      if (!handler) throw new AppError('ROUTE_NOT_FOUND', `no WebSocket at ${path.slice(0, 200)}`);
      if (request.headers.upgrade?.toLowerCase() !== 'websocket')
        throw new AppError('VALIDATION_FAILED', 'only WebSocket upgrades are supported (Upgrade: websocket)');
      await handler(request, socket, head, requestId);
    } catch (error) {
      const { problem, unexpected } = toProblem(error, requestId);
      if (unexpected) this.logger.error({ msg: 'websocket upgrade failed', err: error, requestId });
      else
        this.logger.log({
          msg: 'websocket upgrade refused',
          path: request.url?.split('?')[0]?.slice(0, 200),
          code: problem.code,
          origin: request.headers.origin?.slice(0, 200),
          ip: request.socket.remoteAddress,
          requestId,
        });
      refuseUpgrade(socket, problem);
    }
  }
}
