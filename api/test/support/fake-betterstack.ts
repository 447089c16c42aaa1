import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for BetterStack's Uptime API v3 incidents (create, list with pagination,
 * acknowledge, resolve; 409 on a repeated acknowledge or resolve). It checks every request's
 * method, path, Bearer token and body, keeps the incidents, and records protocol problems
 * (`problems`) instead of hiding them. Modes make it misbehave:
 *   - 'error500': answer 500 to everything;
 *   - 'drop': do what was asked (store a create, apply an acknowledge) and destroy the socket
 *     without answering, as when the answer is lost on the way back;
 *   - `refuse()` / `reopen()`: close the listening socket (connections refused), listen again on
 *     the same port later.
 */
export type FakeMode = 'ok' | 'error500' | 'drop';

export interface FakeIncident {
  id: string;
  name: string;
  summary: string;
  description: string;
  requesterEmail: string;
  notify: { call: boolean; sms: boolean; email: boolean; push: boolean };
  teamName: string | null;
  startedAt: string;
  acknowledgedBy: string | null;
  resolvedBy: string | null;
}

export interface FakeEvent {
  seq: number;
  type: 'create' | 'acknowledge' | 'resolve';
  incidentId: string;
}

export class FakeBetterStack {
  mode: FakeMode = 'ok';
  readonly incidents = new Map<string, FakeIncident>();
  readonly events: FakeEvent[] = [];
  readonly problems: string[] = [];
  /** Requests answered per outcome: 'ok', '409', '500', 'dropped', 'lookup'. */
  readonly counts: Record<string, number> = {};
  private seq = 0;
  private nextId = 1000;
  private readonly sockets = new Set<Socket>();
  private listening = true;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly token: string,
    private readonly pageSize: number,
  ) {}

  static async start(token: string, options: { pageSize?: number } = {}): Promise<FakeBetterStack> {
    // The handlers need the instance, which needs the listening port: a holder ties them.
    const holder: { fake?: FakeBetterStack } = {};
    const server = http.createServer((req, res) => void holder.fake!.handle(req, res));
    server.on('connection', (socket) => {
      holder.fake?.sockets.add(socket);
      socket.on('close', () => holder.fake?.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.fake = new FakeBetterStack(server, (server.address() as AddressInfo).port, token, options.pageSize ?? 50);
    return holder.fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  count(outcome: string): number {
    return this.counts[outcome] ?? 0;
  }

  /** Stops listening and cuts open connections: new connections are refused. */
  async refuse(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async reopen(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
  }

  async stop(): Promise<void> {
    await this.refuse();
  }

  /** Incidents whose name carries this marker (the delivery's `[xs-<alert id>]`). */
  incidentsWithMarker(marker: string): FakeIncident[] {
    return [...this.incidents.values()].filter((i) => i.name.includes(marker) || i.summary.includes(marker));
  }

  private bump(outcome: string): void {
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.baseUrl);
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const problem = (text: string, status = 400) => {
      this.problems.push(`${req.method} ${url.pathname}: ${text}`);
      answer(status, { errors: text });
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return problem('missing or wrong Bearer token', 401);
    if (this.mode === 'error500') {
      this.bump('500');
      return answer(500, { errors: 'Internal Server Error' });
    }
    let body: Record<string, unknown> = {};
    if (req.method === 'POST') {
      if (req.headers['content-type'] !== 'application/json') return problem('content-type is not application/json');
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return problem('body is not JSON');
      }
    }
    const drop = () => {
      this.bump('dropped');
      req.socket.destroy();
    };

    if (url.pathname === '/api/v3/incidents' && req.method === 'GET') {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(url.searchParams.get('from') ?? '')) return problem('from must be YYYY-MM-DD');
      if (this.mode === 'drop') return drop();
      this.bump('lookup');
      const from = url.searchParams.get('from')!;
      const page = Number(url.searchParams.get('page') ?? '1');
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? '50'), this.pageSize);
      const all = [...this.incidents.values()].filter((i) => i.startedAt.slice(0, 10) >= from).reverse();
      const items = all.slice((page - 1) * perPage, page * perPage);
      const link = (p: number) => `${this.baseUrl}/api/v3/incidents?from=${from}&per_page=${perPage}&page=${p}`;
      return answer(200, {
        data: items.map((i) => ({ id: i.id, type: 'incident', attributes: this.attributes(i) })),
        pagination: {
          first: link(1),
          last: link(Math.max(1, Math.ceil(all.length / perPage))),
          prev: page > 1 ? link(page - 1) : null,
          next: page * perPage < all.length ? link(page + 1) : null,
        },
      });
    }

    if (url.pathname === '/api/v3/incidents' && req.method === 'POST') {
      const missing = ['requester_email', 'name', 'summary', 'description'].filter((k) => typeof body[k] !== 'string' || body[k] === '');
      const notBoolean = ['call', 'sms', 'email', 'push'].filter((k) => typeof body[k] !== 'boolean');
      if (missing.length || notBoolean.length)
        return problem(`bad create body: missing ${missing.join(',')}; not boolean ${notBoolean.join(',')}`);
      if (!/^[^@\s]+@[^@\s]+$/.test(body.requester_email as string)) return problem('requester_email is not an email');
      const incident: FakeIncident = {
        id: String(this.nextId++),
        name: body.name as string,
        summary: body.summary as string,
        description: body.description as string,
        requesterEmail: body.requester_email as string,
        notify: { call: body.call as boolean, sms: body.sms as boolean, email: body.email as boolean, push: body.push as boolean },
        teamName: typeof body.team_name === 'string' ? body.team_name : null,
        startedAt: new Date().toISOString(),
        acknowledgedBy: null,
        resolvedBy: null,
      };
      this.incidents.set(incident.id, incident);
      this.events.push({ seq: ++this.seq, type: 'create', incidentId: incident.id });
      if (this.mode === 'drop') return drop();
      this.bump('ok');
      return answer(201, { data: { id: incident.id, type: 'incident', attributes: this.attributes(incident) } });
    }

    const action = /^\/api\/v3\/incidents\/([^/]+)\/(acknowledge|resolve)$/.exec(url.pathname);
    if (action && req.method === 'POST') {
      const [, id, verb] = action as unknown as [string, string, 'acknowledge' | 'resolve'];
      const incident = this.incidents.get(id);
      if (!incident) return problem(`${verb} of unknown incident ${id}`, 404);
      const byField = verb === 'acknowledge' ? 'acknowledged_by' : 'resolved_by';
      if (typeof body[byField] !== 'string' || body[byField] === '') return problem(`${byField} missing`);
      const already =
        verb === 'acknowledge' ? incident.acknowledgedBy !== null || incident.resolvedBy !== null : incident.resolvedBy !== null;
      if (already) {
        this.bump('409');
        return answer(409, { errors: `Incident already ${verb === 'acknowledge' ? 'acknowledged' : 'resolved'}` });
      }
      if (verb === 'acknowledge') incident.acknowledgedBy = body[byField] as string;
      else incident.resolvedBy = body[byField] as string;
      this.events.push({ seq: ++this.seq, type: verb, incidentId: id });
      if (this.mode === 'drop') return drop();
      this.bump('ok');
      return answer(200, { data: { id, type: 'incident', attributes: this.attributes(incident) } });
    }
    return problem(`unknown route ${req.method} ${url.pathname}`, 404);
  }

  private attributes(i: FakeIncident): Record<string, unknown> {
    return {
      name: i.name,
      cause: i.summary,
      started_at: i.startedAt,
      acknowledged_by: i.acknowledgedBy,
      resolved_by: i.resolvedBy,
      team_name: i.teamName,
      ...i.notify,
    };
  }
}
