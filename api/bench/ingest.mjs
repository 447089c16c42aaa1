// Ingestion benchmark (issue: telemetry at fleet scale). Run: npm run bench:ingest -w api
// Loopback only, bounded in time and count. Prints heartbeats/s and latency percentiles of the
// real HTTP route beside a baseline: the same rows written straight into PostgreSQL with
// multi-row INSERTs, in this same process.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../dist/config/config.js';
import { createApp } from '../dist/create-app.js';
import { createLogger } from '../dist/common/logging/logger.js';
import { runMigrations } from '../dist/db/migrate.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PACED_RATE = 333; // 10,000 devices at a 30 s interval
const adminUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function heartbeat(deviceId, sequence) {
  const now = new Date().toISOString();
  return {
    protocolVersion: 1,
    deviceId,
    sequence,
    sentAt: now,
    agentVersion: '0.1.0',
    uptimeSeconds: 1000 + sequence,
    metrics: {
      cpuPercent: (sequence * 7) % 100,
      load: [0.5, 0.4, 0.3],
      memory: { totalBytes: 16e9, usedBytes: 6e9, swapTotalBytes: 2e9, swapUsedBytes: 1e7 },
      mounts: Array.from({ length: 5 }, (_, i) => ({
        mountpoint: `/mnt/m${i}`,
        device: `/dev/vd${i}`,
        fsType: 'ext4',
        totalBytes: 1e11,
        usedBytes: 4e10 + i,
        inodesTotal: 6e6,
        inodesUsed: 1e5,
      })),
      network: Array.from({ length: 3 }, (_, i) => ({
        name: `eth${i}`,
        rxBytes: 1e9,
        txBytes: 5e8,
        rxBytesPerSecond: 1200 + i,
        txBytesPerSecond: 800 + i,
      })),
    },
    services: Array.from({ length: 20 }, (_, i) => ({
      unit: `svc-${i}.service`,
      activeState: 'active',
      subState: 'running',
      since: now,
      watched: true,
    })),
    docker: {
      status: 'ok',
      containers: Array.from({ length: 10 }, (_, i) => ({
        id: `c${i}`.padEnd(64, '0'),
        name: `gvm-${i}`,
        image: 'greenbone/gvmd:stable',
        state: 'running',
        health: 'healthy',
        restartCount: 0,
        cpuPercent: 1.5,
        memoryBytes: 2e8,
      })),
    },
  };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function setup() {
  const name = `xs_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  const sql = new pg.Pool({ connectionString: url.toString(), max: 4 });
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
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/** Sends heartbeats as fast as CONCURRENCY loops allow (or at `rate` per second) until `seconds` pass. */
async function load(baseUrl, devices, seconds, rate) {
  const latencies = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const n = next++;
      if (rate) {
        const due = started + (n / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= deadline) break;
      }
      const device = devices[n % devices.length];
      device.sequence += 1;
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/api/v1/agent/heartbeats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${device.credential}` },
        body: JSON.stringify(heartbeat(device.id, device.sequence)),
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

/** The baseline: the rows the route writes (heartbeat + sample), straight in, 100 per INSERT. */
async function baseline(sql, devices, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let rows = 0;
  let seq = 1_000_000;
  while (performance.now() < deadline) {
    const batch = Array.from({ length: 100 }, (_, i) => ({ d: devices[(rows + i) % devices.length].id, s: seq++ }));
    const now = new Date();
    await sql.query(
      `INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
       SELECT x.d, x.s, $2, $2, 1, '0.1.0' FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint)`,
      [JSON.stringify(batch), now],
    );
    await sql.query(
      `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes, swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
       SELECT x.d, $2, x.s, $2, 5, 0.5, 6e9, 16e9, 1e7, 40, 1200, 800 FROM jsonb_to_recordset($1::jsonb) AS x(d uuid, s bigint)`,
      [JSON.stringify(batch), now],
    );
    rows += batch.length;
  }
  return rows / ((performance.now() - started) / 1000);
}

const env = await setup();
const config = loadConfig({
  DB_URL: env.url,
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: `xs-bench-${randomBytes(3).toString('hex')}:`,
  API_SECRET_KEY: randomBytes(48).toString('base64'),
  API_LOG_LEVEL: 'silent',
  API_AGENT_SOURCE_CHECK: 'false',
  DB_POOL_SIZE: '20',
  NODE_ENV: 'production',
});
const app = await createApp(config, createLogger('silent'));
await app.listen({ port: 0, host: '127.0.0.1' });
const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
try {
  await load(baseUrl, env.devices, 2, 0); // warm-up
  const max = await load(baseUrl, env.devices, SECONDS, 0);
  const paced = await load(baseUrl, env.devices, SECONDS, PACED_RATE);
  const base = await baseline(env.sql, env.devices, SECONDS);
  const f = (n) => n.toFixed(1);
  console.log(
    `ingest bench: ${DEVICES} devices, ${SECONDS} s per run, concurrency ${CONCURRENCY}, heartbeat = 5 mounts, 3 NICs, 20 services, 10 containers`,
  );
  console.log(
    `  HTTP max rate:   ${f(max.perSecond)} heartbeats/s  p50 ${f(max.p50)} ms  p95 ${f(max.p95)} ms  p99 ${f(max.p99)} ms  (${max.count} sent, ${max.errors} errors)`,
  );
  console.log(
    `  HTTP at ${PACED_RATE}/s:    ${f(paced.perSecond)} heartbeats/s  p50 ${f(paced.p50)} ms  p95 ${f(paced.p95)} ms  p99 ${f(paced.p99)} ms  (${paced.count} sent, ${paced.errors} errors)`,
  );
  console.log(`  baseline (multi-row INSERT, same rows): ${f(base)} rows/s`);
  console.log(
    `  ratio HTTP max / baseline: ${(max.perSecond / base).toFixed(3)}   goals: >= 2000/s sustained; p99 < 50 ms at ${PACED_RATE}/s`,
  );
} finally {
  await app.close();
  await env.sql.end();
  await drop(env.name);
}
