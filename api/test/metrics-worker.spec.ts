import { existsSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_DELIVERY_QUEUE } from '../src/alert-delivery/alert-delivery.jobs.js';
import { alertDeliveryBullPrefix } from '../src/alert-delivery/alert-delivery.queue.js';
import { loadConfig, type AppConfig } from '../src/config/config.js';
import { runMigrations } from '../src/db/migrate.js';
import { MAINTENANCE_QUEUE } from '../src/worker/maintenance.jobs.js';
import { bullPrefix } from '../src/worker/maintenance.worker.js';
import { WORKER, freePort, startBuilt, waitForProcess, type BuiltProcess } from './support/built-process.js';
import { createTestDatabase, testEnv } from './support/harness.js';
import { DEFAULT_METRIC_LINT, hasPromtool, promtoolCheckMetrics, sampleValue, scrape, type Sample } from './support/metrics-text.js';

/** The built worker process with WORKER_METRICS_LISTEN: queue depths and job outcomes over a real queue in Redis. */
describe('worker metrics', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let config: AppConfig;
  let env: Record<string, string>;
  let proc: BuiltProcess;
  let url: string;
  let maintenance: Queue;
  let deliveries: Queue;

  const scrapeWhen = async (what: string, check: (s: Sample[]) => boolean): Promise<Sample[]> => {
    let last: Sample[] = [];
    await waitForProcess(proc, what, async () => {
      last = (await scrape(url).catch(() => ({ samples: [] as Sample[] }))).samples;
      return check(last);
    });
    return last;
  };

  beforeAll(async () => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run \`npx tsc -b\` first`);
    db = await createTestDatabase({ migrated: true });
    await runMigrations(db.url);
    const port = await freePort();
    env = testEnv(db.url, { WORKER_METRICS_LISTEN: `127.0.0.1:${port}` });
    config = loadConfig(env);
    url = `http://127.0.0.1:${port}/metrics`;
    maintenance = new Queue(MAINTENANCE_QUEUE, { connection: { url: config.REDIS_URL }, prefix: bullPrefix(config) });
    deliveries = new Queue(ALERT_DELIVERY_QUEUE, { connection: { url: config.REDIS_URL }, prefix: alertDeliveryBullPrefix(config) });
    proc = startBuilt(WORKER, env);
  });

  afterAll(async () => {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    for (const queue of [maintenance, deliveries]) {
      await queue?.obliterate({ force: true });
      await queue?.close();
    }
    await db?.drop();
  });

  it('counts job outcomes by queue and reads queue depths by state', async () => {
    // Every schedule runs once at start: completed maintenance jobs show up without our help.
    await scrapeWhen(
      'a completed maintenance job',
      (s) => (sampleValue(s, 'xspectre_worker_jobs_total', { queue: MAINTENANCE_QUEUE, outcome: 'completed' }) ?? 0) >= 1,
    );
    // An unknown job name fails loudly in the processor (one attempt: no retry).
    await maintenance.add('no-such-job', {}, { attempts: 1, removeOnFail: false });
    // A delivery due in an hour waits as delayed.
    await deliveries.add('deliver', {}, { delay: 3_600_000 });
    const s = await scrapeWhen(
      'the failed job and the delayed one',
      (s) =>
        (sampleValue(s, 'xspectre_worker_jobs_total', { queue: MAINTENANCE_QUEUE, outcome: 'failed' }) ?? 0) >= 1 &&
        (sampleValue(s, 'xspectre_worker_queue_jobs', { queue: ALERT_DELIVERY_QUEUE, state: 'delayed' }) ?? 0) >= 1,
    );
    expect(sampleValue(s, 'xspectre_worker_queue_jobs', { queue: MAINTENANCE_QUEUE, state: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(s, 'xspectre_worker_jobs_total', { queue: ALERT_DELIVERY_QUEUE, outcome: 'failed' })).toBe(0);
    for (const queue of [MAINTENANCE_QUEUE, ALERT_DELIVERY_QUEUE])
      for (const state of ['waiting', 'active', 'delayed', 'failed'])
        expect(sampleValue(s, 'xspectre_worker_queue_jobs', { queue, state }), `${queue} ${state}`).toBeGreaterThanOrEqual(0);
    expect(sampleValue(s, 'xspectre_worker_process_resident_memory_bytes')).toBeGreaterThan(0);
    const other = await fetch(url.replace(/\/metrics$/, '/'));
    expect(other.status).toBe(404);
  });

  it.skipIf(!hasPromtool)('is a valid exposition (promtool check metrics)', async () => {
    const check = await promtoolCheckMetrics((await scrape(url)).text);
    expect(check.parsed, check.output).toBe(true);
    expect(check.lint.filter((line) => !DEFAULT_METRIC_LINT.test(line))).toEqual([]);
  });

  it('stops its listener with the process on SIGTERM', async () => {
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });
});
