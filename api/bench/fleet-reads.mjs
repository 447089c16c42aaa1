// Fleet-reads benchmark (issue 20, "Ten thousand devices"). Run: npm run bench:fleet -w api
// (after `npx tsc -b`). Loopback only, bounded in time (about 4 minutes).
//
// Seeds a throwaway database by SQL (fleet-seed.mjs: 10,000 active devices in 51 organizations
// and 202 sites with latest telemetry, a day of samples and a week of rollups for 200 devices,
// 500,000 chained audit rows), runs the API in this process (createApp), and prints every row of
// the issue's table: p95 and req/s of each read with 1 or 8 concurrent operators (their own
// process, fleet-readers.mjs), the same reads while 333 heartbeats/s arrive (load-generator.mjs,
// another process), the heartbeats' p95/p99 alone and while operators read, and GET audit/verify
// with how much it slows a concurrent reader. Under heartbeats, the HTTP reads and their SQL
// replays get a heartbeat run each, so the row "while operators read" carries no bench-only load.
// As root the processes get the deployment's CPU priorities (cpu-priorities.mjs;
// BENCH_PRIORITIES=none runs without). Beside each HTTP figure: the same request's own SQL, captured from the API's pg clients while it served one request and replayed here with pg
// at the same concurrency, and the ratio HTTP/SQL (the Nest and HTTP overhead). Each row is
// marked ok/over against the issue's target.
//
// BENCH_API_DIST: the API build to measure (default ../dist), e.g. a copy of an older build for a
// before/after comparison; the contracts are taken from beside it (../../node_modules/@xspectre).
// Keyset pages are measured when the build's query schemas accept `cursor` (BENCH_KEYSET=0 skips).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import pg from 'pg';
import { pino } from 'pino';
import { seedFleet, ORGANIZATIONS, SITES } from './fleet-seed.mjs';
import { AGENTS_NICE, OPERATORS_NICE, niceProcess, prioritiesWanted } from './cpu-priorities.mjs';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const METRIC_DEVICES = 200;
const AUDIT_ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 500_000);
/** Seconds each HTTP measurement runs; the SQL replays run SQL_SECONDS. */
const PHASE = Number(process.env.BENCH_PHASE_SECONDS ?? 4);
const SQL_SECONDS = Number(process.env.BENCH_SQL_SECONDS ?? 2);
const READERS = 8;
/** Agents reach an API instance of their own (a second process), as a deployment that isolates ingestion runs them. */
const AGENT_INSTANCE = process.env.BENCH_AGENT_INSTANCE !== '0';
/** The deployment's CPU priorities (cpu-priorities.mjs), when root and BENCH_PRIORITIES is not none. */
const PRIORITIES = prioritiesWanted();
const HEARTBEATS_PER_SECOND = 333; // 10,000 devices at a 30 s interval
const TARGET_MS = 100;
const HEARTBEAT_P99_TARGET_MS = 50;
/** The whole run is aborted (and its database dropped) past this. */
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 600);
const adminUrl = process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const DIST = realpathSync(resolve(process.env.BENCH_API_DIST ?? fileURLToPath(new URL('../dist', import.meta.url))));
const fromDist = (path) => import(pathToFileURL(join(DIST, path)).href);
const contractsEntry = join(DIST, '..', '..', 'node_modules', '@xspectre', 'contracts', 'dist', 'index.js');
const contracts = existsSync(contractsEntry) ? await import(pathToFileURL(contractsEntry).href) : await import('@xspectre/contracts');
const { loadConfig } = await fromDist('config/config.js');
const { createApp } = await fromDist('create-app.js');
const { createLogger } = await fromDist('common/logging/logger.js');
const { runMigrations } = await fromDist('db/migrate.js');
const chain = await fromDist('audit/audit-chain.js');

/** Whether a query schema of this build takes `cursor` (keyset pages). */
function takesCursor(schema) {
  if (process.env.BENCH_KEYSET === '0') return false;
  try {
    return Boolean(schema?.shape && 'cursor' in schema.shape);
  } catch {
    return false;
  }
}
const keyset = { devices: takesCursor(contracts.ListDevicesQuerySchema), audit: takesCursor(contracts.ListAuditQuerySchema) };

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const started = performance.now();
const startLoad = loadavg()
  .map((n) => n.toFixed(1))
  .join(' ');
