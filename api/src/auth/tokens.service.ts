import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { REDIS } from '../redis/redis.token.js';
import { keyringOf, keysFor } from '../common/crypto/keyring.js';

const ISSUER = 'xspectre-ops-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** The MFA-step token of a two-step login: whose it is, and which one (single use). */
export interface MfaClaims {
  userId: string;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Verified access tokens remembered at most (one per signed-in console tab and API client). */
const VERIFIED_ACCESS_MAX = 10_000;

const MFA_USED = 'this sign-in step was completed already: sign in again';

/** Short-lived JWTs: access tokens, and the token that links the two login steps. */
@Injectable()
export class TokensService {
  private readonly key: Uint8Array;
  /** The current key, then API_SECRET_KEY_PREVIOUS's during a rotation: tokens signed before it stay valid until they expire. */
  private readonly verifyKeys: Uint8Array[];
  /** Access tokens whose signature verified, oldest first (bounded: the oldest goes first). */
  private readonly verifiedAccess = new Map<string, { claims: AccessClaims; exp: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    const ring = keyringOf(config);
    this.key = ring.current.jwt;
    this.verifyKeys = keysFor(ring, 'jwt');
  }

  signAccess(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience('access')
      .setIssuedAt()
      .setExpirationTime(`${this.config.API_ACCESS_TOKEN_TTL_SECONDS}s`)
      .sign(this.key);
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    // A token verified before is not verified again until it expires: the signature check is a
    // large share of a small read's CPU, and the session behind the token is still looked up on
    // every request (access.guard.ts), so a revoke or a disabled user still applies at once.
    const known = this.verifiedAccess.get(token);
    if (known && known.exp * 1000 > Date.now()) return known.claims;
    const payload = await this.verify(token, 'access');
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number')
      throw new AppError('AUTH_TOKEN_INVALID');
    const claims = { userId: payload.sub, sessionId: payload.sid };
    if (this.verifiedAccess.size >= VERIFIED_ACCESS_MAX) this.verifiedAccess.delete(this.verifiedAccess.keys().next().value!);
    this.verifiedAccess.set(token, { claims, exp: payload.exp });
    return claims;
  }

  signMfa(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setJti(randomUUID())
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience('mfa')
      .setIssuedAt()
      .setExpirationTime(`${this.config.API_MFA_TOKEN_TTL_SECONDS}s`)
      .sign(this.key);
  }

  /** Valid, unexpired and not used yet; consumeMfa marks it used once the second factor checked out. */
  async verifyMfa(token: string): Promise<MfaClaims> {
    const payload = await this.verify(token, 'mfa');
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number')
      throw new AppError('AUTH_TOKEN_INVALID');
    const claims = { userId: payload.sub, jti: payload.jti, exp: payload.exp };
    // Checked before the code, so a used token is refused without spending a code or counting a failure.
    if ((await this.redisOrUnavailable(() => this.redis.exists(this.mfaUsedKey(claims)))) > 0)
      throw new AppError('AUTH_TOKEN_INVALID', MFA_USED);
    return claims;
  }

  /**
   * Marks the token used, atomically (SET NX): of concurrent uses exactly one gets through; the
   * others fail and their request transaction rolls back the code they spent. The mark lives as
   * long as the token could.
   */
  async consumeMfa(claims: MfaClaims): Promise<void> {
    const ttlMs = Math.max(1000, claims.exp * 1000 - Date.now());
    const set = await this.redisOrUnavailable(() => this.redis.set(this.mfaUsedKey(claims), '1', 'PX', ttlMs, 'NX'));
    if (set !== 'OK') throw new AppError('AUTH_TOKEN_INVALID', MFA_USED);
  }

  private mfaUsedKey(claims: MfaClaims): string {
    return `${this.config.REDIS_KEY_PREFIX}mfa-used:${claims.jti}`;
  }

  /** Single use cannot be enforced without Redis: the second login step fails closed. */
  private async redisOrUnavailable<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', 'sign-in cannot be completed right now: try again shortly');
    }
  }

  private async verify(token: string, audience: 'access' | 'mfa') {
    for (const [index, key] of this.verifyKeys.entries()) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience, algorithms: ['HS256'] });
        return payload;
      } catch (error) {
        // Only a signature that does not match moves on to the previous key; an expired or malformed token is refused at once.
        if (error instanceof joseErrors.JWSSignatureVerificationFailed && index < this.verifyKeys.length - 1) continue;
        if (error instanceof joseErrors.JOSEError) throw new AppError('AUTH_TOKEN_INVALID');
        throw error;
      }
    }
    throw new AppError('AUTH_TOKEN_INVALID');
  }
}
