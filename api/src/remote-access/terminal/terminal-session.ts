import type { Logger } from '@nestjs/common';
import type { ClientChannel } from 'ssh2';
import type { RawData, WebSocket } from 'ws';
import {
  TERMINAL_WINDOW_BYTES,
  TerminalClientMessageSchema,
  TerminalCloseCode,
  type RemoteSessionEndReason,
  type TerminalServerMessage,
} from '@xspectre/contracts';
import type { DeviceSshConnection } from '../device-ssh.connector.js';
import type { AsciicastWriter } from './asciicast-writer.js';

/** Above this much output queued in the WebSocket (not yet handed to TCP) the device is paused too. */
export const WS_BUFFER_HIGH_BYTES = 256 * 1024;
/** The browser is pinged this often; one that missed the previous ping is dropped. */
export const PING_INTERVAL_MS = 30_000;
/** How long a closing WebSocket may take to answer the close before it is cut. */
const CLOSE_GRACE_MS = 2_000;

export interface TerminalSessionOptions {
  idleTimeoutMs: number;
  maxDurationMs: number;
  recordInput: boolean;
  pingIntervalMs?: number;
}

export interface TerminalEnd {
  reason: RemoteSessionEndReason;
  exitCode: number | null;
  message: string;
  recording: { bytes: number; sha256: string } | null;
}

const CLOSE_CODES: Record<RemoteSessionEndReason, number> = {
  closed: TerminalCloseCode.Ended,
  idle_timeout: TerminalCloseCode.Ended,
  max_duration: TerminalCloseCode.Ended,
  device_disconnected: TerminalCloseCode.DeviceUnreachable,
  access_revoked: TerminalCloseCode.AccessRevoked,
  server_shutdown: 1001,
  error: 1011,
};

/**
 * One open terminal: the browser's WebSocket joined to a shell channel on the device, recorded.
 *
 * Output flows under credit: bytes sent and not yet acknowledged (`ack`) may not exceed
 * TERMINAL_WINDOW_BYTES, and the WebSocket's and the recording's queues are bounded too. When any
 * of them is full the SSH channel is paused: ssh2 then stops granting window, the device's sshd
 * stops sending, and the API holds at most a window's worth per terminal however fast the device
 * writes. It resumes once the acknowledged credit is back under half and the queues have drained.
 */
