import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { Alert } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AlertDeliveriesRepository } from './alert-deliveries.repository.js';
import type { AlertDeliveryEntity } from './alert-delivery.entity.js';
import { AlertDeliveryJob, type AlertDeliveryResult, type AlertDeliveryResults } from './alert-delivery.jobs.js';
import { AlertDeliveryQueue } from './alert-delivery.queue.js';
import { AlertTargetsService } from './alert-targets.service.js';
import { AUTOMATIC_ACTOR, BetterStackClient, consoleLink, incidentBody, incidentMarker } from './betterstack.client.js';
import { DeliveryFailure, scrub, type DeliveryTarget } from './delivery-target.js';
import { WebhookClient } from './webhook.client.js';

/**
 * How long a started attempt holds its row. Longer than any attempt can take (a lookup of at most
 * 20 pages and a create, each within 10 s: api/src/alert-delivery/betterstack.client.ts), so no
 * second sender starts while the first may still send; a sender that died leaves the row due
 * again after it.
 */
export const ATTEMPT_LEASE_MS = 5 * 60_000;
/** Rounds of one deliver job: each sends every due head once (a chain advances one row per round). */
const MAX_ROUNDS = 50;
/** How long the delivery history of a resolved alert is kept (its rows, not the alert). */
export const DELIVERED_RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3600_000;
const PRUNE_ALERTS_PER_RUN = 5_000;
/** Alerts one sweep hands the queue. */
const SWEEP_LIMIT = 1000;

/** Delay after the n-th failed attempt: base × 2^(n−1), ±10 % so failed deliveries do not retry in lockstep, at most the cap. */
export function retryDelayMs(attempts: number, baseMs: number, capMs: number, random = Math.random): number {
  const exponential = baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40);
  return Math.round(Math.min(capMs, exponential * (0.9 + random() * 0.2)));
}

interface SendResult {
  remoteId?: string | null;
  /** Why nothing (or something else than asked) was sent: kept on the done row. */
  note?: string | null;
}

/**
 * Sends delivery rows, one alert per job. Per (alert, target) only the head row is sent (in
 * sequence order); an attempt is committed as started before anything goes out, so a create
 * whose answer was lost is looked up by its marker before it is created again: BetterStack has
 * no idempotency key.
 */
@Injectable()
export class AlertDeliveryProcessor {
  private readonly logger = new Logger(AlertDeliveryProcessor.name);
  /** 0: the first sweep of a process prunes. */
  private lastPrune = 0;

  constructor(
    private readonly deliveries: AlertDeliveriesRepository,
    private readonly targets: AlertTargetsService,
    private readonly betterStack: BetterStackClient,
    private readonly webhook: WebhookClient,
    private readonly queue: AlertDeliveryQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  process(job: { name: string; data: unknown }): Promise<AlertDeliveryResult> {
    switch (job.name) {
      case AlertDeliveryJob.Deliver:
        return this.deliverAlert((job.data as { alertId: string }).alertId);
      case AlertDeliveryJob.Sweep:
        return this.sweep();
      default:
        throw new UnrecoverableError(`unknown alert delivery job "${job.name}"`);
    }
  }

  /** Sends every due message of one alert, then schedules the queue for its next retry. */
  async deliverAlert(alertId: string): Promise<AlertDeliveryResults[typeof AlertDeliveryJob.Deliver]> {
    let sent = 0;
    let failed = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const heads = await this.deliveries.dueHeads(alertId);
      if (heads.length === 0) break;
      let progressed = false;
      for (const head of heads) {
        const outcome = await this.attempt(head);
        if (outcome === 'sent') sent++;
        if (outcome === 'failed') failed++;
        if (outcome !== 'taken') progressed = true;
      }
      // Every head is another sender's: it will wake the queue when done.
      if (!progressed) break;
    }
    const nextDue = await this.deliveries.nextDue(alertId);
    if (nextDue) await this.queue.wakeAt(alertId, new Date(Math.max(new Date(nextDue).getTime(), Date.now())));
    return { sent, failed, nextDueAt: nextDue ? new Date(nextDue).toISOString() : null };
  }

