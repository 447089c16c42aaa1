// Storage per 1,000 devices per day (`npm run bench:storage -w api`, after `npx tsc -b`).
//
// On a throwaway database: BENCH_DEVICES (100) active devices each send a day of heartbeats
// (BENCH_HEARTBEATS, 2,880: one every 30 s, sent over the last 24 h) with realistic telemetry
// (bench/heartbeat-fixture.mjs), written through the API's own group-commit statement
// (HeartbeatStore.write, 500 heartbeats per write), rolled up as the worker does, then VACUUM
// ANALYZE. It prints the bytes (tables + indexes + TOAST) of each table per 1,000 devices per day
// (per 1,000 devices for the tables with one row per device), the steady state at the default
// retentions, and the ratio against the same fleet kept without pruning for 30 days (the raw
// heartbeats in the plain table of before: primary key (device_id, sequence), no window table).
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { heartbeat } from './heartbeat-fixture.mjs';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 100);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 2880);
const INTERVAL_MS = 30_000;
const PER_WRITE = 500;
const BASELINE_DAYS = 30;
const adminUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const DIST = realpathSync(resolve(process.env.BENCH_API_DIST ?? fileURLToPath(new URL('../dist', import.meta.url))));
const fromDist = (path) => import(pathToFileURL(join(DIST, path)).href);
const { loadConfig } = await fromDist('config/config.js');
const { createApp } = await fromDist('create-app.js');
const { createLogger } = await fromDist('common/logging/logger.js');
const { runMigrations } = await fromDist('db/migrate.js');
const { HeartbeatStore } = await fromDist('ingest/heartbeat-store.js');
const { TelemetryMaintenanceService } = await fromDist('telemetry/telemetry-maintenance.service.js');
const { MINUTE_ROLLUP_RETENTION_MS } = await fromDist('worker/maintenance.processor.js');
if (!existsSync(join(DIST, 'ingest', 'heartbeat-storage.service.js'))) throw new Error('this build has no heartbeat retention');

const temp = mkdtempSync(join(tmpdir(), 'xs-storage-bench-'));
const dbName = `xs_storage_${randomBytes(4).toString('hex')}`;

