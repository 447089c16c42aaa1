import { HttpException } from '@nestjs/common';
import type { Problem } from '@xspectre/contracts';
import { AppError } from './app-error.js';
import { ERROR_CATALOG, type ErrorCode } from './error-catalog.js';

export interface ProblemResult {
  problem: Problem;
  /** Set for errors nobody meant: they are logged with their stack. */
  unexpected: boolean;
  retryAfterSeconds?: number;
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
};

function fromCode(code: ErrorCode, detail: string, requestId: string, extra: AppError['extra'] = {}): Problem {
  const entry = ERROR_CATALOG[code];
  return {
    type: `https://xspectre.local/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    detail,
    code,
    requestId,
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}

function httpStatusCode(status: number): ErrorCode {
  if (status === 404) return 'ROUTE_NOT_FOUND';
  if (status === 405) return 'METHOD_NOT_ALLOWED';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 414) return 'URI_TOO_LONG';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return 'AUTH_FORBIDDEN';
  if (status >= 400 && status < 500) return 'VALIDATION_FAILED';
  return 'INTERNAL_ERROR';
}

/** Maps anything thrown while serving a request to problem+json. */
export function toProblem(error: unknown, requestId: string): ProblemResult {
  if (error instanceof AppError) {
    return {
      problem: fromCode(error.code, error.detail, requestId, error.extra),
      unexpected: false,
      ...(error.extra.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.extra.retryAfterSeconds } : {}),
    };
  }
  if (error instanceof HttpException) {
    // Nest wraps Fastify's own errors (body parsing, size limit) and keeps them as the cause.
    const cause = error.cause as { code?: string } | undefined;
    const fromCause = cause?.code ? FASTIFY_CODES[cause.code] : undefined;
    if (fromCause) return { problem: fromCode(fromCause, error.message, requestId), unexpected: false };
    const code = httpStatusCode(error.getStatus());
    return { problem: fromCode(code, error.message, requestId), unexpected: code === 'INTERNAL_ERROR' };
  }
  const e = error as { code?: string; statusCode?: number; message?: string } | undefined;
  const mapped = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return { problem: fromCode(mapped, e?.message ?? ERROR_CATALOG[mapped].title, requestId), unexpected: false };
  if (error instanceof SyntaxError && e?.statusCode === 400) {
    return { problem: fromCode('MALFORMED_JSON', `The request body is not valid JSON: ${error.message}`, requestId), unexpected: false };
  }
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const code = httpStatusCode(e.statusCode);
    return { problem: fromCode(code, e.message ?? ERROR_CATALOG[code].title, requestId), unexpected: false };
  }
  if (isConcurrencyConflict(error)) {
    // A lost race (deadlock, serialization failure) rolled the transaction back: nothing was written.
    return {
      problem: fromCode(
        'CONCURRENT_CHANGE',
        'another request changed the same records at the same moment: send the request again',
        requestId,
      ),
      unexpected: false,
    };
  }
  if (isStatementTimeout(error)) {
    // DB_STATEMENT_TIMEOUT_MS ended it: the statement was rolled back with its transaction.
    return {
      problem: fromCode(
        'DATABASE_TIMEOUT',
        'the database took longer than this API allows for one statement; narrow the filter or retry shortly',
        requestId,
      ),
      unexpected: false,
      retryAfterSeconds: 5,
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      problem: fromCode('SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly', requestId),
      unexpected: false,
      retryAfterSeconds: 5,
    };
  }
  return {
    problem: fromCode('INTERNAL_ERROR', 'An unexpected error occurred; quote the request id when reporting it', requestId),
    unexpected: true,
  };
}

/** deadlock_detected (40P01) or serialization_failure (40001), from any route. */
function isConcurrencyConflict(error: unknown): boolean {
  const code = (error as { driverError?: { code?: string } } | undefined)?.driverError?.code;
  return code === '40P01' || code === '40001';
}

/** query_canceled (57014) by statement_timeout (a cancel from an administrator says otherwise). */
function isStatementTimeout(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string; message?: string } } | undefined)?.driverError;
  return driverError?.code === '57014' && /statement timeout/i.test(driverError.message ?? '');
}

/** Connection-level failures (PostgreSQL restarting or unreachable): a 503, not a bug. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03']);
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string; message?: string }; message?: string } | undefined;
  const code = e?.driverError?.code ?? e?.code;
  // Class 08 is connection trouble, except 08P01 (protocol_violation): a statement sent with more
  // parameters than it uses is our bug, not an outage.
  if (code && (UNREACHABLE.has(code) || (code.startsWith('08') && code !== '08P01'))) return true;
  const message = e?.driverError?.message ?? e?.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}