  /** Hands the queue every alert with a due message: nothing is lost when Redis lost a job or a kick failed. */
  async sweep(): Promise<AlertDeliveryResults[typeof AlertDeliveryJob.Sweep]> {
    const alertIds = await this.deliveries.dueAlertIds(SWEEP_LIMIT);
    await this.queue.kick(alertIds);
    let pruned = 0;
    if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      pruned = await this.deliveries.pruneDelivered(new Date(Date.now() - DELIVERED_RETENTION_MS), PRUNE_ALERTS_PER_RUN);
    }
    return { alerts: alertIds.length, pruned };
  }

  private async attempt(row: AlertDeliveryEntity): Promise<'sent' | 'failed' | 'taken'> {
    const attempts = await this.deliveries.claim(String(row.id), row.attempts, ATTEMPT_LEASE_MS);
    if (attempts === null) return 'taken';
    let target: DeliveryTarget | null = null;
    try {
      target = await this.targets.loadForDelivery(row.targetId);
      // Deleted meanwhile: its rows went with it (cascade).
      if (!target) return 'taken';
      const result = await this.send(row, target, attempts);
      await this.deliveries.markDone(String(row.id), attempts, result);
      return 'sent';
    } catch (error) {
      const message =
        error instanceof DeliveryFailure ? error.message : scrub(`unexpected: ${(error as Error).message}`, target?.secret ?? '');
      const dead = attempts >= this.config.API_ALERT_DELIVERY_MAX_ATTEMPTS;
      const retryAt = dead
        ? null
        : new Date(
            Date.now() + retryDelayMs(attempts, this.config.API_ALERT_DELIVERY_BACKOFF_MS, this.config.API_ALERT_DELIVERY_BACKOFF_MAX_MS),
          );
      await this.deliveries.markFailed(String(row.id), attempts, message, retryAt);
      const log = {
        msg: dead ? 'alert delivery dead' : 'alert delivery failed',
        deliveryId: String(row.id),
        alertId: row.alertId,
        targetId: row.targetId,
        kind: row.kind,
        attempts,
        err: message,
      };
      if (dead) this.logger.error(log);
      else this.logger.warn(log);
      return 'failed';
    }
  }

  private async send(row: AlertDeliveryEntity, target: DeliveryTarget, attempts: number): Promise<SendResult> {
    const alert = row.payload as unknown as Alert;
    if (target.kind === 'webhook') {
      await this.webhook.send(target, {
        deliveryId: String(row.id),
        kind: row.kind,
        sequence: row.sequence,
        alert,
        consoleUrl: consoleLink(this.config.API_CONSOLE_URL, alert.id),
      });
      return {};
    }
    if (row.kind === 'create') {
      // An earlier attempt started (its answer may have been lost, or the process died while
      // sending) or the row was revived from the dead letters: the incident may exist already.
      if (attempts > 1 || row.lastError !== null) {
        const found = await this.betterStack.find(target, incidentMarker(alert.id), new Date(alert.openedAt));
        if (found) return { remoteId: found, note: `adopted incident ${found}: an earlier attempt created it but its answer was lost` };
      }
      return { remoteId: await this.betterStack.create(target, incidentBody(target, alert, this.config.API_CONSOLE_URL)) };
    }
    // An acknowledgement that reaches its turn after the alert was resolved would page no one and
    // only race the resolve: BetterStack gets the resolve alone.
    if (row.kind === 'acknowledge' && (await this.deliveries.hasResolve(row.alertId, row.targetId)))
      return { note: 'not sent: the alert was resolved before this acknowledgement could be delivered' };
    const incidentId = await this.deliveries.remoteIdOfCreate(row.alertId, row.targetId);
    if (!incidentId) throw new DeliveryFailure(`no incident to ${row.kind}: the create of this alert has no incident id`);
    const outcome =
      row.kind === 'acknowledge'
        ? await this.betterStack.acknowledge(target, incidentId, alert.acknowledgedBy ?? AUTOMATIC_ACTOR)
        : await this.betterStack.resolve(
            target,
            incidentId,
            alert.resolution === 'manual' && alert.resolvedBy ? alert.resolvedBy : AUTOMATIC_ACTOR,
          );
    return {
      remoteId: incidentId,
      note:
        outcome === 'already'
          ? `BetterStack answered 409: incident ${incidentId} was already ${row.kind === 'acknowledge' ? 'acknowledged' : 'resolved'}`
          : null,
    };
  }
}
