import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { QueryFailedError } from 'typeorm';
import { Database } from '../db/database.js';
import { headlineCpuSql, headlineDiskSql, headlineMemSql } from '../db/headline-sql.js';
import { latestRowsJson, type BatchRows } from './heartbeat-batch.js';

export interface BatchWriteResult {
  /** `${deviceId}:${sequence}` of every heartbeat stored by this write. */
  inserted: Set<string>;
  /** Devices still active, with their highest stored sequence. */
  lastSequences: Map<string, number>;
  /** Devices recorded as online again (they were offline or never seen). */
  cameOnline: string[];
  /** Devices whose latest telemetry row this write replaced. */
  latest: Set<string>;
}

/** SQLSTATE of xs_telemetry_document_stale: an unchanged-document claim no longer holds. */
export const STALE_DOCUMENT_CLAIM = 'XS409';

/** Windows with no bit / every bit set (bit(1024), db/migrations/1795580000000-HeartbeatRetention.ts). */
const EMPTY_WINDOW = `repeat('0', 1024)::bit(1024)`;
const FULL_WINDOW = `repeat('1', 1024)::bit(1024)`;
/** Shift amounts past the window's width all give zeros; clamped so that a jump of any size fits an int. */
const shift = (amount: string) => `LEAST(GREATEST(${amount}, 0), 1024)::int`;

/**
 * One group commit in one statement: heartbeats (idempotent on device + sequence), their metric
 * samples and the latest telemetry are written only for heartbeats this statement accepted, so
 * a replay writes nothing twice. Devices are locked in id order (no deadlock between API
 * instances) and only active ones take heartbeats: a device revoked after its credential was
 * cached is refused here.
 *
 * Raw heartbeat rows are dropped by whole days (API_HEARTBEAT_RETENTION_DAYS), so "stored before"
 * is answered by device_heartbeat_windows, an anti-replay window as in RFC 6479: per device the
 * highest stored sequence (high) and bit(1024) \`seen\`, where bit i says sequence high - i was
 * stored. A heartbeat is new when its sequence is above high, or within the 1024 below it with its
 * bit clear. At or below high - 1024 it counts as a duplicate: agents send their journal in
 * sequence order and a batch holds at most 1000 heartbeats (HeartbeatBatchSchema), so an unstored
 * one that far behind is not expected (agent/src/journal.ts). Within one statement a device's sequences are distinct
 * (buildBatchRows), so each is judged against the window as it was.
 */