const temp = mkdtempSync(join(tmpdir(), 'xs-fleet-bench-'));
const dbName = `xs_fleet_${randomBytes(4).toString('hex')}`;

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

// --- the API's SQL, captured: every statement its pg clients send while `capture` is set ---------
let capture = null;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function query(config, values, callback) {
  if (capture) {
    const text = typeof config === 'string' ? config : config?.text;
    const params = Array.isArray(values) ? values : config?.values;
    if (typeof text === 'string') capture.push({ text, values: params });
  }
  return clientQuery.call(this, config, values, callback);
};
/** Transaction bookkeeping and the guard's session and user reload: not the read's own SQL. */
const NOT_THE_READ = /^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|SET |SHOW |SELECT version\(\))/i;
const AUTH_ONLY = /"?(auth_sessions|users|security_settings)"?/;
const READ_TABLES = /(devices|device_telemetry|organizations|sites|metric_|audit_events)/;

let app;
let sql;
let readers;
/** The agents' API instance (fleet-agent-api.mjs) and its URL, when BENCH_AGENT_INSTANCE is not 0. */
let agentApi;
let agentBaseUrl;
const cleanup = async () => {
  pg.Client.prototype.query = clientQuery;
  readers?.stdin.end();
  if (agentApi && agentApi.exitCode === null) {
    const exited = once(agentApi, 'exit');
    agentApi.kill('SIGTERM');
    const killLater = setTimeout(() => agentApi.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killLater);
  }
  await app?.close().catch((error) => console.error(`closing the API: ${error.message}`));
  await sql?.end().catch(() => undefined);
  await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((error) =>
    console.error(`dropping ${dbName}: ${error.message}`),
  );
  rmSync(temp, { recursive: true, force: true });
};
const watchdog = setTimeout(() => {
  console.error(`fleet bench: over ${MAX_SECONDS} s, aborting`);
  void cleanup().finally(() => process.exit(1));
}, MAX_SECONDS * 1000);
watchdog.unref();

// --- the operators' process -----------------------------------------------------------------------
function startReaders() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fleet-readers.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, stdin: child.stdin, lines };
}
let baseUrl;
let token;
/** `concurrency` operators GET `paths` (round-robin) for `seconds`, in the readers' process. */
async function read(paths, concurrency, seconds = PHASE) {
  readers.stdin.write(`${JSON.stringify({ baseUrl, token, paths: [paths].flat(), concurrency, seconds })}\n`);
  const { value, done } = await readers.lines.next();
  if (done) throw new Error('the readers process ended');
  const result = JSON.parse(value);
  if (result.failed) throw new Error(`readers: ${result.failed}`);
  return result;
}

/** One GET from this process (for cursors, totals, and capturing a request's SQL). */
async function getJson(path) {
  const response = await fetch(new URL(path, baseUrl), { headers: { authorization: `Bearer ${token}` } });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

/** The read statements one request runs (captured from the API's pg clients), its auth statements' count, its answer and time. */
async function captureSql(path) {
  const statements = [];
  capture = statements;
  const t0 = performance.now();
  let body;
  try {
    body = await getJson(path);
  } finally {
    capture = null;
  }
  const ms = performance.now() - t0;
  const relevant = statements.filter((s) => !NOT_THE_READ.test(s.text));
  const read = relevant.filter((s) => READ_TABLES.test(s.text) || !AUTH_ONLY.test(s.text));
  return { statements: read, auth: relevant.length - read.length, body, ms };
}

/** Replays `statements` one after another per simulated request, `concurrency` at once, for `seconds` (or exactly `count` requests). */
async function replay(statements, concurrency, seconds = SQL_SECONDS, count = Infinity) {
  if (statements.length === 0) return null;
  const latencies = [];
  const deadline = count === Infinity ? performance.now() + seconds * 1000 : Infinity;
  let issued = 0;
  const worker = async () => {
    while (performance.now() < deadline && issued < count) {
      issued += 1;
      const t0 = performance.now();
      for (const s of statements) await sql.query(s.text, s.values);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
}

/** Seconds a heartbeat run starts before what it measures, and leaves uncounted: a new generator opens its connections then. */
const LEAD_SECONDS = 1;

/** Runs `work` while heartbeats arrive at 333/s; returns its result and the heartbeats sent while it ran. */
async function underHeartbeats(devices, seconds, work) {
  const run = heartbeats(devices, LEAD_SECONDS + seconds, HEARTBEATS_PER_SECOND, LEAD_SECONDS);
  await new Promise((r) => setTimeout(r, LEAD_SECONDS * 1000));
  const result = await work();
  return { result, heartbeats: await run };
}

/**
 * Runs load-generator.mjs (its own process) at `rate` heartbeats/s for `seconds`; the devices'
 * sequences advance. Latencies count from `warmupSeconds` on (the new process's connections open
 * before that).
 */
async function heartbeats(devices, seconds, rate, warmupSeconds = 0) {
  // The devices' side runs at the default priority: from this process's operators' level, nice -n -3 brings it back to 0.
  const generator = [process.execPath, fileURLToPath(new URL('./load-generator.mjs', import.meta.url))];
  const [command, ...args] = PRIORITIES ? ['nice', '-n', String(-OPERATORS_NICE), ...generator] : generator;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ baseUrl: agentBaseUrl ?? baseUrl, devices, seconds, rate, concurrency: 32, raw: false, warmupSeconds }));
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(stdout);
  result.sequences.forEach((s, i) => (devices[i].sequence = s));
  return result;
}

