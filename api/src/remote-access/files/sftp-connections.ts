import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { RemoteSessionEndReason } from '@xspectre/contracts';
import type { SFTPWrapper } from 'ssh2';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AppError } from '../../common/errors/app-error.js';
import { DeviceSshConnector, type DeviceSshConnection } from '../device-ssh.connector.js';
import { OpenRemoteSessions } from '../open-remote-sessions.js';
import type { RemoteOperator, RemoteTarget } from '../remote-access-policy.js';
import { RemoteSessionsService } from '../remote-sessions.service.js';

/** How long a closed session's connection stays for aborted uploads to remove their temporary files. */
const CLEANUP_GRACE_MS = 3_000;

/** One use of a file session: release it when the operation (or transfer) is over. */
export interface SftpLease {
  sessionId: string;
  sftp: SFTPWrapper;
  /** Aborted when the session closes (access revoked, connection dropped): in-flight transfers stop with its reason. */
  signal: AbortSignal;
  release(): void;
}

interface FileSession {
  id: string;
  key: string;
  sftp: SFTPWrapper;
  connection: DeviceSshConnection;
  abort: AbortController;
  active: number;
  idleTimer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Set once closed while transfers were still running: ends the connection when the last one has cleaned up. */
  onDrained: (() => void) | null;
  close(reason: RemoteSessionEndReason, message: string): void;
}

/**
 * The file manager's SSH connections: one connection and one root SFTP channel per (login
 * session, device), opened on first use and shared by every request of that operator to that
 * device (concurrent first requests wait for the same attempt). A connection closes after
 * API_FILES_SESSION_IDLE_SECONDS without a request or transfer, when SSH drops, or when
 * OpenRemoteSessions finds access gone; closing aborts the transfers still running on it.
 */
@Injectable()
export class SftpConnections implements OnApplicationShutdown {
  private readonly logger = new Logger(SftpConnections.name);
  private readonly sessions = new Map<string, Promise<FileSession>>();
  /** The same sessions once open: closing one removes its entry only if it is still the current one. */
  private readonly ready = new Map<string, FileSession>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly connector: DeviceSshConnector,
    private readonly records: RemoteSessionsService,
    private readonly registry: OpenRemoteSessions,
  ) {}

  onApplicationShutdown(): void {
    for (const pending of this.sessions.values())
      void pending.then(
        (s) => s.close('server_shutdown', 'the API instance is shutting down'),
        () => undefined,
      );
  }

  async acquire(operator: RemoteOperator, target: RemoteTarget): Promise<SftpLease> {
    const key = `${operator.authSessionId}:${target.id}`;
    let pending = this.sessions.get(key);
    if (!pending) {
      pending = this.open(key, operator, target);
      this.sessions.set(key, pending);
      const attempt = pending;
      attempt.catch(() => {
        if (this.sessions.get(key) === attempt) this.sessions.delete(key);
      });
    }
    const session = await pending;
    if (session.closed) return this.acquire(operator, target);
    session.active++;
    clearTimeout(session.idleTimer);
    let released = false;
    return {
      sessionId: session.id,
      sftp: session.sftp,
      signal: session.abort.signal,
      release: () => {
        if (released) return;
        released = true;
        session.active--;
        if (session.active > 0) return;
        if (session.closed) session.onDrained?.();
        else this.armIdle(session);
      },
    };
  }

  /** How many file sessions this instance holds open (tests, metrics). */
  get size(): number {
    return this.sessions.size;
  }

  private armIdle(session: FileSession): void {
    clearTimeout(session.idleTimer);
    const seconds = this.config.API_FILES_SESSION_IDLE_SECONDS;
    session.idleTimer = setTimeout(() => session.close('idle_timeout', `no file operation for ${seconds} s`), seconds * 1000);
    session.idleTimer.unref();
  }

  private async open(key: string, operator: RemoteOperator, target: RemoteTarget): Promise<FileSession> {
    const id = this.records.newSessionId();
    const connection = await this.connector.connect(target, operator, id);
    let sftp: SFTPWrapper;
    try {
      sftp = await connection.sftp();
      await this.records.start({
        id,
        kind: 'files',
        device: { id: target.id, name: target.name },
        operator: { userId: operator.userId, email: operator.email, authSessionId: operator.authSessionId },
        certificateKeyId: connection.certificateKeyId,
        recordingFile: null,
        inputRecorded: false,
      });
    } catch (error) {
      connection.end();
      throw error;
    }
    const record = { id, kind: 'files' as const, device: { id: target.id, name: target.name }, operator };
    let unregister: () => void = () => undefined;
    const session: FileSession = {
      id,
      key,
      sftp,
      connection,
      abort: new AbortController(),
      active: 0,
      idleTimer: undefined,
      closed: false,
      onDrained: null,
      close: (reason, message) => {
        if (session.closed) return;
        session.closed = true;
        clearTimeout(session.idleTimer);
        unregister();
        if (this.ready.get(key) === session) {
          this.ready.delete(key);
          this.sessions.delete(key);
        }
        session.abort.abort(
          new AppError(
            reason === 'access_revoked' ? 'AUTH_FORBIDDEN' : 'REMOTE_FILE_FAILED',
            `the file session ended (${reason}): ${message}`,
          ),
        );
        // Aborted transfers remove their temporary files over this very connection: end it once they
        // have (or after CLEANUP_GRACE_MS); the HTTP side of each transfer has already been failed.
        const end = () => {
          clearTimeout(grace);
          connection.end();
        };
        const grace = setTimeout(end, CLEANUP_GRACE_MS);
        grace.unref();
        if (session.active === 0) end();
        else session.onDrained = end;
        this.logger.log({ msg: 'file session closed', sessionId: id, deviceId: target.id, reason });
        this.records
          .end(record, reason)
          .catch((error: unknown) =>
            this.logger.error({ msg: 'could not record the end of a file session', sessionId: id, err: (error as Error).message }),
          );
      },
    };
    unregister = this.registry.add({ id, kind: 'files', deviceId: target.id, operator, close: session.close });
    void connection.closed.then(() => session.close('device_disconnected', 'the SSH connection to the device closed'));
    sftp.once('close', () => session.close('device_disconnected', 'the SFTP channel closed'));
    this.ready.set(key, session);
    this.armIdle(session);
    return session;
  }
}