const WRITE_BATCH_SQL = `
WITH latest_input AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb) AS l(d uuid, s bigint, t timestamptz, metrics jsonb, services jsonb, services_seq bigint,
                                                  docker jsonb, docker_seq bigint, stats jsonb)
), input_devices AS (
  SELECT x.d, x.s, x.ver FROM jsonb_to_recordset($4::jsonb) AS x(d uuid, s bigint, ver text)
), previous AS (
  SELECT dv.id, dv.last_heartbeat_at, dv.last_sequence FROM devices dv
   WHERE dv.id IN (SELECT d FROM input_devices) AND dv.status = 'active'
   ORDER BY dv.id
     FOR UPDATE
), windows AS (
  -- Read FOR UPDATE so that a write of the same device that committed while this one waited for
  -- the device lock is seen (a plain read sees this statement's older snapshot). Always taken
  -- under the device's lock, so never waited for. Every device gets its row when it is created
  -- (trigger devices_heartbeat_window); should one be missing, everything up to last_sequence
  -- counts as stored and the upsert below merges with whatever row is there by then.
  SELECT p.id,
         COALESCE(w.high_sequence, p.last_sequence) AS high,
         COALESCE(w.seen, CASE WHEN p.last_sequence IS NULL THEN ${EMPTY_WINDOW} ELSE ${FULL_WINDOW} END) AS seen
    FROM previous p
    LEFT JOIN LATERAL (SELECT ww.high_sequence, ww.seen FROM device_heartbeat_windows ww WHERE ww.device_id = p.id FOR UPDATE) w ON true
), accepted AS (
  SELECT h.d, h.s, h.sent, h.up, h.ver, max(h.s) OVER (PARTITION BY h.d) AS top
    FROM jsonb_to_recordset($1::jsonb) AS h(d uuid, s bigint, sent timestamptz, up double precision, ver text)
    JOIN windows w ON w.id = h.d
   WHERE w.high IS NULL OR h.s > w.high OR (h.s > w.high - 1024 AND get_bit(w.seen, (w.high - h.s)::int) = 0)
), window_update AS (
  -- The window advances to the new high (the old bits shift right by the advance) and takes the
  -- accepted sequences' bits.
  INSERT INTO device_heartbeat_windows AS cur (device_id, high_sequence, seen)
  SELECT a.d, GREATEST(w.high, a.top),
         COALESCE(w.seen >> ${shift('a.top - w.high')}, ${EMPTY_WINDOW})
           | bit_or(B'1'::bit(1024) >> ${shift('GREATEST(w.high, a.top) - a.s')})
    FROM accepted a JOIN windows w ON w.id = a.d
   GROUP BY a.d, a.top, w.high, w.seen
  ON CONFLICT (device_id) DO UPDATE
    SET high_sequence = GREATEST(cur.high_sequence, EXCLUDED.high_sequence),
        seen = (cur.seen >> ${shift('EXCLUDED.high_sequence - cur.high_sequence')})
             | (EXCLUDED.seen >> ${shift('cur.high_sequence - EXCLUDED.high_sequence')})
), ins AS (
  INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
  SELECT a.d, a.s, a.sent, $5, a.up, a.ver FROM accepted a
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
  -- A document sent as NULL with a claim (*_seq) is unchanged since the heartbeat of that sequence
  -- wrote it: kept if the stored document is still that one, else the statement fails (XS409).
  INSERT INTO device_telemetry (device_id, sequence, sampled_at, metrics, services, services_sequence, docker, docker_sequence, container_stats)
  SELECT l.d, l.s, l.t, l.metrics,
         l.services,
         CASE WHEN l.services IS NOT NULL THEN l.s
              WHEN l.services_seq IS NULL OR EXISTS (SELECT 1 FROM device_telemetry t WHERE t.device_id = l.d) THEN l.services_seq
              ELSE xs_telemetry_document_stale(l.d, NULL::bigint) END,
         l.docker,
         CASE WHEN l.docker IS NOT NULL THEN l.s
              WHEN l.docker_seq IS NULL OR EXISTS (SELECT 1 FROM device_telemetry t WHERE t.device_id = l.d) THEN l.docker_seq
              ELSE xs_telemetry_document_stale(l.d, NULL::bigint) END,
         l.stats
    FROM latest_input l
    JOIN ins ON ins.device_id = l.d AND ins.sequence = l.s
  ON CONFLICT (device_id) DO UPDATE
    SET sequence = EXCLUDED.sequence, sampled_at = EXCLUDED.sampled_at,
        metrics = COALESCE(EXCLUDED.metrics, device_telemetry.metrics),
        services = CASE
          WHEN EXCLUDED.services IS NOT NULL OR EXCLUDED.services_sequence IS NULL
            OR EXCLUDED.services_sequence = device_telemetry.services_sequence THEN COALESCE(EXCLUDED.services, device_telemetry.services)
          ELSE xs_telemetry_document_stale(EXCLUDED.device_id, NULL::jsonb) END,
        services_sequence = COALESCE(EXCLUDED.services_sequence, device_telemetry.services_sequence),
        docker = CASE
          WHEN EXCLUDED.docker IS NOT NULL OR EXCLUDED.docker_sequence IS NULL
            OR EXCLUDED.docker_sequence = device_telemetry.docker_sequence THEN COALESCE(EXCLUDED.docker, device_telemetry.docker)
          ELSE xs_telemetry_document_stale(EXCLUDED.device_id, NULL::jsonb) END,
        docker_sequence = COALESCE(EXCLUDED.docker_sequence, device_telemetry.docker_sequence),
        -- A heartbeat with a docker report replaces the stats (NULL when docker is not running).
        container_stats = CASE WHEN EXCLUDED.docker_sequence IS NOT NULL THEN EXCLUDED.container_stats ELSE device_telemetry.container_stats END
  WHERE device_telemetry.sequence < EXCLUDED.sequence
  RETURNING device_id
), came_online AS (
  -- A device never heard from, or silent past the offline window, and not marked online.
  INSERT INTO device_connectivity_events (device_id, state, at)
  SELECT p.id, 'online', $5 FROM previous p
   WHERE p.id IN (SELECT device_id FROM ins)
     AND (p.last_heartbeat_at IS NULL OR p.last_heartbeat_at < $5::timestamptz - make_interval(secs => $6::double precision / 1000))
     AND (SELECT e.state FROM device_connectivity_events e WHERE e.device_id = p.id ORDER BY e.at DESC, e.id DESC LIMIT 1)
         IS DISTINCT FROM 'online'
  RETURNING device_id
), headline AS (
  -- The sortable copies of the headline numbers (devices.headline_*), only from a heartbeat that
  -- became the latest state and carried metrics: a replayed older one changes nothing.
  SELECT l.d, ${headlineCpuSql('l.metrics')} AS cpu, ${headlineMemSql('l.metrics')} AS mem, ${headlineDiskSql('l.metrics')} AS disk
    FROM latest_input l JOIN latest ON latest.device_id = l.d
   WHERE l.metrics IS NOT NULL
), touched AS (
  UPDATE devices dv
     SET last_heartbeat_at = $5, agent_version = i.ver, last_sequence = GREATEST(COALESCE(dv.last_sequence, 0), i.s),
         headline_cpu_percent = CASE WHEN h.d IS NULL THEN dv.headline_cpu_percent ELSE h.cpu END,
         headline_mem_percent = CASE WHEN h.d IS NULL THEN dv.headline_mem_percent ELSE h.mem END,
         headline_disk_percent = CASE WHEN h.d IS NULL THEN dv.headline_disk_percent ELSE h.disk END
    FROM input_devices i JOIN previous p ON p.id = i.d LEFT JOIN headline h ON h.d = i.d
   WHERE dv.id = i.d
  RETURNING dv.id, dv.last_sequence
)
SELECT 'inserted' AS kind, device_id::text AS id, sequence FROM ins
UNION ALL
SELECT 'device', id::text, last_sequence FROM touched
UNION ALL
SELECT 'online', device_id::text, NULL FROM came_online
UNION ALL
SELECT 'latest', device_id::text, NULL FROM latest`;

