import http from 'node:http';

export interface RawReply {
  status: number;
  body: any;
  headers: http.IncomingHttpHeaders;
}

/**
 * One HTTP request from a chosen local address (any 127.x.y.z is loopback on Linux), so a test
 * can be a trusted proxy (writing X-Forwarded-For) or an untrusted client, as the server sees
 * the TCP peer. fetch cannot pick the source address.
 */
export function httpFrom(
  localAddress: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<RawReply> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, headers: response.headers });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
