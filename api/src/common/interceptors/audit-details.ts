import type { FastifyRequest } from 'fastify';

/** What an audit row says about the request: route, parameters and body (secrets are redacted on append). */
export function auditDetailsFor(request: FastifyRequest, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  const body = request.body;
  return {
    method: request.method,
    route: request.routeOptions?.url ?? request.url,
    ...(request.params && Object.keys(request.params as object).length ? { params: request.params } : {}),
    ...(body && typeof body === 'object' && Object.keys(body).length ? { body } : {}),
    ...extra,
  };
}
