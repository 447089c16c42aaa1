// Ingestion benchmark (telemetry at fleet scale). Run: npm run bench:ingest -w api
// Loopback only, bounded in time. The API runs in this process; the HTTP load comes from a
// second process (load-generator.mjs) so it does not share the API's event loop. Prints
// heartbeats/s and latency percentiles of the real route beside a baseline run in this same
// process: the same rows (heartbeat, sample, latest state, device) written straight into
// PostgreSQL with multi-row statements, 100 heartbeats per statement.
//
// Rules on / off (issue 13): the HTTP runs alternate between every alert rule disabled (the
// per-heartbeat engine then compares nothing) and 20 enabled rules (the 19 enabled defaults plus
// load-high), over a fleet where a few devices breach and flip (heartbeat-fixture.mjs), and print
// rules-on / rules-off. A run's time includes waiting for HeartbeatAlerts.idle(), so the engine's
// work after ingest's commit counts. Then the 30 s evaluation job (AlertEvaluator.run) is timed
// over the bench fleet and over a larger one (BENCH_EVAL_DEVICES, default 10,000).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import inspector from 'node:inspector';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../dist/config/config.js';
import { createApp } from '../dist/create-app.js';
import { createLogger } from '../dist/common/logging/logger.js';
import { runMigrations } from '../dist/db/migrate.js';
import { AgentBuildsService } from '../dist/agent-builds/agent-builds.service.js';
import { AlertEvaluator } from '../dist/alerts/alert-evaluator.js';
import { AlertRuleBook } from '../dist/alerts/alert-rule-book.service.js';
import { HeartbeatAlerts } from '../dist/alerts/heartbeat-alerts.js';
import { heartbeat } from './heartbeat-fixture.mjs';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const EVAL_DEVICES = Number(process.env.BENCH_EVAL_DEVICES ?? 10_000);
const PACED_RATE = 333; // 10,000 devices at a 30 s interval
/** The issue's bar: ingestion with the alert rules on. */
const GOAL_PER_SECOND = 2000;
/** The 20th rule of the rules-on runs: shipped disabled (the other 19 defaults are enabled). */
const EXTRA_RULE_KEY = 'load-high';
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
      // Enrolled with a fresh handshake: the evaluation job judges offline and tunnel rules for them.
      `INSERT INTO devices (name, organization_id, site_id, type, status, overlay_address, credential_hash, enrolled_at, last_handshake_at)
       VALUES ($1, $2, $3, 'scanner', 'active', $4, $5, now(), now()) RETURNING id`,
      [`bench-${i}`, org, site, `10.99.${i >> 8}.${i & 255}`, hash],
    );
    devices.push({ id: row.rows[0].id, credential, sequence: 0 });
  }
  const rulesOn = (await sql.query(`SELECT id FROM alert_rules WHERE enabled OR key = $1`, [EXTRA_RULE_KEY])).rows.map((r) => r.id);
  return { name, url: url.toString(), sql, devices, org, site, rulesOn };
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
 * checkpointer, ...), not the backends of other databases (a test run may share the server),
 * whether over TCP or a Unix socket (`[local]`).
 */
function postgresCpuTicks(database) {
  const ticks = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const clientBackend = /^postgres: [^:]+: \S+ \S+ (?:[\d.:a-f[\]]+\(\d+\)|\[local\])/.test(cmdline);
      const ours = clientBackend && cmdline.includes(` ${database} `);
      if (clientBackend && !ours) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, { ticks: Number(fields[11]) + Number(fields[12]), ours }); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

/**
 * CPU seconds the processes of `postgresCpuTicks` used since `before`. A backend of the bench
 * database started since counts from zero; another process started since (another server on
 * this machine starting, a process not yet showing what it is) does not count.
 */
