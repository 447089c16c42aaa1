import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { TestApi } from './support/harness.js';
import {
  createOrganizationSite,
  enrollDeviceAt,
  startApiWithLabHub,
  testHeartbeat,
  type EnrolledDevice,
  type LabHub,
} from './support/fleet.js';

/**
 * The API's two pools (db/database.ts): operators' requests and agents' requests do not share
 * connections, and operators' statements are bounded by DB_STATEMENT_TIMEOUT_MS. Operators are
 * held up for real: a transaction of the test locks the organizations table.
 */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe('database lanes: operators and devices on separate pools', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let device: EnrolledDevice;
  let sequence = 0;

  const heartbeat = () => api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, ++sequence) });

  /** Opens a transaction holding an exclusive lock on organizations until `release()`. */
  async function lockOrganizations(): Promise<{ release: () => Promise<void> }> {
    const client: pg.PoolClient = await api.sql.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
    return {
      release: async () => {
        await client.query('ROLLBACK');
        client.release();
      },
    };
  }

  /** Backends of the API waiting on a lock, by pool (application_name). */
  async function waiting(applicationName: string): Promise<number> {
    const r = await api.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
      [applicationName],
    );
    return r.rows[0]!.n;
  }

  beforeAll(async () => {
    // Two operator connections and no statement bound: the lock can hold every one of them.
    ({ api, hub } = await startApiWithLabHub({ DB_POOL_SIZE: '2', DB_DEVICE_POOL_SIZE: '2', DB_STATEMENT_TIMEOUT_MS: '0' }));
    admin = await api.adminToken();
    device = await enrollDeviceAt(api, admin, await createOrganizationSite(api, admin, 'Lanes'), 'lane-1');
    expect((await heartbeat()).status).toBe(200);
  });

  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('takes heartbeats while every operator connection waits on a lock', async () => {
    const lock = await lockOrganizations();
    let operatorsDone = false;
    const operators = Promise.all([1, 2, 3].map(() => api.request('GET', 'organizations', { token: admin }))).finally(
      () => (operatorsDone = true),
    );
    try {
      await until(async () => (await waiting('xspectre-api')) === 2, 'both operator connections waiting on the lock');
      const answer = await heartbeat();
      expect(answer.status).toBe(200);
      expect(answer.body.lastSequence).toBe(sequence);
      expect(operatorsDone).toBe(false); // the operators were still held when the heartbeat was stored
      const stored = await api.sql.query<{ s: string }>('SELECT last_sequence AS s FROM devices WHERE id = $1', [device.id]);
      expect(Number(stored.rows[0]!.s)).toBe(sequence);
    } finally {
      await lock.release();
    }
    for (const r of await operators) expect(r.status).toBe(200);
  });

  it("shows the devices' pool apart in pg_stat_activity", async () => {
    expect((await heartbeat()).status).toBe(200);
    const r = await api.sql.query<{ name: string }>(
      `SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'xspectre-api%'`,
    );
    expect(r.rows.map((x) => x.name).sort()).toEqual(['xspectre-api', 'xspectre-api-devices']);
  });
});

describe("operators' statements are bounded (DB_STATEMENT_TIMEOUT_MS)", () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let device: EnrolledDevice;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({ DB_STATEMENT_TIMEOUT_MS: '300' }));
    admin = await api.adminToken();
    device = await enrollDeviceAt(api, admin, await createOrganizationSite(api, admin, 'Bounded'), 'bounded-1');
  });

  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('answers 503 DATABASE_TIMEOUT when a read outlasts the bound, and writes nothing half', async () => {
    const client = await api.sql.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
    let read;
    let created;
    try {
      read = await api.request('GET', 'organizations', { token: admin });
      created = await api.request('POST', 'organizations', { token: admin, body: { name: 'Late Inc', kind: 'customer' } });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(read.status).toBe(503);
    expect(read.body).toMatchObject({ code: 'DATABASE_TIMEOUT' });
    expect(read.body.detail).toMatch(/took longer than this API allows/);
    expect(read.headers.get('retry-after')).toBe('5');
    expect(created.status).toBe(503);
    const names = await api.sql.query<{ name: string }>("SELECT name FROM organizations WHERE name = 'Late Inc'");
    expect(names.rows).toEqual([]);
    // The bound is the operators' alone: an agent's heartbeat waits for a lock as long as it takes.
    const locked = await api.sql.connect();
    await locked.query('BEGIN');
    await locked.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [device.id]);
    const pending = api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 1) });
    await until(async () => {
      const r = await api.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'xspectre-api-devices'
            AND wait_event_type = 'Lock' AND now() - query_start > interval '600 milliseconds'`,
      );
      return r.rows[0]!.n === 1;
    }, "the heartbeat's statement waiting twice the operators' bound");
    await locked.query('ROLLBACK');
    locked.release();
    expect((await pending).status).toBe(200);
    // Operators are served again once the lock is gone.
    expect((await api.request('GET', 'organizations', { token: admin })).status).toBe(200);
  });
});
