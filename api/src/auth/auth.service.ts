import { Inject, Injectable, Logger } from '@nestjs/common';
import type { LoginResponse, MeResponse, SessionTokens } from '@xspectre/contracts';
import { ROLE_PERMISSIONS } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { AccessChanges } from '../redis/access-changes.js';
import { AuditService } from '../audit/audit.service.js';
import type { UserEntity } from './user.entity.js';
import { UsersRepository } from './users.repository.js';
import { PasswordHasher } from './password-hasher.js';
import { sha256Hex } from '../common/crypto/secrets.js';
import { SessionIssuer, type ClientInfo } from './session-issuer.js';
import { SessionsRepository } from './sessions.repository.js';
import { TokensService } from './tokens.service.js';
import { TotpService } from './totp.service.js';
import { UnknownLoginFailures, type LoginFailureState } from './unknown-login-failures.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';

export type { ClientInfo } from './session-issuer.js';

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly rateLimiter: RateLimiter,
    private readonly db: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly settings: SecuritySettingsService,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokensService,
    private readonly issuer: SessionIssuer,
    private readonly totp: TotpService,
    private readonly audit: AuditService,
    private readonly unknownFailures: UnknownLoginFailures,
    private readonly accessChanges: AccessChanges,
  ) {}

  async login(email: string, password: string, client: ClientInfo): Promise<LoginResponse> {
    await this.limitAttemptsPerIp(client.ip);
    requestContext.annotate({ subjectEmail: email });
    const user = await this.users.findByEmail(email);
    if (user) requestContext.annotate({ subjectUserId: user.id, resourceId: user.id });
    // An unknown email backs off and locks like an account, so the answers do not reveal which exist.
    this.assertNotLocked(user ?? (await this.unknownFailures.state(email)));
    if (!(await this.hasher.verify(password, user?.passwordHash ?? null)) || !user) {
      if (user) await this.recordFailure(user);
      else requestContext.annotate({ details: { failedLoginCount: await this.unknownFailures.record(email), unknownEmail: true } });
      throw new AppError('AUTH_INVALID_CREDENTIALS');
    }
    if (user.status !== 'active') throw new AppError('AUTH_USER_DISABLED');
    const policy = await this.settings.get();
    if (policy.ssoRequired && !policy.ssoBreakGlassUserIds.includes(user.id)) {
      throw new AppError(
        'AUTH_SSO_REQUIRED',
        'single sign-on is mandatory: use your identity provider (only break-glass accounts use a password)',
      );
    }
    if (user.totpEnabled) {
      requestContext.annotate({ action: 'auth.login_password_ok', details: { mfaRequired: true } });
      return { mfaRequired: true, mfaToken: await this.tokens.signMfa(user.id) };
    }
    await this.users.clearLoginFailures(user.id, true);
    return this.issueSession(user, null, client);
  }

  /** Second login step: a TOTP code, or one recovery code. */
  async completeMfa(mfaToken: string, proof: { code?: string; recoveryCode?: string }, client: ClientInfo): Promise<SessionTokens> {
    const claims = await this.tokens.verifyMfa(mfaToken);
    const user = await this.users.findById(claims.userId);
    if (!user || user.status !== 'active') throw new AppError('AUTH_USER_DISABLED');
    requestContext.annotate({ subjectUserId: user.id, subjectEmail: user.email, resourceId: user.id });
    this.assertNotLocked(user);
    const ok =
      proof.code !== undefined
        ? await this.totp.verifyCode(user, proof.code)
        : await this.totp.useRecoveryCode(user.id, proof.recoveryCode ?? '');
    if (!ok) {
      // The token stays usable: wrong codes are limited by the failure counter (backoff, lock).
      await this.recordFailure(user);
      throw new AppError(
        'AUTH_TOTP_INVALID',
        proof.code !== undefined ? 'the code is wrong, expired or already used' : 'the recovery code is wrong or already used',
      );
    }
    await this.tokens.consumeMfa(claims);
    if (proof.recoveryCode !== undefined) {
      const left = await this.users.countUnusedRecoveryCodes(user.id);
      requestContext.annotate({ details: { usedRecoveryCode: true, recoveryCodesLeft: left } });
    }
    await this.users.clearLoginFailures(user.id, true);
    // A TOTP code is a fresh second factor, so it counts as step-up; a recovery code does not.
    return this.issueSession(user, proof.code !== undefined ? new Date() : null, client);
  }

  async refresh(refreshToken: string): Promise<SessionTokens> {
    const stored = await this.sessions.findRefreshToken(sha256Hex(refreshToken));
    if (!stored) throw new AppError('AUTH_TOKEN_INVALID', 'unknown refresh token');
    if (stored.usedAt || !(await this.sessions.consumeRefreshToken(stored.id))) {
      await this.revokeFamilyForReuse(stored.sessionId);
      throw new AppError('AUTH_REFRESH_REUSED');
    }
    if (stored.expiresAt <= new Date()) throw new AppError('AUTH_TOKEN_INVALID', 'the refresh token has expired: sign in again');
    const principal = await this.sessions.findPrincipal(stored.sessionId);
    if (!principal || principal.revokedAt || principal.sessionExpiresAt <= new Date()) throw new AppError('AUTH_SESSION_REVOKED');
    if (principal.status !== 'active') throw new AppError('AUTH_USER_DISABLED');
    requestContext.annotate({ subjectUserId: principal.userId, subjectEmail: principal.email, resourceId: principal.sessionId });
    if (principal.passwordSessionRefused) throw new AppError('AUTH_SSO_REQUIRED');
    return this.issuer.tokensFor(
      principal.userId,
      principal.sessionId,
      principal.sessionExpiresAt,
      principal.requireTotp && !principal.totpEnabled && principal.authMethod === 'password',
    );
  }

  async logout(actor: Actor): Promise<void> {
    await this.sessions.revoke(actor.sessionId, 'logout');
    // The session's terminals and file sessions close on every instance once the logout committed.
    requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'session', id: actor.sessionId }));
  }

  async me(actor: Actor): Promise<MeResponse> {
    const user = await this.requireUser(actor.userId);
    const policy = await this.settings.get();
    const stepUpValidUntil = actor.stepUpAt ? new Date(actor.stepUpAt.getTime() + this.config.API_STEP_UP_TTL_SECONDS * 1000) : null;
    return {
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      role: user.role,
      permissions: [...ROLE_PERMISSIONS[user.role]],
      totpEnabled: user.totpEnabled,
      totpSetupRequired: policy.requireTotp && !user.totpEnabled && actor.authMethod !== 'sso',
      stepUpValidUntil: stepUpValidUntil && stepUpValidUntil > new Date() ? stepUpValidUntil.toISOString() : null,
      authMethod: actor.authMethod ?? 'password',
      ssoProviderId: actor.ssoProviderId ?? null,
    };
  }

  async stepUp(actor: Actor, code: string): Promise<{ stepUpValidUntil: string }> {
    if (actor.authMethod === 'sso') throw new AppError('AUTH_SSO_STEP_UP');
    const user = await this.requireUser(actor.userId);
    if (!user.totpEnabled) throw new AppError('AUTH_TOTP_NOT_ENABLED', 'set up two-factor authentication to perform critical actions');
    if (!(await this.totp.verifyCode(user, code))) {
      await this.recordFailure(user);
      throw new AppError('AUTH_TOTP_INVALID');
    }
    const now = new Date();
    await this.sessions.setStepUp(actor.sessionId, now);
    return { stepUpValidUntil: new Date(now.getTime() + this.config.API_STEP_UP_TTL_SECONDS * 1000).toISOString() };
  }

  async changePassword(actor: Actor, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.requireUser(actor.userId);
    if (!(await this.hasher.verify(currentPassword, user.passwordHash)))
      throw new AppError('AUTH_INVALID_CREDENTIALS', 'the current password is wrong');
    await this.users.update(user.id, { passwordHash: await this.hasher.hash(newPassword) });
    // Other sessions may belong to whoever knew the old password.
    const ended = await this.sessions.revokeAllForUser(user.id, 'password_changed', actor.sessionId);
    if (ended > 0) requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'user', id: user.id }));
    requestContext.annotate({ details: { otherSessionsEnded: ended } });
  }

  async requireUser(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError('AUTH_SESSION_REVOKED');
    return user;
  }

  private assertNotLocked(state: LoginFailureState): void {
    if (state.isLocked) throw new AppError('AUTH_ACCOUNT_LOCKED');
    if (state.backoffUntil && state.backoffUntil > new Date()) {
      const retryAfterSeconds = Math.max(1, Math.ceil((state.backoffUntil.getTime() - Date.now()) / 1000));
      throw new AppError('AUTH_LOGIN_BACKOFF', `too many failed logins: try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }

  /** Outside the request transaction: the count must survive the failed request's rollback. */
  private async recordFailure(user: UserEntity): Promise<void> {
    const outcome = await this.db.detached(() =>
      this.users.recordLoginFailure(user.id, {
        backoffAfter: this.config.API_LOGIN_BACKOFF_AFTER,
        lockAfter: this.config.API_LOGIN_LOCK_AFTER,
        backoffBaseMs: this.config.API_LOGIN_BACKOFF_BASE_MS,
      }),
    );
    requestContext.annotate({ details: { failedLoginCount: outcome.failedLoginCount } });
    if (outcome.isLocked && !user.isLocked) {
      await this.audit.appendDetached({
        action: 'auth.lockout',
        resourceType: 'user',
        resourceId: user.id,
        userId: user.id,
        userEmail: user.email,
        result: 'success',
        details: { failedLoginCount: outcome.failedLoginCount, reason: `${this.config.API_LOGIN_LOCK_AFTER} failed attempts` },
      });
    }
  }

  private async revokeFamilyForReuse(sessionId: string): Promise<void> {
    await this.db.detached(() => this.sessions.revoke(sessionId, 'refresh_token_reuse'));
    // Committed on its own (the refused refresh rolls back): announced now, not after the request.
    await this.accessChanges.announce({ kind: 'session', id: sessionId });
    this.logger.warn({ msg: 'refresh token reuse: session family revoked', sessionId });
    await this.audit.appendDetached({
      action: 'auth.refresh_reuse_detected',
      resourceType: 'session',
      resourceId: sessionId,
      result: 'success',
      details: { revoked: true },
    });
  }

  private issueSession(user: UserEntity, stepUpAt: Date | null, client: ClientInfo): Promise<SessionTokens> {
    return this.issuer.issue({ userId: user.id, email: user.email, totpEnabled: user.totpEnabled, stepUpAt }, client);
  }

  /** Per-address login budget; the per-account lockout is the second line. */
  private limitAttemptsPerIp(ip: string | null): Promise<void> {
    if (!ip) return Promise.resolve();
    return this.rateLimiter.consume(
      'login',
      ip,
      this.config.API_LOGIN_RATE_LIMIT_PER_IP,
      300,
      'too many login attempts from this address: wait a few minutes',
    );
  }
}
