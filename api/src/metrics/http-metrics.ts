import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Methods kept as label values; anything else is 'other' (a client chooses the method). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Route label of requests no route matched (404s, refused URLs): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Requests by method, route template and status class. The route is Fastify's matched pattern
 * (`/api/v1/devices/:id`), so label values are bounded by the route table whatever URLs clients
 * send; the status is its class (2xx..5xx) for the same reason.
 */
export function instrumentHttp(fastify: FastifyInstance, registry: Registry): void {
  const labelNames = ['method', 'route', 'status_class'] as const;
  const requests = new Counter({
    name: 'xspectre_http_requests_total',
    help: 'HTTP requests answered by the API, by method, route template and status class',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'xspectre_http_request_duration_seconds',
    help: 'Time from request received to response sent, by method, route template and status class',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: METHODS.has(request.method) ? request.method : 'other',
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      status_class: `${Math.trunc(reply.statusCode / 100)}xx`,
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
