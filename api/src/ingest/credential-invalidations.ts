import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.token.js';

const DEVICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Tells every API instance to forget the credentials it cached for a device (a rotation made the
 * new one current and dropped the old one), as command wake-ups reach every instance
 * (api/src/commands/command-wakeups.ts): a Redis channel, one subscriber connection per instance.
 * A lost message leaves the old credential usable on that instance for at most
 * API_DEVICE_AUTH_CACHE_SECONDS (the cache's own bound).
 */
@Injectable()
export class CredentialInvalidations implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CredentialInvalidations.name);
  private readonly channel: string;
  private readonly listeners = new Set<(deviceId: string) => void>();
  private subscriber: Redis | undefined;
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.channel = `${config.REDIS_KEY_PREFIX}device-credentials`;
  }

  /** `listener(deviceId)` runs on this instance for every device whose credentials changed, on any instance. */
  onInvalidate(listener: (deviceId: string) => void): void {
    this.listeners.add(listener);
  }

  onApplicationBootstrap(): void {
    const subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => {
      if (error.message !== this.lastError)
        this.logger.warn({ msg: 'credential invalidations: redis connection problem', err: error.message });
      this.lastError = error.message;
    });
    subscriber.on('ready', () => (this.lastError = ''));
    subscriber.on('message', (_channel: string, deviceId: string) => {
      if (DEVICE_ID.test(deviceId)) this.notify(deviceId);
    });
    // Not awaited to the end (as command wake-ups): the API starts while Redis is away; the cache bound still holds.
    void subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn({ msg: 'credential invalidations: subscribe failed', err: (error as Error).message });
    });
  }

  onApplicationShutdown(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  /** Forgets the device's credentials here at once, then on every other instance through Redis (best-effort, logged). */
  async invalidate(deviceId: string): Promise<void> {
    this.notify(deviceId);
    try {
      await this.redis.publish(this.channel, deviceId);
    } catch (error) {
      this.logger.warn({
        msg: 'credential invalidation not published: other instances forget the old credential when their cache entry ends',
        err: (error as Error).message,
      });
    }
  }

  private notify(deviceId: string): void {
    for (const listener of this.listeners) listener(deviceId);
  }
}
