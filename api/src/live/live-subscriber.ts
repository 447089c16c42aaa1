import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { LiveEnvelopeSchema, liveChannel } from './live-channel.js';
import { LiveConnections } from './live-connections.js';

/** Startup does not wait longer than this for Redis: the API serves without live updates meanwhile. */
const SUBSCRIBE_WAIT_MS = 5_000;

/**
 * Receives every live message of the installation (from any API instance or the worker) and
 * hands it to this instance's connections. A connection of its own: a subscribed Redis
 * connection can run no other command. ioredis re-subscribes after every reconnect.
 */
@Injectable()
export class LiveSubscriber implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LiveSubscriber.name);
  private redis: Redis | undefined;
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly connections: LiveConnections,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const redis = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    this.redis = redis;
    redis.on('error', (error: Error) => {
      if (error.message !== this.lastError) this.logger.warn({ msg: 'live subscriber: redis connection problem', err: error.message });
      this.lastError = error.message;
    });
    redis.on('ready', () => (this.lastError = ''));
    redis.on('message', (_channel: string, text: string) => this.deliver(text));
    const subscribed = redis.subscribe(liveChannel(this.config)).then(
      () => true,
      (error: unknown) => {
        this.logger.warn({ msg: 'live subscriber: subscribe failed', err: (error as Error).message });
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS)));
    const ready = await Promise.race([subscribed, waited]);
    clearTimeout(timer);
    if (!ready) this.logger.warn('live updates start once Redis answers');
  }

  async onApplicationShutdown(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    if (!redis) return;
    // QUIT on a connection that never came up would wait in the offline queue forever.
    if (redis.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([redis.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
    }
    redis.disconnect();
  }

  private deliver(text: string): void {
    // Heartbeats arrive at fleet rate: an instance without consoles does not even parse them.
    if (this.connections.size === 0) return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const envelope = LiveEnvelopeSchema.safeParse(raw);
    if (!envelope.success) {
      this.logger.warn({ msg: 'live message ignored: not a live envelope', bytes: text.length });
      return;
    }
    this.connections.dispatch(envelope.data);
  }
}
