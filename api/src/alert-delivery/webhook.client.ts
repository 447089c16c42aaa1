import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { WEBHOOK_DELIVERY_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, type WebhookPayload } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DeliveryFailure, answerExcerpt, scrub, type DeliveryTarget } from './delivery-target.js';
import { OutboundError, outboundRequest } from './outbound-http.js';

type WebhookTarget = Extract<DeliveryTarget, { kind: 'webhook' }>;

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: what a receiver recomputes to trust a delivery. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Signed webhook deliveries: one JSON POST per message; any 2xx is done. The delivery id header
 * is the row's id, the same on every attempt, so receivers drop repeats by it.
 */
@Injectable()
export class WebhookClient {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(target: WebhookTarget, payload: WebhookPayload): Promise<number> {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    let status: number;
    let answer: string;
    try {
      ({ status, body: answer } = await outboundRequest(
        {
          method: 'POST',
          url: target.config.url,
          headers: {
            [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
            [WEBHOOK_DELIVERY_HEADER]: payload.deliveryId,
            [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(target.secret, timestamp, body),
          },
          body,
          allowPrivateAddress: target.allowPrivateAddress,
          maxResponseBytes: 16 * 1024,
        },
        { overlayCidr: this.config.API_OVERLAY_CIDR },
      ));
    } catch (error) {
      if (error instanceof OutboundError) throw new DeliveryFailure(scrub(`POST: ${error.message}`, target.secret));
      throw error;
    }
    if (status < 200 || status > 299)
      throw new DeliveryFailure(scrub(`webhook answered ${status}: ${answerExcerpt(answer)}`, target.secret), status);
    return status;
  }
}
