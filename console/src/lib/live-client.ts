import {
  LIVE_MAX_SUBSCRIBED_DEVICES,
  LIVE_PATH,
  LiveCloseCode,
  LiveServerMessageSchema,
  type LiveClientMessage,
  type LiveServerMessage,
} from '@xspectre/contracts';
import { api, notifySessionEnded, refreshSession } from './api-client';
import { nextBackoffMs } from './backoff';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';
type MessageListener = (message: LiveServerMessage) => void;
type ResyncListener = () => void;
type StatusListener = (status: LiveStatus) => void;

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;

/**
 * The console's one WebSocket to `GET /api/v1/live`. Views register the device ids they show;
 * the client sends their union. It reconnects by itself with backoff; after every reconnect
 * (messages are not replayed) it tells views to refetch. A close with 4401, or a refused
 * upgrade, refreshes the session first.
 */
export class LiveClient {
  private socket: WebSocket | null = null;
  private status: LiveStatus = 'stopped';
  private attempt = 0;
  private everConnected = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly messageListeners = new Set<MessageListener>();
  private readonly resyncListeners = new Set<ResyncListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private readonly subscriptions = new Map<symbol, readonly string[]>();
  private lastSent = '';
  heartbeatIntervalSeconds = 30;

  start(): void {
    if (this.status !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.setStatus('stopped');
    this.clearTimers();
    this.socket?.close(1000, 'bye');
    this.socket = null;
  }

  getStatus(): LiveStatus {
    return this.status;
  }

  onMessage(listener: MessageListener): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Called after a reconnect: what is on screen may be stale. */
  onResync(listener: ResyncListener): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Sets the devices one view wants per-heartbeat telemetry for; returns the release function. */
  subscribe(deviceIds: readonly string[]): () => void {
    const key = Symbol('subscription');
    this.subscriptions.set(key, deviceIds);
    this.sendSubscription();
    return () => {
      this.subscriptions.delete(key);
      this.sendSubscription();
    };
  }

  private connect(): void {
    this.setStatus(this.everConnected ? 'reconnecting' : 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}${LIVE_PATH}`);
    this.socket = socket;
    let helloSeen = false;
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let parsed: LiveServerMessage;
      try {
        parsed = LiveServerMessageSchema.parse(JSON.parse(event.data));
      } catch {
        return; // A message this console does not know yet: newer API. Ignore it.
      }
      if (parsed.type === 'hello') {
        helloSeen = true;
        if (parsed.heartbeatIntervalSeconds) this.heartbeatIntervalSeconds = parsed.heartbeatIntervalSeconds;
        const wasReconnect = this.everConnected;
        this.everConnected = true;
        this.attempt = 0;
        this.lastSent = '';
        this.sendSubscription();
        this.startPing();
        this.setStatus('live');
        if (wasReconnect) for (const listener of this.resyncListeners) listener();
      } else if (parsed.type === 'pong') {
        if (this.pongTimer) clearTimeout(this.pongTimer);
        this.pongTimer = null;
      }
      for (const listener of this.messageListeners) listener(parsed);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (this.status === 'stopped') return;
      if (event.code === LiveCloseCode.SessionEnded) {
        // The server re-checked the session and it ended: a refresh tells whether it can go on.
        void refreshSession().then((ok) => (ok ? this.scheduleReconnect() : notifySessionEnded()));
      } else if (!helloSeen) {
        // A refused upgrade looks the same as a network failure (1006). A cheap authenticated GET
        // refreshes a stale access cookie when that was the reason, and does nothing otherwise.
        void api('auth/me').then(
          () => this.scheduleReconnect(),
          () => this.scheduleReconnect(),
        );
      } else {
        this.scheduleReconnect();
      }
    };
  }

  private scheduleReconnect(): void {
    if (this.status === 'stopped') return;
    this.setStatus('reconnecting');
    const delay = nextBackoffMs(this.attempt++);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private startPing(): void {
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return;
      this.pongTimer ??= setTimeout(() => this.socket?.close(4000, 'no pong'), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.reconnectTimer = this.pingTimer = this.pongTimer = null;
  }

  private sendSubscription(): void {
    const ids = [...new Set([...this.subscriptions.values()].flat())].sort().slice(0, LIVE_MAX_SUBSCRIBED_DEVICES);
    const key = ids.join(',');
    if (key === this.lastSent) return;
    if (this.send({ type: 'subscribe', deviceIds: ids })) this.lastSent = key;
  }

  private send(message: LiveClientMessage): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }
}

let shared: LiveClient | null = null;

/** The one live connection of this browser tab. */
export function liveClient(): LiveClient {
  shared ??= new LiveClient();
  return shared;
}
