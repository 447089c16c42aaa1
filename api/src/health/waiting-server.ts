import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { HealthSchema, ReadinessSchema } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { toProblem } from '../common/errors/to-problem.js';
import { API_VERSION } from '../version.js';

const RETRY_AFTER_SECONDS = 5;

/**
 * Holds the API port while the process waits for PostgreSQL at boot (main.ts), so supervisors and
 * load balancers see a live, not-ready instance instead of a refused port: liveness answers 200,
 * readiness 503 in its usual shape, every other route 503 SERVICE_UNAVAILABLE with Retry-After.
 * Closed right before the real app listens on the same port.
 */
export class WaitingServer {
  private reason = 'connecting';
  private readonly server: http.Server;

  private constructor(database: string) {
    this.server = http.createServer((req, res) => this.answer(req, res, database));
    // The live WebSocket: refused the same way, then closed.
    this.server.on('upgrade', (_req, socket: Duplex) => {
      socket.on('error', () => undefined);
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${RETRY_AFTER_SECONDS}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    });
  }

  static async listen(host: string, port: number, database: string): Promise<WaitingServer> {
    const waiting = new WaitingServer(database);
    const server = waiting.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return waiting;
  }

  /** The port actually bound (API_PORT 0 picks one). */
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  setReason(reason: string): void {
    this.reason = reason;
  }

  /** Stops accepting, ends every open connection (each answer said Connection: close anyway), frees the port. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, database: string): void {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const requestId = randomUUID();
    const headers = {
      'x-request-id': requestId,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      // The real app takes over this port: make clients reconnect to it.
      connection: 'close',
    };
    const send = (status: number, contentType: string, body: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...headers, 'content-type': contentType, ...extra });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    const detail = `waiting for PostgreSQL at ${database}: ${this.reason}`;
    const retry = { 'retry-after': String(RETRY_AFTER_SECONDS) };
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/api/v1/health') {
        send(200, 'application/json; charset=utf-8', HealthSchema.parse({ status: 'ok', version: API_VERSION }));
        return;
      }
      if (path === '/api/v1/health/ready') {
        const readiness = ReadinessSchema.parse({
          status: 'not_ready',
          checks: {
            postgres: { ok: false, latencyMs: 0, error: detail },
            redis: { ok: false, latencyMs: 0, error: 'not checked before PostgreSQL is ready' },
          },
        });
        send(503, 'application/json; charset=utf-8', readiness, retry);
        return;
      }
    }
    const { problem } = toProblem(new AppError('SERVICE_UNAVAILABLE', `the API is starting: ${detail}`), requestId);
    send(problem.status, 'application/problem+json; charset=utf-8', problem, retry);
  }
}
