import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLeftovers, mapLimit, startLab, type Lab, type LabApi, type LightDevice } from '@xspectre/lab';
import { agentDeviceId, failedDeliveries, readAgentRecord, type AgentRecord } from './support/agent-records.js';
import { compareSequences } from './support/heartbeat-ledger.js';
import { freePort } from './support/built-process.js';
import { PrivatePostgres } from './support/private-postgres.js';

const DEVICES = 50;
const HEARTBEAT_SECONDS = 5;
/** Enrollments running at once (each starts node processes and wireguard-go; 2 cores). */
const BOOTSTRAP_PARALLELISM = 8;
/** Heartbeats flow this long (from the last enrollment) before the first fault. */
const FIRST_FAULT_AFTER_MS = 45_000;
/** The API stays dead this long after its SIGKILL: several heartbeat intervals. */
const API_DOWN_MS = 20_000;
/** PostgreSQL stays stopped this long under the running API: at least two intervals. */
const PG_DOWN_MS = 12_000;
/** Heartbeats flow this long after the last fault before the agents are stopped. */
const FINAL_RUN_MS = 60_000;
/** How long a recovery (every agent's backlog acknowledged) may take. */
const CATCH_UP_MS = 120_000;
/** Stored this long after it was sent: it waited in the journal (a retry comes an interval, ≥ 4.5 s, later). */
const LATE_MS = 4_000;

