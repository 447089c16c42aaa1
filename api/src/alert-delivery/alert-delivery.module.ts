import { Module } from '@nestjs/common';
import { AlertDeliveries } from './alert-deliveries.service.js';

/** Delivery targets (BetterStack, webhooks) and the delivery rows the alert engine queues. */
@Module({ providers: [AlertDeliveries], exports: [AlertDeliveries] })
export class AlertDeliveryModule {}
