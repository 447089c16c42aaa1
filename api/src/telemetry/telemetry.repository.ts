import { Injectable } from '@nestjs/common';
import type { DockerReport, ServiceState, SystemMetrics } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import type { MetricSample } from './metric-sample.js';

@Injectable()
export class TelemetryRepository {
  constructor(private readonly db: Database) {}

  /** One multi-row INSERT; replays of a stored (device, time, sequence) are skipped. */
  async insertSamples(deviceId: string, samples: MetricSample[], receivedAt: Date): Promise<void> {
    if (samples.length === 0) return;
    await this.db.manager().query(
      `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes, swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
       SELECT $1, s.sampled_at, s.sequence, $3, s.cpu, s.load1, s.mem_used, s.mem_total, s.swap_used, s.disk_max, s.rx, s.tx
         FROM jsonb_to_recordset($2::jsonb) AS s(sampled_at timestamptz, sequence bigint, cpu real, load1 real, mem_used bigint, mem_total bigint, swap_used bigint, disk_max real, rx double precision, tx double precision)
       ON CONFLICT DO NOTHING`,
      [
        deviceId,
        JSON.stringify(
          samples.map((s) => ({
            sampled_at: s.sampledAt.toISOString(),
            sequence: s.sequence,
            cpu: s.cpuPercent,
            load1: s.load1,
            mem_used: s.memUsedBytes,
            mem_total: s.memTotalBytes,
            swap_used: s.swapUsedBytes,
            disk_max: s.diskUsedPercentMax,
            rx: s.netRxBps,
            tx: s.netTxBps,
          })),
        ),
        receivedAt,
      ],
    );
  }

  /** Keeps the newest telemetry only: an older sequence (a replayed journal) never overwrites it. */
  async upsertLatest(
    deviceId: string,
    latest: {
      sequence: number;
      sampledAt: Date;
      metrics: SystemMetrics | null;
      services: ServiceState[] | null;
      docker: DockerReport | null;
    },
  ): Promise<void> {
    await this.db.manager().query(
      `INSERT INTO device_telemetry (device_id, sequence, sampled_at, metrics, services, docker)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb)
       ON CONFLICT (device_id) DO UPDATE
         SET sequence = EXCLUDED.sequence, sampled_at = EXCLUDED.sampled_at,
             metrics = COALESCE(EXCLUDED.metrics, device_telemetry.metrics),
             services = COALESCE(EXCLUDED.services, device_telemetry.services),
             docker = COALESCE(EXCLUDED.docker, device_telemetry.docker)
       WHERE device_telemetry.sequence < EXCLUDED.sequence`,
      [deviceId, latest.sequence, latest.sampledAt, json(latest.metrics), json(latest.services), json(latest.docker)],
    );
  }
}

function json(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}
