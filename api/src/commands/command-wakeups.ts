import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.token.js';

/** Device ids are UUIDs; anything else on the channel is ignored. */
const DEVICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Wakes the long poll of a device, whichever API instance holds it: a queued command is
 * published on a Redis channel, every instance resolves its waiters for that device. A lost
 * wake-up costs at most one poll interval (the poll re-reads the queue when it ends), never a
 * command.
 */
@Injectable()
export class CommandWakeups implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CommandWakeups.name);
  private readonly channel: string;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly listeners = new Set<(deviceId: string) => void>();
  private subscriber: Redis | undefined;
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.channel = `${config.REDIS_KEY_PREFIX}commands`;
  }

  async onApplicationBootstrap(): Promise<void> {
    // A subscribed connection can run no other command: one of its own.
    const subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => {
      if (error.message !== this.lastError) this.logger.warn({ msg: 'command wake-ups: redis connection problem', err: error.message });
      this.lastError = error.message;
    });
    subscriber.on('ready', () => (this.lastError = ''));
    subscriber.on('message', (_channel: string, deviceId: string) => {
      if (DEVICE_ID.test(deviceId)) this.resolve(deviceId);
    });
    // Not awaited to the end: polls still answer at their timeout while Redis is away.
    void subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn({ msg: 'command wake-ups: subscribe failed', err: (error as Error).message });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const deviceId of [...this.waiters.keys()]) this.resolve(deviceId);
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  /** `listener(deviceId)` runs on this instance for every wake-up, from any instance. */
  onWake(listener: (deviceId: string) => void): void {
    this.listeners.add(listener);
  }

  /** Tells every instance that the device has work. Best-effort: a failed publish is logged. */
  async wake(deviceId: string): Promise<void> {
    // This instance's listeners at once (its next ack must not wait for Redis's echo).
    for (const listener of this.listeners) listener(deviceId);
    try {
      await this.redis.publish(this.channel, deviceId);
    } catch (error) {
      // Redis away: this instance's polls still wake; the others' re-read the queue when they end.
      this.resolve(deviceId);
      this.logger.warn({ msg: 'command wake-up not published: the device learns of it at its next poll', err: (error as Error).message });
    }
  }

  /**
   * Resolves when the device is woken, after `ms`, or when `signal` aborts, whichever is first.
   * Register before reading the queue, so a command queued in between is not missed.
   */
  waiter(deviceId: string, ms: number, signal?: AbortSignal): { wait: Promise<void>; cancel: () => void } {
    let done: () => void = () => undefined;
    const wait = new Promise<void>((resolve) => (done = resolve));
    const set = this.waiters.get(deviceId) ?? new Set<() => void>();
    this.waiters.set(deviceId, set);
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      set.delete(finish);
      if (set.size === 0 && this.waiters.get(deviceId) === set) this.waiters.delete(deviceId);
      done();
    };
    set.add(finish);
    signal?.addEventListener('abort', finish, { once: true });
    return { wait, cancel: finish };
  }

  /** Waiting polls on this instance (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private resolve(deviceId: string): void {
    for (const listener of this.listeners) listener(deviceId);
    for (const finish of [...(this.waiters.get(deviceId) ?? [])]) finish();
  }
}
