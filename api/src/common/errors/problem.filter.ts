import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditService } from '../../audit/audit.service.js';
import { requestContext } from '../context/request-context.js';
import { auditDetailsFor } from '../interceptors/audit-details.js';
import { paramId } from '../interceptors/unit-of-work.interceptor.js';
import { toProblem } from './to-problem.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every error leaves as problem+json; a failed audited request is recorded (after its rollback). */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  constructor(private readonly audit: AuditService) {}

  async catch(error: unknown, host: ArgumentsHost): Promise<void> {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { problem, unexpected, retryAfterSeconds } = toProblem(error, String(request.id));
    if (unexpected) this.logger.error({ msg: 'unhandled error', err: error, method: request.method, url: request.url });

    const ctx = requestContext.get();
    if (ctx?.auditedRoute && !ctx.auditedRoute.notAudited && MUTATING.has(request.method)) {
      const annotations = ctx.audit;
      await this.audit
        .appendDetached({
          action: annotations.action ?? ctx.auditedRoute.action,
          resourceType: ctx.auditedRoute.resourceType,
          resourceId: annotations.resourceId ?? paramId(request) ?? null,
          result: 'failure',
          errorMessage: `${problem.code}: ${problem.detail}`,
          details: auditDetailsFor(request, { ...annotations.details, status: problem.status, errorCode: problem.code }),
          ...(ctx.actor ? {} : { userId: annotations.subjectUserId ?? null, userEmail: annotations.subjectEmail ?? null }),
        })
        .catch((auditError: unknown) => this.logger.error({ msg: 'could not record failed request in the audit trail', err: auditError }));
    }

    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    await reply.status(problem.status).header('content-type', 'application/problem+json; charset=utf-8').send(problem);
  }
}
