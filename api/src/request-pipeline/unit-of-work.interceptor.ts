import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Observable, from, lastValueFrom } from 'rxjs';
import { AUDITED_ROUTE, OWN_TRANSACTION_ROUTE, type AuditedRoute } from '../common/http/route-access.decorators.js';
import { AuditService } from '../audit/audit.service.js';
import { Database } from '../db/database.js';
import { requestContext } from '../common/context/request-context.js';
import { auditDetailsFor } from './audit-details.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A mutating request runs in one transaction, and its audit row is appended inside it:
 * the change and its record commit together or not at all. Failures are recorded by the
 * exception filter after the rollback.
 */
@Injectable()
export class UnitOfWorkInterceptor implements NestInterceptor {
  private readonly logger = new Logger(UnitOfWorkInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!MUTATING.has(request.method)) return next.handle();
    if (this.reflector.get<string | undefined>(OWN_TRANSACTION_ROUTE, context.getHandler())) return next.handle();
    const audited = this.reflector.getAllAndOverride<AuditedRoute | undefined>(AUDITED_ROUTE, [context.getHandler(), context.getClass()]);

    const ctx = requestContext.get();
    const afterCommit: Array<() => Promise<void>> = [];
    if (ctx) ctx.afterCommit = afterCommit;
    return from(
      this.db
        .transaction(async (manager) => {
          const result = await lastValueFrom(next.handle(), { defaultValue: undefined });
          if (audited && !audited.notAudited) {
            const ctx = requestContext.get();
            const annotations = ctx?.audit ?? {};
            const resourceId = annotations.resourceId ?? idOf(result) ?? paramId(request);
            await this.audit.append(manager, {
              action: annotations.action ?? audited.action,
              resourceType: audited.resourceType,
              resourceId,
              result: 'success',
              details: auditDetailsFor(request, annotations.details),
              ...(ctx?.actor || ctx?.service
                ? {}
                : { userId: annotations.subjectUserId ?? null, userEmail: annotations.subjectEmail ?? null }),
            });
          }
          return result;
        })
        .then(async (result) => {
          for (const fn of afterCommit)
            await fn().catch((error: unknown) => this.logger.error({ msg: 'after-commit step failed', err: (error as Error).message }));
          return result;
        }),
    );
  }
}

function idOf(result: unknown): string | undefined {
  const id = (result as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

export function paramId(request: FastifyRequest): string | undefined {
  const id = (request.params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' ? id.slice(0, 200) : undefined;
}
