import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiUnreachableError, getJson, postJson } from './http.js';
import { AGENT_VERSION } from './version.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const servers: Server[] = [];

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A local server answering every request with `handler` (after reading the whole body). */
async function serve(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  return `http://127.0.0.1:${await listen(server)}/api/v1/agent/heartbeats`;
}

const unreachable = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected ApiUnreachableError');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(ApiUnreachableError);
      return (err as ApiUnreachableError).reason;
    },
  );

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('postJson', () => {
  it('POSTs the JSON body with its headers and the bearer token, and returns status and parsed body', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const url = await serve((req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true,"n":2}');
    });
    const payload = { sequence: 7, text: 'grüße' };
    const answer = await postJson(url, payload, { timeoutMs: 5000, bearer: 'xsd_token' });
    expect(answer).toEqual({ status: 201, body: { ok: true, n: 2 }, problem: undefined });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/v1/agent/heartbeats');
    expect(JSON.parse(seen.body!)).toEqual(payload);
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(JSON.stringify(payload))),
      accept: 'application/json, application/problem+json',
      'user-agent': `xspectre-agent/${AGENT_VERSION}`,
      authorization: 'Bearer xsd_token',
    });
  });

  it('sends no authorization header without a bearer, and returns a non-JSON body as undefined', async () => {
    let authorization: string | undefined = 'unset';
    const url = await serve((req, _body, res) => {
      authorization = req.headers.authorization;
      res.writeHead(400, { 'content-type': 'text/plain' }).end('nope');
    });
    expect(await postJson(url, {}, { timeoutMs: 5000 })).toEqual({ status: 400, body: undefined, problem: undefined });
    expect(authorization).toBeUndefined();
  });

  it('returns an RFC 9457 problem, also from a 503', async () => {
    const problem = { type: 'about:blank', title: 'rate limited', status: 503, detail: 'later', code: 'RATE_LIMITED' };
    const url = await serve((_req, _body, res) =>
      res.writeHead(503, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem)),
    );
    const answer = await postJson(url, {}, { timeoutMs: 5000 });
    expect(answer.status).toBe(503);
    expect(answer.problem).toMatchObject({ code: 'RATE_LIMITED', detail: 'later' });
  });

  it.each([502, 503, 504])('treats a %i without a problem body as a gateway saying the API is down', async (status) => {
    const url = await serve((_req, _body, res) => res.writeHead(status, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'));
    expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toBe(`HTTP ${status} from a gateway`);
  });

  it('reports a closed port with its error code', async () => {
    const port = await listen(createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await unreachable(postJson(`http://127.0.0.1:${port}/api/v1/x`, {}, { timeoutMs: 5000 }))).toMatch(/^ECONNREFUSED \(/);
  });

  it('gives up after the timeout', async () => {
    const url = await serve(() => undefined); // never answers
    expect(await unreachable(postJson(url, {}, { timeoutMs: 600 }))).toBe('no answer within 1 s');
  });

  it('stops when the caller aborts (shutdown)', async () => {
    const url = await serve(() => undefined);
    const controller = new AbortController();
    const pending = postJson(url, {}, { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await unreachable(pending)).toBe('aborted');
  });

  it('refuses an answer larger than 1 MiB', async () => {
    const url = await serve((_req, _body, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(1024 * 1024 + 1)}"`),
    );
    expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toBe('answer larger than 1048576 bytes');
  });

  it('does not follow redirects', async () => {
    let requests = 0;
    const url = await serve((_req, _body, res) => {
      requests++;
      res.writeHead(307, { location: '/elsewhere' }).end();
    });
    expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toBe('unexpected redirect');
    expect(requests).toBe(1);
  });

  it('reports an answer cut off mid-body', async () => {
    const url = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toMatch(/closed mid-answer|ECONNRESET/);
  });

  it('reports a connection closed without an answer', async () => {
    const url = await serve((req) => req.socket.destroy());
    expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toMatch(/^ECONNRESET \(/);
  });

  it('refuses other protocols', async () => {
    expect(await unreachable(postJson('ftp://127.0.0.1/api/v1/x', {}, { timeoutMs: 5000 }))).toBe('unsupported protocol ftp:');
  });

  it('speaks HTTPS and verifies the certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xspectre-http-tls-'));
    try {
      await promisify(execFile)('openssl', [
        'req',
        ...['-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ]);
      const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))]);
      const server = createTlsServer({ key, cert }, (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"tls":true}'));
      });
      const url = `https://127.0.0.1:${await listen(server)}/api/v1/x`;
      // Self-signed: refused unless trusted, like any certificate outside the CA store.
      expect(await unreachable(postJson(url, {}, { timeoutMs: 5000 }))).toMatch(/^DEPTH_ZERO_SELF_SIGNED_CERT \(/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('getJson', () => {
  it('GETs with the bearer token and no body, and returns status and parsed body', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const url = await serve((req, body, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"commands":[],"serverTime":"2026-01-01T00:00:00.000Z"}');
    });
    const answer = await getJson(`${url}?waitSeconds=25`, { timeoutMs: 5000, bearer: 'xsd_token' });
    expect(answer).toEqual({ status: 200, body: { commands: [], serverTime: '2026-01-01T00:00:00.000Z' }, problem: undefined });
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/agent/heartbeats?waitSeconds=25');
    expect(seen.body).toBe('');
    expect(seen.headers).toMatchObject({ authorization: 'Bearer xsd_token', accept: 'application/json, application/problem+json' });
    expect(seen.headers?.['content-type']).toBeUndefined();
    expect(seen.headers?.['content-length']).toBeUndefined();
  });

  it('waits for a held answer (long poll) and gives up after its timeout', async () => {
    const held = await serve((_req, _body, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"late":true}'), 300);
    });
    expect((await getJson(held, { timeoutMs: 5000 })).body).toEqual({ late: true });
    const silent = await serve(() => undefined);
    expect(await unreachable(getJson(silent, { timeoutMs: 600 }))).toBe('no answer within 1 s');
  });

  it('stops at once when the caller aborts, and treats gateways and problems as postJson does', async () => {
    const silent = await serve(() => undefined);
    const controller = new AbortController();
    const pending = getJson(silent, { timeoutMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await unreachable(pending)).toBe('aborted');

    const gateway = await serve((_req, _body, res) => res.writeHead(502).end('<h1>Bad gateway</h1>'));
    expect(await unreachable(getJson(gateway, { timeoutMs: 5000 }))).toBe('HTTP 502 from a gateway');
    const problem = { type: 'about:blank', title: 'not found', status: 404, detail: 'No route.', code: 'NOT_FOUND' };
    const missing = await serve((_req, _body, res) =>
      res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem)),
    );
    expect(await getJson(missing, { timeoutMs: 5000 })).toMatchObject({ status: 404, problem: { code: 'NOT_FOUND' } });
  });
});
