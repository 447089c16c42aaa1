import { Controller, Delete, Get, HttpCode, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  IdParamSchema,
  ScannerFeedScheduleSchema,
  ScannerFeedScheduleViewSchema,
  ScannerReportSummaryRequestSchema,
  ScannerReportSummaryViewSchema,
  type ScannerFeedSchedule,
  type ScannerReportSummaryRequest,
} from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { ReportSummariesService } from './report-summaries.service.js';
import { FeedScheduleService } from './feed-schedule.service.js';

type Id = z.infer<typeof IdParamSchema>;
const SummaryParamsSchema = z.object({ id: z.uuid(), commandId: z.uuid() }).strict();

/** What operators do to scanners beyond the command routes: report summaries on request, feed update schedules. */
@ApiTags('scanners')
@Controller()
export class ScannerOpsController {
  constructor(
    private readonly summaries: ReportSummariesService,
    private readonly feedSchedules: FeedScheduleService,
  ) {}

  /** Results leave the site only when asked: scanner_results.view with a fresh TOTP; kept 24 hours. */
  @Post('devices/:id/scanner/report-summaries')
  @ApiSummary('Ask a scanner for a one-off summary of one report (top findings by severity)', {
    errors: ['DEVICE_NOT_FOUND', 'DEVICE_NOT_SCANNER', 'DEVICE_NOT_ACTIVE', 'DEVICE_QUARANTINED'],
  })
  @RequirePermission('scanner_results.view')
  @Critical()
  @Audited('scanner.report_summary_request', 'device')
  @ZodResponse(201, ScannerReportSummaryViewSchema)
  requestSummary(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(ScannerReportSummaryRequestSchema) body: ScannerReportSummaryRequest,
    @CurrentActor() actor: Actor,
  ) {
    return this.summaries.request(actor, params.id, body);
  }

  @Get('devices/:id/scanner/report-summaries/:commandId')
  @ApiSummary('A requested report summary: its status, and the summary once the scanner sent it (24 hours)', {
    errors: ['DEVICE_NOT_FOUND', 'SCANNER_REPORT_SUMMARY_NOT_FOUND'],
  })
  @RequirePermission('scanner_results.view')
  @ZodResponse(200, ScannerReportSummaryViewSchema)
  summary(@ZodParams(SummaryParamsSchema) params: z.infer<typeof SummaryParamsSchema>) {
    return this.summaries.get(params.id, params.commandId);
  }

  @Get('sites/:id/scanner-feed-schedule')
  @ApiSummary("A site's scanner feed update schedule (null: none) and its next run", { errors: ['SITE_NOT_FOUND'] })
  @RequirePermission('devices.view')
  @ZodResponse(200, ScannerFeedScheduleViewSchema)
  feedSchedule(@ZodParams(IdParamSchema) params: Id) {
    return this.feedSchedules.get(params.id);
  }

  /** Every scanner of the site pulls new feed data at the slot plus its own random delay within jitterMinutes. */
  @Put('sites/:id/scanner-feed-schedule')
  @ApiSummary("Set a site's scanner feed update schedule", { errors: ['SITE_NOT_FOUND', 'AUTH_INTERNAL_READ_ONLY'] })
  @RequirePermission('devices.manage')
  @Audited('scanner.feed_schedule_update', 'site')
  @ZodResponse(200, ScannerFeedScheduleViewSchema)
  setFeedSchedule(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(ScannerFeedScheduleSchema) body: ScannerFeedSchedule,
    @CurrentActor() actor: Actor,
  ) {
    return this.feedSchedules.put(actor, params.id, body);
  }

  @Delete('sites/:id/scanner-feed-schedule')
  @ApiSummary("Remove a site's scanner feed update schedule", {
    ok: { status: 204, description: 'removed' },
    errors: ['SITE_NOT_FOUND', 'SCANNER_FEED_SCHEDULE_NOT_FOUND', 'AUTH_INTERNAL_READ_ONLY'],
  })
  @HttpCode(204)
  @RequirePermission('devices.manage')
  @Audited('scanner.feed_schedule_delete', 'site')
  async removeFeedSchedule(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor): Promise<void> {
    await this.feedSchedules.remove(actor, params.id);
  }
}
