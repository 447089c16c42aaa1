import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  TERMINAL_MAX_CLIENT_FRAME_BYTES,
  TERMINAL_WS_PATH,
  TerminalCloseCode,
  type RemoteSessionEndReason,
  type TerminalServerMessage,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AppError } from '../../common/errors/app-error.js';
import { WebSocketAdmission } from '../../live/websocket-admission.js';
import { WebSocketUpgrades } from '../../live/websocket-upgrades.js';
import { DeviceSshConnector, type DeviceSshConnection } from '../device-ssh.connector.js';
import { OpenRemoteSessions } from '../open-remote-sessions.js';
import {
  REMOTE_ACCESS_PERMISSION,
  RemoteAccessPolicy,
  remoteOperatorOf,
  type RemoteOperator,
  type RemoteTarget,
} from '../remote-access-policy.js';
import { RemoteSessionsService, type OpenedSession } from '../remote-sessions.service.js';
import type { AsciicastWriter } from './asciicast-writer.js';
import { TerminalRecordings } from './terminal-recordings.js';
import { TerminalSession } from './terminal-session.js';
import { TerminalTickets, type TicketGrant } from './terminal-tickets.js';

/** How long shutdown waits for terminals to tell their browsers and seal their recordings. */
const SHUTDOWN_WAIT_MS = 5_000;

/**
 * The terminal WebSocket (TERMINAL_WS_PATH, a path of WebSocketUpgrades). Before the upgrade:
 * the shared admission (Origin, token, session, devices.manage), the one-time ticket redeemed in
 * Redis and bound to the same user and login session, and the device policy again (it may have
 * changed since the ticket). After it: SSH, a shell on a PTY, the recording, the session row,
 * and the registry that closes the terminal the moment access goes.
 */
