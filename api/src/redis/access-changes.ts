import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS } from './redis.token.js';

/**
 * Something that may take access away from an operator's open terminal and file sessions:
 * a login session ended (logout, revoked), a user changed (disabled, role changed), a device
 * changed (quarantined, revoked, retired). Listeners re-check what they hold against the database.
 */
export type AccessChange = { kind: 'session'; id: string } | { kind: 'user'; id: string } | { kind: 'device'; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KINDS = new Set(['session', 'user', 'device']);

function parseChange(text: string): AccessChange | null {
  const [kind, id] = text.split(':');
  if (!kind || !id || !KINDS.has(kind) || !UUID.test(id)) return null;
  return { kind, id } as AccessChange;
}

/**
 * Tells every API instance at once that access may have changed (a Redis channel, one subscriber
 * connection per instance, like CredentialInvalidations in api/src/ingest), so terminals close
 * within seconds rather than at the next periodic re-check. Announce after the change committed:
 * listeners read the new state. A lost message is caught by the holders' own periodic re-check.
 */
@Injectable()
export class AccessChanges implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AccessChanges.name);
  private readonly channel: string;
  private readonly listeners = new Set<(change: AccessChange) => void>();
  private subscriber: Redis | undefined;
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.channel = `${config.REDIS_KEY_PREFIX}access-changes`;
  }

  /** `listener(change)` runs on this instance for every change announced on any instance. */
  onChange(listener: (change: AccessChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApplicationBootstrap(): void {
    const subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => {
      if (error.message !== this.lastError) this.logger.warn({ msg: 'access changes: redis connection problem', err: error.message });
      this.lastError = error.message;
    });
    subscriber.on('ready', () => (this.lastError = ''));
    subscriber.on('message', (_channel: string, text: string) => {
      const change = parseChange(text);
      if (change) this.notify(change);
    });
    void subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.logger.warn({ msg: 'access changes: subscribe failed', err: (error as Error).message });
    });
  }

  onApplicationShutdown(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  /**
   * Tells this instance's listeners at once (the request that made the change may answer before
   * Redis echoes it back), then every instance through Redis: the announcing instance hears it
   * twice, so listeners are idempotent. Best-effort, logged.
   */
  async announce(change: AccessChange): Promise<void> {
    this.notify(change);
    try {
      await this.redis.publish(this.channel, `${change.kind}:${change.id}`);
    } catch (error) {
      // Redis away: the others learn it at their periodic re-check.
      this.logger.warn({ msg: 'access change not published', kind: change.kind, err: (error as Error).message });
    }
  }

  private notify(change: AccessChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ msg: 'access change listener failed', err: (error as Error).message });
      }
    }
  }
}
