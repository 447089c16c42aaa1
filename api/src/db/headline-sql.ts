import { MAX_RATE_BYTES_PER_SECOND, MAX_STORAGE_BYTES } from '@xspectre/contracts';
import { jsonElementsSql, jsonNumberSql, percentSql } from './bounded-sql.js';

/**
 * The headline numbers of one stored metrics document (`metrics`: a jsonb expression), read
 * bounded (bounded-sql.ts). One definition for the places that compute them: the heartbeat
 * group commit that keeps the copies on `devices` the fleet view shows and sorts by
 * (api/src/ingest/heartbeat-batch.repository.ts), the migration that backfilled those copies
 * (migrations/1795560000000-FleetReads.ts) and the view's network rates
 * (api/src/devices/fleet-view.repository.ts). Each is NULL
 * when `metrics` is NULL. Only constants and the given expression are interpolated.
 */
const bytes = (json: string) => jsonNumberSql(json, MAX_STORAGE_BYTES);

export const headlineCpuSql = (metrics: string) => jsonNumberSql(`${metrics}->'cpuPercent'`, 100);

export const headlineMemSql = (metrics: string) =>
  `COALESCE(${percentSql(bytes(`${metrics}->'memory'->'usedBytes'`), bytes(`${metrics}->'memory'->'totalBytes'`))},
  CASE WHEN ${metrics} IS NOT NULL THEN 0 END)`;

/** The fullest mount; NULL without mounts. */
export const headlineDiskSql = (metrics: string) =>
  `(SELECT MAX(${percentSql(bytes(`m->'usedBytes'`), bytes(`m->'totalBytes'`))}) FROM ${jsonElementsSql(`${metrics}->'mounts'`)} m)`;

export const headlineNetSql = (metrics: string, field: 'rxBytesPerSecond' | 'txBytesPerSecond') =>
  `(SELECT SUM(${jsonNumberSql(`n->'${field}'`, MAX_RATE_BYTES_PER_SECOND)}) FROM ${jsonElementsSql(`${metrics}->'network'`)} n)`;
