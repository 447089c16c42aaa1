import { Module } from '@nestjs/common';
import { AlertDeliveries } from './alert-deliveries.service.js';
import { AlertDeliveriesRepository } from './alert-deliveries.repository.js';
import { AlertDeliveryProcessor } from './alert-delivery.processor.js';
import { AlertDeliveryQueue } from './alert-delivery.queue.js';
import { AlertTargetsRepository } from './alert-targets.repository.js';
import { AlertTargetsService } from './alert-targets.service.js';
import { BetterStackClient } from './betterstack.client.js';
import { WebhookClient } from './webhook.client.js';

/**
 * Delivery without routes, for the API and the worker alike: AlertDeliveries (the engine's
 * enqueue and kick), the queue's producer, and the processor the worker's AlertDeliveryWorker
 * runs. Needs only the database, Redis and the config.
 */
@Module({
  providers: [
    AlertTargetsRepository,
    AlertDeliveriesRepository,
    AlertTargetsService,
    AlertDeliveries,
    AlertDeliveryQueue,
    AlertDeliveryProcessor,
    BetterStackClient,
    WebhookClient,
  ],
  exports: [AlertDeliveries, AlertTargetsService, AlertDeliveryProcessor],
})
export class AlertDeliveryStoreModule {}