const WRITE_BATCH_STATEMENT = 'xs_heartbeat_batch';

@Injectable()
export class HeartbeatBatchRepository {
  constructor(private readonly db: Database) {}

  /**
   * One statement, so atomic on its own: the common batch needs no explicit transaction (one
   * round trip). `offlineAfterMs` is the silence after which a heartbeat means "back online".
   */
  async write(rows: BatchRows, receivedAt: Date, offlineAfterMs: number): Promise<BatchWriteResult> {
    const result = await this.prepared<{ kind: 'inserted' | 'device' | 'online' | 'latest'; id: string; sequence: string | null }>(
      WRITE_BATCH_STATEMENT,
      WRITE_BATCH_SQL,
      [
        JSON.stringify(rows.heartbeats),
        JSON.stringify(rows.samples),
        latestRowsJson(rows.latest),
        JSON.stringify(rows.devices),
        receivedAt,
        offlineAfterMs,
      ],
    );
    const written: BatchWriteResult = { inserted: new Set(), lastSequences: new Map(), cameOnline: [], latest: new Set() };
    for (const row of result) {
      if (row.kind === 'inserted') written.inserted.add(`${row.id}:${Number(row.sequence)}`);
      else if (row.kind === 'device') written.lastSequences.set(row.id, Number(row.sequence));
      else if (row.kind === 'online') written.cameOnline.push(row.id);
      else written.latest.add(row.id);
    }
    return written;
  }

  /**
   * Runs `text` as a named prepared statement (parsed and planned once per connection: planning
   * this statement costs more than running it for a few heartbeats), in the current transaction
   * if one is open. Errors are TypeORM's QueryFailedError, as from `manager.query`.
   */
  private async prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]> {
    const { runner, owned } = this.db.queryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      return (await client.query<T & object>({ name, text, values })).rows;
    } catch (error) {
      throw error instanceof QueryFailedError ? error : new QueryFailedError(text, values, error as Error);
    } finally {
      if (owned) await runner.release();
    }
  }
}
