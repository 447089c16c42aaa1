import { Injectable } from '@nestjs/common';
import type { Alert, AlertDelivery, DeliveryKind, DeliveryRouting } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { AppError } from '../common/errors/app-error.js';
import { AlertDeliveriesRepository, type DeliveryFilter } from './alert-deliveries.repository.js';
import { AlertDeliveryQueue } from './alert-delivery.queue.js';
import { toAlertDeliveryDto } from './alert-delivery.mapper.js';
import { AlertTargetsService } from './alert-targets.service.js';

/** Whether a target's routing takes a new alert: its severity, and its organization (fleet alerts: includeFleet). */
export function routes(routing: DeliveryRouting, alert: Pick<Alert, 'severity' | 'organizationId'>): boolean {
  if (!routing.severities.includes(alert.severity)) return false;
  if (alert.organizationId === null) return routing.includeFleet !== false;
  return routing.organizationIds === null || routing.organizationIds.includes(alert.organizationId);
}

/**
 * The alert engine's way out: queues one message of an alert to every routed target, in the
 * caller's transaction, and wakes the delivery queue once that transaction committed.
 */
@Injectable()
export class AlertDeliveries {
  constructor(
    private readonly deliveries: AlertDeliveriesRepository,
    private readonly targets: AlertTargetsService,
    private readonly queue: AlertDeliveryQueue,
  ) {}

  /**
   * In the caller's transaction. `create`: one row per enabled target whose routing takes the
   * alert; `acknowledge`/`resolve`: one row per target that has a create for this alert.
   * Returns how many rows were queued. The targets are read once for all the alerts.
   */
  async enqueue(alerts: Alert[], kind: DeliveryKind): Promise<number> {
    if (alerts.length === 0) return 0;
    const enabled = kind === 'create' ? await this.targets.enabledTargets() : [];
    let queued = 0;
    for (const alert of alerts) {
      const targetIds =
        kind === 'create'
          ? enabled.filter((t) => routes(t.routing, alert)).map((t) => t.id)
          : await this.deliveries.targetsWithCreate(alert.id);
      queued += await this.deliveries.insert(alert.id, targetIds, kind, alert);
    }
    return queued;
  }

  /** After commit: makes the delivery queue look at these alerts now (a sweep finds them anyway). */
  async kick(alertIds: string[]): Promise<void> {
    await this.queue.kick(alertIds);
  }

  async list(filter: DeliveryFilter): Promise<{ items: AlertDelivery[]; total: number; limit: number; offset: number }> {
    const { items, total } = await this.deliveries.list(filter);
    return { items: items.map(toAlertDeliveryDto), total, limit: filter.limit, offset: filter.offset };
  }

  /** A dead delivery back to pending with fresh attempts; the queue is woken once the request commits. */
  async retry(id: string): Promise<AlertDelivery> {
    const row = await this.deliveries.findListRow(id);
    if (!row) throw new AppError('ALERT_DELIVERY_NOT_FOUND', `no alert delivery with id ${id}`);
    requestContext.annotate({
      resourceId: String(row.id),
      details: { alertId: row.alertId, targetId: row.targetId, kind: row.kind, attempts: row.attempts },
    });
    if (row.state !== 'dead')
      throw new AppError('ALERT_DELIVERY_NOT_DEAD', `delivery ${id} is ${row.state}: only a dead delivery can be retried`);
    await this.deliveries.revive(id);
    requestContext.afterCommit(() => this.queue.kick([row.alertId]));
    return toAlertDeliveryDto({ ...row, state: 'pending', attempts: 0, nextAttemptAt: new Date(), doneAt: null });
  }
}
