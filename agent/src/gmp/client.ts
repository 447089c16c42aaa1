import { createConnection, type Socket } from 'node:net';
import { GmpError, codeForStatus } from './errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, GmpFrameReader } from './framing.js';
import { parseGmpXml, type GmpElement } from './xml.js';

/** gvmd's socket inside its container; GMP never leaves the host (it does not cross the tunnel). */
export const DEFAULT_GVMD_SOCKET = '/run/gvmd/gvmd.sock';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 20_000;

export interface GmpAnswer {
  /** The root element's name, e.g. `get_tasks_response`. */
  name: string;
  status: string;
  statusText: string;
  root: GmpElement;
}

export interface GmpConnectOptions {
  socketPath?: string;
  connectTimeoutMs?: number;
  maxResponseBytes?: number;
}

interface Waiter {
  command: string;
  resolve: (answer: GmpAnswer) => void;
  reject: (err: GmpError) => void;
  timer: NodeJS.Timeout;
}

function connectError(err: NodeJS.ErrnoException, socketPath: string): GmpError {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENOTSOCK':
      return new GmpError('socket_missing', `no gvmd socket at ${socketPath}`);
    case 'EACCES':
    case 'EPERM':
      return new GmpError('permission', `not allowed to open ${socketPath}`);
    default:
      return new GmpError('refused', `gvmd socket ${socketPath} refused the connection (${err.code ?? 'error'})`);
  }
}

/**
 * One GMP session over gvmd's Unix socket: one command at a time, each with its own deadline.
 * An answer with a non-2xx status rejects at once with its typed error (it is a complete answer,
 * never a timeout); a connection that closes with an answer half-read is a protocol error.
 */
export class GmpConnection {
  private readonly reader: GmpFrameReader;
  private waiter: Waiter | null = null;
  private failure: GmpError | null = null;

  private constructor(
    private readonly socket: Socket,
    maxResponseBytes: number,
  ) {
    this.reader = new GmpFrameReader(maxResponseBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.fail(new GmpError('protocol', `gvmd socket error: ${err.code ?? err.message}`)),
    );
    socket.on('close', () =>
      this.fail(
        new GmpError(
          'protocol',
          this.reader.inAnswer ? 'gvmd closed the connection in the middle of an answer' : 'gvmd closed the connection',
        ),
      ),
    );
  }

  static connect(options: GmpConnectOptions = {}): Promise<GmpConnection> {
    const socketPath = options.socketPath ?? DEFAULT_GVMD_SOCKET;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new GmpError('timeout', `no connection to ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(err, socketPath));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new GmpConnection(socket, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES));
      });
    });
  }

  /**
   * Sends one command (built by request.ts) and resolves its answer. `command` is the element
   * name, used to check the answer's name and to word errors (never the body: it may hold a
   * password).
   */
  send(command: string, xml: string, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): Promise<GmpAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new GmpError('protocol', 'one GMP command at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        const err = new GmpError('timeout', `gvmd did not answer ${command} within ${timeoutMs} ms`);
        this.failure = err; // the late answer would be taken for the next command's: end the session
        this.socket.destroy();
        reject(err);
      }, timeoutMs);
      this.waiter = { command, resolve, reject, timer };
      this.socket.write(xml);
    });
  }

  close(): void {
    this.failure ??= new GmpError('protocol', 'session closed');
    this.socket.destroy();
  }

  /** Ends the session now; a command in flight (and every later one) rejects with `err`. */
  abort(err: GmpError): void {
    this.fail(err);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.fail(err instanceof GmpError ? err : new GmpError('protocol', String(err)));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) this.answer(frame);
  }

  private answer(frame: Buffer): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.fail(new GmpError('protocol', 'gvmd sent an answer nobody asked for'));
      this.socket.destroy();
      return;
    }
    this.waiter = null;
    clearTimeout(waiter.timer);
    try {
      const { name, root } = parseGmpXml(frame.toString('utf8').trimStart()); // whitespace between answers is no part of one
      const attributes = (root['@'] ?? {}) as Record<string, string>;
      const status = attributes.status ?? '';
      const statusText = (attributes.status_text ?? '').slice(0, 200);
      if (!/^[1-5][0-9]{2}$/.test(status)) throw new GmpError('protocol', `answer to ${waiter.command} without a status`);
      if (!status.startsWith('2')) {
        throw new GmpError(
          codeForStatus(waiter.command, status, statusText),
          `${waiter.command}: gvmd answered ${status} ${statusText}`,
          status,
        );
      }
      if (name !== `${waiter.command}_response`) throw new GmpError('protocol', `answer to ${waiter.command} was ${name.slice(0, 64)}`);
      waiter.resolve({ name, status, statusText, root });
    } catch (err) {
      waiter.reject(err instanceof GmpError ? err : new GmpError('protocol', String(err)));
    }
  }

  private fail(err: GmpError): void {
    this.failure ??= err;
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    clearTimeout(waiter.timer);
    waiter.reject(err);
  }
}
