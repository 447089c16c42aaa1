import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { QueueEvents, type Queue } from 'bullmq';
import pg from 'pg';
import type { AuditVerifyResponse } from '@xspectre/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../src/audit/audit.service.js';
import { createLogger, NestPinoLogger } from '../src/common/logging/logger.js';
import { loadConfig, type AppConfig } from '../src/config/config.js';
import { runMigrations } from '../src/db/migrate.js';
import { MAINTENANCE_QUEUE, MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { MaintenanceProcessor } from '../src/worker/maintenance.processor.js';
import { bullPrefix, MaintenanceWorker } from '../src/worker/maintenance.worker.js';
import { WorkerModule } from '../src/worker/worker.module.js';
import { createTestDatabase, testEnv } from './support/harness.js';

/** The worker in-process, on a real queue in Redis (own key prefix) and its own database. */
describe('maintenance worker', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let config: AppConfig;
  let app: INestApplicationContext;
  let worker: MaintenanceWorker;
  let events: QueueEvents;
  let sql: pg.Pool;

  // Enqueues a job like any producer would and waits for the worker's verdict.
  async function run<T = unknown>(name: string): Promise<T> {
    const job = await (worker.queue as unknown as Queue).add(name, {});
    return (await job.waitUntilFinished(events, 30_000)) as T;
  }

  async function firstRunsDone(names: string[]): Promise<boolean> {
    const done = await worker.queue.getJobs(['completed']);
    return names.every((name) => done.some((j) => j.name === name));
  }

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    await runMigrations(db.url);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    // Dropping the database (WITH FORCE) ends idle clients: expected, never an uncaught exception.
    sql.on('error', () => undefined);
    config = loadConfig(testEnv(db.url));
    app = await NestFactory.createApplicationContext(WorkerModule.register(config), { logger: new NestPinoLogger(createLogger('silent')) });
    events = new QueueEvents(MAINTENANCE_QUEUE, { connection: { url: config.REDIS_URL }, prefix: bullPrefix(config) });
    await events.waitUntilReady();
    worker = await MaintenanceWorker.start(config, app.get(MaintenanceProcessor));
    // An `every` schedule runs once right away; let that purge and audit verification finish so they cannot race the tests.
    const deadline = Date.now() + 15_000;
    const firstRuns = [MaintenanceJob.PurgeSessions, MaintenanceJob.VerifyAuditChain];
    while (!(await firstRunsDone(firstRuns))) {
      if (Date.now() > deadline) throw new Error('the scheduled purge never ran');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    await worker?.worker.close();
    await worker?.queue.obliterate({ force: true });
    await worker?.close();
    await events?.close();
    await app?.close();
    await sql?.end();
    await db?.drop();
  });

  it('registers the hourly purge, the 5-minute incremental audit check and the daily full one', async () => {
    const schedulers = await worker.queue.getJobSchedulers();
    const byName = Object.fromEntries(schedulers.map((s) => [s.name, s]));
    expect(byName[MaintenanceJob.PurgeSessions]?.every).toBe(3600_000);
    expect(byName[MaintenanceJob.VerifyAuditChain]?.every).toBe(300_000);
    expect(byName[MaintenanceJob.VerifyAuditChainFull]?.pattern).toBe('30 3 * * *');
  });

  it('purges sessions that ended more than 7 days ago and keeps the rest', async () => {
    const { rows: users } = await sql.query(
      `INSERT INTO users (email, display_name, role, password_hash) VALUES ('purge@test.local', 'Purge', 'read_only', 'x') RETURNING id`,
    );
    const insert = async (expiresAt: string, revokedAt: string | null): Promise<string> => {
      const { rows } = await sql.query(
        `INSERT INTO auth_sessions (user_id, expires_at, revoked_at) VALUES ($1, now() + $2::interval, now() + $3::interval) RETURNING id`,
        [users[0].id, expiresAt, revokedAt],
      );
      return rows[0].id;
    };
    const expiredLongAgo = await insert('-8 days', null);
    const revokedLongAgo = await insert('+1 day', '-8 days');
    const expiredRecently = await insert('-1 day', null);
    const fresh = await insert('+1 day', null);

    expect(await run(MaintenanceJob.PurgeSessions)).toEqual({ purged: 2 });
    const { rows } = await sql.query('SELECT id FROM auth_sessions');
    const left = rows.map((r) => r.id).sort();
    expect(left).toEqual([expiredRecently, fresh].sort());
    expect(left).not.toContain(expiredLongAgo);
    expect(left).not.toContain(revokedLongAgo);
  });

  it('reports an intact audit chain, then the first tampered row', async () => {
    await app
      .get(AuditService)
      .appendDetached({ action: 'test.event', resourceType: 'test', result: 'success', userId: null, userEmail: 'test' });
    expect(await run(MaintenanceJob.VerifyAuditChain)).toMatchObject({ intact: true, checked: 1, firstBrokenId: null });

    // Only a superuser who switches the append-only trigger off can do this; the chain still tells.
    await sql.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
      UPDATE audit_events SET action = 'tampered' WHERE id = 1;
      ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;`);
    const result = await run<AuditVerifyResponse>(MaintenanceJob.VerifyAuditChain);
    expect(result).toMatchObject({ intact: false, firstBrokenId: '1' });

    const { rows } = await sql.query(`SELECT * FROM audit_events WHERE action = 'audit.chain_broken'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ resource_type: 'audit', result: 'failure', user_id: null, user_email: 'system' });
    expect(rows[0].details).toEqual({ firstBrokenId: '1', reason: result.reason });
  });

  it('keeps metric partitions a week ahead and drops days past the retention', async () => {
    // The hourly schedule also runs once at start; wait for it so the two runs cannot race.
    const deadline = Date.now() + 15_000;
    while (!(await worker.queue.getJobs(['completed'])).some((j) => j.name === MaintenanceJob.MetricPartitions)) {
      if (Date.now() > deadline) throw new Error('the scheduled partition job never ran');
      await new Promise((r) => setTimeout(r, 100));
    }
    await sql.query(
      `CREATE TABLE metric_samples_20200101 PARTITION OF metric_samples FOR VALUES FROM ('2020-01-01 00:00Z') TO ('2020-01-02 00:00Z')`,
    );
    const result = await run<{ created: number; dropped: string[] }>(MaintenanceJob.MetricPartitions);
    expect(result.dropped).toEqual(['metric_samples_20200101']);
    const { rows } = await sql.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metric_samples'`,
    );
    const names = rows.map((r: { name: string }) => r.name);
    const day = (offset: number) =>
      `metric_samples_${new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;
    expect(names).toEqual(expect.arrayContaining([day(0), day(7)]));
    expect(names).not.toContain('metric_samples_20200101');
    const schedulers = Object.fromEntries((await worker.queue.getJobSchedulers()).map((s) => [s.name, s]));
    expect(schedulers[MaintenanceJob.MetricPartitions]?.every).toBe(3600_000);
  });

  it('marks a device offline once, three intervals after its last heartbeat', async () => {
    const { rows: orgs } = await sql.query(`INSERT INTO organizations (name, kind) VALUES ('Offline Co', 'customer') RETURNING id`);
    const { rows: sites } = await sql.query(`INSERT INTO sites (organization_id, name, time_zone) VALUES ($1, 'S', 'UTC') RETURNING id`, [
      orgs[0].id,
    ]);
    const insertDevice = async (name: string, lastSeen: string) =>
      (
        await sql.query(
          `INSERT INTO devices (name, organization_id, site_id, type, status, last_heartbeat_at) VALUES ($1, $2, $3, 'server', 'active', now() - $4::interval) RETURNING id`,
          [name, orgs[0].id, sites[0].id, lastSeen],
        )
      ).rows[0].id as string;
    const silent = await insertDevice('silent', '10 minutes');
    const alive = await insertDevice('alive', '10 seconds');
    for (const id of [silent, alive])
      await sql.query(`INSERT INTO device_connectivity_events (device_id, state, at) VALUES ($1, 'online', now() - interval '1 hour')`, [
        id,
      ]);

    const first = await run<{ wentOffline: string[] }>(MaintenanceJob.DetectOffline);
    expect(first.wentOffline).toContain(silent);
    expect(first.wentOffline).not.toContain(alive);
    expect((await run<{ wentOffline: string[] }>(MaintenanceJob.DetectOffline)).wentOffline).not.toContain(silent);
    const { rows } = await sql.query(
      `SELECT state, extract(epoch FROM (e.at - d.last_heartbeat_at))::int AS after FROM device_connectivity_events e JOIN devices d ON d.id = e.device_id WHERE e.device_id = $1 ORDER BY e.at`,
      [silent],
    );
    expect(rows.map((r: { state: string }) => r.state)).toEqual(['online', 'offline']);
    expect(rows[1].after).toBe(90);
  });

  it('rolls samples up into minutes and hours, folding in late arrivals', async () => {
    const { rows: orgs } = await sql.query(`INSERT INTO organizations (name, kind) VALUES ('Rollup Co', 'customer') RETURNING id`);
    const { rows: sites } = await sql.query(`INSERT INTO sites (organization_id, name, time_zone) VALUES ($1, 'S', 'UTC') RETURNING id`, [
      orgs[0].id,
    ]);
    const { rows: devices } = await sql.query(
      `INSERT INTO devices (name, organization_id, site_id, type, status) VALUES ('roll', $1, $2, 'server', 'active') RETURNING id`,
      [orgs[0].id, sites[0].id],
    );
    const id = devices[0].id as string;
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000); // the previous full hour
    const at = (minute: number, second: number) => new Date(hour.getTime() + minute * 60_000 + second * 1000);
    const sample = (seq: number, t: Date, cpu: number) =>
      sql.query(
        `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes, swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
         VALUES ($1, $2, $3, now(), $4, 1, 100, 1000, 0, 50, 10, 20)`,
        [id, t, seq, cpu],
      );
    await sample(1, at(5, 0), 10);
    await sample(2, at(5, 20), 20);
    await sample(3, at(5, 40), 60);
    await sample(4, at(6, 0), 90);
    await run(MaintenanceJob.MetricRollups);
    const minutes = async () =>
      (await sql.query(`SELECT bucket, samples, cpu_avg, cpu_max FROM metric_rollups_1m WHERE device_id = $1 ORDER BY bucket`, [id])).rows;
    expect(await minutes()).toEqual([
      { bucket: at(5, 0), samples: 3, cpu_avg: 30, cpu_max: 60 },
      { bucket: at(6, 0), samples: 1, cpu_avg: 90, cpu_max: 90 },
    ]);
    const hours = async () =>
      (await sql.query(`SELECT bucket, samples, cpu_avg, cpu_max FROM metric_rollups_1h WHERE device_id = $1`, [id])).rows;
    expect(await hours()).toEqual([{ bucket: hour, samples: 4, cpu_avg: 45, cpu_max: 90 }]);

    // A late sample for minute 5 (a replayed journal) arrives now: its minute and hour are recomputed.
    await sample(5, at(5, 50), 10);
    await run(MaintenanceJob.MetricRollups);
    expect((await minutes())[0]).toEqual({ bucket: at(5, 0), samples: 4, cpu_avg: 25, cpu_max: 60 });
    expect(await hours()).toEqual([{ bucket: hour, samples: 5, cpu_avg: 38, cpu_max: 90 }]);
  });

  it('fails an unknown job at once, without retries', async () => {
    await expect(run('maintenance.no-such-job')).rejects.toThrow(/unknown maintenance job "maintenance.no-such-job"/);
    const [failed] = await worker.queue.getJobs(['failed']);
    expect(failed?.attemptsMade).toBe(1);
  });
});
