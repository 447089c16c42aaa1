// Ingestion benchmark (telemetry at fleet scale). Run: npm run bench:ingest -w api
// Loopback only, bounded in time. The API runs in this process; the HTTP load comes from a
// second process (load-generator.mjs) so it does not share the API's event loop. Prints
// heartbeats/s and latency percentiles of the real route beside a baseline run in this same
// process: the same rows (heartbeat, sample, latest state, device) written straight into
// PostgreSQL with multi-row statements, 100 heartbeats per statement.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import inspector from 'node:inspector';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../dist/config/config.js';
import { createApp } from '../dist/create-app.js';
import { createLogger } from '../dist/common/logging/logger.js';
import { runMigrations } from '../dist/db/migrate.js';
import { heartbeat } from './heartbeat-fixture.mjs';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PACED_RATE = 333; // 10,000 devices at a 30 s interval
const adminUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function setup() {
  const name = `xs_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  // A connection PostgreSQL ends while idle emits 'error': handled here, never an uncaught exception.
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  const sql = new pg.Pool({ connectionString: url.toString(), max: 4 });
  sql.on('error', (error) => console.error(`bench pool: ${error.message}`));
  const org = (await sql.query(`INSERT INTO organizations (name, kind) VALUES ('Bench', 'customer') RETURNING id`)).rows[0].id;
  const site = (await sql.query(`INSERT INTO sites (organization_id, name, time_zone) VALUES ($1, 'S', 'UTC') RETURNING id`, [org])).rows[0]
    .id;
  const devices = [];
  for (let i = 0; i < DEVICES; i++) {
    const credential = `dc_${randomBytes(32).toString('base64url')}`;
    const hash = createHash('sha256').update(credential).digest('hex');
    const row = await sql.query(
      `INSERT INTO devices (name, organization_id, site_id, type, status, overlay_address, credential_hash) VALUES ($1, $2, $3, 'scanner', 'active', $4, $5) RETURNING id`,
      [`bench-${i}`, org, site, `10.99.${i >> 8}.${i & 255}`, hash],
    );
    devices.push({ id: row.rows[0].id, credential, sequence: 0 });
  }
  return { name, url: url.toString(), sql, devices };
}

async function drop(name) {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/**
 * CPU ticks (CLK_TCK = 100) used so far by this benchmark's PostgreSQL processes, per pid: the
 * backends connected to the bench database and the server's own processes (WAL writer,
 * checkpointer, ...), not the backends of other databases (a test run may share the server).
 */
function postgresCpuTicks(database) {
  const ticks = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const clientBackend = /^postgres: [^:]+: \S+ \S+ [\d.:a-f[\]]+\(\d+\)/.test(cmdline);
      if (clientBackend && !cmdline.includes(` ${database} `)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

/** CPU seconds the processes of `postgresCpuTicks` used since `before` (processes started since count from zero). */
function postgresCpuSecondsSince(before, database) {
  let ticks = 0;
  for (const [pid, now] of postgresCpuTicks(database)) ticks += now - (before.get(pid) ?? 0);
  return ticks / 100;
}

/** Runs the load generator process; it sends as fast as CONCURRENCY allows, or at `rate` per second. */
async function load(baseUrl, devices, seconds, rate) {
  const script = fileURLToPath(new URL('./load-generator.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ baseUrl, devices, seconds, rate, concurrency: CONCURRENCY }));
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(stdout);
  result.sequences.forEach((s, i) => (devices[i].sequence = s));
  return result;
}

/** The baseline: the same four row kinds per heartbeat, 100 heartbeats per statement. */
async function baseline(sql, devices, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let written = 0;
  let seq = 1_000_000_000;
  while (performance.now() < deadline) {
    const now = new Date();
    const batch = Array.from({ length: 100 }, (_, i) => {
      const h = heartbeat(devices[(written + i) % devices.length].id, seq++);
      return { d: h.deviceId, s: h.sequence, metrics: h.metrics, services: h.services, docker: h.docker };
    });
    // Like the route: the small rows in one parameter, the telemetry documents in another.
    const json = JSON.stringify(batch.map(({ d, s }) => ({ d, s })));
    const documents = JSON.stringify(batch);
    await sql.query(
      `INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
       SELECT x.d, x.s, $2, $2, 1, '0.1.0' FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint)`,
      [json, now],
    );
    await sql.query(
      `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes, swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
       SELECT x.d, $2, x.s, $2, 5, 0.5, 6e9, 16e9, 1e7, 40, 1200, 800 FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint)`,
      [json, now],
    );
    await sql.query(
      `INSERT INTO device_telemetry (device_id, sequence, sampled_at, metrics, services, docker)
       SELECT DISTINCT ON (x.d) x.d, x.s, $2, x.metrics, x.services, x.docker
         FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint, metrics jsonb, services jsonb, docker jsonb) ORDER BY x.d, x.s DESC
       ON CONFLICT (device_id) DO UPDATE SET sequence = EXCLUDED.sequence, sampled_at = EXCLUDED.sampled_at,
         metrics = EXCLUDED.metrics, services = EXCLUDED.services, docker = EXCLUDED.docker`,
      [documents, now],
    );
    await sql.query(
      `UPDATE devices d SET last_heartbeat_at = $2, last_sequence = x.s
         FROM (SELECT x.d, max(x.s) AS s FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint) GROUP BY x.d) x WHERE d.id = x.d`,
      [json, now],
    );
    written += batch.length;
  }
  return written / ((performance.now() - started) / 1000);
}

const env = await setup();
const config = loadConfig({
  DB_URL: env.url,
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: `xs-bench-${randomBytes(3).toString('hex')}:`,
  API_SECRET_KEY: randomBytes(48).toString('base64'),
  API_LOG_LEVEL: 'silent',
  API_AGENT_SOURCE_CHECK: 'false',
  DB_POOL_SIZE: '10',
  NODE_ENV: 'production',
});
// BENCH_LOG_LEVEL=info: the API logs as in production, to /dev/null (the cost without the terminal).
const app = await createApp(
  config,
  createLogger(process.env.BENCH_LOG_LEVEL ?? 'silent', pino.destination({ dest: '/dev/null', sync: false })),
);
await app.listen({ port: 0, host: '127.0.0.1' });
const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
try {
  await load(baseUrl, env.devices, 3, 0); // warm-up
  // BENCH_PROFILE=file.cpuprofile: a CPU profile of the API process during the max-rate run only.
  const profiler = process.env.BENCH_PROFILE ? new inspector.Session() : null;
  profiler?.connect();
  if (profiler) await new Promise((r) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)));
  const cpuBefore = { api: process.cpuUsage(), pg: postgresCpuTicks(env.name) };
  const max = await load(baseUrl, env.devices, SECONDS, 0);
  const apiCpu = process.cpuUsage(cpuBefore.api);
  const cpuPerHeartbeat = {
    api: (apiCpu.user + apiCpu.system) / 1000 / max.count,
    load: max.cpuMs / max.count,
    pg: (postgresCpuSecondsSince(cpuBefore.pg, env.name) * 1000) / max.count,
  };
  if (profiler) {
    const { profile } = await new Promise((r) => profiler.post('Profiler.stop', (_e, result) => r(result)));
    writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  }
  const pacedBefore = { api: process.cpuUsage(), pg: postgresCpuTicks(env.name) };
  const paced = await load(baseUrl, env.devices, SECONDS, PACED_RATE);
  const pacedApiCpu = process.cpuUsage(pacedBefore.api);
  const pacedCpu = {
    api: (pacedApiCpu.user + pacedApiCpu.system) / 1000 / paced.count,
    load: paced.cpuMs / paced.count,
    pg: (postgresCpuSecondsSince(pacedBefore.pg, env.name) * 1000) / paced.count,
  };
  const acknowledged = (await env.sql.query('SELECT count(*)::int AS n FROM device_heartbeats')).rows[0].n;
  const base = await baseline(env.sql, env.devices, SECONDS);
  const f = (n) => n.toFixed(1);
  const line = (label, r) =>
    `  ${label}${f(r.perSecond)} heartbeats/s  p50 ${f(r.p50)} ms  p95 ${f(r.p95)} ms  p99 ${f(r.p99)} ms  (${r.count} sent, ${r.errors} errors)`;
  console.log(
    `ingest bench: ${DEVICES} devices, ${SECONDS} s per run, concurrency ${CONCURRENCY}, heartbeat = 5 mounts, 3 NICs, 20 services, 10 containers`,
  );
  console.log(line('HTTP max rate:   ', max));
  console.log(line(`HTTP at ${PACED_RATE}/s:    `, paced));
  const total = cpuPerHeartbeat.api + cpuPerHeartbeat.load + cpuPerHeartbeat.pg;
  console.log(
    `  CPU per heartbeat at max rate: API ${cpuPerHeartbeat.api.toFixed(2)} ms, load generator ${cpuPerHeartbeat.load.toFixed(2)} ms, ` +
      `PostgreSQL ${cpuPerHeartbeat.pg.toFixed(2)} ms = ${total.toFixed(2)} ms; ${cpus().length} cores bound this machine at ~${f((cpus().length * 1000) / total)}/s`,
  );
  console.log(
    `  CPU per heartbeat at ${PACED_RATE}/s: API ${pacedCpu.api.toFixed(2)} ms, load generator ${pacedCpu.load.toFixed(2)} ms, ` +
      `PostgreSQL ${pacedCpu.pg.toFixed(2)} ms`,
  );
  console.log(`  baseline (multi-row statements, same rows): ${f(base)} heartbeats/s`);
  console.log(
    `  ratio HTTP max / baseline: ${(max.perSecond / base).toFixed(3)}   goals: >= 2000/s sustained; p99 < 50 ms at ${PACED_RATE}/s`,
  );
  console.log(`  stored heartbeat rows after the HTTP runs: ${acknowledged} (warm-up included)`);
} finally {
  await app.close();
  await env.sql.end();
  await drop(env.name);
}
