import type { z } from 'zod';
import type { BetterStackConfigSchema, WebhookConfigSchema } from '@xspectre/contracts';

/** A target as the senders need it: its config and its secret, unsealed. Never leaves the process. */
export type DeliveryTarget =
  | { id: string; kind: 'betterstack'; config: z.infer<typeof BetterStackConfigSchema>; secret: string; allowPrivateAddress: boolean }
  | { id: string; kind: 'webhook'; config: z.infer<typeof WebhookConfigSchema>; secret: string; allowPrivateAddress: boolean };

/** What a send that did not get its answer says: a bounded, secret-free message and the HTTP status if there was one. */
export class DeliveryFailure extends Error {
  override name = 'DeliveryFailure';
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

const MAX_ERROR_CHARS = 500;

/** Bounded text without the secret, fit for last_error, a test result or a log line. */
export function scrub(text: string, secret: string): string {
  const without = secret.length > 0 ? text.split(secret).join('[secret]') : text;
  // eslint-disable-next-line no-control-regex
  const printable = without.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
  return printable.length > MAX_ERROR_CHARS ? `${printable.slice(0, MAX_ERROR_CHARS)}…` : printable;
}

/** The start of an error answer, for the message: enough to recognise it, never the whole page. */
export function answerExcerpt(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
