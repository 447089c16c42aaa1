import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/** Telemetry carried by heartbeats, stored through the real enrollment and heartbeat routes. */
describe('telemetry ingestion', () => {
  let hub: LabHub;
  let api: TestApi;
  let deviceId: string;
  let credential: string;

  const metrics = (cpu: number) => ({
    cpuPercent: cpu,
    load: [0.2, 0.1, 0.05] as [number, number, number],
    memory: { totalBytes: 4e9, usedBytes: 1e9, swapTotalBytes: 0, swapUsedBytes: 0 },
    mounts: [{ mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 1000, usedBytes: 250, inodesTotal: 100, inodesUsed: 5 }],
    network: [{ name: 'eth0', rxBytes: 10, txBytes: 20, rxBytesPerSecond: 100, txBytesPerSecond: 50 }],
  });
  const hb = (sequence: number, extra: Partial<Heartbeat> = {}): Heartbeat => testHeartbeat(deviceId, sequence, extra);
  const samples = async () =>
    (
      await api.sql.query(
        'SELECT tableoid::regclass::text AS part, sequence::int, cpu_percent, disk_used_percent_max, sampled_at FROM metric_samples WHERE device_id = $1 ORDER BY sequence',
        [deviceId],
      )
    ).rows;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    const admin = await api.adminToken();
    ({ deviceId, credential } = await enrollTestDevice(api, admin, { organization: 'Telemetry Co', device: 'tm-1' }));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it("stores a sample per new heartbeat in the day's partition, and the latest state", async () => {
    const services = [{ unit: 'ssh.service', activeState: 'active', subState: 'running', since: new Date().toISOString(), watched: true }];
    const r = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: hb(1, { metrics: metrics(10), services, docker: { status: 'not_installed' } }),
    });
    expect(r.status).toBe(200);
    const rows = await samples();
    expect(rows).toHaveLength(1);
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    expect(rows[0]).toMatchObject({ part: `metric_samples_${day}`, sequence: 1, cpu_percent: 10, disk_used_percent_max: 25 });
    const latest = await api.sql.query('SELECT sequence::int, metrics, services, docker FROM device_telemetry WHERE device_id = $1', [
      deviceId,
    ]);
    expect(latest.rows[0]).toMatchObject({ sequence: 1, services, docker: { status: 'not_installed' } });
  });

  it('a replayed batch adds no rows; an older heartbeat never overwrites the latest state', async () => {
    await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: { heartbeats: [hb(3, { metrics: metrics(30) }), hb(2, { metrics: metrics(20) })] },
    });
    const replay = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: { heartbeats: [hb(2, { metrics: metrics(99) }), hb(3, { metrics: metrics(99) })] },
    });
    expect(replay.body).toMatchObject({ accepted: 0, duplicates: 2 });
    expect((await samples()).map((s) => [s.sequence, s.cpu_percent])).toEqual([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    const latest = await api.sql.query('SELECT sequence::int, metrics FROM device_telemetry WHERE device_id = $1', [deviceId]);
    expect(latest.rows[0].sequence).toBe(3);
    expect(latest.rows[0].metrics.cpuPercent).toBe(30);
  });

  it("uses the arrival time when the agent's clock is far off", async () => {
    const before = Date.now();
    await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: hb(4, { sentAt: '2030-01-01T00:00:00Z', metrics: metrics(40) }),
    });
    const row = (await samples()).find((s) => s.sequence === 4)!;
    expect(row.sampled_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row.sampled_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('refuses bad telemetry, naming the field, and stores nothing of it', async () => {
    const before = (await samples()).length;
    const hot = await api.request('POST', 'agent/heartbeats', { token: credential, body: hb(5, { metrics: { ...metrics(150) } }) });
    expect(hot.status).toBe(400);
    expect(hot.body.errors.map((e: { path: string }) => e.path)).toContain('body.metrics.cpuPercent');
    const typo = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: { ...hb(5), metrics: { ...metrics(1), cpu: 1 } },
    });
    expect(typo.body.detail).toMatch(/unknown field\(s\): cpu/);
    const wrongDocker = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: hb(5, { docker: { status: 'maybe' } as never }),
    });
    expect(wrongDocker.status).toBe(400);
    const huge = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: { heartbeats: Array.from({ length: 100_000 }, (_, i) => hb(10 + i)) },
    });
    expect([413, 400]).toContain(huge.status);
    const tooMany = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: { heartbeats: Array.from({ length: 1001 }, (_, i) => hb(10 + i)) },
    });
    expect(tooMany.status).toBe(400);
    expect((await samples()).length).toBe(before);
    const { rows } = await api.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1 AND sequence >= 5', [
      deviceId,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('records coming online once, shows online/offline from the last heartbeat, and lists the transitions', async () => {
    const admin = await api.adminToken();
    const view = await api.request('GET', `devices/${deviceId}`, { token: admin });
    expect(view.body.connectivity).toBe('online');
    const events = await api.request('GET', `devices/${deviceId}/connectivity`, { token: admin });
    expect(events.body.items.map((e: { state: string }) => e.state)).toEqual(['online']);
    // Three missed intervals (30 s each by default) later the device shows as offline.
    await api.sql.query(`UPDATE devices SET last_heartbeat_at = now() - interval '91 seconds' WHERE id = $1`, [deviceId]);
    expect((await api.request('GET', `devices/${deviceId}`, { token: admin })).body.connectivity).toBe('offline');
    await api.sql.query(`INSERT INTO device_connectivity_events (device_id, state, at) VALUES ($1, 'offline', now())`, [deviceId]);
    await api.request('POST', 'agent/heartbeats', { token: credential, body: hb(50) });
    const after = await api.request('GET', `devices/${deviceId}/connectivity`, { token: admin });
    expect(after.body.items.map((e: { state: string }) => e.state)).toEqual(['online', 'offline', 'online']);
    expect((await api.request('GET', `devices/${deviceId}/connectivity?limit=0`, { token: admin })).status).toBe(400);
  });

  it('serves chart series from samples, 1-minute and 1-hour rollups by step, and refuses bad ranges', async () => {
    const admin = await api.adminToken();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const q = (params: string) => api.request('GET', `devices/${deviceId}/metrics?${params}`, { token: admin });
    const raw = await q(`metric=cpu&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&step=30`);
    expect(raw.status).toBe(200);
    expect(raw.body.source).toBe('samples');
    expect(raw.body.points.length).toBeGreaterThan(0);
    expect(Object.keys(raw.body.points[0].values)).toEqual(['avg', 'max']);

    const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    await api.sql.query(
      `INSERT INTO metric_rollups_1m (device_id, bucket, samples, cpu_avg, cpu_max, load1_avg, mem_used_avg, mem_total_max, swap_used_avg, disk_used_percent_max, net_rx_bps_avg, net_tx_bps_avg)
       VALUES ($1, $2, 2, 40.123456, 55, 1, 100, 1000, 0, 25, 7.6, 9)`,
      [deviceId, bucket],
    );
    const minute = await q(`metric=network&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&step=60`);
    expect(minute.body.source).toBe('rollup_1m');
    // Rounded in SQL: bytes to whole bytes, percents to hundredths.
    expect(minute.body.points).toContainEqual({ t: bucket.toISOString(), values: { rxBytesPerSecond: 8, txBytesPerSecond: 9 } });
    const minuteCpu = await q(`metric=cpu&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&step=60`);
    expect(minuteCpu.body.points).toContainEqual({ t: bucket.toISOString(), values: { avg: 40.12, max: 55 } });
    const longRange = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const hourly = await q(`metric=memory&from=${encodeURIComponent(longRange)}&to=${encodeURIComponent(to)}&step=3600`);
    expect(hourly.body.source).toBe('rollup_1h');

    expect((await q(`metric=cpu&from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}&step=60`)).body.detail).toMatch(
      /from must be before to/,
    );
    expect((await q(`metric=cpu&from=${encodeURIComponent(longRange)}&to=${encodeURIComponent(to)}&step=1`)).body.detail).toMatch(
      /at most 2000 points/,
    );
    expect((await q(`metric=temperature&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&step=60`)).status).toBe(400);
    expect(
      (
        await api.request(
          'GET',
          `devices/00000000-0000-4000-8000-000000000000/metrics?metric=cpu&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&step=60`,
          { token: admin },
        )
      ).body.code,
    ).toBe('DEVICE_NOT_FOUND');
  });
});
