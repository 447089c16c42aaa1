import { randomBytes, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A repository token as the API hands it out (POST agent/backup-tokens). */
export interface RepositoryToken {
  token: string;
  expiresAt: Date;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their hop; the credential is replaced, never forwarded. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'host',
  'authorization',
]);

/** Tokens are fetched again this long before they expire, so no request leaves with one about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * restic talks to this forwarder on 127.0.0.1; it forwards every request to the backup server
 * with a fresh short-lived token (tokens live minutes, a first backup may take hours, and restic
 * cannot change credentials mid-run). restic authenticates to it with a random one-run password
 * that only restic's environment holds, so another local user cannot borrow the repository
 * while a run lasts. Only paths of the device's own repository are forwarded. When the backup
 * server refuses a token, the next request fetches a new one; restic retries failed requests
 * on its own.
 */
export class RepositoryForwarder {
  private server: Server | undefined;
  private readonly localPassword = randomBytes(24).toString('base64url');
  private current: RepositoryToken | undefined;
  private fetching: Promise<RepositoryToken> | undefined;

  constructor(
    private readonly options: {
      deviceId: string;
      /** The repository as the API names it: `<backup server>/<device>/`. */
      upstream: URL;
      fetchToken: () => Promise<RepositoryToken>;
      now?: () => number;
    },
  ) {}

  /** Starts listening; returns restic's repository URL (with the local credential: keep it out of argv). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `rest:http://restic:${this.localPassword}@127.0.0.1:${port}/${this.options.deviceId}/`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async token(): Promise<RepositoryToken> {
    const now = this.options.now?.() ?? Date.now();
    if (this.current && this.current.expiresAt.getTime() - TOKEN_REFRESH_MARGIN_MS > now) return this.current;
    this.fetching ??= this.options.fetchToken().finally(() => (this.fetching = undefined));
    this.current = await this.fetching;
    return this.current;
  }

  private authorised(req: IncomingMessage): boolean {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const given = Buffer.from(match[1]!, 'base64');
    const expected = Buffer.from(`restic:${this.localPassword}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const prefix = `/${this.options.deviceId}/`;
    const path = req.url ?? '';
    if (!this.authorised(req)) return void res.writeHead(401).end();
    if (!(path === prefix.slice(0, -1) || path.startsWith(prefix)) || path.includes('/../')) return void res.writeHead(403).end();
    let token: RepositoryToken;
    try {
      token = await this.token();
    } catch (error) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`no repository token: ${(error as Error).message}`);
      return;
    }
    const upstream = this.options.upstream;
    const basePath = upstream.pathname.replace(/\/+$/, '').replace(new RegExp(`/${this.options.deviceId}$`), '');
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
    headers.host = upstream.host;
    headers.authorization = `Basic ${Buffer.from(`${this.options.deviceId}:${token.token}`).toString('base64')}`;
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${basePath}${path}`,
        headers,
      },
      (answer) => {
        // A refused token is dropped: restic retries the request, which then fetches a new one.
        if (answer.statusCode === 401) this.current = undefined;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`backup server unreachable: ${error.message}`);
    });
    req.pipe(outgoing);
  }
}
