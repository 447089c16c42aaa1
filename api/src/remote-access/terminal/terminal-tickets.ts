import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { TERMINAL_WS_PATH, TerminalTargetSchema, type TerminalTarget } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AppError } from '../../common/errors/app-error.js';
import { requestContext } from '../../common/context/request-context.js';
import { REDIS } from '../../redis/redis.token.js';
import { OpenRemoteSessions } from '../open-remote-sessions.js';
import { RemoteAccessPolicy, type RemoteOperator } from '../remote-access-policy.js';
import { RemoteSessionsService } from '../remote-sessions.service.js';

/** What a ticket opens: one terminal on one device for one login session, at a size. */
const TicketGrantSchema = z.object({
  sessionId: z.uuid(),
  deviceId: z.uuid(),
  userId: z.uuid(),
  authSessionId: z.uuid(),
  cols: z.number().int(),
  rows: z.number().int(),
  /** Tickets issued before recovery shells carry none: the device. */
  target: TerminalTargetSchema.default('device'),
});
export type TicketGrant = z.infer<typeof TicketGrantSchema>;

/** 256 bits: unguessable, and the key stored is its SHA-256, so a Redis dump holds no usable ticket. */
const TICKET_BYTES = 32;

/**
 * One-time tickets of the terminal WebSocket, in Redis so that any instance can redeem what
 * another issued. Redeeming is GETDEL: of two attempts with the same ticket exactly one wins.
 */
@Injectable()
export class TerminalTickets {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly policy: RemoteAccessPolicy,
    private readonly open: OpenRemoteSessions,
    private readonly sessions: RemoteSessionsService,
  ) {}

  /**
   * `POST devices/:id/terminal-sessions`: the device policy first (its refusals are the clear
   * ones: internal device, quarantined, not active, host key pending), then the per-operator
   * limit of this instance, then a ticket for the WebSocket.
   */
  async openTerminal(
    operator: RemoteOperator,
    deviceId: string,
    size: { cols: number; rows: number; target?: TerminalTarget },
  ): Promise<{ sessionId: string; ticket: string; expiresAt: string; websocketPath: string }> {
    const target = size.target ?? 'device';
    const where = await this.policy.authorize(operator, deviceId, target);
    const limit = this.config.API_TERMINAL_MAX_PER_USER;
    if (this.open.countForUser(operator.userId, 'terminal') >= limit)
      throw new AppError('TERMINAL_LIMIT_REACHED', `at most ${limit} open terminals per operator: close one first`);
    const sessionId = this.sessions.newSessionId();
    const { ticket, expiresAt } = await this.issue({
      sessionId,
      deviceId,
      userId: operator.userId,
      authSessionId: operator.authSessionId,
      cols: size.cols,
      rows: size.rows,
      target,
    });
    requestContext.annotate({
      details: {
        sessionId,
        cols: size.cols,
        rows: size.rows,
        target,
        ...(where.recovery ? { mediumId: where.recovery.mediumId, bootId: where.recovery.bootId } : {}),
      },
    });
    return { sessionId, ticket, expiresAt: expiresAt.toISOString(), websocketPath: TERMINAL_WS_PATH };
  }

  async issue(grant: z.input<typeof TicketGrantSchema>): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const seconds = this.config.API_TERMINAL_TICKET_SECONDS;
    await this.orUnavailable(() => this.redis.set(this.keyOf(ticket), JSON.stringify(grant), 'EX', seconds));
    return { ticket, expiresAt: new Date(Date.now() + seconds * 1000) };
  }

  /** The grant of a ticket, consumed; TERMINAL_TICKET_INVALID when it is unknown, used or expired. */
  async redeem(ticket: string | null): Promise<TicketGrant> {
    if (!ticket || ticket.length > 200)
      throw new AppError('TERMINAL_TICKET_INVALID', 'the WebSocket URL needs ?ticket= (POST devices/:id/terminal-sessions)');
    const stored = await this.orUnavailable(() => this.redis.getdel(this.keyOf(ticket)));
    if (!stored) throw new AppError('TERMINAL_TICKET_INVALID');
    const parsed = TicketGrantSchema.safeParse(parseJson(stored));
    if (!parsed.success) throw new AppError('TERMINAL_TICKET_INVALID');
    return parsed.data;
  }

  /** Under the installation's prefix, as every Redis key: two installations on one Redis never share tickets. */
  private keyOf(ticket: string): string {
    return `${this.config.REDIS_KEY_PREFIX}terminal-ticket:${createHash('sha256').update(ticket, 'utf8').digest('hex')}`;
  }

  /** A ticket cannot be checked (or made single use) without Redis: fail closed. */
  private async orUnavailable<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw new AppError('SERVICE_UNAVAILABLE', 'terminal tickets cannot be issued or redeemed right now: try again shortly');
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
