import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { SsoProtocol } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { REDIS } from '../redis/redis.token.js';

/** A sign-in or step-up started here and not finished yet. */
export interface SsoPendingLogin {
  providerId: string;
  protocol: SsoProtocol;
  purpose: 'login' | 'step-up';
  returnTo: string;
  /** Epoch ms when it started: a step-up's re-authentication must be newer. */
  startedAt: number;
  /** SAML: the AuthnRequest ID that the response's InResponseTo must name. */
  samlRequestId?: string;
  /** OIDC: the nonce, the PKCE verifier and the SHA-256 of the browser-binding cookie. */
  nonce?: string;
  codeVerifier?: string;
  browserBindingHash?: string;
  /** Step-up: the session that asked, and its user. */
  sessionId?: string;
  userId?: string;
}

/** How long a started sign-in may take at the identity provider. */
export const SSO_PENDING_TTL_SECONDS = 600;

/**
 * The SSO flow's short-lived state in Redis, shared by every API instance: pending logins (taken
 * once, atomically, so a callback cannot be replayed) and the SAML assertion ids already used.
 * Without Redis SSO fails closed.
 */
@Injectable()
export class SsoStateStore {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async put(state: string, pending: SsoPendingLogin): Promise<void> {
    await this.orUnavailable(() => this.redis.set(this.pendingKey(state), JSON.stringify(pending), 'EX', SSO_PENDING_TTL_SECONDS));
  }

  /** The pending login for `state`, removed in the same step (GETDEL); null when unknown, used or expired. */
  async take(state: string): Promise<SsoPendingLogin | null> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return null;
    const raw = await this.orUnavailable(() => this.redis.getdel(this.pendingKey(state)));
    return raw ? (JSON.parse(raw) as SsoPendingLogin) : null;
  }

  /**
   * Records a SAML assertion id until it expires; false when it was recorded already (a replay).
   * SET NX: of two concurrent uses of one assertion exactly one gets true.
   */
  async rememberAssertion(providerId: string, assertionId: string, until: Date): Promise<boolean> {
    const ttlMs = Math.max(1_000, until.getTime() - Date.now() + this.config.API_SSO_CLOCK_SKEW_SECONDS * 1000);
    const key = `${this.config.REDIS_KEY_PREFIX}sso:assertion:${providerId}:${assertionId}`;
    return (await this.orUnavailable(() => this.redis.set(key, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  private pendingKey(state: string): string {
    return `${this.config.REDIS_KEY_PREFIX}sso:pending:${state}`;
  }

  private async orUnavailable<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', 'single sign-on cannot be completed right now: try again shortly');
    }
  }
}
