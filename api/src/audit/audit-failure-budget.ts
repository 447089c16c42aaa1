import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS } from '../redis/redis.token.js';

/** The budget's window: failure rows per caller per minute. */
export const AUDIT_FAILURE_WINDOW_SECONDS = 60;

export type FailureBudgetDecision =
  | { kind: 'record' }
  /** The first failure over the budget in this window: one summary row stands for the rest. */
  | { kind: 'summarize'; limit: number; windowStart: Date; windowSeconds: number; previousWindowFailures: number | null }
  /** Over the budget and already summarized: counted in Redis only. */
  | { kind: 'count' };

/**
 * Failure rows cost a turn of the chain lock each, so one caller (an operator, a device, else a
 * source address) gets a budget of them per window (shared by all instances through Redis). When Redis is away every failure is
 * recorded: losing a denied attempt is worse than a slow trail.
 */
@Injectable()
export class AuditFailureBudget {
  private readonly logger = new Logger(AuditFailureBudget.name);

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `caller`: `user:<id>`, `device:<id>` or `ip:<address>`. */
  async take(caller: string): Promise<FailureBudgetDecision> {
    const limit = this.config.API_AUDIT_FAILURES_PER_IP;
    const window = Math.floor(Date.now() / 1000 / AUDIT_FAILURE_WINDOW_SECONDS);
    const base = `${this.config.REDIS_KEY_PREFIX}auditfail:${caller}:`;
    let count: number;
    let previous: number | null;
    try {
      const results = await this.redis
        .multi()
        .incr(`${base}${window}`)
        .expire(`${base}${window}`, AUDIT_FAILURE_WINDOW_SECONDS * 3, 'NX')
        .get(`${base}${window - 1}`)
        .exec();
      count = Number(results?.[0]?.[1] ?? 0);
      const prev = results?.[2]?.[1];
      previous = typeof prev === 'string' ? Number(prev) : null;
    } catch (error) {
      this.logger.warn({ msg: 'audit failure budget unavailable (redis): recording', err: (error as Error).message });
      return { kind: 'record' };
    }
    if (count <= limit) return { kind: 'record' };
    if (count === limit + 1) {
      this.logger.warn({ msg: 'audit failure budget exceeded: further failures from this caller are counted, not recorded', caller });
      return {
        kind: 'summarize',
        limit,
        windowStart: new Date(window * AUDIT_FAILURE_WINDOW_SECONDS * 1000),
        windowSeconds: AUDIT_FAILURE_WINDOW_SECONDS,
        previousWindowFailures: previous,
      };
    }
    return { kind: 'count' };
  }
}
