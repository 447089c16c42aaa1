import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { LiveCloseCode, type LiveServerMessage } from '@xspectre/contracts';
import type { LivePrincipal } from './live-authenticator.js';

/** One console's WebSocket: who it is, which devices' telemetry it follows, and a bounded send. */
export class LiveConnection {
  readonly id = randomUUID();
  /** Cleared by each protocol ping, set again by the pong or any message: still false at the next ping = dead peer. */
  isAlive = true;
  private subscriptions: ReadonlySet<string> = new Set();

  constructor(
    readonly socket: WebSocket,
    readonly principal: LivePrincipal,
    private readonly maxBufferedBytes: number,
  ) {}

  get subscribedDevices(): ReadonlySet<string> {
    return this.subscriptions;
  }

  /** Replaces the followed devices (a console sends the ids on its screen). */
  subscribe(deviceIds: readonly string[]): void {
    this.subscriptions = new Set(deviceIds);
  }

  send(message: LiveServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  /**
   * Sends an already serialized message (fan-out serializes once). A peer that reads too slowly
   * is dropped with 1013 instead of letting its backlog grow in this process's memory.
   */
  sendText(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    // Checked before sending: memory stays under the bound plus one message.
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.close(LiveCloseCode.TryAgainLater, 'too slow: reconnect');
      return;
    }
    this.socket.send(text);
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(code, reason);
  }
}
