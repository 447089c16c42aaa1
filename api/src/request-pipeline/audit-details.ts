import type { FastifyRequest } from 'fastify';

/**
 * What an audit row says about the request: route, what the caller added (status, error code,
 * annotations), parameters and body, in that order, so that when the row's size cap
 * (audit-bounds.ts, applied on append) cuts something, it is the body. `withBody: false` leaves
 * the body out: an anonymous request refused by authentication is not worth its bytes.
 */
export function auditDetailsFor(
  request: FastifyRequest,
  extra: Record<string, unknown> | undefined,
  options: { withBody: boolean } = { withBody: true },
): Record<string, unknown> {
  const body = request.body;
  const params = request.params as Record<string, unknown> | undefined;
  return {
    method: request.method,
    route: request.routeOptions?.url ?? request.url,
    ...extra,
    ...(params && Object.keys(params).length ? { params } : {}),
    ...(options.withBody && body && typeof body === 'object' && Object.keys(body).length ? { body } : {}),
  };
}
