import { WebSocket, type ClientOptions } from 'ws';
import { TERMINAL_WS_PATH, TerminalServerMessageSchema, type TerminalServerMessage, type TerminalTicket } from '@xspectre/contracts';
import type { TestApi } from './harness.js';

export interface TerminalRefusal {
  status: number;
  body: { code?: string; status?: number; detail?: string };
}

export interface TerminalConnectOptions {
  /** Default: the token the ticket was issued to. */
  bearer?: string;
  origin?: string;
  /** Sent as the xs_access cookie, as the console's browser does. */
  cookie?: string;
  /** false: never acknowledge output (a stalled browser). Default: ack every frame at once. */
  autoAck?: boolean;
}

/**
 * A real `ws` client on the terminal WebSocket, as the console's terminal tab speaks it: binary
 * frames for bytes, JSON text frames for control. Output bytes are kept whole (decoded together,
 * so a character split across frames reads intact); control messages are checked against the contract.
 */
export class TerminalClient {
  readonly messages: TerminalServerMessage[] = [];
  private readonly chunks: Buffer[] = [];
  receivedBytes = 0;
  largestFrame = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: WebSocket,
    private readonly autoAck: boolean,
  ) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.chunks.push(data);
        this.receivedBytes += data.length;
        this.largestFrame = Math.max(this.largestFrame, data.length);
        if (this.autoAck) this.sendJson({ type: 'ack', bytes: data.length });
      } else this.messages.push(TerminalServerMessageSchema.parse(JSON.parse(data.toString('utf8'))));
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    void this.closed.then(() => this.wake());
  }

  /** A ticket for `deviceId` (POST devices/:id/terminal-sessions); throws unless 201. */
  static async ticket(api: TestApi, token: string, deviceId: string, size: { cols?: number; rows?: number } = {}): Promise<TerminalTicket> {
    const r = await api.request('POST', `devices/${deviceId}/terminal-sessions`, { token, body: size });
    if (r.status !== 201) throw new Error(`terminal ticket refused: ${r.status} ${r.text}`);
    return r.body as TerminalTicket;
  }

  /** Opens the WebSocket and waits for `ready` (or the HTTP refusal, or an error message and close). */
  static async open(api: TestApi, ticket: string | null, options: TerminalConnectOptions = {}): Promise<TerminalClient | TerminalRefusal> {
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = `xs_access=${options.cookie}`;
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    const clientOptions: ClientOptions = { headers };
    if (options.origin) clientOptions.origin = options.origin;
    const query = ticket === null ? '' : `?ticket=${encodeURIComponent(ticket)}`;
    const socket = new WebSocket(`${api.baseUrl.replace(/^http/, 'ws')}${TERMINAL_WS_PATH}${query}`, clientOptions);
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
        resolve(new TerminalClient(socket, options.autoAck ?? true));
      });
    });
  }

  /** Like `open` with a fresh ticket, but anything other than `ready` fails the test. */
  static async connect(
    api: TestApi,
    token: string,
    deviceId: string,
    options: TerminalConnectOptions & { cols?: number; rows?: number } = {},
  ) {
    const ticket = await TerminalClient.ticket(api, token, deviceId, { cols: options.cols, rows: options.rows });
    const client = await TerminalClient.open(api, ticket.ticket, { bearer: token, ...options });
    if (!(client instanceof TerminalClient)) throw new Error(`terminal refused: ${client.status} ${JSON.stringify(client.body)}`);
    const ready = await client.next('ready', 30_000);
    return { client, ticket, ready };
  }

  /** All output so far, decoded as one UTF-8 text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  type(text: string): void {
    this.socket.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  sendJson(value: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(value));
  }

  resize(cols: number, rows: number): void {
    this.sendJson({ type: 'resize', cols, rows });
  }

  /** Waits until the output (from `from` on) matches. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    return this.until(() => this.text().slice(from).match(pattern), `output matching ${pattern}`, timeoutMs);
  }

  /** The first control message of this type. */
  async next<T extends TerminalServerMessage['type']>(type: T, timeoutMs = 15_000): Promise<Extract<TerminalServerMessage, { type: T }>> {
    return this.until(
      () => (this.messages.find((m) => m.type === type) as Extract<TerminalServerMessage, { type: T }> | undefined) ?? null,
      `a ${type} message`,
      timeoutMs,
    );
  }

  close(): void {
    this.socket.close();
  }

  private async until<T>(check: () => T | null | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED)
        throw new Error(
          `terminal closed while waiting for ${what}; messages ${JSON.stringify(this.messages)}; output ${JSON.stringify(this.text().slice(-500))}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no ${what} within ${timeoutMs} ms; messages ${JSON.stringify(this.messages)}; output ${JSON.stringify(this.text().slice(-500))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
