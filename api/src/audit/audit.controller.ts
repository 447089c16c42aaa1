import { Controller, Get, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuditPageSchema, AuditVerifyResponseSchema, ListAuditQuerySchema, type ListAuditQuery } from '@xspectre/contracts';
import { RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { AppError } from '../common/errors/app-error.js';
import { auditCsv } from './audit-csv.js';
import { AuditService } from './audit.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

const CSV_EXPORT_MAX_ROWS = 100_000;

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiSummary('Search the audit log')
  @RequirePermission('audit.view')
  @ZodResponse(200, AuditPageSchema)
  async list(@ZodQuery(ListAuditQuerySchema) query: ListAuditQuery) {
    const page = await this.audit.list(query);
    return { ...page, limit: query.limit, offset: query.offset };
  }

  /** The same filters as the list, as a CSV download (limit is ignored; offset and cursor still apply). */
  @Get('export')
  @ApiSummary('Export the audit log as CSV', {
    ok: { status: 200, description: 'the matching rows as CSV (attachment audit.csv)' },
    errors: ['VALIDATION_FAILED', 'AUDIT_EXPORT_TOO_LARGE'],
  })
  @RequirePermission('audit.view')
  @ApiProduces('text/csv')
  async export(@ZodQuery(ListAuditQuerySchema) query: ListAuditQuery, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    // Counted up to just past what an export may hold, so a too-large export is still refused.
    const { items, total, nextCursor } = await this.audit.list(
      { ...query, limit: CSV_EXPORT_MAX_ROWS },
      query.offset + CSV_EXPORT_MAX_ROWS,
    );
    if (nextCursor !== null) {
      throw new AppError(
        'AUDIT_EXPORT_TOO_LARGE',
        `${total > query.offset + CSV_EXPORT_MAX_ROWS ? `more than ${query.offset + CSV_EXPORT_MAX_ROWS}` : total} rows match; export at most ${CSV_EXPORT_MAX_ROWS} at a time (narrow from/to or use offset)`,
      );
    }
    reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"');
    return auditCsv(items);
  }

  /** The worker verifies (maintenance.verify-audit-chain); this only reads its latest recorded result. */
  @Get('verify')
  @ApiSummary('The latest verification of the audit hash chain')
  @RequirePermission('audit.view')
  @ZodResponse(200, AuditVerifyResponseSchema)
  verify() {
    return this.audit.latestVerification();
  }
}