function postgresCpuSecondsSince(before, database) {
  let ticks = 0;
  for (const [pid, now] of postgresCpuTicks(database)) {
    const then = before.get(pid);
    if (then) ticks += now.ticks - then.ticks;
    else if (now.ours) ticks += now.ticks;
  }
  return ticks / 100;
}

/** Runs the load generator process; it sends as fast as CONCURRENCY allows, or at `rate` per second. */
async function load(baseUrl, devices, seconds, rate, raw = false) {
  const script = fileURLToPath(new URL('./load-generator.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ baseUrl, devices, seconds, rate, concurrency: CONCURRENCY, raw }));
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
      const index = (written + i) % devices.length;
      const h = heartbeat(devices[index].id, seq++, undefined, index);
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

/** Counts what the per-heartbeat engine does, without changing it (fields read are private to TypeScript only). */
function instrument(alerts) {
  if (typeof alerts.dropped !== 'number' || !Array.isArray(alerts.queue) || typeof alerts.conditions?.insertMany !== 'function')
    throw new Error('HeartbeatAlerts changed its fields (dropped, queue, conditions): update instrument() in bench/ingest.mjs');
  const stats = { groups: 0, heartbeats: 0, skipped: 0, peakQueue: 0, inserted: 0, deleted: 0 };
  const observe = alerts.observe.bind(alerts);
  alerts.observe = (batch) => {
    // `dropped` only grows inside observe() and is reset after a drain, never during this call.
    const dropped = alerts.dropped;
    observe(batch);
    stats.groups += 1;
    stats.heartbeats += batch.becameLatest.size;
    stats.skipped += alerts.dropped - dropped;
    stats.peakQueue = Math.max(stats.peakQueue, alerts.queue.length);
  };
  // The condition rows written on transitions (the evaluation job shares this repository: its
  // writes are not counted, the job runs after the HTTP runs).
  const repository = alerts.conditions;
  const insertMany = repository.insertMany.bind(repository);
  const deleteMany = repository.deleteMany.bind(repository);
  repository.insertMany = (rows) => ((stats.inserted += rows.length), insertMany(rows));
  repository.deleteMany = (keys) => ((stats.deleted += keys.length), deleteMany(keys));
  return stats;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

/** One mode's runs as one: heartbeats/s over their time (idle waits included), percentiles over every latency. */
function merge(runs) {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const count = runs.reduce((n, r) => n + r.count, 0);
  const sum = (f) => runs.reduce((n, r) => n + f(r), 0);
  return {
    count,
    errors: sum((r) => r.errors),
    perSecond: count / sum((r) => r.elapsed),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    idleMs: sum((r) => r.idleMs),
    sampled: { engineUs: sum((r) => r.sampled.engineUs), totalUs: sum((r) => r.sampled.totalUs) },
    cpu: { api: sum((r) => r.apiMs) / count, load: sum((r) => r.loadMs) / count, pg: sum((r) => r.pgMs) / count },
    engine: Object.fromEntries(
      Object.keys(runs[0].engine).map((k) => [k, k === 'peakQueue' ? Math.max(...runs.map((r) => r.engine[k])) : sum((r) => r.engine[k])]),
    ),
  };
}

const env = await setup();
// The API's key store in a temp directory (its default, var/keys, would be written into api/).
const keyStore = mkdtempSync(join(tmpdir(), 'xs-bench-keys-'));
const config = loadConfig({
  DB_URL: env.url,
  API_KEY_STORE_DIR: keyStore,
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
const heartbeatAlerts = app.get(HeartbeatAlerts);
const ruleBook = app.get(AlertRuleBook);
const engine = instrument(heartbeatAlerts);

/** Rules on: the 20 rules of env.rulesOn enabled, every other one disabled; off: none enabled. Seen by the engine at once. */
async function setRules(on) {
  await env.sql.query(`UPDATE alert_rules SET enabled = (id = ANY($1::uuid[])), updated_at = now()`, [on ? env.rulesOn : []]);
  ruleBook.invalidate();
}

// BENCH_SAMPLE=1: every HTTP run of both modes is sampled (1 ms), to tell how much of the API's
// CPU the alert engine itself takes (a share a neighbour's load moves far less than heartbeats/s).
// Off by default: the profiler costs the API about 30 % of its throughput here.
const SAMPLE = process.env.BENCH_SAMPLE === '1';
const profiler = new inspector.Session();
profiler.connect();
const post = (method, params = {}) => new Promise((r, j) => profiler.post(method, params, (e, out) => (e ? j(e) : r(out))));
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 1000 });

/** Sampled µs with code of api/src/alerts on the stack, and sampled µs in all (idle left out). */
function engineShare(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
  const onStack = new Map();
  const engineFrame = (id) => {
    if (id === undefined) return false;
    if (!onStack.has(id)) onStack.set(id, /\/dist\/alerts\//.test(nodes.get(id).callFrame.url) || engineFrame(parents.get(id)));
    return onStack.get(id);
  };
  let engineUs = 0;
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    if (nodes.get(id).callFrame.functionName === '(idle)') return;
    const us = profile.timeDeltas[i] ?? 0;
    totalUs += us;
    if (engineFrame(id)) engineUs += us;
  });
  return { engineUs, totalUs };
}

/**
 * One HTTP run in one mode; its time ends when the alert engine has judged every heartbeat of it.
 * `save`: write its CPU profile there (BENCH_PROFILE).
 */
async function run(mode, seconds, rate, save = null) {
  await setRules(mode === 'on');
  const pg = postgresCpuTicks(env.name); // first: reading /proc is not the API's CPU
  const before = { api: process.cpuUsage(), pg, engine: { ...engine } };
  if (SAMPLE || save) await post('Profiler.start');
  const result = await load(baseUrl, env.devices, seconds, rate, true);
  const idleFrom = performance.now();
  await heartbeatAlerts.idle();
  const idleMs = performance.now() - idleFrom;
  const api = process.cpuUsage(before.api);
  const pgMs = postgresCpuSecondsSince(before.pg, env.name) * 1000;
  const profile = SAMPLE || save ? (await post('Profiler.stop')).profile : { nodes: [], samples: [], timeDeltas: [] };
  if (save) writeFileSync(save, JSON.stringify(profile));
  return {
    ...result,
    elapsed: result.elapsed + idleMs / 1000,
    idleMs,
    apiMs: (api.user + api.system) / 1000,
    loadMs: result.cpuMs,
    pgMs,
    sampled: engineShare(profile),
    engine: Object.fromEntries(Object.keys(engine).map((k) => [k, k === 'peakQueue' ? engine[k] : engine[k] - before.engine[k]])),
  };
}

/**
 * The per-heartbeat engine alone, without HTTP and ingest: CPU time of this process and of
 * PostgreSQL per heartbeat handed to HeartbeatAlerts.observe as ingest hands them (groups of 16
 * newest states; three consecutive states per device, so devices flip about as in the HTTP runs),
 * rules off and on alternately, each after an unmeasured pass that meets the new rule book. CPU
 * time, so a neighbour's load moves it far less than heartbeats/s.
 */
async function engineAlone(rounds) {
  const sentAt = new Date().toISOString();
  const states = [0, 1, 2].flatMap((step) => env.devices.map((d, i) => [d.id, heartbeat(d.id, d.sequence + 1000 + step, sentAt, i)]));
  const feed = async (list) => {
    for (let g = 0; g * 16 < list.length; g++) {
      const group = list.slice(g * 16, g * 16 + 16);
      heartbeatAlerts.observe({ receivedAt: new Date(), newest: new Map(group), becameLatest: new Set(group.map(([id]) => id)) });
      if (g % 32 === 31) await heartbeatAlerts.idle(); // stays under the engine's queue bound, as ingest's pace does
    }
    await heartbeatAlerts.idle();
  };
  const totals = { off: { api: 0, pg: 0, n: 0 }, on: { api: 0, pg: 0, n: 0 } };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['off', 'on']) {
      await setRules(mode === 'on');
      // Unmeasured: the first look of each device at a new rule book (after a rule change only).
      await feed(states.slice(0, env.devices.length));
      const pg = postgresCpuTicks(env.name); // first: reading /proc is not the engine's CPU
      const before = { api: process.cpuUsage(), pg };
      await feed(states);
      const api = process.cpuUsage(before.api);
      totals[mode].api += api.user + api.system;
      totals[mode].pg += postgresCpuSecondsSince(before.pg, env.name) * 1e6;
      totals[mode].n += states.length;
    }
  }
  const per = (t) => ({ api: t.api / t.n, pg: t.pg / t.n });
  return { off: per(totals.off), on: per(totals.on), heartbeats: totals.on.n };
}

/** Times AlertEvaluator.run over whatever the database holds now. */
async function evaluate(evaluator) {
  const t0 = performance.now();
  const result = await evaluator.run();
  return { ms: performance.now() - t0, ...result };
}

const count = async (sql) => (await env.sql.query(sql)).rows[0].n;

try {
  if (env.rulesOn.length !== 20) console.warn(`note: rules on = ${env.rulesOn.length} rules, not 20 (the shipped defaults changed)`);
  await setRules(false);
  await load(baseUrl, env.devices, 3, 0); // warm-up, rules off
  const warmEngine = { ...engine };
  await run('on', 3, 0); // warm-up, rules on: the engine learns each device's state, steady conditions start
  const warmUp = { inserted: engine.inserted - warmEngine.inserted, deleted: engine.deleted - warmEngine.deleted };

  // Alternating, so a neighbour's load on this machine falls on both modes alike.
  // BENCH_PROFILE=file.cpuprofile: the CPU profile of the API process during the first rules-on max-rate run.
  const half = SECONDS / 2;
  const maxRuns = { off: [], on: [] };
  maxRuns.off.push(await run('off', half, 0));
  maxRuns.on.push(await run('on', half, 0, process.env.BENCH_PROFILE));
  maxRuns.off.push(await run('off', half, 0));
  maxRuns.on.push(await run('on', half, 0));
  const pacedRuns = { off: [await run('off', half, PACED_RATE)], on: [await run('on', half, PACED_RATE)] };
  const max = { off: merge(maxRuns.off), on: merge(maxRuns.on) };
  const paced = { off: merge(pacedRuns.off), on: merge(pacedRuns.on) };
  const acknowledged = await count('SELECT count(*)::int AS n FROM device_heartbeats');
  const breaching = (
    await env.sql.query(
      `SELECT r.key, count(*)::int AS n FROM alert_conditions c JOIN alert_rules r ON r.id = c.rule_id GROUP BY r.key ORDER BY n DESC, r.key`,
    )
  ).rows;
  const skippedBefore = engine.skipped;
  const alone = await engineAlone(3);
  const aloneSkipped = engine.skipped - skippedBefore;
  const base = await baseline(env.sql, env.devices, SECONDS);

  // The evaluation job, rules on, over the bench fleet: as it is (conditions younger than their
  // rules' durations), with every condition backdated an hour (each opens its alert), then steady.
  const evaluator = app.get(AlertEvaluator);
  await app.get(AgentBuildsService).list(); // the served build's hash is cached in a running worker
  const evaluations = [];
  const evaluationsAt = async (devices) => {
    const conditions = await count('SELECT count(*)::int AS n FROM alert_conditions');
    const now = await evaluate(evaluator);
    await env.sql.query(`UPDATE alert_conditions SET since = since - interval '1 hour'`);
    const opening = await evaluate(evaluator);
    const steady = await evaluate(evaluator);
    evaluations.push({ devices, conditions, now, opening, steady });
  };
  await evaluationsAt(DEVICES);
  if (EVAL_DEVICES > DEVICES) {
    // More devices straight into PostgreSQL (active, just heard from), each with the conditions of
    // its twin in the bench fleet (bench-<i mod DEVICES>), so the breaching share stays the same;
    // they start now, so the first run opens only what the bench fleet has not opened yet.
    await env.sql.query(
      `INSERT INTO devices (name, organization_id, site_id, type, status, overlay_address, enrolled_at, last_heartbeat_at, last_handshake_at, agent_version)
       SELECT 'bench-' || i, $1, $2, 'scanner', 'active', '10.99.' || (i >> 8) || '.' || (i & 255), now(), now(), now(), '0.1.0'
       FROM generate_series($3::int, $4::int - 1) AS i`,
      [env.org, env.site, DEVICES, EVAL_DEVICES],
    );
    await env.sql.query(
      `INSERT INTO alert_conditions (rule_id, device_id, subject, since, details)
       SELECT c.rule_id, n.id, c.subject, now(), c.details
       FROM devices n
       JOIN devices twin ON twin.name = 'bench-' || (substring(n.name FROM 7)::int % $1)
       JOIN alert_conditions c ON c.device_id = twin.id
       WHERE n.name LIKE 'bench-%' AND substring(n.name FROM 7)::int >= $1`,
      [DEVICES],
    );
    await env.sql.query(`UPDATE devices SET last_heartbeat_at = now() WHERE name LIKE 'bench-%'`);
    await evaluationsAt(EVAL_DEVICES);
  }

  const f = (n) => n.toFixed(1);
  const r3 = (n) => n.toFixed(3);
  const line = (label, r) =>
    `  ${label}${f(r.perSecond)} heartbeats/s  p50 ${f(r.p50)} ms  p95 ${f(r.p95)} ms  p99 ${f(r.p99)} ms  (${r.count} sent, ${r.errors} errors)`;
  const ratio = (label, on, off, withRate = true) =>
    `  ${label}` +
    (withRate ? `heartbeats/s ${r3(on.perSecond / off.perSecond)}  ` : '') +
    `p50 ${r3(on.p50 / off.p50)}  p95 ${r3(on.p95 / off.p95)}  p99 ${r3(on.p99 / off.p99)}`;
  const cpuLine = (c) => {
    const total = c.api + c.load + c.pg;
    return `API ${c.api.toFixed(2)} ms, load generator ${c.load.toFixed(2)} ms, PostgreSQL ${c.pg.toFixed(2)} ms = ${total.toFixed(2)} ms`;
  };
  console.log(
    `ingest bench: ${DEVICES} devices, concurrency ${CONCURRENCY}, heartbeat = 5 mounts, 3 NICs, 20 services, 10 containers; ` +
      `max rate: 4 alternating runs of ${half} s (off, on, off, on), ${PACED_RATE}/s: one run of ${half} s each`,
  );
  console.log(
    `  rules on = ${env.rulesOn.length} enabled rules (the enabled defaults + ${EXTRA_RULE_KEY}); rules off = none enabled; ` +
      `a run ends when HeartbeatAlerts.idle() resolves`,
  );
  console.log(line('HTTP max rate, rules off: ', max.off));
  console.log(line('HTTP max rate, rules on:  ', max.on));
  console.log(ratio('rules on / off at max rate: ', max.on, max.off));
  console.log(line(`HTTP at ${PACED_RATE}/s, rules off:  `, paced.off));
  console.log(line(`HTTP at ${PACED_RATE}/s, rules on:   `, paced.on));
  console.log(ratio(`rules on / off at ${PACED_RATE}/s: `, paced.on, paced.off, false));
  console.log(`  CPU per heartbeat at max rate, rules off: ${cpuLine(max.off.cpu)}`);
  console.log(`  CPU per heartbeat at max rate, rules on:  ${cpuLine(max.on.cpu)}`);
  const total = max.on.cpu.api + max.on.cpu.load + max.on.cpu.pg;
  console.log(`    ${cpus().length} cores bound this machine at ~${f((cpus().length * 1000) / total)}/s with rules on`);
  console.log(`  CPU per heartbeat at ${PACED_RATE}/s, rules off: ${cpuLine(paced.off.cpu)}; rules on: ${cpuLine(paced.on.cpu)}`);
  const share = (m) =>
    `${((m.sampled.engineUs / m.sampled.totalUs) * 100).toFixed(1)} % of its samples = ${(m.sampled.engineUs / m.count).toFixed(1)} µs per heartbeat`;
  if (SAMPLE)
    console.log(
      `  API CPU with api/src/alerts code on the stack (sampled), max rate: rules on ${share(max.on)}; rules off ${share(max.off)}`,
    );
  const e = merge([...maxRuns.on, ...pacedRuns.on]).engine;
  console.log(
    `  alert engine, rules-on runs: ${e.heartbeats} heartbeats judged in ${e.groups} groups, ${e.skipped} groups skipped (fell behind), ` +
      `peak queue ${e.peakQueue}, waited ${f(max.on.idleMs + paced.on.idleMs)} ms for idle in all`,
  );
  console.log(
    `    condition rows written: ${e.inserted} inserted, ${e.deleted} deleted (rules-on warm-up: ${warmUp.inserted} inserted, ${warmUp.deleted} deleted); ` +
      `breaching after the runs: ${breaching.map((b) => `${b.key} ${b.n}`).join(', ') || 'none'}`,
  );
  const us = (n) => `${n.toFixed(1)} µs`;
  console.log(
    `  alert engine alone (HeartbeatAlerts.observe, no HTTP, ${alone.heartbeats} heartbeats per mode, CPU time): ` +
      `rules on ${us(alone.on.api)} API + ${us(alone.on.pg)} PostgreSQL (counted in 10 ms ticks) per heartbeat, rules off ${us(alone.off.api)} + ${us(alone.off.pg)}` +
      (aloneSkipped ? `, ${aloneSkipped} groups skipped` : '') +
      `; the route at max rate, rules off: ${us(max.off.cpu.api * 1000)} API + ${us(max.off.cpu.pg * 1000)} PostgreSQL`,
  );
  for (const ev of evaluations) {
    console.log(
      `  evaluation (AlertEvaluator.run) over ${ev.devices} devices, ${ev.conditions} conditions: ${f(ev.now.ms)} ms (opened ${ev.now.opened}); ` +
        `conditions backdated 1 h: ${f(ev.opening.ms)} ms (opened ${ev.opening.opened}); then ${f(ev.steady.ms)} ms (opened ${ev.steady.opened}, resolved ${ev.steady.resolved})`,
    );
  }
  console.log(`  baseline (multi-row statements, same rows): ${f(base)} heartbeats/s`);
  console.log(
    `  ratio HTTP max / baseline: rules off ${r3(max.off.perSecond / base)}, rules on ${r3(max.on.perSecond / base)}   goals: >= ${GOAL_PER_SECOND}/s sustained with rules on; p99 < 50 ms at ${PACED_RATE}/s`,
  );
  const held = max.on.perSecond >= GOAL_PER_SECOND && max.on.errors === 0;
  console.log(
    `  >= ${GOAL_PER_SECOND} heartbeats/s with rules on: ${held ? 'held' : 'NOT held'} (${f(max.on.perSecond)}/s, ${max.on.errors} errors)` +
      (!held && max.off.perSecond < GOAL_PER_SECOND
        ? `; rules off is below it too (${f(max.off.perSecond)}/s): the machine bounds this run`
        : ''),
  );
  console.log(`  stored heartbeat rows after the HTTP runs: ${acknowledged} (warm-ups included)`);
} finally {
  await app.close();
  await env.sql.end();
  await drop(env.name);
  rmSync(keyStore, { recursive: true, force: true });
}
