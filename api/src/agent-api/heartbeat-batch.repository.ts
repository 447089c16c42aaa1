import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import type { BatchRows } from './heartbeat-batch.js';

export interface BatchWriteResult {
  /** `${deviceId}:${sequence}` of every heartbeat stored by this write. */
  inserted: Set<string>;
  /** Devices still active, with their highest stored sequence and when they were last heard before this write. */
  devices: Map<string, { lastSequence: number; previousHeartbeatAt: Date | null }>;
}

/**
 * One group commit in one statement: heartbeats (idempotent on device + sequence), their metric
 * samples and the latest telemetry are written only for heartbeats this statement inserted, so
 * a replay writes nothing twice. Devices are locked in id order (no deadlock between API
 * instances) and only active ones take heartbeats: a device revoked after its credential was
 * cached is refused here.
 */
const WRITE_BATCH_SQL = `
WITH input_devices AS (
  SELECT x.d, x.s, x.ver FROM jsonb_to_recordset($4::jsonb) AS x(d uuid, s bigint, ver text)
), previous AS (
  SELECT dv.id, dv.last_heartbeat_at FROM devices dv
   WHERE dv.id IN (SELECT d FROM input_devices) AND dv.status = 'active'
   ORDER BY dv.id
     FOR UPDATE
), ins AS (
  INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
  SELECT h.d, h.s, h.sent, $5, h.up, h.ver
    FROM jsonb_to_recordset($1::jsonb) AS h(d uuid, s bigint, sent timestamptz, up double precision, ver text)
   WHERE h.d IN (SELECT id FROM previous)
  ON CONFLICT (device_id, sequence) DO NOTHING
  RETURNING device_id, sequence
), samples AS (
  INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes,
                              swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
  SELECT m.d, m.t, m.s, $5, m.cpu, m.load1, m.mem_used, m.mem_total, m.swap_used, m.disk_max, m.rx, m.tx
    FROM jsonb_to_recordset($2::jsonb) AS m(d uuid, s bigint, t timestamptz, cpu real, load1 real, mem_used bigint, mem_total bigint,
                                           swap_used bigint, disk_max real, rx double precision, tx double precision)
    JOIN ins ON ins.device_id = m.d AND ins.sequence = m.s
  ON CONFLICT DO NOTHING
), latest AS (
  INSERT INTO device_telemetry (device_id, sequence, sampled_at, metrics, services, docker)
  SELECT l.d, l.s, l.t, l.metrics, l.services, l.docker
    FROM jsonb_to_recordset($3::jsonb) AS l(d uuid, s bigint, t timestamptz, metrics jsonb, services jsonb, docker jsonb)
    JOIN ins ON ins.device_id = l.d AND ins.sequence = l.s
  ON CONFLICT (device_id) DO UPDATE
    SET sequence = EXCLUDED.sequence, sampled_at = EXCLUDED.sampled_at,
        metrics = COALESCE(EXCLUDED.metrics, device_telemetry.metrics),
        services = COALESCE(EXCLUDED.services, device_telemetry.services),
        docker = COALESCE(EXCLUDED.docker, device_telemetry.docker)
  WHERE device_telemetry.sequence < EXCLUDED.sequence
), touched AS (
  UPDATE devices dv
     SET last_heartbeat_at = $5, agent_version = i.ver, last_sequence = GREATEST(COALESCE(dv.last_sequence, 0), i.s)
    FROM input_devices i, previous p
   WHERE dv.id = i.d AND p.id = i.d
  RETURNING dv.id, dv.last_sequence, p.last_heartbeat_at AS previous_heartbeat_at
)
SELECT 'inserted' AS kind, device_id::text AS id, sequence, NULL::timestamptz AS previous_heartbeat_at FROM ins
UNION ALL
SELECT 'device', id::text, last_sequence, previous_heartbeat_at FROM touched`;

@Injectable()
export class HeartbeatBatchRepository {
  constructor(private readonly db: Database) {}

  async write(rows: BatchRows, receivedAt: Date): Promise<BatchWriteResult> {
    const result: Array<{ kind: 'inserted' | 'device'; id: string; sequence: string; previous_heartbeat_at: Date | null }> = await this.db
      .manager()
      .query(WRITE_BATCH_SQL, [
        JSON.stringify(rows.heartbeats),
        JSON.stringify(rows.samples),
        JSON.stringify(rows.latest),
        JSON.stringify(rows.devices),
        receivedAt,
      ]);
    const inserted = new Set<string>();
    const devices = new Map<string, { lastSequence: number; previousHeartbeatAt: Date | null }>();
    for (const row of result) {
      if (row.kind === 'inserted') inserted.add(`${row.id}:${Number(row.sequence)}`);
      else devices.set(row.id, { lastSequence: Number(row.sequence), previousHeartbeatAt: row.previous_heartbeat_at });
    }
    return { inserted, devices };
  }
}
