import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { ScannersModule } from '../scanners/scanners.module.js';
import { ScannerOpsController } from './scanner-ops.controller.js';
import { ReportSummariesService } from './report-summaries.service.js';
import { FeedScheduleService } from './feed-schedule.service.js';

/**
 * Scanner operations that go through the command queue (issue 19): report summaries on request
 * and the feed update schedule's runs queued at scanners' polls. Above scanners and commands
 * (the alert engine reads scanners, so scanners cannot depend on the queue).
 */
@Module({
  imports: [CommandsModule, DevicesModule, OrganizationsModule, ScannersModule],
  controllers: [ScannerOpsController],
  providers: [ReportSummariesService, FeedScheduleService],
})
export class ScannerOpsModule {}