// --- the report ------------------------------------------------------------------------------------
const rows = [];
const f = (n) => (Number.isFinite(n) ? n.toFixed(1) : '-');
/** One table row: an HTTP figure, its SQL beside it, and the verdict against `target` (ms, on p95). */
function row(label, http, sqlTimes, target = TARGET_MS) {
  const ratio = sqlTimes && sqlTimes.p95 > 0 ? `${(http.p95 / sqlTimes.p95).toFixed(1)}×` : '-';
  const errors = http.errors ? `  ${http.errors} errors ${JSON.stringify(http.statuses)}` : '';
  const verdict = http.p95 < target && !http.errors ? 'ok' : 'over';
  rows.push(
    `  ${label.padEnd(58)} p95 ${f(http.p95).padStart(7)} ms  p50 ${f(http.p50).padStart(7)} ms  ${f(http.perSecond).padStart(6)} req/s` +
      `   SQL p95 ${f(sqlTimes?.p95).padStart(7)} ms  p50 ${f(sqlTimes?.p50).padStart(7)} ms   HTTP/SQL ${ratio.padStart(6)}` +
      `   ${verdict} (< ${target} ms)${errors}`,
  );
}
const note = (text) => rows.push(`    ${text}`);

/** A read measured with `concurrency` operators and its SQL replayed at the same concurrency. */
async function measure(label, paths, concurrency, statements, seconds = PHASE) {
  const http = await read(paths, concurrency, seconds);
  row(label, http, await replay(statements, concurrency));
  return http;
}

