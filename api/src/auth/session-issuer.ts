import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { SessionTokens } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { requestContext } from '../common/context/request-context.js';
import { randomToken, sha256Hex } from '../common/crypto/secrets.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import { SessionsRepository } from './sessions.repository.js';
import { TokensService } from './tokens.service.js';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** Where a sign-in request came from, as sessions record it. */
export function clientOf(request: FastifyRequest): ClientInfo {
  const ua = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof ua === 'string' ? ua : null };
}

export interface NewSession {
  userId: string;
  email: string;
  totpEnabled: boolean;
  stepUpAt: Date | null;
  /** SSO: the provider, and its session lifetime (never longer than API_SESSION_MAX_AGE_SECONDS). */
  sso?: { providerId: string; maxAgeSeconds: number };
}

/**
 * Opens sessions and mints their tokens: password logins (AuthService) and SSO logins (the sso
 * feature) go through the same code, so both get the same refresh-token family rules.
 */
@Injectable()
export class SessionIssuer {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly settings: SecuritySettingsService,
    private readonly tokens: TokensService,
  ) {}

  async issue(input: NewSession, client: ClientInfo): Promise<SessionTokens> {
    const maxAge = Math.min(this.config.API_SESSION_MAX_AGE_SECONDS, input.sso?.maxAgeSeconds ?? Number.POSITIVE_INFINITY);
    const expiresAt = new Date(Date.now() + maxAge * 1000);
    const session = await this.sessions.create({
      userId: input.userId,
      expiresAt,
      stepUpAt: input.stepUpAt,
      sourceIp: client.ip,
      userAgent: client.userAgent?.slice(0, 400) ?? null,
      authMethod: input.sso ? 'sso' : 'password',
      identityProviderId: input.sso?.providerId ?? null,
    });
    requestContext.annotate({
      subjectUserId: input.userId,
      subjectEmail: input.email,
      resourceId: input.userId,
      details: { sessionId: session.id },
    });
    // SSO sessions prove a second factor at the identity provider, not with TOTP here.
    const totpSetupRequired = !input.sso && (await this.settings.get()).requireTotp && !input.totpEnabled;
    return this.tokensFor(input.userId, session.id, expiresAt, totpSetupRequired);
  }

  async tokensFor(userId: string, sessionId: string, sessionExpiresAt: Date, totpSetupRequired: boolean): Promise<SessionTokens> {
    const refreshToken = `rt_${randomToken(32)}`;
    const refreshExpiry = new Date(Math.min(sessionExpiresAt.getTime(), Date.now() + this.config.API_REFRESH_TOKEN_TTL_SECONDS * 1000));
    await this.sessions.addRefreshToken(sessionId, sha256Hex(refreshToken), refreshExpiry);
    return {
      accessToken: await this.tokens.signAccess({ userId, sessionId }),
      refreshToken,
      expiresIn: this.config.API_ACCESS_TOKEN_TTL_SECONDS,
      totpSetupRequired,
    };
  }
}
