import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { runMigrations } from '../src/db/migrate.js';
import { MAINTENANCE_QUEUE } from '../src/worker/maintenance.jobs.js';
import { bullPrefix } from '../src/worker/maintenance.worker.js';
import { createTestDatabase, testEnv } from './support/harness.js';
import { MAIN, WORKER, freePort, jsonLines, startBuilt, waitForProcess, type BuiltProcess } from './support/built-process.js';

// The built entry points, as `npm start` runs them: this catches what in-process tests cannot
// (top-level startup code, signal handling, exit codes, what reaches stdout).
const GRACE_MS = 5_000;
type Proc = BuiltProcess;

const spawned: ChildProcess[] = [];

function start(script: string, env: Record<string, string>): Proc {
  const proc = startBuilt(script, env);
  spawned.push(proc.child);
  return proc;
}

const waitFor = waitForProcess;

/** SIGTERM, then the exit status and how long it took (null status: still running after the grace period). */
async function terminate(proc: Proc): Promise<{ exit: { code: number | null; signal: string | null } | null; ms: number }> {
  const t0 = Date.now();
  proc.child.kill('SIGTERM');
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), GRACE_MS + 1_000));
  const exit = await Promise.race([proc.exited, timeout]);
  return { exit, ms: Date.now() - t0 };
}

describe('process lifecycle (built entry points)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const queuesToRemove: Record<string, string>[] = [];

  beforeAll(async () => {
    for (const file of [MAIN, WORKER]) if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -b\` first`);
    db = await createTestDatabase({ migrated: true });
    await runMigrations(db.url);
  });

  afterAll(async () => {
    for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // The worker leaves its schedules in Redis under its test-only prefix.
    for (const env of queuesToRemove) {
      const config = loadConfig(env);
      const queue = new Queue(MAINTENANCE_QUEUE, { connection: { url: config.REDIS_URL }, prefix: bullPrefix(config) });
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await db?.drop();
  });

  it('API: serves, then exits 0 on SIGTERM within the grace period, logging JSON only', async () => {
    const port = await freePort();
    const api = start(MAIN, testEnv(db.url, { API_PORT: String(port), API_LOG_LEVEL: 'info', API_SHUTDOWN_GRACE_MS: String(GRACE_MS) }));
    await waitFor(
      api,
      'readiness',
      async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`).catch(() => null))?.status === 200,
    );

    const { exit, ms } = await terminate(api);
    const lines = jsonLines(api.stdout());
    expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
    // Exit 0, not death by the signal: supervisors and `npm stop` read that as a clean stop.
    expect(exit, `stderr:\n${api.stderr()}`).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(GRACE_MS);
  });

  it.each([
    ['API', MAIN],
    ['worker', WORKER],
  ])('%s: a bad environment stops it with code 2, naming every bad key', async (_name, script) => {
    const env = testEnv(db.url, { DB_URL: 'not-a-url' });
    delete env.API_SECRET_KEY;
    const proc = start(script, env);
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    expect(proc.stderr()).toContain('DB_URL');
    expect(proc.stderr()).toContain('API_SECRET_KEY');
  });

  it('worker: starts, then exits 0 on SIGTERM, logging JSON only', async () => {
    const env = testEnv(db.url, { API_LOG_LEVEL: 'info', API_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    queuesToRemove.push(env);
    const worker = start(WORKER, env);
    await waitFor(worker, 'the started log line', () => worker.stdout().includes('"msg":"maintenance worker started"'));

    const { exit, ms } = await terminate(worker);
    expect(exit, `stderr:\n${worker.stderr()}`).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(GRACE_MS);
    const lines = jsonLines(worker.stdout());
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['maintenance worker started', 'shutting down', 'worker stopped']));
  });
});
