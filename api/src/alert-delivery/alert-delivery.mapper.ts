import type { AlertDelivery, AlertTarget } from '@xspectre/contracts';
import type { AlertTargetEntity } from './alert-target.entity.js';
import type { DeliveryListRow } from './alert-deliveries.repository.js';

/** A target on the wire: its config without the secret, and only the secret's last four characters. */
export function toAlertTargetDto(t: AlertTargetEntity): AlertTarget {
  return {
    id: t.id,
    kind: t.kind,
    name: t.name,
    enabled: t.enabled,
    routing: t.routing,
    allowPrivateAddress: t.allowPrivateAddress,
    config: t.config,
    secretHint: t.secretHint,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export function toAlertDeliveryDto(d: DeliveryListRow): AlertDelivery {
  return {
    id: String(d.id),
    alertId: d.alertId,
    alertTitle: d.alertTitle,
    targetId: d.targetId,
    targetName: d.targetName,
    kind: d.kind,
    sequence: d.sequence,
    state: d.state,
    attempts: d.attempts,
    lastError: d.lastError,
    remoteId: d.remoteId,
    nextAttemptAt: d.nextAttemptAt ? new Date(d.nextAttemptAt).toISOString() : null,
    createdAt: new Date(d.createdAt).toISOString(),
    doneAt: d.doneAt ? new Date(d.doneAt).toISOString() : null,
  };
}
