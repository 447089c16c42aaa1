import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '@xspectre/contracts';
import { Database } from '../src/db/database.js';
import { MetricRollupsRepository } from '../src/telemetry/metric-rollups.repository.js';
import { TestApi } from './support/harness.js';
import { enrollBody, enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/**
 * What one device reports must not break what every operator sees: absurd numbers are refused
 * at the door, and numbers already stored (older rows, a future contract bug)
 * cannot make a fleet-wide query fail.
 */
describe('hostile device data', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let device: { deviceId: string; credential: string };

  const metrics = () => ({
    cpuPercent: 10,
    load: [0.2, 0.1, 0.05] as [number, number, number],
    memory: { totalBytes: 4e9, usedBytes: 1e9, swapTotalBytes: 1e9, swapUsedBytes: 0 },
    mounts: [{ mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 1000, usedBytes: 250, inodesTotal: 100, inodesUsed: 5 }],
    network: [
      { name: 'eth0', rxBytes: 10, txBytes: 20, rxBytesPerSecond: 100, txBytesPerSecond: 50 },
      { name: 'eth1', rxBytes: 10, txBytes: 20, rxBytesPerSecond: 100, txBytesPerSecond: 50 },
    ],
  });
  type Metrics = ReturnType<typeof metrics>;
  const container = {
    id: 'c1',
    name: 'web',
    image: 'nginx',
    state: 'running',
    health: null,
    restartCount: 0,
    cpuPercent: 5,
    memoryBytes: 1e6,
  };
  const inventory = () => ({ ...enrollBody('X').hardware, macs: ['52:54:00:00:00:01'], agentVersion: '0.1.0' });
  const post = (body: unknown, credential = device.credential) => api.request('POST', 'agent/heartbeats', { token: credential, body });
  const paths = (r: { body: { errors?: Array<{ path: string }> } }) => (r.body.errors ?? []).map((e) => e.path);
  const stored = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT (SELECT count(*)::int FROM device_heartbeats WHERE device_id = $1) AS heartbeats,
                (SELECT count(*)::int FROM metric_samples WHERE device_id = $1) AS samples,
                (SELECT count(*)::int FROM device_telemetry WHERE device_id = $1) AS latest,
                (SELECT count(*)::int FROM device_inventory_versions WHERE device_id = $1) AS inventories,
                (SELECT count(*)::int FROM device_events WHERE device_id = $1 AND type = 'journal.gap') AS gaps`,
        [deviceId],
      )
    ).rows[0];

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    device = await enrollTestDevice(api, admin, { organization: 'Hostile Co', device: 'hostile-1' });
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('refuses every class of implausible number with 400 naming the field, and stores nothing', async () => {
    const withMetrics = (change: (m: Metrics) => void): Partial<Heartbeat> => {
      const m = metrics();
      change(m);
      return { metrics: m };
    };
    const cases: Array<[string, Partial<Heartbeat>]> = [
      [
        'metrics.network.0.rxBytesPerSecond',
        withMetrics((m) => {
          m.network[0]!.rxBytesPerSecond = 1e308;
          m.network[1]!.rxBytesPerSecond = 1e308;
        }),
      ],
      ['metrics.network.1.txBytesPerSecond', withMetrics((m) => (m.network[1]!.txBytesPerSecond = 2e12))],
      ['metrics.network.0.rxBytesPerSecond', withMetrics((m) => (m.network[0]!.rxBytesPerSecond = -1))],
      ['metrics.network.0.rxBytes', withMetrics((m) => (m.network[0]!.rxBytes = -5))],
      ['metrics.load.0', withMetrics((m) => (m.load[0] = 1e300))],
      ['metrics.load.2', withMetrics((m) => (m.load[2] = -0.5))],
      ['metrics.cpuPercent', withMetrics((m) => (m.cpuPercent = 101))],
      ['metrics.memory.totalBytes', withMetrics((m) => (m.memory.totalBytes = Number.MAX_SAFE_INTEGER))],
      ['metrics.memory.usedBytes', withMetrics((m) => (m.memory.usedBytes = 5e9))],
      ['metrics.memory.swapUsedBytes', withMetrics((m) => (m.memory.swapUsedBytes = 2e9))],
      ['metrics.mounts.0.usedBytes', withMetrics((m) => (m.mounts[0]!.usedBytes = 1001))],
      ['metrics.mounts.0.inodesUsed', withMetrics((m) => (m.mounts[0]!.inodesUsed = 101))],
      ['metrics.mounts.0.totalBytes', withMetrics((m) => (m.mounts[0]!.totalBytes = 2 ** 60))],
      ['docker.containers.0.cpuPercent', { docker: { status: 'ok', containers: [{ ...container, cpuPercent: 1e9 }] } }],
      [
        'docker.containers.0.memoryBytes',
        { docker: { status: 'ok', containers: [{ ...container, memoryBytes: Number.MAX_SAFE_INTEGER }] } },
      ],
      ['docker.containers.0.restartCount', { docker: { status: 'ok', containers: [{ ...container, restartCount: 2 ** 40 }] } }],
      ['uptimeSeconds', { uptimeSeconds: 1e300 }],
      ['inventory.ramBytes', { inventory: { ...inventory(), ramBytes: Number.MAX_SAFE_INTEGER } }],
      ['inventory.cpu.cores', { inventory: { ...inventory(), cpu: { model: 'x', cores: 5000, id: null } } }],
      [
        'inventory.disks.0.sizeBytes',
        { inventory: { ...inventory(), disks: [{ name: 'vda', model: null, serial: null, sizeBytes: -1 }] } },
      ],
    ];
    for (const [path, extra] of cases) {
      const r = await post(testHeartbeat(device.deviceId, 1, extra));
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      expect(paths(r)).toContain(`body.${path}`);
    }
    // In a batch the whole submission is refused, naming the heartbeat.
    const batch = await post({
      heartbeats: [
        testHeartbeat(device.deviceId, 1),
        testHeartbeat(
          device.deviceId,
          2,
          withMetrics((m) => (m.load[1] = 1e9)),
        ),
      ],
    });
    expect(batch.status).toBe(400);
    expect(paths(batch)).toContain('body.heartbeats.1.metrics.load.1');
    // JSON has no Infinity, but 1e309 parses to it.
    const raw = JSON.stringify(testHeartbeat(device.deviceId, 1, { metrics: metrics() })).replace(
      '"rxBytesPerSecond":100',
      '"rxBytesPerSecond":1e309',
    );
    expect(raw).toContain('1e309');
    const infinite = await api.request('POST', 'agent/heartbeats', { token: device.credential, rawBody: raw });
    expect(infinite.status).toBe(400);
    expect(paths(infinite)).toContain('body.metrics.network.0.rxBytesPerSecond');
    expect(await stored(device.deviceId)).toEqual({ heartbeats: 0, samples: 0, latest: 0, inventories: 0, gaps: 0 });
  });

  it('refuses a journal gap whose end precedes its start, or that drops more than it spans', async () => {
    const backwards = await post(testHeartbeat(device.deviceId, 1, { journalGap: { fromSequence: 10, toSequence: 5, droppedCount: 1 } }));
    expect(backwards.status).toBe(400);
    expect(paths(backwards)).toContain('body.journalGap.toSequence');
    const tooMany = await post(testHeartbeat(device.deviceId, 1, { journalGap: { fromSequence: 5, toSequence: 9, droppedCount: 6 } }));
    expect(tooMany.status).toBe(400);
    expect(paths(tooMany)).toContain('body.journalGap.droppedCount');
    expect(await stored(device.deviceId)).toMatchObject({ heartbeats: 0, gaps: 0 });
    const fine = await post(testHeartbeat(device.deviceId, 1, { journalGap: { fromSequence: 5, toSequence: 9, droppedCount: 5 } }));
    expect(fine.status).toBe(200);
    expect(await stored(device.deviceId)).toMatchObject({ heartbeats: 1, gaps: 1 });
  });

  it('keeps every fleet-wide and device route answering when hostile values are already stored', async () => {
    // Devices whose stored rows predate the contract's bounds: written straight into the tables.
    const legacy = await enrollTestDevice(api, admin, { organization: 'Legacy Co', device: 'legacy-1' });
    const odd = await enrollTestDevice(api, admin, { organization: 'Odd Co', device: 'legacy-2' });
    for (const d of [legacy, odd]) {
      const r = await post(
        testHeartbeat(d.deviceId, 1, { metrics: metrics(), docker: { status: 'ok', containers: [container] } }),
        d.credential,
      );
      expect(r.status).toBe(200);
    }
    await api.sql.query(
      `UPDATE device_telemetry SET metrics = $2::jsonb, container_stats = '[[1e308, 1e30]]'::jsonb WHERE device_id = $1`,
      [
        legacy.deviceId,
        `{"cpuPercent": 1e400, "load": [1e308, 1e308, 1e308],
          "memory": {"totalBytes": 1e-300, "usedBytes": 1e308, "swapTotalBytes": 0, "swapUsedBytes": 0},
          "mounts": [{"mountpoint": "/", "device": "/dev/vda1", "fsType": "ext4", "totalBytes": 1e-300, "usedBytes": 1e308, "inodesTotal": 1, "inodesUsed": 1},
                     {"mountpoint": "/b", "device": "/dev/vdb1", "fsType": "ext4", "totalBytes": 1e400, "usedBytes": -1e400, "inodesTotal": 1, "inodesUsed": 1}],
          "network": [{"name": "eth0", "rxBytes": 1, "txBytes": 1, "rxBytesPerSecond": 1e308, "txBytesPerSecond": 1e308},
                      {"name": "eth1", "rxBytes": 1, "txBytes": 1, "rxBytesPerSecond": 1e308, "txBytesPerSecond": 1e400}]}`,
      ],
    );
    // The sortable copies of the headline numbers the list shows (devices.headline_*), as old or broken as the document.
    await api.sql.query(
      `UPDATE devices SET headline_cpu_percent = 'Infinity', headline_mem_percent = 'NaN', headline_disk_percent = '-Infinity' WHERE id = $1`,
      [legacy.deviceId],
    );
    await api.sql.query(
      `UPDATE devices SET headline_cpu_percent = 1e308, headline_mem_percent = -5, headline_disk_percent = 'NaN' WHERE id = $1`,
      [odd.deviceId],
    );
    await api.sql.query(`UPDATE device_telemetry SET metrics = $2::jsonb WHERE device_id = $1`, [
      odd.deviceId,
      `{"cpuPercent": "hot", "load": null, "memory": 5, "mounts": {"/": 1}, "network": "eth0"}`,
    ]);
    // Samples and rollups: overflowing sums and averages, infinities, NaN, empty buckets.
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
    const at = (seconds: number) => new Date(minute.getTime() + seconds * 1000);
    for (const [i, [cpu, rx]] of (
      [
        ['3e38', '1e308'],
        ['Infinity', '1e308'],
        ['NaN', 'Infinity'],
        ['-Infinity', 'NaN'],
      ] as const
    ).entries()) {
      await api.sql.query(
        `INSERT INTO metric_samples (device_id, sampled_at, sequence, received_at, cpu_percent, load1, mem_used_bytes, mem_total_bytes,
                                     swap_used_bytes, disk_used_percent_max, net_rx_bps, net_tx_bps)
         VALUES ($1, $2, $3, now(), $4::real, $4::real, 9223372036854775807, 9223372036854775807, 9223372036854775807, $4::real, $5::float8, $5::float8)`,
        [legacy.deviceId, at(i), 100 + i, cpu, rx],
      );
    }
    for (const [i, samples] of [0, 1.5e9, 1.5e9].entries()) {
      await api.sql.query(
        `INSERT INTO metric_rollups_1m (device_id, bucket, samples, cpu_avg, cpu_max, load1_avg, mem_used_avg, mem_total_max, swap_used_avg,
                                        disk_used_percent_max, net_rx_bps_avg, net_tx_bps_avg)
         VALUES ($1, $2, $3, 3e38, 3e38, 3e38, 1e308, 9223372036854775807, 1e308, 'Infinity', 1e308, 'NaN')
         ON CONFLICT DO NOTHING`,
        [legacy.deviceId, new Date(minute.getTime() - (i + 2) * 60_000), samples],
      );
    }
    await api.sql.query(
      `INSERT INTO metric_rollups_1h (device_id, bucket, samples, cpu_avg, cpu_max, load1_avg, mem_used_avg, mem_total_max, swap_used_avg,
                                      disk_used_percent_max, net_rx_bps_avg, net_tx_bps_avg)
       VALUES ($1, date_trunc('hour', now()) - interval '2 hours', 0, 3e38, 3e38, 3e38, 1e308, 1, 1e308, 'NaN', 1e308, 'Infinity'),
              ($1, date_trunc('hour', now()) - interval '3 hours', 1e9, 3e38, 3e38, 3e38, 1e308, 1, 1e308, 'NaN', 1e308, 'Infinity'),
              ($1, date_trunc('hour', now()) - interval '4 hours', 1e9, 3e38, 3e38, 3e38, 1e308, 1, 1e308, 'NaN', 1e308, 'Infinity')`,
      [legacy.deviceId],
    );

    const ok = async (path: string) => {
      const r = await api.request('GET', path, { token: admin });
      expect({ path, status: r.status, detail: r.body?.detail }).toMatchObject({ path, status: 200 });
      return r.body;
    };
    const list = await ok('devices?limit=100');
    const shown = list.items.find((d: { id: string }) => d.id === legacy.deviceId);
    expect(shown.metrics.cpuPercent).toBe(100);
    for (const value of [shown.metrics.memUsedPercent, shown.metrics.diskUsedPercentMax]) expect(value).toBeLessThanOrEqual(100);
    expect(Number.isFinite(shown.metrics.netRxBps) && Number.isFinite(shown.metrics.netTxBps)).toBe(true);
    const oddShown = list.items.find((d: { id: string }) => d.id === odd.deviceId);
    expect(oddShown.metrics).toMatchObject({ cpuPercent: 100, memUsedPercent: 0, diskUsedPercentMax: null });
    for (const sort of ['cpu', '-cpu', 'memory', '-memory', 'disk', '-disk']) await ok(`devices?sort=${sort}`);
    const summary = await ok('devices/summary');
    expect(JSON.stringify(summary)).toContain(legacy.deviceId);
    // An inventory stored under the older, looser contract (RAM above today's cap).
    await api.sql.query(
      `INSERT INTO device_inventory_versions (device_id, version, sequence, reported_at, hash, inventory)
       VALUES ($1, 1, 1, now(), 'legacy', $2::jsonb)`,
      [
        legacy.deviceId,
        JSON.stringify({
          vendor: null,
          model: null,
          serial: null,
          cpu: { model: 'x', cores: 1, id: null },
          ramBytes: Number.MAX_SAFE_INTEGER,
          disks: [],
          os: { name: 'x', version: '1', kernel: '6' },
        }),
      ],
    );
    for (const d of [legacy, odd]) {
      await ok(`devices/${d.deviceId}`);
      await ok(`devices/${d.deviceId}/telemetry`);
      await ok(`devices/${d.deviceId}/inventory`);
    }
    const from = encodeURIComponent(new Date(Date.now() - 6 * 3600_000).toISOString());
    const to = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    for (const metric of ['cpu', 'memory', 'disk', 'network', 'load'])
      for (const step of [15, 60, 3600]) {
        const series = await ok(`devices/${legacy.deviceId}/metrics?metric=${metric}&from=${from}&to=${to}&step=${step}`);
        expect(series.points.length).toBeGreaterThan(0);
      }
    // The worker's rollup covers the whole fleet in one statement: one device's rows cannot fail it.
    const rollups = new MetricRollupsRepository(api.app.get(Database));
    await expect(rollups.rollUpReceivedSince(new Date(Date.now() - 600_000))).resolves.toMatchObject({ minutes: expect.any(Number) });
    await ok(`devices/${legacy.deviceId}/metrics?metric=network&from=${from}&to=${to}&step=60`);
  });
});
