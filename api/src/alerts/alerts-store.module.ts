import { Module } from '@nestjs/common';
import { AgentBuildsModule } from '../agent-builds/agent-builds.module.js';
import { AlertDeliveryStoreModule } from '../alert-delivery/alert-delivery-store.module.js';
import { ScannersStoreModule } from '../scanners/scanners-store.module.js';
import { AlertConditionsRepository } from './alert-conditions.repository.js';
import { AlertEvaluator } from './alert-evaluator.js';
import { AlertRuleBook } from './alert-rule-book.service.js';
import { AlertRulesRepository } from './alert-rules.repository.js';
import { AlertingBackupServersRepository } from './alerting-backup-servers.repository.js';
import { AlertingDevicesRepository } from './alerting-devices.repository.js';
import { AlertsRepository } from './alerts.repository.js';
import { AlertsService } from './alerts.service.js';
import { HeartbeatAlerts } from './heartbeat-alerts.js';
import { OutboxReader } from './outbox-reader.js';
import { SilencesRepository } from './silences.repository.js';

/**
 * The alert engine without routes (and without the devices module, whose hub driver is the API's):
 * the rule book, the lifecycle, the per-heartbeat tracker (ingest) and the evaluation job (worker).
 */
@Module({
  imports: [AgentBuildsModule, AlertDeliveryStoreModule, ScannersStoreModule],
  providers: [
    AlertRulesRepository,
    AlertRuleBook,
    AlertsRepository,
    AlertsService,
    AlertConditionsRepository,
    AlertingDevicesRepository,
    AlertingBackupServersRepository,
    SilencesRepository,
    OutboxReader,
    HeartbeatAlerts,
    AlertEvaluator,
  ],
  exports: [AlertRulesRepository, AlertRuleBook, AlertsService, SilencesRepository, HeartbeatAlerts, AlertEvaluator],
})
export class AlertsStoreModule {}
