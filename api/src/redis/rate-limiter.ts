import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { REDIS } from './redis.token.js';

/**
 * Fixed-window counters in Redis, shared by all API instances. When Redis is away the limiter
 * lets requests through (logged): the per-account lockout and claim-code checks still hold.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async consume(bucket: string, key: string, limit: number, windowSeconds: number, detail: string): Promise<void> {
    const redisKey = `${this.config.REDIS_KEY_PREFIX}rate:${bucket}:${key}`;
    let count: number;
    try {
      const results = await this.redis.multi().incr(redisKey).expire(redisKey, windowSeconds, 'NX').exec();
      count = Number(results?.[0]?.[1] ?? 0);
    } catch (error) {
      this.logger.warn({ msg: 'rate limit unavailable (redis)', bucket, err: (error as Error).message });
      return;
    }
    if (count > limit) throw new AppError('RATE_LIMITED', detail, { retryAfterSeconds: windowSeconds });
  }
}
