import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceSummary } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DevicesService } from '../devices/devices.service.js';
import { HubService } from '../hub/hub.service.js';
import type { HeartbeatCommitObserver, HeartbeatCommitStats } from '../ingest/heartbeat-commit-observer.js';
import { LiveConnections } from '../live/live-connections.js';
import { instrumentHttp } from './http-metrics.js';
import { serveMetrics, type MetricsListener } from './metrics-listener.js';

/** The device summary is read at most this often for scrapes (its cache alone would recompute every 3 s). */
const SUMMARY_MIN_INTERVAL_MS = 15_000;
/** A scrape waits this long for a summary being computed; then it answers with the last one. */
const SUMMARY_WAIT_MS = 2_000;
/** Handshake age classes: WireGuard re-handshakes every 2 minutes while traffic flows. */
const HANDSHAKE_AGE_CLASSES: Array<[label: string, upToSeconds: number]> = [
  ['lt_3m', 180],
  ['3m_to_15m', 900],
  ['15m_to_1h', 3600],
  ['gt_1h', Infinity],
];

/**
 * The API's Prometheus metrics, served on API_METRICS_LISTEN (never the public port): HTTP
 * requests, heartbeat group commits (it is the HeartbeatWriter's observer), live WebSocket
 * connections, hub peers, devices by connectivity, and Node's process metrics. Gauges are read
 * at scrape time from what their features already hold in memory; the device counts come from
 * the devices service's cached summary, at most every SUMMARY_MIN_INTERVAL_MS.
 */
