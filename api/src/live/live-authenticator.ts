import { Injectable } from '@nestjs/common';
import { roleHasPermission, type Permission, type Role } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import type { SessionPrincipal } from '../auth/session-principal.js';
import { SessionsService } from '../auth/sessions.service.js';
import { TokensService } from '../auth/tokens.service.js';

/** The operator behind a WebSocket (live updates, terminals). */
export interface LivePrincipal {
  userId: string;
  sessionId: string;
  role: Role;
  email: string;
}

/** Live updates show the fleet: the permission of `GET devices`. */
export const LIVE_PERMISSION = 'devices.view';

/**
 * Why a session may not (or no longer) hold a WebSocket needing `permission` (live updates:
 * devices.view), or null when it may. The same rules as the access guard for a
 * `@RequirePermission(permission)` route, re-applied for as long as the connection stays open.
 */
export function liveSessionRefusal(
  principal: SessionPrincipal | null,
  userId: string,
  now = new Date(),
  permission: Permission = LIVE_PERMISSION,
): AppError | null {
  if (!principal || principal.userId !== userId) return new AppError('AUTH_SESSION_REVOKED');
  if (principal.revokedAt || principal.sessionExpiresAt <= now) return new AppError('AUTH_SESSION_REVOKED');
  if (principal.status !== 'active') return new AppError('AUTH_USER_DISABLED');
  if (principal.passwordSessionRefused) return new AppError('AUTH_SSO_REQUIRED');
  if (principal.requireTotp && !principal.totpEnabled && principal.authMethod === 'password')
    return new AppError(
      'AUTH_TOTP_SETUP_REQUIRED',
      'two-factor authentication is required: set up TOTP (POST auth/totp/setup, then auth/totp/enable)',
    );
  if (!roleHasPermission(principal.role, permission)) return new AppError('AUTH_FORBIDDEN', `this needs the ${permission} permission`);
  return null;
}

@Injectable()
export class LiveAuthenticator {
  constructor(
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
  ) {}

  /** Verifies an access token (cookie or Bearer) and its session; throws the guard's error codes. */
  async authenticate(token: string, permission: Permission = LIVE_PERMISSION): Promise<LivePrincipal> {
    const claims = await this.tokens.verifyAccess(token);
    const principal = await this.sessions.findPrincipal(claims.sessionId);
    const refusal = liveSessionRefusal(principal, claims.userId, new Date(), permission);
    if (refusal) throw refusal;
    return { userId: claims.userId, sessionId: claims.sessionId, role: principal!.role, email: principal!.email };
  }

  /** Null while the session may still hold its connection, else why not; the role read now (it may have changed). */
  async recheck(principal: LivePrincipal, permission: Permission = LIVE_PERMISSION): Promise<AppError | null> {
    return liveSessionRefusal(await this.sessions.findPrincipal(principal.sessionId), principal.userId, new Date(), permission);
  }

  /** The session's principal as it is now, or why it may no longer hold a connection needing `permission`. */
  async current(principal: LivePrincipal, permission: Permission): Promise<{ principal: LivePrincipal } | { refusal: AppError }> {
    const found = await this.sessions.findPrincipal(principal.sessionId);
    const refusal = liveSessionRefusal(found, principal.userId, new Date(), permission);
    if (refusal) return { refusal };
    return { principal: { ...principal, role: found!.role, email: found!.email } };
  }
}