const log = (line: string) => console.log(`lab resilience: ${line}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface FleetDevice {
  lab: LightDevice;
  /** The API's device id (agent.conf). */
  id: string;
}

/** A time span during which the API could not store heartbeats. */
interface Outage {
  name: string;
  from: Date;
  to: Date;
}

interface HeartbeatRow {
  device_id: string;
  sequence: number;
  sent_at: Date;
  received_at: Date;
}

async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  failure: (last: T) => string,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(failure(value));
    await sleep(intervalMs);
  }
}

async function machinePostgresStartedAt(): Promise<string> {
  const client = new pg.Client({ connectionString: process.env.TEST_DB_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<{ at: string }>(`SELECT pg_postmaster_start_time()::text AS at`)).rows[0]!.at;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error: Error) => `(${error.message})`);
  return text.split('\n').slice(-lines).join('\n');
}

describe('heartbeat ledger (agent sequences against stored rows)', () => {
  it('counts sequences handed out but not stored as lost, extra rows as duplicated', () => {
    expect(
      compareSequences(
        3,
        new Map([
          [1, 1],
          [2, 1],
          [3, 1],
        ]),
      ),
    ).toEqual({ lost: [], duplicated: 0, unexpected: [] });
    expect(
      compareSequences(
        4,
        new Map([
          [1, 1],
          [3, 2],
          [4, 1],
        ]),
      ),
    ).toEqual({ lost: [2], duplicated: 1, unexpected: [] });
    expect(
      compareSequences(
        2,
        new Map([
          [1, 1],
          [2, 1],
          [7, 1],
        ]),
      ),
    ).toEqual({ lost: [], duplicated: 0, unexpected: [7] });
    expect(compareSequences(0, new Map())).toEqual({ lost: [], duplicated: 0, unexpected: [] });
  });

  it('does not count what the agent still holds in its journal as lost', () => {
    expect(compareSequences(3, new Map([[1, 1]]), [2, 3])).toEqual({ lost: [], duplicated: 0, unexpected: [] });
    expect(compareSequences(3, new Map([[1, 1]]), [3])).toEqual({ lost: [2], duplicated: 0, unexpected: [] });
  });

  it('rejects a counter that is not a count', () => {
    expect(() => compareSequences(-1, new Map())).toThrow(RangeError);
    expect(() => compareSequences(1.5, new Map())).toThrow(RangeError);
  });
});

/**
 * Light devices heartbeat through WireGuard while the API process is SIGKILLed and restarted and
 * PostgreSQL is stopped and started under it; afterwards every sequence each agent handed out is
 * stored exactly once. Black box: agents' files on one side, the API's tables on the other. The
 * PostgreSQL that fails is a cluster of this test's own (support/private-postgres.ts): the
 * machine's cluster, which other work uses, is never stopped.
 */
describe(`fleet lab resilience: ${DEVICES} light devices, API killed, PostgreSQL restarted`, () => {
  let lab: Lab | undefined;
  let api: LabApi;
  let cluster: PrivatePostgres | undefined;
  let devices: FleetDevice[] = [];
  let enrolledAt: number;
  /** When the machine's cluster started: unchanged at the end, so this test never restarted it. */
  let machineStartedAt: string;

  /** A connection of its own per call: PostgreSQL restarts during this test. */
  async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: api.databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  const records = () => Promise.all(devices.map((d) => readAgentRecord(d.lab.configDir)));

  /** Waits until every agent has the heartbeats it had handed out by now acknowledged (its backlog replayed). */
  async function catchUp(after: string): Promise<void> {
    const started = Date.now();
    const target = (await records()).map((r) => r.sequence);
    await pollUntil(
      records,
      (now) => now.every((r, i) => (r.lastAckSequence ?? 0) >= target[i]!),
      CATCH_UP_MS,
      (now) =>
        `agents not caught up ${CATCH_UP_MS / 1000} s after ${after}: ` +
        now
          .flatMap((r, i) =>
            (r.lastAckSequence ?? 0) >= target[i]! ? [] : [`${devices[i]!.lab.name} acked ${r.lastAckSequence} < ${target[i]}`],
          )
          .join(', '),
    );
    log(`every agent's backlog acknowledged ${((Date.now() - started) / 1000).toFixed(1)} s after ${after}`);
  }

  async function killApi(): Promise<Date> {
    const pid = api.pid;
    await api.kill();
    log(`API (pid ${pid}) killed with SIGKILL`);
    return new Date();
  }

  async function restartApi(): Promise<void> {
    await api.start();
    log(`API restarted (pid ${api.pid}) and ready`);
  }

  /** The API must come back by itself once PostgreSQL is back: no restart. */
  async function apiRecoversAlone(): Promise<void> {
    const ready = await api.waitForReady(60_000);
    expect(await api.isRunning(), `the API process died while PostgreSQL was down (see ${api.logFile})`).toBe(true);
    expect(ready, `the API did not become ready within 60 s of PostgreSQL coming back (see ${api.logFile})`).toBe(true);
    log('API ready again without a restart');
  }

  beforeAll(async () => {
    machineStartedAt = await machinePostgresStartedAt();
    cluster = await PrivatePostgres.create(await freePort());
    await cluster.start();
    lab = await startLab({ log: (line) => log(`lab: ${line}`) });
    api = await lab.startApi({
      env: { API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) },
      databaseAdminUrl: cluster.url(),
    });
    log(`lab ${lab.id}: API pid ${api.pid} on port ${lab.apiPort} (log ${api.logFile}); private PostgreSQL on port ${cluster.port}`);
    const admin = await api.admin();
    const site = await admin.createSite(`Resilience ${lab.id}`);
    const started = Date.now();
    devices = await mapLimit(
      Array.from({ length: DEVICES }, (_, i) => i + 1),
      BOOTSTRAP_PARALLELISM,
      async (n) => {
        const { claimCode } = await admin.createDevice(`resilience-${n}`, site);
        const device = await lab!.addLightDevice();
        const result = await device.bootstrap(claimCode);
        if (result.exitCode !== 0)
          throw new Error(`${device.name}: bootstrap failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-1500)}`);
        if (n % 10 === 0) log(`${n} devices enrolled (${((Date.now() - started) / 1000).toFixed(0)} s)`);
        return { lab: device, id: await agentDeviceId(device.configDir) };
      },
    );
    enrolledAt = Date.now();
    log(`${DEVICES} devices enrolled and acknowledged in ${((enrolledAt - started) / 1000).toFixed(0)} s`);
  }, 20 * 60_000);

  afterAll(async () => {
    // Teardown drops the lab's database in the private cluster: it must run for that.
    if (cluster && !cluster.running) await cluster.start().catch(() => undefined);
    try {
      await lab?.teardown();
    } finally {
      await cluster?.destroy();
    }
  }, 5 * 60_000);

  it(
    'loses and duplicates no heartbeat across API kills and PostgreSQL restarts',
    async () => {
      const outages: Outage[] = [];
      try {
        // Heartbeats are stored before any fault.
        await pollUntil(
          () => query<{ devices: number }>(`SELECT count(DISTINCT device_id)::int AS devices FROM device_heartbeats`),
          (rows) => rows[0]!.devices === DEVICES,
          60_000,
          (rows) => `only ${rows[0]!.devices} of ${DEVICES} devices have a stored heartbeat`,
        );
        await sleep(Math.max(0, enrolledAt + FIRST_FAULT_AFTER_MS - Date.now()));

        // Each outage is recorded from when storing became impossible to just before recovery
        // starts: a heartbeat sent within it can only be stored by a replay from the journal.
        // 1. The API process crashes (SIGKILL) and comes back after a while.
        let from = await killApi();
        await sleep(API_DOWN_MS);
        outages.push({ name: 'API killed', from, to: new Date() });
        await restartApi();
        await catchUp('the API restart');

        // 2. PostgreSQL stops and starts again under the running API, which must recover by itself.
        await cluster!.stop();
        from = new Date();
        log('PostgreSQL stopped');
        await sleep(PG_DOWN_MS);
        outages.push({ name: 'PostgreSQL stopped under the API', from, to: new Date() });
        await cluster!.start();
        log('PostgreSQL started');
        await apiRecoversAlone();
        await catchUp('the PostgreSQL restart');

        // 3. The API crashes while PostgreSQL is down; both come back.
        await cluster!.stop();
        from = new Date();
        log('PostgreSQL stopped');
        await sleep(PG_DOWN_MS / 2);
        await killApi();
        await sleep(PG_DOWN_MS / 2);
        outages.push({ name: 'API killed during a PostgreSQL outage', from, to: new Date() });
        await cluster!.start();
        log('PostgreSQL started');
        await restartApi();
        await catchUp('the API restart after the PostgreSQL outage');
        const lastRecovery = new Date();

        await sleep(FINAL_RUN_MS);

        // Each agent stops once its journal is empty (SIGTERM: it finishes what is in flight and keeps its state).
        await mapLimit(devices, 10, async (device) => {
          await pollUntil(
            () => readAgentRecord(device.lab.configDir),
            (r) => r.pending.length === 0 && r.lastAckSequence === r.sequence,
            60_000,
            (r) =>
              `${device.lab.name}: journal not drained (sequence ${r.sequence}, acked ${r.lastAckSequence}, pending ${r.pending.length})`,
            100,
          );
          await device.lab.stopAgent();
        });
        log('every agent drained its journal and stopped');

        await verifyLedger(outages, lastRecovery);
      } catch (error) {
        log(`FAILED: ${(error as Error).message}`);
        log(`API log (last 40 lines of ${api.logFile}):\n${await tail(api.logFile, 40)}`);
        const first = devices[0];
        if (first) log(`agent log of ${first.lab.name}:\n${await tail(`${first.lab.configDir}/agent.log`, 20)}`);
        throw error;
      }
    },
    20 * 60_000,
  );

  async function verifyLedger(outages: Outage[], lastRecovery: Date): Promise<void> {
    const agents: AgentRecord[] = await records();
    const rows = await query<HeartbeatRow>(
      `SELECT device_id, sequence::int AS sequence, sent_at, received_at FROM device_heartbeats ORDER BY device_id, sequence`,
    );
    const samples = await query<{ device_id: string; sequence: number; n: number }>(
      `SELECT device_id, sequence::int AS sequence, count(*)::int AS n FROM metric_samples GROUP BY device_id, sequence`,
    );
    const lastSequences = new Map(
      (await query<{ id: string; last_sequence: string | null }>(`SELECT id, last_sequence FROM devices`)).map((d) => [
        d.id,
        Number(d.last_sequence ?? 0),
      ]),
    );

    let assigned = 0;
    let stored = 0;
    let lost = 0;
    let duplicated = 0;
    let unexpected = 0;
    let stillJournaled = 0;
    let late = 0;
    let samplesChecked = 0;
    const problems: string[] = [];
    const perOutage = outages.map(() => 0);

    for (const [i, device] of devices.entries()) {
      const agent = agents[i]!;
      const mine = rows.filter((r) => r.device_id === device.id);
      const rowsPerSequence = new Map<number, number>();
      for (const r of mine) rowsPerSequence.set(r.sequence, (rowsPerSequence.get(r.sequence) ?? 0) + 1);
      const ledger = compareSequences(agent.sequence, rowsPerSequence, agent.pending);
      const name = device.lab.name;
      assigned += agent.sequence;
      stored += rowsPerSequence.size;
      lost += ledger.lost.length;
      duplicated += ledger.duplicated;
      unexpected += ledger.unexpected.length;
      stillJournaled += agent.pending.length;
      if (ledger.lost.length > 0) problems.push(`${name}: lost ${ledger.lost.join(',')}`);
      if (ledger.duplicated > 0) problems.push(`${name}: ${ledger.duplicated} duplicate rows`);
      if (ledger.unexpected.length > 0) problems.push(`${name}: stored sequences never handed out ${ledger.unexpected.join(',')}`);
      if (agent.pending.length > 0) problems.push(`${name}: still journaled after stop ${agent.pending.join(',')}`);
      if (lastSequences.get(device.id) !== agent.sequence)
        problems.push(`${name}: devices.last_sequence ${lastSequences.get(device.id)} but the agent handed out ${agent.sequence}`);

      // Not vacuous: stored before the faults, during each outage only journaled (then replayed), and live again after.
      const delay = (r: HeartbeatRow) => r.received_at.getTime() - r.sent_at.getTime();
      const deviceLate = mine.filter((r) => delay(r) >= LATE_MS).length;
      late += deviceLate;
      if (!mine.some((r) => r.received_at < outages[0]!.from)) problems.push(`${name}: nothing stored before the first fault`);
      if (!mine.some((r) => r.sent_at > lastRecovery && delay(r) < LATE_MS)) problems.push(`${name}: no live heartbeat after the faults`);
      for (const [k, outage] of outages.entries()) {
        const journaled = mine.filter((r) => r.sent_at >= outage.from && r.sent_at <= outage.to);
        if (journaled.length > 0) perOutage[k]!++;
        else problems.push(`${name}: no heartbeat sent during "${outage.name}" (${outage.from.toISOString()}–${outage.to.toISOString()})`);
        // Nothing can be stored while the outage lasts: if something was, the fault was not real.
        const storedDuring = mine.filter((r) => r.received_at > outage.from && r.received_at < outage.to);
        if (storedDuring.length > 0) problems.push(`${name}: ${storedDuring.length} heartbeats stored during "${outage.name}"`);
      }
      if (deviceLate === 0) problems.push(`${name}: no heartbeat was replayed from the journal`);

      // Exactly one metric sample per stored heartbeat that carried metrics (known from the journal file).
      const sampleRows = new Map(samples.filter((s) => s.device_id === device.id).map((s) => [s.sequence, s.n]));
      for (const [sequence, n] of sampleRows) {
        if (n > 1) problems.push(`${name}: ${n} metric samples for sequence ${sequence}`);
        if (!rowsPerSequence.has(sequence)) problems.push(`${name}: metric sample for sequence ${sequence} without a heartbeat`);
      }
      for (const [sequence, { hasMetrics }] of agent.journaled) {
        if (!hasMetrics || !rowsPerSequence.has(sequence)) continue;
        samplesChecked++;
        if (!sampleRows.has(sequence)) problems.push(`${name}: heartbeat ${sequence} carried metrics but has no sample`);
      }
    }

    log(
      `outages: ${outages.map((o, k) => `${o.name} ${((o.to.getTime() - o.from.getTime()) / 1000).toFixed(1)} s (${perOutage[k]}/${DEVICES} devices journaled during it)`).join('; ')}`,
    );
    log(`metric samples checked against journaled heartbeats with metrics: ${samplesChecked}`);
    const failures = new Map<string, number>();
    for (const device of devices)
      for (const [kind, n] of await failedDeliveries(device.lab.configDir)) failures.set(kind, (failures.get(kind) ?? 0) + n);
    log(`failed deliveries the agents logged (then retried): ${[...failures].map(([kind, n]) => `${kind} ×${n}`).join(', ') || 'none'}`);
    log(
      `${DEVICES} devices, ${assigned} heartbeats assigned, ${stored} stored, lost ${lost}, duplicated ${duplicated}, ` +
        `replayed after outages ${late}` +
        (unexpected || stillJournaled ? ` (unexpected ${unexpected}, still journaled ${stillJournaled})` : ''),
    );
    expect(problems.slice(0, 50), `${problems.length} problems`).toEqual([]);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(stored).toBe(assigned);
    expect(samplesChecked).toBeGreaterThan(0);
  }

  it(
    'teardown stops the API, drops its database and leaves nothing behind',
    async () => {
      const id = lab!.id;
      const pid = api.pid;
      const database = `xspectre_lab_${id}`;
      await lab!.teardown();
      lab = undefined;
      expect(await findLeftovers(id)).toEqual([]);
      expect(() => process.kill(pid, 0), `API pid ${pid}`).toThrow();
      expect(await machinePostgresStartedAt()).toBe(machineStartedAt);
      const admin = new pg.Client({ connectionString: cluster!.url() });
      admin.on('error', () => undefined);
      await admin.connect();
      try {
        expect((await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database])).rowCount).toBe(0);
      } finally {
        await admin.end();
      }
    },
    5 * 60_000,
  );
});
