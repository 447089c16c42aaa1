import { Module } from '@nestjs/common';
import { AlertDeliveriesController } from './alert-deliveries.controller.js';
import { AlertDeliveryStoreModule } from './alert-delivery-store.module.js';
import { AlertTargetsController } from './alert-targets.controller.js';

/** Delivery targets (BetterStack, webhooks) and the delivery rows the alert engine queues: routes, and AlertDeliveries for the engine. */
@Module({
  imports: [AlertDeliveryStoreModule],
  controllers: [AlertTargetsController, AlertDeliveriesController],
  exports: [AlertDeliveryStoreModule],
})
export class AlertDeliveryModule {}