async function adminQuery(text) {
  const admin = new pg.Client({ connectionString: adminUrl });
  // A connection PostgreSQL ends while idle emits 'error': handled here, never an uncaught exception.
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

let app;
let sql;
const cleanup = async () => {
  await app?.close().catch((error) => console.error(`closing the API: ${error.message}`));
  await sql?.end().catch(() => undefined);
  await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((error) =>
    console.error(`dropping ${dbName}: ${error.message}`),
  );
  rmSync(temp, { recursive: true, force: true });
};

/**
 * Bytes of a table with its indexes and TOAST; when it is partitioned, of its partitions that hold
 * rows (the empty ones created ahead are a few kB each, whatever the fleet).
 */
async function bytesOf(table) {
  const { rows } = await sql.query(
    `SELECT CASE WHEN c.relkind = 'p'
                 THEN (SELECT COALESCE(sum(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t
                        WHERE t.isleaf AND pg_relation_size(t.relid) > 0)
                 ELSE pg_total_relation_size(c.oid) END::bigint AS bytes
       FROM pg_class c WHERE c.oid = $1::regclass`,
    [table],
  );
  return Number(rows[0].bytes);
}

const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1).padStart(9)} MiB`;

try {
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  await runMigrations(url.toString());
  sql = new pg.Pool({ connectionString: url.toString(), max: 2 });
  sql.on('error', (error) => console.error(`bench pool: ${error.message}`));

  const config = loadConfig({
    DB_URL: url.toString(),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `xs-storage-bench-${randomBytes(3).toString('hex')}:`,
    API_SECRET_KEY: randomBytes(48).toString('base64'),
    API_LOG_LEVEL: 'silent',
    API_KEY_STORE_DIR: join(temp, 'keys'),
    API_AUDIT_ANCHOR_DIR: join(temp, 'anchors'),
    NODE_ENV: 'production',
  });
  app = await createApp(config, createLogger('silent', pino.destination({ dest: '/dev/null', sync: false })));

  const { rows: orgs } = await sql.query(`INSERT INTO organizations (name, kind) VALUES ('Storage Co', 'customer') RETURNING id`);
  const { rows: sites } = await sql.query(`INSERT INTO sites (organization_id, name, time_zone) VALUES ($1, 'HQ', 'UTC') RETURNING id`, [
    orgs[0].id,
  ]);
  const { rows: devices } = await sql.query(
    `INSERT INTO devices (name, organization_id, site_id, type, status, agent_version)
     SELECT 'storage-' || i, $1, $2, 'server', 'active', '0.1.0' FROM generate_series(1, $3) AS i RETURNING id`,
    [orgs[0].id, sites[0].id, DEVICES],
  );

  // A day: heartbeat k of every device sent at dayStart + k * 30 s, device by device as a fleet
  // would (each write holds the heartbeats of consecutive slots).
  const store = app.get(HeartbeatStore);
  const dayStart = Date.now() - HEARTBEATS * INTERVAL_MS;
  const started = performance.now();
  let pending = [];
  let written = 0;
  for (let k = 1; k <= HEARTBEATS; k++) {
    const sentAt = new Date(dayStart + k * INTERVAL_MS).toISOString();
    devices.forEach((d, index) => pending.push({ deviceId: d.id, heartbeats: [heartbeat(d.id, k, sentAt, index)] }));
    if (pending.length >= PER_WRITE || k === HEARTBEATS) {
      const batch = await store.write(pending);
      written += batch.outcomes.reduce((sum, o) => sum + (o?.accepted ?? 0), 0);
      pending = [];
    }
  }
  const writeSeconds = (performance.now() - started) / 1000;
  if (written !== DEVICES * HEARTBEATS) throw new Error(`stored ${written} heartbeats of ${DEVICES * HEARTBEATS}`);
  await app.get(TelemetryMaintenanceService).rollUpReceivedSince(new Date(Date.now() - writeSeconds * 1000 - 60_000));

  // The plain table of before, with the same rows: the baseline's raw heartbeats.
  // Its key exists before the rows arrive, in the order they arrived, as the index grew in production.
  await sql.query(`CREATE TABLE bench_plain_heartbeats (LIKE device_heartbeats INCLUDING DEFAULTS, PRIMARY KEY (device_id, sequence))`);
  await sql.query(`INSERT INTO bench_plain_heartbeats SELECT * FROM device_heartbeats ORDER BY sequence, device_id`);
  await sql.query('VACUUM ANALYZE');

  const scale = 1000 / DEVICES;
  const perDay = {};
  for (const table of ['device_heartbeats', 'metric_samples', 'metric_rollups_1m', 'metric_rollups_1h', 'bench_plain_heartbeats']) {
    perDay[table] = (await bytesOf(table)) * scale;
  }
  // Rewritten by every heartbeat: their size on disk is mostly dead row versions that vacuum
  // makes reusable; VACUUM FULL shows what the live rows take.
  const perDevice = {};
  const compact = {};
  for (const table of ['device_heartbeat_windows', 'device_telemetry']) {
    perDevice[table] = (await bytesOf(table)) * scale;
    await sql.query(`VACUUM FULL ${table}`);
    compact[table] = (await bytesOf(table)) * scale;
  }

  // Steady state at the defaults: a table dropped by whole days holds up to retention + 1 days
  // (the current day and the retained ones, until the hourly job drops the oldest).
  const heartbeatDays = config.API_HEARTBEAT_RETENTION_DAYS + 1;
  const metricDays = config.API_METRICS_RETENTION_DAYS + 1;
  const minuteDays = MINUTE_ROLLUP_RETENTION_MS / 86_400_000;
  const hourDays = config.API_METRIC_ROLLUPS_RETENTION_DAYS ?? config.API_METRICS_RETENTION_DAYS;
  const steady = {
    device_heartbeats: perDay.device_heartbeats * heartbeatDays,
    metric_samples: perDay.metric_samples * metricDays,
    metric_rollups_1m: perDay.metric_rollups_1m * minuteDays,
    metric_rollups_1h: perDay.metric_rollups_1h * hourDays,
    ...perDevice,
  };
  const baseline = {
    device_heartbeats: perDay.bench_plain_heartbeats * BASELINE_DAYS,
    metric_samples: perDay.metric_samples * BASELINE_DAYS,
    metric_rollups_1m: perDay.metric_rollups_1m * BASELINE_DAYS,
    metric_rollups_1h: perDay.metric_rollups_1h * BASELINE_DAYS,
    device_telemetry: perDevice.device_telemetry,
  };
  const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);

  console.log(
    `storage bench: ${DEVICES} devices x ${HEARTBEATS} heartbeats (${(written / writeSeconds).toFixed(0)} heartbeats/s through HeartbeatStore.write), after VACUUM ANALYZE`,
  );
  console.log('per 1,000 devices per day (tables + indexes + TOAST):');
  console.log(
    `  device_heartbeats (partitioned) ${mib(perDay.device_heartbeats)}   plain table of before ${mib(perDay.bench_plain_heartbeats)}`,
  );
  console.log(`  metric_samples                  ${mib(perDay.metric_samples)}`);
  console.log(`  metric_rollups_1m               ${mib(perDay.metric_rollups_1m)}`);
  console.log(`  metric_rollups_1h               ${mib(perDay.metric_rollups_1h)}`);
  console.log('per 1,000 devices (one row per device, independent of days):');
  for (const table of Object.keys(perDevice))
    console.log(`  ${table.padEnd(31)} ${mib(perDevice[table])}   live rows (after VACUUM FULL) ${mib(compact[table])}`);
  console.log(
    `steady state at the defaults (heartbeats ${heartbeatDays} d, samples ${metricDays} d, 1-min rollups ${minuteDays} d, 1-h rollups ${hourDays} d), per 1,000 devices:`,
  );
  for (const [table, bytes] of Object.entries(steady)) console.log(`  ${table.padEnd(31)} ${mib(bytes)}`);
  console.log(`  total                           ${mib(total(steady))}`);
  console.log(`baseline: the same fleet kept ${BASELINE_DAYS} days without pruning (plain heartbeat table), per 1,000 devices:`);
  for (const [table, bytes] of Object.entries(baseline)) console.log(`  ${table.padEnd(31)} ${mib(bytes)}`);
  console.log(`  total                           ${mib(total(baseline))}`);
  console.log(
    `ratio steady / baseline: raw heartbeats ${(steady.device_heartbeats / baseline.device_heartbeats).toFixed(3)}` +
      ` (+ windows ${((steady.device_heartbeats + steady.device_heartbeat_windows) / baseline.device_heartbeats).toFixed(3)}),` +
      ` all tables ${(total(steady) / total(baseline)).toFixed(3)}`,
  );
  console.log(
    `  (the baseline grows by ${mib(perDay.bench_plain_heartbeats + perDay.metric_samples + perDay.metric_rollups_1m + perDay.metric_rollups_1h).trim()} every further day; the steady state does not)`,
  );
} catch (error) {
  process.exitCode = 1;
  console.error(error);
} finally {
  await cleanup();
}
