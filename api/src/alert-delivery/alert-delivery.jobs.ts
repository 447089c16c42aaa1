/** The BullMQ queue of alert deliveries: its own, so a slow target never delays maintenance jobs. */
export const ALERT_DELIVERY_QUEUE = 'alert-deliveries';

export const AlertDeliveryJob = {
  /** Sends the due messages of one alert, per target in sequence order. */
  Deliver: 'alert-deliveries.deliver',
  /** Every few seconds: hands the queue every alert with a due message (a lost job or kick loses nothing). */
  Sweep: 'alert-deliveries.sweep',
} as const;
export type AlertDeliveryJobName = (typeof AlertDeliveryJob)[keyof typeof AlertDeliveryJob];

export interface AlertDeliveryPayloads {
  [AlertDeliveryJob.Deliver]: { alertId: string };
  [AlertDeliveryJob.Sweep]: Record<string, never>;
}
export interface AlertDeliveryResults {
  [AlertDeliveryJob.Deliver]: { sent: number; failed: number; nextDueAt: string | null };
  /** Alerts handed to the queue; delivery rows of long-resolved alerts deleted (hourly). */
  [AlertDeliveryJob.Sweep]: { alerts: number; pruned: number };
}
export type AlertDeliveryPayload = AlertDeliveryPayloads[AlertDeliveryJobName];
export type AlertDeliveryResult = AlertDeliveryResults[AlertDeliveryJobName];

/** How often the sweeper runs. */
export const SWEEP_EVERY_MS = 10_000;
