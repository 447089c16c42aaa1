import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { AlertRulesController } from './alert-rules.controller.js';
import { AlertRulesService } from './alert-rules.service.js';
import { AlertsController } from './alerts.controller.js';
import { AlertsStoreModule } from './alerts-store.module.js';
import { SilencesController } from './silences.controller.js';
import { SilencesService } from './silences.service.js';

/** The alert engine's routes: alerts, rules and silences (rule and silence scopes are checked against devices and organizations). */
@Module({
  imports: [AlertsStoreModule, DevicesModule, OrganizationsModule],
  controllers: [AlertsController, AlertRulesController, SilencesController],
  providers: [AlertRulesService, SilencesService],
  exports: [AlertsStoreModule],
})
export class AlertsModule {}
