import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ListenAddress {
  host: string;
  port: number;
}

/** A running metrics listener: where it listens, and how to stop it. */
export interface MetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `GET /metrics` (Prometheus text format) on an HTTP listener of its own: the API, the worker and
 * their public port never share it, so scrapes stay internal (bind it to loopback or a private
 * network). Anything else answers 404; a failed collection answers 500 with no detail.
 */
export async function serveMetrics(registry: Registry, address: ListenAddress, onError: (error: Error) => void): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(path === '/metrics' ? 'only GET and HEAD\n' : 'not found\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        onError(error as Error);
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  // A scrape is one short request: keep-alive sockets must not hold the close back.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
