import { Injectable } from '@nestjs/common';
import { roleHasPermission, type Role } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import type { SessionPrincipal } from '../auth/session-principal.js';
import { SessionsService } from '../auth/sessions.service.js';
import { TokensService } from '../auth/tokens.service.js';

/** The operator behind a live connection. */
export interface LivePrincipal {
  userId: string;
  sessionId: string;
  role: Role;
}

/** Live updates show the fleet: the permission of `GET devices`. */
export const LIVE_PERMISSION = 'devices.view';

/**
 * Why a session may not (or no longer) receive live updates, or null when it may. The same
 * rules as the access guard for a `@RequirePermission('devices.view')` route, re-applied
 * periodically for as long as the connection stays open.
 */
export function liveSessionRefusal(principal: SessionPrincipal | null, userId: string, now = new Date()): AppError | null {
  if (!principal || principal.userId !== userId) return new AppError('AUTH_SESSION_REVOKED');
  if (principal.revokedAt || principal.sessionExpiresAt <= now) return new AppError('AUTH_SESSION_REVOKED');
  if (principal.status !== 'active') return new AppError('AUTH_USER_DISABLED');
  if (principal.passwordSessionRefused) return new AppError('AUTH_SSO_REQUIRED');
  if (principal.requireTotp && !principal.totpEnabled && principal.authMethod === 'password')
    return new AppError(
      'AUTH_TOTP_SETUP_REQUIRED',
      'two-factor authentication is required: set up TOTP (POST auth/totp/setup, then auth/totp/enable)',
    );
  if (!roleHasPermission(principal.role, LIVE_PERMISSION))
    return new AppError('AUTH_FORBIDDEN', `this needs the ${LIVE_PERMISSION} permission`);
  return null;
}

@Injectable()
export class LiveAuthenticator {
  constructor(
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
  ) {}

  /** Verifies an access token (cookie or Bearer) and its session; throws the guard's error codes. */
  async authenticate(token: string): Promise<LivePrincipal> {
    const claims = await this.tokens.verifyAccess(token);
    const principal = await this.sessions.findPrincipal(claims.sessionId);
    const refusal = liveSessionRefusal(principal, claims.userId);
    if (refusal) throw refusal;
    return { userId: claims.userId, sessionId: claims.sessionId, role: principal!.role };
  }

  /** Null while the session may still receive live updates, else why not. */
  async recheck(principal: LivePrincipal): Promise<AppError | null> {
    return liveSessionRefusal(await this.sessions.findPrincipal(principal.sessionId), principal.userId);
  }
}
