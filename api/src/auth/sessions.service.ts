import { Injectable } from '@nestjs/common';
import { requestContext } from '../common/context/request-context.js';
import { AccessChanges } from '../redis/access-changes.js';
import type { SessionPrincipal } from './session-principal.js';
import { SessionsRepository } from './sessions.repository.js';

/**
 * Operator sessions as other features use them: the access guard and live updates read the
 * principal, the users feature ends a user's sessions, the worker purges ended ones. Runs in
 * the caller's transaction, if any.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly accessChanges: AccessChanges,
  ) {}

  /** The session with its user and the TOTP policy; null when the session does not exist. */
  findPrincipal(sessionId: string): Promise<SessionPrincipal | null> {
    return this.sessions.findPrincipal(sessionId);
  }

  /**
   * Ends every live session of a user, except `keepSessionId` when given; returns how many. Once
   * that committed, every instance closes the terminals and file sessions they opened.
   */
  async revokeAllForUser(userId: string, reason: string, keepSessionId?: string): Promise<number> {
    const ended = await this.sessions.revokeAllForUser(userId, reason, keepSessionId);
    if (ended > 0) requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'user', id: userId }));
    return ended;
  }

  /** A fresh step-up (an SSO re-authentication at the identity provider) for the session. */
  setStepUp(sessionId: string, at: Date): Promise<void> {
    return this.sessions.setStepUp(sessionId, at);
  }

  /** Housekeeping: deletes sessions (and their refresh tokens) that ended before `olderThan`. */
  purgeExpired(olderThan: Date): Promise<number> {
    return this.sessions.purgeExpired(olderThan);
  }
}
