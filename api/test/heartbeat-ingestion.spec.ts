import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { enrollBody, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

const DEVICES = 8;

/** The heartbeat group commit through the real route, database and hub. */
describe('heartbeat ingestion (group commit)', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let devices: Array<{ id: string; credential: string }>;

  const hb = testHeartbeat;
  const post = (device: { credential: string }, body: unknown) =>
    api.request('POST', 'agent/heartbeats', { token: device.credential, body });
  const stored = async (deviceId: string) =>
    (await api.sql.query('SELECT sequence::int FROM device_heartbeats WHERE device_id = $1 ORDER BY sequence', [deviceId])).rows.map(
      (r) => r.sequence,
    );
  const metrics = {
    cpuPercent: 12,
    load: [0.1, 0.1, 0.1] as [number, number, number],
    memory: { totalBytes: 100, usedBytes: 40, swapTotalBytes: 0, swapUsedBytes: 0 },
    mounts: [],
    network: [],
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Ingest Co', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const created = await api.request('POST', 'devices', {
        token: admin,
        body: { name: `ing-${i}`, organizationId: org.body.id, siteId: site.body.id, type: 'server' },
      });
      const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
      devices.push({ id: enrolled.body.deviceId, credential: enrolled.body.deviceCredential });
    }
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('answers concurrent requests of many devices from shared commits, each with its own count', async () => {
    const replies = await Promise.all(
      devices.flatMap((d) =>
        [1, 2, 3, 4, 5].map((sequence) => post(d, hb(d.id, sequence, { metrics: { ...metrics, cpuPercent: sequence } }))),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    expect(replies.map((r) => r.body.accepted)).toEqual(replies.map(() => 1));
    for (const d of devices) {
      expect(await stored(d.id)).toEqual([1, 2, 3, 4, 5]);
      const latest = await api.sql.query('SELECT sequence::int, metrics FROM device_telemetry WHERE device_id = $1', [d.id]);
      expect(latest.rows[0]).toMatchObject({ sequence: 5, metrics: { cpuPercent: 5 } });
      const device = await api.request('GET', `devices/${d.id}`, { token: admin });
      expect(device.body).toMatchObject({ connectivity: 'online' });
    }
    const samples = await api.sql.query('SELECT count(*)::int AS n FROM metric_samples');
    expect(samples.rows[0].n).toBe(DEVICES * 5);
  });

  it('stores a heartbeat sent several times at once exactly once, and credits it once', async () => {
    const d = devices[0]!;
    const replies = await Promise.all(Array.from({ length: 6 }, () => post(d, hb(d.id, 6, { metrics }))));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(replies.reduce((sum, r) => sum + r.body.accepted, 0)).toBe(1);
    expect(replies.reduce((sum, r) => sum + r.body.duplicates, 0)).toBe(5);
    expect(await stored(d.id)).toEqual([1, 2, 3, 4, 5, 6]);
    const samples = await api.sql.query('SELECT count(*)::int AS n FROM metric_samples WHERE device_id = $1 AND sequence = 6', [d.id]);
    expect(samples.rows[0].n).toBe(1);
  });

  it('creates the metric partition of a day the worker has not prepared (a journal replayed days later)', async () => {
    const d = devices[1]!;
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    const reply = await post(d, hb(d.id, 6, { sentAt: threeDaysAgo.toISOString(), metrics }));
    expect(reply.body).toMatchObject({ accepted: 1 });
    const row = await api.sql.query('SELECT tableoid::regclass::text AS part FROM metric_samples WHERE device_id = $1 AND sequence = 6', [
      d.id,
    ]);
    expect(row.rows[0].part).toBe(`metric_samples_${threeDaysAgo.toISOString().slice(0, 10).replaceAll('-', '')}`);
  });

  it('refuses a device revoked after its credential was remembered, and stores nothing', async () => {
    const d = devices[2]!;
    expect((await post(d, hb(d.id, 6))).status).toBe(200); // the credential is now cached
    const setup = () => api.request('GET', 'agent/ssh-setup', { token: d.credential });
    expect((await setup()).status).toBe(200);
    const revoked = await api.request('POST', `devices/${d.id}/revoke`, { token: admin });
    expect(revoked.status).toBe(201);
    // Forgotten at once (the revoke's access change), not after API_DEVICE_AUTH_CACHE_SECONDS:
    // a route that does not re-check the device itself refuses too.
    expect((await setup()).body.code).toBe('DEVICE_AUTH_INVALID');
    const after = await post(d, hb(d.id, 7));
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('DEVICE_AUTH_INVALID');
    expect(await stored(d.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses heartbeats naming another device, and a stale sequence counts as a duplicate', async () => {
    const [a, b] = [devices[3]!, devices[4]!];
    const foreign = await post(a, { heartbeats: [hb(a.id, 6), hb(b.id, 6)] });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('DEVICE_ID_MISMATCH');
    expect(await stored(a.id)).toEqual([1, 2, 3, 4, 5]);
    const stale = await post(a, hb(a.id, 2, { metrics: { ...metrics, cpuPercent: 99 } }));
    expect(stale.body).toMatchObject({ accepted: 0, duplicates: 1, lastSequence: 5 });
    const latest = await api.sql.query('SELECT sequence::int FROM device_telemetry WHERE device_id = $1', [a.id]);
    expect(latest.rows[0].sequence).toBe(5);
  });

  it('tells agents to retry later (503 + Retry-After) when the write backlog is full, storing nothing', async () => {
    const small = await TestApi.startSibling(api, { API_HEARTBEAT_QUEUE_MAX: '2', API_AGENT_SOURCE_CHECK: 'false' });
    try {
      const d = devices[5]!;
      const reply = await small.request('POST', 'agent/heartbeats', {
        token: d.credential,
        body: { heartbeats: [hb(d.id, 6), hb(d.id, 7), hb(d.id, 8)] },
      });
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('HEARTBEAT_QUEUE_FULL');
      expect(reply.headers.get('retry-after')).toBe('5');
      expect(await stored(d.id)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await small.stop();
    }
  });
});