@Injectable()
export class ApiMetricsService implements HeartbeatCommitObserver, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ApiMetricsService.name);
  readonly registry = new Registry();
  private listener: MetricsListener | null = null;
  private readonly heartbeats: Counter<'outcome'>;
  private readonly commitSize: Histogram;
  private readonly commitDuration: Histogram;
  private summary: { at: number; value: DeviceSummary } | null = null;
  private summaryInFlight: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly devices: DevicesService,
    private readonly hub: HubService,
    private readonly live: LiveConnections,
  ) {
    const registers = [this.registry];
    // Without a listener nobody reads them: no event-loop monitor, no per-request hook (onModuleInit).
    if (config.API_METRICS_LISTEN) collectDefaultMetrics({ register: this.registry, prefix: 'xspectre_api_' });
    this.heartbeats = new Counter({
      name: 'xspectre_heartbeats_total',
      help: 'Heartbeats written by group commits: accepted (new) or duplicate (a sequence already stored)',
      labelNames: ['outcome'],
      registers,
    });
    this.commitSize = new Histogram({
      name: 'xspectre_heartbeat_commit_submissions',
      help: 'Agent submissions per heartbeat group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'xspectre_heartbeat_commit_duration_seconds',
      help: 'Duration of a heartbeat group commit, retries included',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    // Both outcomes exist from the start, so rate() sees the first heartbeat.
    this.heartbeats.inc({ outcome: 'accepted' }, 0);
    this.heartbeats.inc({ outcome: 'duplicate' }, 0);
    const connections = this.live;
    new Gauge({
      name: 'xspectre_live_connections',
      help: 'Open live-update WebSocket connections on this API instance',
      registers,
      collect() {
        this.set(connections.size);
      },
    });
    this.hubGauges(registers);
    this.deviceGauges(registers);
  }

  committed(stats: HeartbeatCommitStats): void {
    this.heartbeats.inc({ outcome: 'accepted' }, stats.accepted);
    this.heartbeats.inc({ outcome: 'duplicate' }, stats.duplicates);
    this.commitSize.observe(stats.submissions);
    this.commitDuration.observe(stats.seconds);
  }

  /** The port the listener took (API_METRICS_LISTEN port 0 = any free one), or null without one. */
  get port(): number | null {
    return this.listener?.port ?? null;
  }

  onModuleInit(): void {
    // The worker has no HTTP adapter; the API's is Fastify (create-app.ts).
    if (!this.config.API_METRICS_LISTEN) return;
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify) instrumentHttp(fastify, this.registry);
  }

  async onApplicationBootstrap(): Promise<void> {
    const address = this.config.API_METRICS_LISTEN;
    if (!address) return;
    this.listener = await serveMetrics(this.registry, address, (error) =>
      this.logger.error({ msg: 'metrics collection failed', err: error.message }),
    );
    this.logger.log({ msg: 'metrics listening', url: `http://${address.host}:${this.listener.port}/metrics` });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
  }

  private hubGauges(registers: Registry[]): void {
    const hub = this.hub;
    // Every kind is always exported (0 when none), so a panel or an alert sees a kind appear.
    const kinds = ['device', 'recovery', 'unknown'] as const;
    new Gauge({
      name: 'xspectre_hub_peers',
      help: "Peers on the hub's WireGuard interface at its last read (API_WG_RECONCILE_SECONDS), by kind: device, recovery (a recovery stick), unknown",
      labelNames: ['kind'],
      registers,
      collect() {
        const snapshot = hub.tunnelSnapshot;
        if (!snapshot) return;
        for (const kind of kinds) this.set({ kind }, snapshot.peers.filter((p) => p.kind === kind).length);
      },
    });
    new Gauge({
      name: 'xspectre_hub_peers_by_handshake_age',
      help: 'Hub peers by kind and the age of their latest handshake (never = no handshake yet)',
      labelNames: ['age', 'kind'],
      registers,
      collect() {
        const snapshot = hub.tunnelSnapshot;
        if (!snapshot) return;
        const labels = [...HANDSHAKE_AGE_CLASSES.map(([label]) => label), 'never'];
        const counts = new Map<string, number>(kinds.flatMap((kind) => labels.map((age) => [`${kind} ${age}`, 0] as [string, number])));
        for (const { kind, latestHandshakeAt: at } of snapshot.peers) {
          const age =
            at === null ? 'never' : HANDSHAKE_AGE_CLASSES.find(([, upTo]) => (snapshot.readAt.getTime() - at.getTime()) / 1000 < upTo)![0];
          counts.set(`${kind} ${age}`, counts.get(`${kind} ${age}`)! + 1);
        }
        for (const [key, count] of counts) {
          const [kind, age] = key.split(' ') as [string, string];
          this.set({ age, kind }, count);
        }
      },
    });
    new Gauge({
      name: 'xspectre_hub_oldest_handshake_age_seconds',
      help: "Age of the oldest latest-handshake among the devices' hub peers that ever shook hands, at the last read (recovery sticks, idle while their device runs, are left out)",
      registers,
      collect() {
        const snapshot = hub.tunnelSnapshot;
        const times =
          snapshot?.peers.filter((p) => p.kind === 'device' && p.latestHandshakeAt !== null).map((p) => p.latestHandshakeAt!.getTime()) ??
          [];
        if (snapshot && times.length > 0) this.set((snapshot.readAt.getTime() - Math.min(...times)) / 1000);
      },
    });
    new Gauge({
      name: 'xspectre_hub_read_age_seconds',
      help: "Seconds since the hub's peers were last read (the figures above are that old)",
      registers,
      collect() {
        const snapshot = hub.tunnelSnapshot;
        if (snapshot) this.set((Date.now() - snapshot.readAt.getTime()) / 1000);
      },
    });
  }

  private deviceGauges(registers: Registry[]): void {
    const read = () => this.readSummary();
    new Gauge({
      name: 'xspectre_devices',
      help: 'Devices by connectivity (online, offline = heard from but not online now, never_seen), from the fleet summary',
      labelNames: ['connectivity'],
      registers,
      async collect() {
        const summary = await read();
        if (!summary) return;
        this.set({ connectivity: 'online' }, summary.connectivity.online);
        this.set({ connectivity: 'offline' }, summary.connectivity.offline);
        this.set({ connectivity: 'never_seen' }, summary.connectivity.neverSeen);
      },
    });
  }

  /** The fleet summary, refreshed at most every SUMMARY_MIN_INTERVAL_MS; a slow or failed one leaves the last. */
  private async readSummary(): Promise<DeviceSummary | null> {
    const fresh = this.summary && Date.now() - this.summary.at < SUMMARY_MIN_INTERVAL_MS;
    if (!fresh) {
      this.summaryInFlight ??= this.devices
        .summary({})
        .then((value) => void (this.summary = { at: Date.now(), value }))
        .catch((error: unknown) => this.logger.warn({ msg: 'device summary for metrics failed', err: (error as Error).message }))
        .finally(() => (this.summaryInFlight = null));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.summaryInFlight, new Promise((resolve) => (timer = setTimeout(resolve, SUMMARY_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.summary?.value ?? null;
  }
}
