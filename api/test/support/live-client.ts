import { WebSocket, type ClientOptions } from 'ws';
import { LiveServerMessageSchema, type LiveServerMessage } from '@xspectre/contracts';
import type { TestApi } from './harness.js';

export interface LiveRefusal {
  status: number;
  body: { code?: string; status?: number; detail?: string };
}

export interface LiveConnectOptions {
  origin?: string;
  /** Sent as the xs_access cookie, as the console's browser does. */
  cookie?: string;
  bearer?: string;
  path?: string;
  /** false: never answer protocol pings (a dead peer). */
  autoPong?: boolean;
  /** TLS and source address for a `wss://` base URL (a proxy with a private CA). */
  tls?: Pick<ClientOptions, 'ca' | 'localAddress'> & { servername?: string };
}

/** What a live connection needs of an API: where it listens (a TestApi, a proxy, a spawned instance). */
export type LiveTarget = Pick<TestApi, 'baseUrl'>;

/**
 * A real `ws` client on an API's live endpoint. Every server message is checked against the
 * contract; `next` waits for the first not yet consumed message that matches.
 */
export class LiveClient {
  readonly messages: LiveServerMessage[] = [];
  private consumed = 0;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.messages.push(LiveServerMessageSchema.parse(JSON.parse(data.toString('utf8'))));
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    void this.closed.then(() => this.wake());
  }

  static url(api: LiveTarget, path = '/api/v1/live'): string {
    return `${api.baseUrl.replace(/^http/, 'ws')}${path}`;
  }

  /** Opens a connection and waits for `hello`, or resolves with the HTTP refusal. */
  static async open(api: LiveTarget, options: LiveConnectOptions = {}): Promise<LiveClient | LiveRefusal> {
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = `xs_access=${options.cookie}`;
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    const clientOptions: ClientOptions = { ...options.tls, headers, autoPong: options.autoPong ?? true };
    if (options.origin) clientOptions.origin = options.origin;
    const socket = new WebSocket(LiveClient.url(api, options.path), clientOptions);
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          socket.terminate();
          resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
        });
      });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        const client = new LiveClient(socket);
        client.next('hello').then(() => resolve(client), reject);
      });
    });
  }

  /** Like `open`, but a refusal fails the test. */
  static async connect(api: LiveTarget, options: LiveConnectOptions = {}): Promise<LiveClient> {
    const result = await LiveClient.open(api, options);
    if (!(result instanceof LiveClient)) throw new Error(`live connection refused: ${result.status} ${JSON.stringify(result.body)}`);
    return result;
  }

  sendJson(value: unknown): void {
    this.socket.send(JSON.stringify(value));
  }

  /** The next unconsumed message of this type (and matching `where`); earlier non-matching ones are skipped. */
  async next<T extends LiveServerMessage['type']>(
    type: T,
    where: (m: Extract<LiveServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<LiveServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.consumed < this.messages.length) {
        const message = this.messages[this.consumed++]!;
        if (message.type === type && where(message as Extract<LiveServerMessage, { type: T }>))
          return message as Extract<LiveServerMessage, { type: T }>;
      }
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`connection closed while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every message received since the last `next`, consumed. */
  drain(): LiveServerMessage[] {
    const rest = this.messages.slice(this.consumed);
    this.consumed = this.messages.length;
    return rest;
  }

  /** Round trip: every message the server sent before the pong has arrived once this resolves. */
  async ping(): Promise<void> {
    this.sendJson({ type: 'ping' });
    await this.next('pong');
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
