import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { runMigrations } from '../src/db/migrate.js';
import { MAINTENANCE_QUEUE } from '../src/worker/maintenance.jobs.js';
import { bullPrefix } from '../src/worker/maintenance.worker.js';
import { MAIN, WORKER, freePort, jsonLines, startBuilt, waitForProcess, type BuiltProcess } from './support/built-process.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, testEnv } from './support/harness.js';
import { PrivatePostgres } from './support/private-postgres.js';

/**
 * PostgreSQL away at boot: the built API and worker start against a private cluster that is not
 * running yet (never the machine's), wait for it with backoff (logging what they wait for, never
 * the password) while the API's port answers liveness 200 and readiness 503, then start normally
 * once the cluster is up and migrated.
 */
// Each case starts the built API and worker and migrates a fresh database: about 45–60 s when the
// machine runs other lanes beside this one (infra/scripts/test.sh), over the default 60 s.
describe('boot while PostgreSQL is away', { timeout: 180_000 }, () => {
  const PASSWORD = 'never-logged-pw-7f3a';
  let cluster: PrivatePostgres;
  const spawned: BuiltProcess[] = [];
  const queues: Record<string, string>[] = [];

  beforeAll(async () => {
    for (const file of [MAIN, WORKER]) if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -b\` first`);
    cluster = await PrivatePostgres.create(await freePort());
  });
  afterAll(async () => {
    for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const env of queues) {
      const queue = new Queue(MAINTENANCE_QUEUE, { connection: { url: env.REDIS_URL! }, prefix: bullPrefix(loadConfig(env)) });
      await queue.obliterate({ force: true });
      await queue.close();
      await rm(env.API_AUDIT_ANCHOR_DIR!, { recursive: true, force: true });
      await rm(env.API_KEY_STORE_DIR!, { recursive: true, force: true });
    }
    await cluster?.destroy();
  });

  it('waits with backoff, answers liveness 200 and readiness 503 meanwhile, then starts on the same port', async () => {
    const port = await freePort();
    // Trust authentication ignores the password: it is there to prove it is never logged.
    const dbUrl = `postgres://postgres:${PASSWORD}@127.0.0.1:${cluster.port}/xs_boot`;
    const env = testEnv(dbUrl, { API_PORT: String(port), API_LOG_LEVEL: 'info' });
    const api = startBuilt(MAIN, env);
    const worker = startBuilt(WORKER, env);
    spawned.push(api, worker);
    queues.push(env);
    const base = `http://127.0.0.1:${port}/api/v1`;
    const waits = (p: BuiltProcess) => jsonLines(p.stdout()).filter((l) => l.msg === 'waiting for PostgreSQL');

    await waitForProcess(api, 'a waiting log line', () => waits(api).length > 0);
    expect(waits(api)[0]).toMatchObject({ database: `127.0.0.1:${cluster.port}/xs_boot`, attempt: 1, retryInMs: 500 });
    expect(waits(api)[0]!.reason).toMatch(/ECONNREFUSED/);

    await waitForProcess(api, 'the placeholder port', async () => (await fetch(`${base}/health`).catch(() => null))?.status === 200);
    // Longer than the ~3 s after which the API used to exit.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    const live = await fetch(`${base}/health`);
    expect(await live.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { postgres: { ok: false } } });
    const other = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    expect(other.status).toBe(503);
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(other.headers.get('retry-after')).toBe('5');
    expect(await other.json()).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    // Backoff: the delays grow (0.5 s doubling).
    expect(waits(api).map((l) => l.retryInMs)).toEqual(expect.arrayContaining([500, 1000, 2000]));

    // PostgreSQL comes up, but the database is not created and migrated yet: still waiting.
    await cluster.start();
    const admin = new pg.Client({ connectionString: cluster.url() });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE DATABASE xs_boot');
    await admin.end();
    const schemaWait = (p: BuiltProcess) => waits(p).some((l) => /schema is not migrated/.test(l.reason));
    await waitForProcess(api, 'a wait for the schema', () => schemaWait(api), 20_000);
    expect((await fetch(`${base}/health/ready`)).status).toBe(503);
    await runMigrations(cluster.url('xs_boot'));

    await waitForProcess(api, 'readiness', async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status === 200, 30_000);
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    await waitForProcess(worker, 'the worker start', () => worker.stdout().includes('"msg":"maintenance worker started"'), 30_000);
    expect(waits(worker).length).toBeGreaterThan(0);

    for (const p of [api, worker]) expect(p.stdout() + p.stderr()).not.toContain(PASSWORD);

    for (const p of [api, worker]) {
      p.child.kill('SIGTERM');
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }
  });

  it('gives up after DB_WAIT_SECONDS when set', async () => {
    const closed = await freePort();
    const api = startBuilt(
      MAIN,
      testEnv(`postgres://postgres@127.0.0.1:${closed}/none`, {
        API_PORT: String(await freePort()),
        API_LOG_LEVEL: 'info',
        DB_WAIT_SECONDS: '2',
      }),
    );
    spawned.push(api);
    const exit = await api.exited;
    expect(exit.code).toBe(1);
    expect(
      jsonLines(api.stdout()).some((l) => l.msg === 'PostgreSQL did not become ready' && /DB_WAIT_SECONDS=2/.test(l.err?.message)),
    ).toBe(true);
  });
});
