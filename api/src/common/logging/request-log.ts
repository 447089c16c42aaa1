import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Routes called at fleet rate: a line per request would dominate the logs (and cost CPU). */
const QUIET_ROUTES = new Set(['POST /api/v1/agent/heartbeats']);
/** A quiet route's request slower than this is still logged. */
export const SLOW_REQUEST_MS = 1000;

const isQuiet = (request: FastifyRequest) => QUIET_ROUTES.has(`${request.method} ${request.routeOptions?.url ?? ''}`);

/**
 * Fastify's request log lines ("incoming request", "request completed"), except for quiet routes:
 * their successful requests are not logged; errors (status >= 400) and slow requests are, with the
 * request line they would otherwise have lost.
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (!isQuiet(request)) super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!isQuiet(request)) return super.requestCompleted(error, request, reply);
    const responseTime = reply.elapsedTime;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime }, 'request errored');
    else if (reply.statusCode >= 400 || responseTime >= SLOW_REQUEST_MS)
      reply.log.warn({ req: request, res: reply, responseTime }, reply.statusCode >= 400 ? 'request failed' : 'slow request');
  }
}
