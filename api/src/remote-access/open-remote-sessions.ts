import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { RemoteSessionEndReason, RemoteSessionKind } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { LiveAuthenticator } from '../live/live-authenticator.js';
import { AccessChanges, type AccessChange } from '../redis/access-changes.js';
import { REMOTE_ACCESS_PERMISSION, RemoteAccessPolicy, type RemoteOperator } from './remote-access-policy.js';
import { RemoteSessionsService } from './remote-sessions.service.js';

/** Besides the Redis message, every open session is re-checked this often (a lost message, a role edited in SQL). */
const RECHECK_MS = 30_000;

/** A terminal or file session this instance holds open. */
export interface LiveRemoteSession {
  id: string;
  kind: RemoteSessionKind;
  deviceId: string;
  operator: RemoteOperator;
  /** A recovery shell: re-checked as one (Super Admin, RECOVERY MODE) and only for the boot it opened in. */
  recovery?: { mediumId: string; bootId: string };
  /** Ends the session (idempotent): closes the SSH connection and tells the browser why. */
  close(reason: RemoteSessionEndReason, message: string): void;
}

/**
 * The remote sessions this instance holds, and the rule that ends them the moment access goes: on
 * every AccessChanges message (logout, user disabled or role changed, device quarantined, revoked
 * or retired, a new host key, recovery mode ended or a new boot of the stick; from any instance) the affected sessions are checked again against
 * the database, and closed with `access_revoked` when the operator or the device no longer passes
 * what opening them required.
 */
@Injectable()
export class OpenRemoteSessions implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OpenRemoteSessions.name);
  private readonly sessions = new Map<string, LiveRemoteSession>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly changes: AccessChanges,
    private readonly authenticator: LiveAuthenticator,
    private readonly policy: RemoteAccessPolicy,
    private readonly records: RemoteSessionsService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.changes.onChange((change) => void this.onChange(change));
    this.timer = setInterval(() => void this.recheck([...this.sessions.values()]), RECHECK_MS);
    this.timer.unref();
  }

  /** This instance holds no session yet: rows its previous run left open are closed now. */
  async onApplicationBootstrap(): Promise<void> {
    const closed = await this.records.closeAbandonedOfThisInstance().catch(() => 0);
    if (closed > 0) this.logger.warn({ msg: 'closed remote sessions a previous run left open', closed });
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    for (const session of this.sessions.values()) session.close('server_shutdown', 'the API instance is shutting down');
  }

  /** Registers an open session; the returned function removes it (call it when the session ends). */
  add(session: LiveRemoteSession): () => void {
    this.sessions.set(session.id, session);
    return () => this.sessions.delete(session.id);
  }

  countForUser(userId: string, kind?: RemoteSessionKind): number {
    let count = 0;
    for (const s of this.sessions.values()) if (s.operator.userId === userId && (!kind || s.kind === kind)) count++;
    return count;
  }

  all(): LiveRemoteSession[] {
    return [...this.sessions.values()];
  }

  private async onChange(change: AccessChange): Promise<void> {
    const affected = this.all().filter((s) =>
      change.kind === 'session'
        ? s.operator.authSessionId === change.id
        : change.kind === 'user'
          ? s.operator.userId === change.id
          : s.deviceId === change.id,
    );
    if (affected.length > 0) await this.recheck(affected);
  }

  /** Closes each session whose operator or device no longer passes; keeps them while the database cannot answer. */
  private async recheck(sessions: LiveRemoteSession[]): Promise<void> {
    for (const session of sessions) {
      let refusal: AppError | null = null;
      try {
        const current = await this.authenticator.current(
          {
            userId: session.operator.userId,
            sessionId: session.operator.authSessionId,
            role: session.operator.role,
            email: session.operator.email,
          },
          REMOTE_ACCESS_PERMISSION,
        );
        if ('refusal' in current) refusal = current.refusal;
        else {
          const target = await this.policy.authorize(
            { ...session.operator, role: current.principal.role },
            session.deviceId,
            session.recovery ? 'recovery' : 'device',
          );
          if (
            session.recovery &&
            (target.recovery?.mediumId !== session.recovery.mediumId || target.recovery.bootId !== session.recovery.bootId)
          )
            refusal = new AppError('DEVICE_NOT_IN_RECOVERY_MODE', 'the recovery stick this shell ran on has left that boot');
        }
      } catch (error) {
        if (!(error instanceof AppError)) {
          this.logger.warn({
            msg: 'remote session re-check failed; kept until the next one',
            sessionId: session.id,
            err: (error as Error).message,
          });
          continue;
        }
        refusal = error;
      }
      if (!refusal) continue;
      this.logger.log({ msg: 'remote session closed: access revoked', sessionId: session.id, code: refusal.code });
      session.close('access_revoked', `${refusal.code}: ${refusal.message}`);
    }
  }
}