try {
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  await runMigrations(url.toString());
  sql = new pg.Pool({ connectionString: url.toString(), max: READERS });
  sql.on('error', (error) => console.error(`bench pool: ${error.message}`));
  const seedStarted = performance.now();
  const { devices, timings } = await seedFleet(sql, { devices: DEVICES, metricDevices: METRIC_DEVICES, auditRows: AUDIT_ROWS, chain });
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const adminEmail = 'bench-admin@bench.local';
  const adminPassword = randomBytes(18).toString('base64url');
  const env = {
    DB_URL: url.toString(),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `xs-fleet-bench-${randomBytes(3).toString('hex')}:`,
    API_SECRET_KEY: randomBytes(48).toString('base64'),
    API_LOG_LEVEL: 'silent',
    API_AGENT_SOURCE_CHECK: 'false',
    API_BOOTSTRAP_ADMIN_EMAIL: adminEmail,
    API_BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
    API_KEY_STORE_DIR: join(temp, 'keys'),
    API_AUDIT_ANCHOR_DIR: join(temp, 'anchors'),
    // The product's pool sizes unless the run names others (BENCH_DB_POOL_SIZE, BENCH_DB_DEVICE_POOL_SIZE).
    ...(process.env.BENCH_DB_POOL_SIZE ? { DB_POOL_SIZE: process.env.BENCH_DB_POOL_SIZE } : {}),
    ...(process.env.BENCH_DB_DEVICE_POOL_SIZE ? { DB_DEVICE_POOL_SIZE: process.env.BENCH_DB_DEVICE_POOL_SIZE } : {}),
    NODE_ENV: 'production',
  };
  const config = loadConfig(env);
  app = await createApp(config, createLogger('silent', pino.destination({ dest: '/dev/null', sync: false })));
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(
    `  API pools: operators ${config.DB_POOL_SIZE}${config.DB_DEVICE_POOL_SIZE ? `, devices ${config.DB_DEVICE_POOL_SIZE}` : ' (one pool)'}` +
      `${config.DB_STATEMENT_TIMEOUT_MS ? `, operators' statements bounded at ${config.DB_STATEMENT_TIMEOUT_MS} ms` : ''}`,
  );
  baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}/api/v1/`;
  if (AGENT_INSTANCE) {
    agentApi = spawn(process.execPath, [fileURLToPath(new URL('./fleet-agent-api.mjs', import.meta.url))], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    agentApi.stdin.write(`${JSON.stringify({ dist: DIST, env })}\n`);
    const [line] = await once(readline.createInterface({ input: agentApi.stdout }), 'line');
    agentBaseUrl = `http://127.0.0.1:${JSON.parse(line).port}/api/v1/`;
    console.log("  agents' heartbeats go to a second API instance of the same installation, in its own process");
  } else console.log("  agents' heartbeats go to the operators' API instance (BENCH_AGENT_INSTANCE=0)");
  const login = await fetch(new URL('auth/login', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: adminEmail, password: adminPassword }),
  });
  token = (await login.json()).accessToken;
  if (login.status !== 200 || !token) throw new Error(`login failed: ${login.status}`);
  if (PRIORITIES) {
    // The operators' instance (this process) and, started after it, the operators' own clients at
    // its level; the agents' instance above the default.
    if (agentApi) niceProcess(agentApi.pid, AGENTS_NICE);
    niceProcess(process.pid, OPERATORS_NICE);
    console.log(
      `  CPU priorities as deployed (cpu-priorities.mjs): operators' instance and its readers at nice ${OPERATORS_NICE}, ` +
        `agents' instance at ${AGENTS_NICE}, PostgreSQL and the devices' load at 0`,
    );
  } else console.log('  CPU priorities: none applied (not root, or BENCH_PRIORITIES=none): every process at the same nice level');
  readers = startReaders();

  // Every device reports once (a 30 s interval's worth at 333/s): what the heartbeat path keeps
  // per device is then written by the build under test itself. It doubles as the warm-up.
  const checkIn = await heartbeats(devices, Math.ceil(DEVICES / HEARTBEATS_PER_SECOND), HEARTBEATS_PER_SECOND);
  const alone = await heartbeats(devices, LEAD_SECONDS + 8, HEARTBEATS_PER_SECOND, LEAD_SECONDS);

  const sorts = [
    ['default (by name)', 'devices?limit=50'],
    ['by CPU', 'devices?limit=50&sort=-cpu'],
    ['by memory', 'devices?limit=50&sort=-memory'],
    ['by disk', 'devices?limit=50&sort=-disk'],
  ];
  const captured = new Map();
  const sqlOf = async (path) => {
    if (!captured.has(path)) captured.set(path, await captureSql(path));
    return captured.get(path).statements;
  };

  rows.push(`GET devices, ${READERS} concurrent readers, ${PHASE} s each:`);
  for (const [name, path] of sorts) await measure(`GET devices ${name}`, path, READERS, await sqlOf(path));

  rows.push('GET devices, the last page:');
  const lastPage = `devices?limit=50&offset=${DEVICES - 50}`;
  await measure(`offset ${DEVICES - 50}, 1 reader`, lastPage, 1, await sqlOf(lastPage), PHASE / 2);
  await measure(`offset ${DEVICES - 50}, ${READERS} readers`, lastPage, READERS, await sqlOf(lastPage));
  if (keyset.devices) {
    // The cursor of the page after the first DEVICES - 50 rows, walked with the largest pages.
    let cursor = null;
    for (let seen = 0; seen < DEVICES - 50;) {
      const limit = Math.min(500, DEVICES - 50 - seen);
      const page = await getJson(`devices?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      cursor = page.nextCursor;
      seen += limit;
      if (!cursor) break;
    }
    if (cursor) {
      const keysetPage = `devices?limit=50&cursor=${encodeURIComponent(cursor)}`;
      await measure(`keyset (cursor after row ${DEVICES - 50}), 1 reader`, keysetPage, 1, await sqlOf(keysetPage), PHASE / 2);
      await measure(`keyset (cursor after row ${DEVICES - 50}), ${READERS} readers`, keysetPage, READERS, await sqlOf(keysetPage));
    } else note('keyset: the list took `cursor` but answered no nextCursor before the last page');
  } else note('keyset: this build takes no `cursor` on GET devices (offset only)');

  rows.push('GET devices/summary:');
  const summaryStatements = await sqlOf('devices/summary');
  await measure('summary, 1 reader', 'devices/summary', 1, summaryStatements, PHASE / 2);
  await measure(`summary, ${READERS} readers`, 'devices/summary', READERS, summaryStatements);
  note('SQL: the computation the first request ran; a build that shares the summary serves most requests without it (HTTP/SQL < 1)');

  rows.push(`GET devices/:id/metrics over the ${METRIC_DEVICES} devices with samples, ${READERS} readers (the console's steps):`);
  const now = Date.now();
  const range = (seconds, step) => (d) =>
    `devices/${d.id}/metrics?metric=cpu&from=${new Date(now - seconds * 1000).toISOString()}&to=${new Date(now).toISOString()}&step=${step}`;
  for (const [label, seconds, step] of [
    ['24 h (step 60 s)', 86_400, 60],
    ['7 d (step 600 s)', 7 * 86_400, 600],
  ]) {
    const paths = devices.slice(0, METRIC_DEVICES).map(range(seconds, step));
    await measure(`metrics ${label}`, paths, READERS, await sqlOf(paths[0]));
  }

  rows.push('GET audit:');
  const auditTotal = (await getJson('audit?limit=1')).total;
  const auditLast = `audit?limit=50&offset=${Math.max(0, auditTotal - 50)}`;
  await measure(`last page (offset ${auditTotal - 50} of ${auditTotal}), 1 reader`, auditLast, 1, await sqlOf(auditLast), PHASE / 2);
  if (keyset.audit) {
    await measure(
      'last page by cursor (id < 51), 1 reader',
      'audit?limit=50&cursor=51',
      1,
      await sqlOf('audit?limit=50&cursor=51'),
      PHASE / 2,
    );
  } else note('keyset: this build takes no `cursor` on GET audit (offset only)');

  // While heartbeats arrive. Two load runs: the first carries only the operators' HTTP reads (its
  // heartbeat latencies are the row "while operators read"); the second only the same reads' SQL
  // replays, which this bench runs for the HTTP/SQL ratio and which are no operator's load (8
  // concurrent summary computations, say, where the API shares one), so they are kept out of it.
  rows.push(`the same reads while ${HEARTBEATS_PER_SECOND} heartbeats/s arrive, ${READERS} readers:`);
  const underLoad = [...sorts, ['summary', 'devices/summary']];
  const collect = async (each) => {
    const results = [];
    for (const [, path] of underLoad) results.push(await each(path));
    return results;
  };
  const { result: duringHttp, heartbeats: during } = await underHeartbeats(devices, underLoad.length * PHASE, () =>
    collect((path) => read(path, READERS)),
  );
  const { result: duringSql, heartbeats: duringReplay } = await underHeartbeats(devices, underLoad.length * SQL_SECONDS, () =>
    collect(async (path) => replay(await sqlOf(path), READERS)),
  );
  underLoad.forEach(([name, path], i) =>
    row(`${path.startsWith('devices/summary') ? 'GET devices/summary' : `GET devices ${name}`} + heartbeats`, duringHttp[i], duringSql[i]),
  );
  note("HTTP and SQL under separate heartbeat runs of the same rate (the SQL replays are the bench's own, not operators')");

  rows.push('heartbeats (POST agent/heartbeats) at 333/s, from their own process:');
  const hb = (label, r) => {
    const verdict = r.p99 < HEARTBEAT_P99_TARGET_MS && !r.errors ? 'ok' : 'over';
    rows.push(
      `  ${label.padEnd(58)} p95 ${f(r.p95).padStart(7)} ms  p99 ${f(r.p99).padStart(7)} ms  ${f(r.perSecond)}/s, ${r.count} sent, ${r.errors} errors` +
        `   ${verdict} (p99 < ${HEARTBEAT_P99_TARGET_MS} ms)`,
    );
  };
  hb('check-in (every device once; warm-up)', checkIn);
  hb('alone', alone);
  hb(`while ${READERS} operators read (the run above)`, during);
  hb(`while the bench replays their SQL, ${READERS} at once`, duringReplay);

  rows.push('GET audit/verify:');
  // A build that verifies in the worker (AuditService.verifyChain) answers GET audit/verify with the
  // worker's latest result: run that verification here first, timed, so the answer is a real one.
  // It runs in this process only for the timing; in production it is the worker's CPU, not the API's.
  const { AuditService } = await fromDist('audit/audit.service.js');
  const auditService = app.get(AuditService);
  if (typeof auditService.verifyChain === 'function') {
    const v0 = performance.now();
    const full = await auditService.verifyChain({ full: true });
    const fullMs = performance.now() - v0;
    const v1 = performance.now();
    const incremental = await auditService.verifyChain();
    note(
      `worker verification (AuditService.verifyChain, off the request path): full ${f(fullMs)} ms (intact ${full.intact}, ` +
        `${full.checked} rows), then incremental ${f(performance.now() - v1)} ms (${incremental.checked} rows)`,
    );
  } else note('this build verifies on the request path (no AuditService.verifyChain)');
  const quiet = await read('devices?limit=50', 1, PHASE / 2);
  // One verify alone (its SQL captured meanwhile): how long the window below must be.
  const verifyStatements = await captureSql('audit/verify');
  const verdictBody = verifyStatements.body;
  const verifyAlone = verifyStatements.ms;
  // A reader runs while verify is asked for again and again (at least once) over the same time.
  const window = Math.max(PHASE / 2, verifyAlone / 1000 + 0.5);
  const verifies = [];
  const verifying = (async () => {
    const end = performance.now() + window * 1000;
    do {
      const v0 = performance.now();
      await getJson('audit/verify');
      verifies.push(performance.now() - v0);
    } while (performance.now() < end);
  })();
  const meanwhile = await read('devices?limit=50', 1, window);
  await verifying;
  verifies.sort((a, b) => a - b);
  const verifyHttp = { p50: percentile(verifies, 50), p95: percentile(verifies, 95), perSecond: verifies.length / window, errors: 0 };
  row(`audit/verify (alone: ${f(verifyAlone)} ms)`, verifyHttp, await replay(verifyStatements.statements, 1, 0, 1));
  const slowdown = meanwhile.p95 / quiet.p95;
  rows.push(
    `  ${'a reader of GET devices meanwhile'.padEnd(58)} p95 ${f(meanwhile.p95).padStart(7)} ms vs ${f(quiet.p95)} ms without verify: ${slowdown.toFixed(1)}× slower` +
      `   ${slowdown < 2 && verifyHttp.p95 < TARGET_MS ? 'ok' : 'over'} (off the request path: answers < ${TARGET_MS} ms, reader < 2× slower)`,
  );
  note(`answer: ${JSON.stringify(verdictBody).slice(0, 200)}; its SQL: ${verifyStatements.statements.length} statements`);

  console.log(
    `fleet-reads bench: ${DEVICES} active devices in ${ORGANIZATIONS} organizations and ${SITES} sites, samples for ${METRIC_DEVICES}, ` +
      `${AUDIT_ROWS} audit rows; API build ${DIST}`,
  );
  console.log(
    `  seeded in ${f(seedSeconds)} s (${Object.entries(timings)
      .map(([k, v]) => `${k} ${f(v)} s`)
      .join(', ')}); keyset: devices ${keyset.devices ? 'yes' : 'no'}, audit ${keyset.audit ? 'yes' : 'no'}`,
  );
  console.log(
    "  SQL = the statements the API ran for one such request (captured from its pg clients, the guard's session and user reload left out), " +
      'replayed one after another with pg at the same concurrency; HTTP/SQL compares p95',
  );
  for (const line of rows) console.log(line);
  // The machine may be shared (tests, builds): its load says how far to trust absolute figures.
  console.log(
    `  run took ${f((performance.now() - started) / 1000)} s on ${cpus().length} cores; load average ${startLoad} at the start, ` +
      `${loadavg().map(f).join(' ')} at the end`,
  );
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
