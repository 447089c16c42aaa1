import { createHmac } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.token.js';
import { keyringOf } from '../common/crypto/keyring.js';

/** What login checks before a password: the same shape for an account and an unknown email. */
export interface LoginFailureState {
  isLocked: boolean;
  backoffUntil: Date | null;
}

/**
 * Failed logins for emails that have no account, kept like an account's (users.repository.ts
 * recordLoginFailure: backoff from API_LOGIN_BACKOFF_AFTER failures, doubling; locked from
 * API_LOGIN_LOCK_AFTER), so an unknown email backs off and locks exactly as an account would and
 * login answers cannot tell them apart. Redis, keyed by an HMAC of the email, expiring
 * STATE_TTL_SECONDS after the last failure (an account's state never expires: after that long,
 * a guess at an unknown email answers like a first failure again).
 */
@Injectable()
export class UnknownLoginFailures {
  static readonly STATE_TTL_SECONDS = 7 * 24 * 3600;
  private readonly logger = new Logger(UnknownLoginFailures.name);
  private readonly key: Buffer;
  /** API_SECRET_KEY_PREVIOUS's key during a rotation: failures counted under it still count. */
  private readonly previousKey: Buffer | null;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const ring = keyringOf(config);
    this.key = ring.current.loginEmailHmac;
    this.previousKey = ring.previous?.loginEmailHmac ?? null;
  }

  /** When Redis is away this answers "no failures" (logged), like the per-address rate limit. */
  async state(email: string): Promise<LoginFailureState> {
    try {
      const [count, lastFailureMs] = await this.redis.hmget(this.redisKey(email), 'count', 'last');
      const current = this.derive(Number(count ?? 0), Number(lastFailureMs ?? 0));
      if (!this.previousKey) return current;
      // During a rotation the stricter of the two states holds, so a rotation never resets a backoff or a lock.
      const [oldCount, oldLastMs] = await this.redis.hmget(this.redisKey(email, this.previousKey), 'count', 'last');
      return Number(oldCount ?? 0) > Number(count ?? 0) ? this.derive(Number(oldCount), Number(oldLastMs ?? 0)) : current;
    } catch (error) {
      this.logger.warn({ msg: 'unknown-email login failures unavailable (redis)', err: (error as Error).message });
      return { isLocked: false, backoffUntil: null };
    }
  }

  /** Counts one failure atomically; returns the new count (0 when Redis is away). */
  async record(email: string): Promise<number> {
    const key = this.redisKey(email);
    try {
      const results = await this.redis
        .multi()
        .hincrby(key, 'count', 1)
        .hset(key, 'last', Date.now())
        .expire(key, UnknownLoginFailures.STATE_TTL_SECONDS)
        .exec();
      return Number(results?.[0]?.[1] ?? 0);
    } catch (error) {
      this.logger.warn({ msg: 'unknown-email login failure not recorded (redis)', err: (error as Error).message });
      return 0;
    }
  }

  /** The schedule of users.repository.ts recordLoginFailure, from the count and the last failure. */
  private derive(count: number, lastFailureMs: number): LoginFailureState {
    const { API_LOGIN_BACKOFF_AFTER: backoffAfter, API_LOGIN_LOCK_AFTER: lockAfter, API_LOGIN_BACKOFF_BASE_MS: baseMs } = this.config;
    const backoffMs = count >= backoffAfter ? baseMs * 2 ** Math.min(count - backoffAfter, 16) : 0;
    return { isLocked: count >= lockAfter, backoffUntil: backoffMs > 0 ? new Date(lastFailureMs + backoffMs) : null };
  }

  private redisKey(email: string, key = this.key): string {
    const digest = createHmac('sha256', key).update(email.trim().toLowerCase()).digest('base64url');
    return `${this.config.REDIS_KEY_PREFIX}login-fail:${digest}`;
  }
}
