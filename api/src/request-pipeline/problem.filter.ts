import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditFailureBudget } from '../audit/audit-failure-budget.js';
import { AuditService, type AuditInput } from '../audit/audit.service.js';
import { requestContext } from '../common/context/request-context.js';
import { auditDetailsFor } from './audit-details.js';
import { paramId } from './unit-of-work.interceptor.js';
import { toProblem } from '../common/errors/to-problem.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every error leaves as problem+json; a failed audited request is recorded (after its rollback). */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  constructor(
    private readonly audit: AuditService,
    private readonly budget: AuditFailureBudget,
  ) {}

  async catch(error: unknown, host: ArgumentsHost): Promise<void> {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { problem, unexpected, retryAfterSeconds } = toProblem(error, String(request.id));
    if (unexpected) this.logger.error({ msg: 'unhandled error', err: error, method: request.method, url: request.url });

    const ctx = requestContext.get();
    if (ctx?.auditedRoute && !ctx.auditedRoute.notAudited && MUTATING.has(request.method)) {
      const annotations = ctx.audit;
      // Nobody signed in and refused for it (401, CSRF): the body says nothing worth keeping forever.
      const anonymous = !ctx.actor && !ctx.device;
      const refusedAnonymous = anonymous && (problem.status === 401 || problem.code === 'AUTH_CSRF_FAILED');
      const input: AuditInput = {
        action: annotations.action ?? ctx.auditedRoute.action,
        resourceType: ctx.auditedRoute.resourceType,
        resourceId: annotations.resourceId ?? paramId(request) ?? null,
        result: 'failure',
        errorMessage: `${problem.code}: ${problem.detail}`,
        errorCode: problem.code,
        details: auditDetailsFor(
          request,
          { status: problem.status, errorCode: problem.code, ...annotations.details },
          { withBody: !refusedAnonymous },
        ),
        ...(ctx.actor || ctx.service ? {} : { userId: annotations.subjectUserId ?? null, userEmail: annotations.subjectEmail ?? null }),
      };
      // A signed-in operator (or device) has a budget of its own: an anonymous flood from the same
      // address (a shared NAT) cannot push an operator's denied attempts out of the trail.
      const budgetKey = ctx.actor ? `user:${ctx.actor.userId}` : ctx.device ? `device:${ctx.device.id}` : `ip:${ctx.sourceIp ?? 'unknown'}`;
      await this.recordFailure(input, budgetKey).catch((auditError: unknown) =>
        this.logger.error({ msg: 'could not record failed request in the audit trail', err: auditError }),
      );
    }

    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    await reply.status(problem.status).header('content-type', 'application/problem+json; charset=utf-8').send(problem);
  }

  /** Within the caller's budget: the row itself; over it, one summary row per window (audit-failure-budget.ts). */
  private async recordFailure(input: AuditInput, budgetKey: string): Promise<void> {
    const decision = await this.budget.take(budgetKey);
    if (decision.kind === 'record') return this.audit.appendDetached(input);
    if (decision.kind === 'count') return;
    await this.audit.appendDetached({
      action: 'audit.failures_rate_limited',
      resourceType: 'audit',
      result: 'failure',
      errorMessage: `${input.errorCode ?? 'failure'}: more than ${decision.limit} failed requests from this caller in ${decision.windowSeconds} s; further failures in this window are counted, not recorded one by one`,
      errorCode: 'RATE_LIMITED',
      details: {
        limit: decision.limit,
        windowStart: decision.windowStart.toISOString(),
        windowSeconds: decision.windowSeconds,
        previousWindowFailures: decision.previousWindowFailures,
        firstSuppressed: { action: input.action, errorCode: input.errorCode, route: input.details?.route },
      },
      ...(input.userId !== undefined ? { userId: input.userId, userEmail: input.userEmail ?? null } : {}),
    });
  }
}
