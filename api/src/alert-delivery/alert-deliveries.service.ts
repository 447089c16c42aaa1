import { Injectable } from '@nestjs/common';
import type { Alert, DeliveryKind } from '@xspectre/contracts';

/**
 * The alert engine's way out: queues one message of an alert to every routed target, in the
 * caller's transaction, and wakes the delivery queue once that transaction committed.
 */
@Injectable()
export class AlertDeliveries {
  /**
   * In the caller's transaction. `create`: one row per enabled target whose routing takes the
   * alert; `acknowledge`/`resolve`: one row per target that has a create for this alert.
   * Returns how many rows were queued.
   */
  // eslint-disable-next-line @typescript-eslint/require-await
  async enqueue(alert: Alert, kind: DeliveryKind): Promise<number> {
    void alert;
    void kind;
    return 0;
  }

  /** After commit: makes the delivery queue look at these alerts now (a sweep finds them anyway). */
  // eslint-disable-next-line @typescript-eslint/require-await
  async kick(alertIds: string[]): Promise<void> {
    void alertIds;
  }
}
