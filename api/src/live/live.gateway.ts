import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LIVE_MAX_CLIENT_MESSAGE_BYTES, LIVE_PATH, LiveCloseCode } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { LIVE_PERMISSION, LiveAuthenticator } from './live-authenticator.js';
import { parseClientMessage } from './live-client-message.js';
import { LiveConnection } from './live-connection.js';
import { LiveConnections } from './live-connections.js';
import { WebSocketAdmission } from './websocket-admission.js';
import { WebSocketUpgrades } from './websocket-upgrades.js';
/** How long shutdown lets consoles acknowledge the close before their sockets are cut. */
const SHUTDOWN_CLOSE_WAIT_MS = 2_000;

/**
 * `GET /api/v1/live` as a WebSocket (a path of WebSocketUpgrades): every check (Origin, token,
 * session, permission) happens before the upgrade, so a refusal is an ordinary HTTP problem+json
 * answer. Open connections are pinged to drop dead peers, and their sessions are re-checked
 * periodically: a session that ended closes its connections with 4401.
 */
@Injectable()
export class LiveGateway implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LiveGateway.name);
  private wss: WebSocketServer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private isRechecking = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly upgrades: WebSocketUpgrades,
    private readonly admission: WebSocketAdmission,
    private readonly authenticator: LiveAuthenticator,
    private readonly connections: LiveConnections,
  ) {}

  onModuleInit(): void {
    this.upgrades.register(LIVE_PATH, (request, socket, head) => this.upgrade(request, socket, head));
  }

  onApplicationBootstrap(): void {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIVE_MAX_CLIENT_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.timers = [
      setInterval(() => this.pingAll(), this.config.API_LIVE_PING_SECONDS * 1000),
      setInterval(() => void this.recheckSessions(), this.config.API_LIVE_SESSION_RECHECK_SECONDS * 1000),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Before the HTTP server closes: it would otherwise wait for every open WebSocket. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    const open = this.connections.all();
    const closed = open.map((c) => new Promise<void>((resolve) => c.socket.once('close', () => resolve())));
    for (const connection of open) connection.close(1001, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    for (const connection of this.connections.all()) connection.socket.terminate();
    this.wss?.close();
  }

  /** Admits (throws to refuse, answered by WebSocketUpgrades), then completes the upgrade. */
  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const principal = await this.admission.admit(request, LIVE_PERMISSION);
    if (socket.destroyed || !this.wss) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, principal));
  }

  private accept(ws: WebSocket, principal: Awaited<ReturnType<WebSocketAdmission['admit']>>): void {
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

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
