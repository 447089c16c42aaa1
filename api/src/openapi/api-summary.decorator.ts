import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { ERROR_CATALOG, type ErrorCode } from '../common/errors/error-catalog.js';

export interface OperationAnswers {
  /** The success answer when no ZodResponse declares it (a file download, 204 No Content). */
  ok?: { status: number; description: string };
  /** Error codes the route answers with beyond those its access decorator documents. */
  errors?: ErrorCode[];
}

/**
 * The route's one-line summary in the OpenAPI document (redocly.yaml makes it required), and
 * answers the other decorators cannot know: error codes are grouped by their catalog status.
 */
export function ApiSummary(summary: string, answers: OperationAnswers = {}): MethodDecorator {
  const byStatus = new Map<number, string[]>();
  for (const code of answers.errors ?? []) {
    const { status, title } = ERROR_CATALOG[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), `${code}: ${title}`]);
  }
  return applyDecorators(
    ApiOperation({ summary }),
    ...(answers.ok ? [ApiResponse(answers.ok)] : []),
    ...[...byStatus].map(([status, lines]) => ApiResponse({ status, description: lines.join('; ') })),
  );
}
