import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackupCapacityReport } from '@xspectre/contracts';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CapacityReportSink } from './capacity-report.js';
import type { DiskImageObserver, DiskImageOutcome } from './disk-images/image-store.js';

/** What the front tells about each answered request (./front.ts). */
export interface FrontRequestObserver {
  /** `op` is the token's operation, or 'none' when the request was refused before its token was verified. */
  answered(op: string, status: number, bytesIn: number, bytesOut: number): void;
}

/** Status codes kept as label values: the ones the front and rclone answer; anything else is its class. */
const KNOWN_STATUS = new Set([200, 201, 204, 206, 304, 400, 401, 403, 404, 405, 409, 411, 413, 415, 416, 422, 500, 502, 503, 507]);

/**
 * The backup server's Prometheus metrics on BACKUP_METRICS_LISTEN: requests by token operation
 * and status, bytes in and out, and the pool's figures from the last capacity report (sent
 * with each maintenance tick: at start, then every BACKUP_SNAPSHOT_INTERVAL_MINUTES).
 */
export class BackupMetrics implements FrontRequestObserver, DiskImageObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly bytesIn: Counter<'op'>;
  private readonly bytesOut: Counter<'op'>;
  private readonly imageBytesIn: Counter;
  private readonly imageUploads: Counter<'outcome'>;
  private readonly imageSizes: Histogram;
  private report: BackupCapacityReport | null = null;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'xspectre_backup_' });
    this.requests = new Counter({
      name: 'xspectre_backup_requests_total',
      help: "Requests the front answered, by the token's operation (none = refused before the token was verified) and status",
      labelNames: ['op', 'status'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'xspectre_backup_received_bytes_total',
      help: 'Request body bytes passed to storage (uploads), by operation',
      labelNames: ['op'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'xspectre_backup_sent_bytes_total',
      help: 'Response body bytes passed from storage to devices (restores, index reads), by operation',
      labelNames: ['op'],
      registers,
    });
    this.imageBytesIn = new Counter({
      name: 'xspectre_backup_image_received_bytes_total',
      help: 'Full-disk image bytes written to uploads (PATCH bodies)',
      registers,
    });
    this.imageUploads = new Counter({
      name: 'xspectre_backup_image_uploads_total',
      help: 'Full-disk image upload events by outcome: created, resumed, completed, or why one was refused or removed',
      labelNames: ['outcome'],
      registers,
    });
    this.imageSizes = new Histogram({
      name: 'xspectre_backup_image_published_bytes',
      help: 'Compressed size of each published full-disk image',
      buckets: [2 ** 30, 4 * 2 ** 30, 16 * 2 ** 30, 64 * 2 ** 30, 256 * 2 ** 30, 1024 * 2 ** 30],
      registers,
    });
    const current = () => this.report;
    new Gauge({
      name: 'xspectre_backup_pool_bytes',
      help: 'The storage pool (ZFS pool or the plain store directory) at the last capacity report, by figure: size, used, free',
      labelNames: ['figure'],
      registers,
      collect() {
        const report = current();
        if (!report) return;
        this.set({ figure: 'size' }, report.pool.sizeBytes);
        this.set({ figure: 'used' }, report.pool.usedBytes);
        this.set({ figure: 'free' }, report.pool.freeBytes);
      },
    });
    new Gauge({
      name: 'xspectre_backup_devices',
      help: 'Device repositories at the last capacity report',
      registers,
      collect() {
        const report = current();
        if (report) this.set(report.devices.length);
      },
    });
    new Gauge({
      name: 'xspectre_backup_capacity_report_timestamp_seconds',
      help: 'When the last capacity report was made (Unix time)',
      registers,
      collect() {
        const report = current();
        if (report) this.set(Date.parse(report.generatedAt) / 1000);
      },
    });
  }

  answered(op: string, status: number, bytesIn: number, bytesOut: number): void {
    this.requests.inc({ op, status: KNOWN_STATUS.has(status) ? String(status) : `${Math.trunc(status / 100)}xx` });
    if (bytesIn > 0) this.bytesIn.inc({ op }, bytesIn);
    if (bytesOut > 0) this.bytesOut.inc({ op }, bytesOut);
  }

  received(bytes: number): void {
    this.imageBytesIn.inc(bytes);
  }

  outcome(outcome: DiskImageOutcome): void {
    this.imageUploads.inc({ outcome });
  }

  published(compressedBytes: number): void {
    this.imageSizes.observe(compressedBytes);
  }

  /** A sink that remembers each report for the gauges, then hands it on. */
  observing(sink: CapacityReportSink): CapacityReportSink {
    return {
      send: async (report) => {
        this.report = report;
        await sink.send(report);
      },
    };
  }

  /** `GET /metrics` on a listener of its own (never the devices' port); anything else answers 404. */
  async listen(host: string, port: number, onError: (error: Error) => void): Promise<{ port: number; close: () => Promise<void> }> {
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || req.method !== 'GET') {
        res
          .writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' })
          .end(path === '/metrics' ? 'only GET and HEAD\n' : 'not found\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(text),
        (error: unknown) => {
          onError(error as Error);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
}
