import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate.js';
import { MIGRATIONS } from '../src/db/migrations/index.js';
import { HeartbeatRetention1795580000000 } from '../src/db/migrations/1795580000000-HeartbeatRetention.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import { runMaintenanceJob } from './support/worker-job.js';

/**
 * Raw heartbeat rows partitioned by day and dropped after the retention, with idempotency kept by
 * the per-device anti-replay window (device_heartbeat_windows), through the real route.
 */
describe('heartbeat retention and the anti-replay window', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  let n = 0;

  const device = async () => enrollDeviceAt(api, admin, where, `ret-${n++}`);
  const post = (d: { id: string; credential: string }, sequences: number[]) =>
    api.request('POST', 'agent/heartbeats', { token: d.credential, body: { heartbeats: sequences.map((s) => testHeartbeat(d.id, s)) } });
  const stored = async (deviceId: string): Promise<number[]> =>
    (await api.sql.query('SELECT sequence::int AS s FROM device_heartbeats WHERE device_id = $1 ORDER BY sequence', [deviceId])).rows.map(
      (r) => r.s,
    );
  /** The window as (high, the sequences its set bits stand for). */
  const windowOf = async (deviceId: string): Promise<{ high: number; seen: number[] }> => {
    const { rows } = await api.sql.query(
      'SELECT high_sequence::text AS high, seen::text AS seen FROM device_heartbeat_windows WHERE device_id = $1',
      [deviceId],
    );
    const high = Number(rows[0].high);
    const seen = [...(rows[0].seen as string)].flatMap((bit, i) => (bit === '1' ? [high - i] : [])).sort((a, b) => a - b);
    return { high, seen };
  };
  const partitions = async (): Promise<string[]> =>
    (
      await api.sql.query(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          WHERE p.relname = 'device_heartbeats' ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const dayName = (offsetDays: number) =>
    `device_heartbeats_${new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    where = await createOrganizationSite(api, admin, 'Retention Co');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('counts a replayed heartbeat as a duplicate', async () => {
    const d = await device();
    expect((await post(d, [1, 2])).body).toMatchObject({ accepted: 2, duplicates: 0, lastSequence: 2 });
    expect((await post(d, [1, 2])).body).toMatchObject({ accepted: 0, duplicates: 2, lastSequence: 2 });
    expect(await stored(d.id)).toEqual([1, 2]);
    expect(await windowOf(d.id)).toEqual({ high: 2, seen: [1, 2] });
  });

  it('stores a heartbeat older than the highest one once when it is within the window', async () => {
    const d = await device();
    await post(d, [10]);
    expect((await post(d, [7, 8])).body).toMatchObject({ accepted: 2, duplicates: 0, lastSequence: 10 });
    expect((await post(d, [7, 8, 9])).body).toMatchObject({ accepted: 1, duplicates: 2 });
    expect(await stored(d.id)).toEqual([7, 8, 9, 10]);
    expect(await windowOf(d.id)).toEqual({ high: 10, seen: [7, 8, 9, 10] });
  });

  it('counts a heartbeat at or below high - 1024 as a duplicate, one above it as new', async () => {
    const d = await device();
    await post(d, [2000]);
    expect((await post(d, [976])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await post(d, [977])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await stored(d.id)).toEqual([977, 2000]);
    expect(await windowOf(d.id)).toEqual({ high: 2000, seen: [977, 2000] });
  });

  it('follows a jump of 1,000,000 sequences', async () => {
    const d = await device();
    await post(d, [1, 2, 3]);
    expect((await post(d, [1_000_003])).body).toMatchObject({ accepted: 1, lastSequence: 1_000_003 });
    expect(await windowOf(d.id)).toEqual({ high: 1_000_003, seen: [1_000_003] });
    // Within one batch: the window moves to the highest, the others land below it.
    expect((await post(d, [3, 1_000_001, 1_000_002, 2_000_000])).body).toMatchObject({ accepted: 3, duplicates: 1 });
    expect(await windowOf(d.id)).toEqual({ high: 2_000_000, seen: [2_000_000] });
    expect((await post(d, [1_000_001, 1_999_000, 1_999_999])).body).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(await windowOf(d.id)).toEqual({ high: 2_000_000, seen: [1_999_000, 1_999_999, 2_000_000] });
    expect(await stored(d.id)).toEqual([1, 2, 3, 1_000_001, 1_000_002, 1_000_003, 1_999_000, 1_999_999, 2_000_000]);
  });

  it('two API instances writing overlapping batches of one device, its first ones too, store each sequence once', async () => {
    const d = await device();
    const sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    try {
      let accepted = 0;
      for (let round = 0; round < 10; round++) {
        const base = round * 10;
        const below = Array.from({ length: 6 }, (_, i) => base + 1 + i);
        const above = Array.from({ length: 7 }, (_, i) => base + 4 + i);
        const replies = await Promise.all([
          post(d, below),
          sibling.request('POST', 'agent/heartbeats', {
            token: d.credential,
            body: { heartbeats: above.map((s) => testHeartbeat(d.id, s)) },
          }),
        ]);
        expect(replies.map((r) => r.status)).toEqual([200, 200]);
        accepted += replies[0].body.accepted + replies[1].body.accepted;
      }
      expect(accepted).toBe(100);
      expect(await stored(d.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(await windowOf(d.id)).toEqual({ high: 100, seen: Array.from({ length: 100 }, (_, i) => i + 1) });
    } finally {
      await sibling.stop();
    }
  });

  it('the retention job drops old days and keeps today; a heartbeat of a dropped day stays a duplicate', async () => {
    const d = await device();
    await post(d, [1, 2]);
    // Day 2020-01-01 stands for a day past the retention: the device's rows are moved into it.
    await api.sql.query(`SELECT ensure_day_partitions('device_heartbeats', '2020-01-01', 1)`);
    await api.sql.query(`UPDATE device_heartbeats SET received_at = '2020-01-01T12:00:00Z' WHERE device_id = $1`, [d.id]);
    expect(await partitions()).toContain('device_heartbeats_20200101');

    const result = await runMaintenanceJob<{ created: number; dropped: string[] }>(api, MaintenanceJob.HeartbeatPartitions);
    expect(result.dropped).toEqual(['device_heartbeats_20200101']);
    const left = await partitions();
    expect(left).not.toContain('device_heartbeats_20200101');
    expect(left).toEqual(expect.arrayContaining([dayName(-1), dayName(0), dayName(7)]));
    expect(await stored(d.id)).toEqual([]);

    expect((await post(d, [1, 2])).body).toMatchObject({ accepted: 0, duplicates: 2, lastSequence: 2 });
    expect((await post(d, [3])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await stored(d.id)).toEqual([3]);
    const part = await api.sql.query('SELECT tableoid::regclass::text AS part FROM device_heartbeats WHERE device_id = $1', [d.id]);
    expect(part.rows[0].part).toBe(dayName(0));
  });

  it('the partition functions refuse, for the API role, tables and names outside the allow-list', async () => {
    const app = new pg.Client({ connectionString: api.config.DB_URL });
    app.on('error', () => undefined);
    await app.connect();
    try {
      const refused = async (sql: string) => {
        const error = await app.query(sql).then(
          () => null,
          (e: { code?: string }) => e,
        );
        return error?.code;
      };
      expect(await refused(`SELECT ensure_day_partitions('users', current_date, 1)`)).toBe('22023');
      expect(await refused(`SELECT ensure_day_partitions('device_heartbeats', current_date, 401)`)).toBe('22023');
      expect(await refused(`SELECT drop_day_partition('audit_events', 'audit_events_20200101')`)).toBe('22023');
      expect(await refused(`SELECT drop_day_partition('device_heartbeats', 'users')`)).toBe('22023');
      expect(await refused(`SELECT drop_day_partition('metric_samples', 'device_heartbeats_20200101')`)).toBe('22023');
      // The API's role owns none of these tables: only the owner's functions may drop partitions.
      expect(await refused(`DROP TABLE ${dayName(0)}`)).toBe('42501');
      const notAPartition = await app.query(`SELECT drop_day_partition('device_heartbeats', 'device_heartbeats_19990101') AS dropped`);
      expect(notAPartition.rows[0].dropped).toBe(false);
      const created = await app.query(`SELECT ensure_day_partitions('device_heartbeats', current_date, 1) AS created`);
      expect(created.rows[0].created).toBe(0);
    } finally {
      await app.end();
    }
  });

  it('the migration from a populated plain table keeps idempotency: exact windows, retained rows moved', async () => {
    const d = await device();
    await post(d, [1]);
    const ownerUrl = api.sql.options.connectionString!;
    const mine = MIGRATIONS.indexOf(HeartbeatRetention1795580000000);
    for (let i = mine; i < MIGRATIONS.length; i++) await runMigrations(ownerUrl, true);
    expect((await api.sql.query(`SELECT relkind FROM pg_class WHERE relname = 'device_heartbeats'`)).rows[0].relkind).toBe('r');

    // 1..1500 stored except 1000 and 1400; 2..10 received 30 days ago (past the 7 days moved).
    const gaps = new Set([1000, 1400]);
    const sequences = Array.from({ length: 1499 }, (_, i) => i + 2).filter((s) => !gaps.has(s));
    await api.sql.query(
      `INSERT INTO device_heartbeats (device_id, sequence, sent_at, received_at, uptime_seconds, agent_version)
       SELECT $1, s, now(), CASE WHEN s <= 10 THEN now() - interval '30 days' ELSE now() END, 1, '0.1.0' FROM unnest($2::bigint[]) AS s`,
      [d.id, sequences],
    );
    await api.sql.query('UPDATE devices SET last_sequence = 1500 WHERE id = $1', [d.id]);
    expect(await runMigrations(ownerUrl)).toEqual(MIGRATIONS.slice(mine).map((m) => m.name));

    const expectedSeen = [1, ...sequences].filter((s) => s > 1500 - 1024);
    expect(await windowOf(d.id)).toEqual({ high: 1500, seen: expectedSeen });
    const kept = await stored(d.id);
    expect(kept).toHaveLength(1500 - 2 - 9);
    expect(kept.slice(0, 2)).toEqual([1, 11]);

    expect((await post(d, [5, 480, 1399, 1500])).body).toMatchObject({ accepted: 0, duplicates: 4, lastSequence: 1500 });
    expect((await post(d, [1000, 1400, 1501])).body).toMatchObject({ accepted: 3, duplicates: 0, lastSequence: 1501 });
    expect((await post(d, [1000, 1400, 1501])).body).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(await stored(d.id)).toHaveLength(1500 - 2 - 9 + 3);
  });
});
