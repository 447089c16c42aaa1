import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { REDIS } from '../redis/redis.token.js';

/** `probe`: is the hub up, and its public key; `sync`: apply the committed peer set now. */
export type HubRequestKind = 'probe' | 'sync';
export interface HubReply {
  ok: boolean;
  publicKey?: string;
}
type Handler = (kind: HubRequestKind) => Promise<HubReply>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY = /^[A-Za-z0-9+/]{43}=$/;

/** `<id> <kind>` on the requests channel; `<id> ok [key]` or `<id> fail` on the replies channel. */
export function parseRequest(text: string): { id: string; kind: HubRequestKind } | null {
  const [id, kind] = text.split(' ');
  return id && UUID.test(id) && (kind === 'probe' || kind === 'sync') ? { id, kind } : null;
}
export function parseReply(text: string): ({ id: string } & HubReply) | null {
  const [id, status, key] = text.split(' ');
  if (!id || !UUID.test(id) || (status !== 'ok' && status !== 'fail')) return null;
  return { id, ok: status === 'ok', ...(key && KEY.test(key) ? { publicKey: key } : {}) };
}

/**
 * How an API instance that drives no hub (API_WG_INTERFACE unset: the second replica behind the
 * proxy, a Kubernetes API pod) still enrolls and revokes: it asks over Redis, and the instance
 * that drives the hub answers. Only that instance subscribes to the requests channel, so a publish
 * nobody receives means no instance drives a hub (HUB_NOT_CONFIGURED) rather than a timeout.
 * A lost request or reply is a timeout (HUB_UNAVAILABLE); the hub's periodic reconcile
 * (API_WG_RECONCILE_SECONDS) applies whatever committed meanwhile.
 */
@Injectable()
export class HubRequests implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HubRequests.name);
  private readonly requestsChannel: string;
  private readonly repliesChannel: string;
  private subscriber: Redis | undefined;
  private subscribed: Promise<unknown> = Promise.resolve();
  private handler: Handler | undefined;
  private readonly waiting = new Map<string, (reply: HubReply) => void>();
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.requestsChannel = `${config.REDIS_KEY_PREFIX}hub:requests`;
    this.repliesChannel = `${config.REDIS_KEY_PREFIX}hub:replies`;
  }

  /** The hub-driving instance answers requests with `handler` (HubService, at bootstrap). */
  serve(handler: Handler): void {
    this.handler = handler;
    this.subscribed = this.connect().subscribe(this.requestsChannel);
  }

  /** Asks the hub-driving instance; resolves with its reply, or throws HUB_NOT_CONFIGURED / HUB_UNAVAILABLE. */
  async ask(kind: HubRequestKind, timeoutMs: number): Promise<HubReply> {
    await this.subscribed;
    const id = randomUUID();
    const reply = new Promise<HubReply | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(r);
      });
    });
    let receivers: number;
    try {
      receivers = await this.redis.publish(this.requestsChannel, `${id} ${kind}`);
    } catch (error) {
      this.waiting.get(id)?.({ ok: false });
      throw new AppError('HUB_UNAVAILABLE', `the WireGuard hub could not be asked (Redis: ${(error as Error).message})`);
    }
    if (receivers === 0) {
      this.waiting.get(id)?.({ ok: false });
      throw new AppError('HUB_NOT_CONFIGURED', 'no API instance drives the WireGuard hub (API_WG_INTERFACE) right now');
    }
    const answer = await reply;
    if (!answer) throw new AppError('HUB_UNAVAILABLE', `the instance that drives the WireGuard hub did not answer within ${timeoutMs} ms`);
    if (!answer.ok) throw new AppError('HUB_UNAVAILABLE', 'the instance that drives the WireGuard hub could not reach it');
    return answer;
  }

  onApplicationBootstrap(): void {
    this.subscribed = this.connect().subscribe(this.repliesChannel);
  }

  onApplicationShutdown(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
    for (const resolve of this.waiting.values()) resolve({ ok: false });
  }

  private connect(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 5_000 });
    this.subscriber = subscriber;
    subscriber.on('error', (error: Error) => {
      if (error.message !== this.lastError) this.logger.warn({ msg: 'hub requests: redis connection problem', err: error.message });
      this.lastError = error.message;
    });
    subscriber.on('ready', () => (this.lastError = ''));
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.repliesChannel) {
        const reply = parseReply(text);
        if (reply) this.waiting.get(reply.id)?.(reply);
      } else if (channel === this.requestsChannel) {
        const request = parseRequest(text);
        if (request) void this.answer(request.id, request.kind);
      }
    });
    return subscriber;
  }

  private async answer(id: string, kind: HubRequestKind): Promise<void> {
    const handler = this.handler;
    if (!handler) return;
    const reply = await handler(kind).catch(() => ({ ok: false }) as HubReply);
    const text = reply.ok ? `${id} ok${reply.publicKey ? ` ${reply.publicKey}` : ''}` : `${id} fail`;
    await this.redis.publish(this.repliesChannel, text).catch((error: unknown) => {
      this.logger.warn({ msg: 'hub reply not published', err: (error as Error).message });
    });
  }
}
