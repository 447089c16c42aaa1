import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AccessChanges } from './access-changes.js';
import { RateLimiter } from './rate-limiter.js';
import { REDIS } from './redis.token.js';

export { REDIS };
const logger = new Logger('Redis');

@Global()
@Module({
  providers: [
    RateLimiter,
    AccessChanges,
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      // One retry per command, then the caller decides (login rate limiting fails open, readiness reports it).
      useFactory: (config: AppConfig) => {
        const redis = new Redis(config.REDIS_URL, {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: true,
          connectTimeout: 5_000,
          lazyConnect: false,
        });
        // ioredis reconnects by itself; log each new kind of failure once instead of crashing on 'error'.
        let lastError = '';
        redis.on('error', (error: Error) => {
          if (error.message !== lastError) logger.warn({ msg: 'redis connection problem', err: error.message });
          lastError = error.message;
        });
        redis.on('ready', () => (lastError = ''));
        return redis;
      },
    },
  ],
  exports: [REDIS, RateLimiter, AccessChanges],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