export class TerminalSession {
  private unacked = 0;
  private paused = false;
  private exitCode: number | null = null;
  private exited = false;
  private lastActivity = Date.now();
  private alive = true;
  private timers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private ending: Promise<TerminalEnd> | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly channel: ClientChannel,
    private readonly connection: DeviceSshConnection,
    private readonly recording: AsciicastWriter,
    private readonly options: TerminalSessionOptions,
    private readonly logger: Logger,
    private readonly onEnd: (end: TerminalEnd) => Promise<void>,
  ) {}

  /** Wires both directions and the timers; `ready` is the first message the browser gets. */
  start(ready: TerminalServerMessage): void {
    const output = (chunk: Buffer) => this.output(chunk);
    this.channel.on('data', output);
    this.channel.stderr.on('data', output);
    this.channel.on('exit', (code: number | null) => {
      this.exited = true;
      this.exitCode = typeof code === 'number' ? code : null;
    });
    // Without an exit status the channel closed because the connection did.
    this.channel.on('close', () =>
      this.exited
        ? void this.end('closed', `the shell exited${this.exitCode === null ? '' : ` (code ${this.exitCode})`}`)
        : void this.end('device_disconnected', 'the device dropped the SSH connection (tunnel down or device restarting)'),
    );
    this.channel.on('error', (error: Error) => this.logger.debug({ msg: 'terminal channel error', err: error.message }));
    void this.connection.closed.then(() =>
      this.end('device_disconnected', 'the device dropped the SSH connection (tunnel down or device restarting)'),
    );

    this.ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.ws.on('close', () => void this.end('closed', 'the browser closed the terminal'));
    this.ws.on('pong', () => (this.alive = true));

    const ping = setInterval(() => {
      if (!this.alive) return this.ws.terminate();
      this.alive = false;
      this.ws.ping();
    }, this.options.pingIntervalMs ?? PING_INTERVAL_MS);
    const max = setTimeout(
      () => void this.end('max_duration', `the terminal reached its maximum duration (${Math.round(this.options.maxDurationMs / 1000)} s)`),
      this.options.maxDurationMs,
    );
    this.timers.push(ping, max);
    for (const timer of this.timers) timer.unref();
    this.armIdle();
    this.sendJson(ready);
  }

  /** Ends once (later calls get the first end): tells the browser, closes SSH, seals the recording. */
  end(reason: RemoteSessionEndReason, message: string): Promise<TerminalEnd> {
    this.ending ??= this.finish(reason, message);
    return this.ending;
  }

  get isEnded(): boolean {
    return this.ending !== null;
  }

  private async finish(reason: RemoteSessionEndReason, message: string): Promise<TerminalEnd> {
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.idleTimer);
    this.channel.removeAllListeners('data');
    this.channel.stderr.removeAllListeners('data');
    const exitCode = this.exitCode;
    if (this.ws.readyState === this.ws.OPEN) {
      this.sendJson({ type: 'ended', reason, exitCode, message });
      this.ws.close(CLOSE_CODES[reason], reason);
      setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.connection.end();
    let recording: TerminalEnd['recording'] = null;
    try {
      recording = await this.recording.finish();
    } catch (error) {
      this.logger.error({ msg: 'terminal recording could not be finished', err: (error as Error).message });
    }
    const end = { reason, exitCode, message, recording };
    try {
      await this.onEnd(end);
    } catch (error) {
      this.logger.error({ msg: 'terminal session end could not be recorded', reason, err: (error as Error).message });
    }
    return end;
  }

  private output(chunk: Buffer): void {
    if (this.ending) return;
    this.touch();
    this.recording.output(chunk);
    this.unacked += chunk.length;
    this.ws.send(chunk, { binary: true }, () => this.updateFlow());
    this.updateFlow();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.ending) return;
    this.alive = true;
    const bytes = rawBytes(data);
    if (isBinary) {
      this.touch();
      if (this.options.recordInput) this.recording.input(bytes);
      // A paste faster than the device reads: stop reading the browser until the channel drains.
      if (!this.channel.write(bytes)) {
        this.ws.pause();
        this.channel.once('drain', () => this.ws.resume());
      }
      return;
    }
    let parsed: ReturnType<typeof TerminalClientMessageSchema.safeParse>;
    try {
      parsed = TerminalClientMessageSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    } catch {
      return this.sendJson({ type: 'error', code: 'VALIDATION_FAILED', message: 'text frames must be JSON control messages' });
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.sendJson({
        type: 'error',
        code: 'VALIDATION_FAILED',
        message: `invalid control message${issue ? `: ${issue.path.join('.') || 'message'} ${issue.message}` : ''}`,
      });
    }
    const message = parsed.data;
    switch (message.type) {
      case 'resize':
        this.touch();
        this.channel.setWindow(message.rows, message.cols, 0, 0);
        this.recording.resize(message.cols, message.rows);
        return;
      case 'ack':
        this.unacked = Math.max(0, this.unacked - message.bytes);
        this.updateFlow();
        return;
      case 'ping':
        this.sendJson({ type: 'pong' });
        return;
    }
  }

  /** Pauses the device when any queue is full; resumes when all have room again (with hysteresis). */
  private updateFlow(): void {
    if (this.ending) return;
    if (!this.paused) {
      if (this.unacked >= TERMINAL_WINDOW_BYTES || this.ws.bufferedAmount >= WS_BUFFER_HIGH_BYTES || this.recording.congested) {
        this.paused = true;
        this.channel.pause();
        if (this.recording.congested) this.recording.onceUncongested(() => this.updateFlow());
      }
      return;
    }
    if (this.unacked <= TERMINAL_WINDOW_BYTES / 2 && this.ws.bufferedAmount < WS_BUFFER_HIGH_BYTES / 2 && !this.recording.congested) {
      this.paused = false;
      this.channel.resume();
    } else if (this.recording.congested) this.recording.onceUncongested(() => this.updateFlow());
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }

  /** Re-armed from the last activity, so a busy terminal costs no timer churn per byte. */
  private armIdle(): void {
    const due = this.lastActivity + this.options.idleTimeoutMs - Date.now();
    this.idleTimer = setTimeout(
      () => {
        if (Date.now() - this.lastActivity >= this.options.idleTimeoutMs)
          void this.end('idle_timeout', `no input or output for ${Math.round(this.options.idleTimeoutMs / 1000)} s`);
        else this.armIdle();
      },
      Math.max(due, 1000),
    );
    this.idleTimer.unref();
  }

  private sendJson(message: TerminalServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }
}

export function rawBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
