import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LIVE_MAX_CLIENT_MESSAGE_BYTES, LIVE_PATH, LiveCloseCode } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { toProblem } from '../common/errors/to-problem.js';
import { ACCESS_COOKIE } from '../auth/auth-cookies.js';
import { LiveAuthenticator, type LivePrincipal } from './live-authenticator.js';
import { parseClientMessage } from './live-client-message.js';
import { LiveConnection } from './live-connection.js';
import { LiveConnections } from './live-connections.js';
import { refuseUpgrade } from './upgrade-refusal.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
/** How long shutdown lets consoles acknowledge the close before their sockets are cut. */
const SHUTDOWN_CLOSE_WAIT_MS = 2_000;

/**
 * `GET /api/v1/live` as a WebSocket, on the HTTP server's `upgrade` event: every check (Origin,
 * token, session, permission) happens before the upgrade, so a refusal is an ordinary HTTP
 * problem+json answer. Open connections are pinged to drop dead peers, and their sessions are
 * re-checked periodically: a session that ended closes its connections with 4401.
 */
@Injectable()
export class LiveGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveGateway.name);
  private readonly allowedOrigins: ReadonlySet<string>;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private isRechecking = false;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(request, socket, head);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: LiveAuthenticator,
    private readonly connections: LiveConnections,
  ) {
    this.allowedOrigins = new Set(config.API_CONSOLE_ORIGINS);
  }

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIVE_MAX_CLIENT_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.server.on('upgrade', this.onUpgrade);
    this.timers = [
      setInterval(() => this.pingAll(), this.config.API_LIVE_PING_SECONDS * 1000),
      setInterval(() => void this.recheckSessions(), this.config.API_LIVE_SESSION_RECHECK_SECONDS * 1000),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Before the HTTP server closes: it would otherwise wait for every open WebSocket. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.server?.off('upgrade', this.onUpgrade);
    const open = this.connections.all();
    const closed = open.map((c) => new Promise<void>((resolve) => c.socket.once('close', () => resolve())));
    for (const connection of open) connection.close(1001, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    for (const connection of this.connections.all()) connection.socket.terminate();
    this.wss?.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that resets the connection while we authenticate must not crash the process.
    socket.on('error', () => undefined);
    const incoming = request.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    let principal: LivePrincipal;
    try {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path !== LIVE_PATH) throw new AppError('ROUTE_NOT_FOUND', `no WebSocket at ${path.slice(0, 200)}`);
      if (request.headers.upgrade?.toLowerCase() !== 'websocket')
        throw new AppError('VALIDATION_FAILED', 'only WebSocket upgrades are supported (Upgrade: websocket)');
      principal = await this.admit(request);
    } catch (error) {
      const { problem, unexpected } = toProblem(error, requestId);
      if (unexpected) this.logger.error({ msg: 'live connection failed', err: error, requestId });
      else
        this.logger.log({
          msg: 'live connection refused',
          code: problem.code,
          origin: request.headers.origin?.slice(0, 200),
          ip: request.socket.remoteAddress,
          requestId,
        });
      refuseUpgrade(socket, problem);
      return;
    }
    if (socket.destroyed || !this.wss) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, principal));
  }

  /** Origin, then token, then session: the order decides which refusal a caller sees. */
  private async admit(request: IncomingMessage): Promise<LivePrincipal> {
    const origin = request.headers.origin;
    // Browsers always send Origin on WebSockets and cookies ride along: this check is the CSRF defence.
    if (origin !== undefined && !this.allowedOrigins.has(origin))
      throw new AppError('LIVE_ORIGIN_FORBIDDEN', `origin ${origin.slice(0, 200)} is not an allowed console origin (API_CONSOLE_ORIGINS)`);
    const bearer = bearerToken(request.headers.authorization);
    const token = bearer ?? this.accessCookie(request.headers.cookie);
    if (!token) throw new AppError('AUTH_REQUIRED');
    if (!bearer && origin === undefined)
      throw new AppError(
        'LIVE_ORIGIN_FORBIDDEN',
        'a cookie session needs the Origin header of an allowed console; API clients send Authorization: Bearer',
      );
    return this.authenticator.authenticate(token);
  }

  private accessCookie(header: string | undefined): string | undefined {
    if (!header) return undefined;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    return fastify.parseCookie(header)[ACCESS_COOKIE];
  }

  private accept(ws: WebSocket, principal: LivePrincipal): void {
    const connection = new LiveConnection(ws, principal, this.config.API_LIVE_MAX_BUFFERED_BYTES);
    this.connections.add(connection);
    ws.on('close', () => this.connections.delete(connection));
    // ws reports protocol violations (an oversized frame: it closes with 1009 itself) as errors.
    ws.on('error', (error) => this.logger.debug({ msg: 'live connection error', connectionId: connection.id, err: error.message }));
    ws.on('pong', () => (connection.isAlive = true));
    ws.on('message', (data, isBinary) => this.receive(connection, data, isBinary));
    connection.send({
      type: 'hello',
      connectionId: connection.id,
      serverTime: new Date().toISOString(),
      heartbeatIntervalSeconds: this.config.API_AGENT_HEARTBEAT_SECONDS,
    });
  }

  private receive(connection: LiveConnection, data: RawData, isBinary: boolean): void {
    connection.isAlive = true;
    if (isBinary) {
      connection.send({ type: 'error', code: 'VALIDATION_FAILED', message: 'send JSON text frames, not binary ones' });
      return;
    }
    const parsed = parseClientMessage(rawText(data));
    if (!parsed.ok) {
      connection.send({ type: 'error', code: parsed.code, message: parsed.message });
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'subscribe':
        connection.subscribe(message.deviceIds);
        connection.send({ type: 'subscribed', deviceCount: connection.subscribedDevices.size });
        return;
      case 'ping':
        connection.send({ type: 'pong', serverTime: new Date().toISOString() });
        return;
    }
  }

  /** A peer that did not answer the previous ping is gone (a laptop lid, a dead NAT): drop it. */
  private pingAll(): void {
    for (const connection of this.connections.all()) {
      if (!connection.isAlive) {
        connection.socket.terminate();
        continue;
      }
      connection.isAlive = false;
      connection.socket.ping();
    }
  }

  /** Reads each connected session once; an ended one closes its connections with 4401 (refresh, then reconnect). */
  private async recheckSessions(): Promise<void> {
    if (this.isRechecking) return;
    this.isRechecking = true;
    try {
      for (const [sessionId, connections] of this.connections.bySession()) {
        let refusal: AppError | null;
        try {
          refusal = await this.authenticator.recheck(connections[0]!.principal);
        } catch (error) {
          // The database is away: keep the connections, the next round checks again.
          this.logger.warn({ msg: 'live session re-check failed', err: (error as Error).message });
          return;
        }
        if (!refusal) continue;
        this.logger.log({
          msg: 'live connections closed: the session ended',
          sessionId,
          code: refusal.code,
          connections: connections.length,
        });
        for (const connection of connections) connection.close(LiveCloseCode.SessionEnded, refusal.code);
      }
    } finally {
      this.isRechecking = false;
    }
  }
}

/** Same rule as the HTTP guard: a malformed Authorization header is an error, not "no token". */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError('AUTH_TOKEN_INVALID', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