@Injectable()
export class TerminalGateway implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TerminalGateway.name);
  private wss: WebSocketServer | undefined;
  private readonly live = new Set<TerminalSession>();
  /** Sessions between the upgrade and `ready` (SSH connecting): shutdown closes them too. */
  private readonly opening = new Set<WebSocket>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly upgrades: WebSocketUpgrades,
    private readonly admission: WebSocketAdmission,
    private readonly tickets: TerminalTickets,
    private readonly policy: RemoteAccessPolicy,
    private readonly connector: DeviceSshConnector,
    private readonly recordings: TerminalRecordings,
    private readonly sessions: RemoteSessionsService,
    private readonly open: OpenRemoteSessions,
  ) {}

  onModuleInit(): void {
    this.upgrades.register(TERMINAL_WS_PATH, (request, socket, head) => this.upgrade(request, socket, head));
  }

  onApplicationBootstrap(): void {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: TERMINAL_MAX_CLIENT_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const ws of this.opening) ws.close(1001, 'server_shutdown');
    const ends = [...this.live].map((s) => s.end('server_shutdown', 'the API instance is shutting down'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ends), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
    this.wss?.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const principal = await this.admission.admit(request, REMOTE_ACCESS_PERMISSION);
    const ticket = new URL(request.url ?? '/', 'http://localhost').searchParams.get('ticket');
    const grant = await this.tickets.redeem(ticket);
    if (grant.userId !== principal.userId || grant.authSessionId !== principal.sessionId)
      throw new AppError('TERMINAL_TICKET_INVALID', 'the ticket was issued to another login session');
    const operator = remoteOperatorOf(principal);
    const target = await this.policy.authorize(operator, grant.deviceId, grant.target);
    if (this.open.countForUser(operator.userId, 'terminal') >= this.config.API_TERMINAL_MAX_PER_USER)
      throw new AppError('TERMINAL_LIMIT_REACHED', `at most ${this.config.API_TERMINAL_MAX_PER_USER} open terminals per operator`);
    if (socket.destroyed || !this.wss) return;
    this.wss.handleUpgrade(request, socket, head, (ws) => void this.accept(ws, grant, operator, target));
  }

  private async accept(ws: WebSocket, grant: TicketGrant, operator: RemoteOperator, target: RemoteTarget): Promise<void> {
    ws.on('error', (error) => this.logger.debug({ msg: 'terminal websocket error', sessionId: grant.sessionId, err: error.message }));
    this.opening.add(ws);
    let browserGone = false;
    ws.once('close', () => (browserGone = true));
    let connection: DeviceSshConnection | undefined;
    let recording: AsciicastWriter | undefined;
    let session: TerminalSession | undefined;
    let recordingFailure: Error | null = null;
    try {
      connection = await this.connector.connect(target, operator, grant.sessionId);
      if (browserGone) throw new BrowserGone();
      const channel = await connection.shell({ cols: grant.cols, rows: grant.rows });
      if (browserGone) throw new BrowserGone();
      const opened: OpenedSession = {
        id: grant.sessionId,
        kind: 'terminal',
        device: { id: target.id, name: target.name },
        operator: { userId: operator.userId, email: operator.email, authSessionId: operator.authSessionId },
        certificateKeyId: connection.certificateKeyId,
        recordingFile: this.recordings.fileNameOf(grant.sessionId),
        inputRecorded: this.recordings.recordsInput,
        ...(target.recovery ? { recovery: target.recovery } : {}),
      };
      const startedAt = new Date();
      recording = await this.recordings.create(
        grant.sessionId,
        {
          width: grant.cols,
          height: grant.rows,
          timestamp: Math.floor(startedAt.getTime() / 1000),
          title: `${target.recovery ? `${target.name} (recovery stick)` : target.name} — ${operator.email}`,
        },
        (error) => {
          recordingFailure = error;
          this.logger.error({ msg: 'terminal recording failed: the session ends', sessionId: grant.sessionId, err: error.message });
          void session?.end(
            'error',
            `the session recording failed (${error.message}); the terminal was closed so that nothing goes unrecorded`,
          );
        },
      );
      await this.sessions.start(opened, startedAt);
      const owned = connection;
      let remove = () => undefined as unknown;
      session = new TerminalSession(
        ws,
        channel,
        owned,
        recording,
        {
          idleTimeoutMs: this.config.API_TERMINAL_IDLE_TIMEOUT_SECONDS * 1000,
          maxDurationMs: this.config.API_TERMINAL_MAX_DURATION_SECONDS * 1000,
          recordInput: this.recordings.recordsInput,
        },
        this.logger,
        async (end) => {
          remove();
          this.live.delete(session!);
          this.logger.log({
            msg: 'terminal ended',
            sessionId: grant.sessionId,
            deviceId: target.id,
            reason: end.reason,
            exitCode: end.exitCode,
          });
          await this.sessions.end(opened, end.reason, end.recording);
        },
      );
      const live = session;
      this.live.add(live);
      remove = this.open.add({
        id: grant.sessionId,
        kind: 'terminal',
        deviceId: target.id,
        operator,
        ...(target.recovery ? { recovery: target.recovery } : {}),
        close: (reason: RemoteSessionEndReason, message: string) => void live.end(reason, message),
      });
      this.opening.delete(ws);
      const ready: TerminalServerMessage = {
        type: 'ready',
        sessionId: grant.sessionId,
        deviceId: target.id,
        deviceName: target.name,
        target: target.recovery ? 'recovery' : 'device',
        hostKeyFingerprint: connection.hostKeyFingerprint,
        idleTimeoutSeconds: this.config.API_TERMINAL_IDLE_TIMEOUT_SECONDS,
        maxDurationSeconds: this.config.API_TERMINAL_MAX_DURATION_SECONDS,
        recordingInput: this.recordings.recordsInput,
      };
      live.start(ready);
      this.logger.log({
        msg: 'terminal opened',
        sessionId: grant.sessionId,
        deviceId: target.id,
        userId: operator.userId,
        target: grant.target,
        ...(target.recovery ? { recoveryMediumId: target.recovery.mediumId, bootId: target.recovery.bootId } : {}),
      });
      if (browserGone) void live.end('closed', 'the browser closed the terminal');
      if (recordingFailure) void live.end('error', 'the session recording failed');
    } catch (error) {
      this.opening.delete(ws);
      connection?.end();
      if (recording) await recording.finish().catch(() => undefined);
      if (error instanceof BrowserGone) return;
      const appError = error instanceof AppError ? error : null;
      if (!appError) this.logger.error({ msg: 'terminal could not be opened', sessionId: grant.sessionId, err: error });
      const code = appError?.code ?? 'INTERNAL_ERROR';
      const message = appError?.message ?? 'the terminal could not be opened';
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'error', code, message } satisfies TerminalServerMessage));
        ws.close(code === 'SSH_HOST_KEY_MISMATCH' ? 1008 : appError ? TerminalCloseCode.DeviceUnreachable : 1011, code);
      }
    }
  }
}

class BrowserGone extends Error {}
