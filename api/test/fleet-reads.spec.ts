import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_SORTS, type Device } from '@xspectre/contracts';
import { FleetSummaryCache } from '../src/devices/fleet-summary-cache.js';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/**
 * The device list and summary at fleet scale (issue 20): the headline columns the group commit
 * writes, every sort, keyset pagination and the shared summary. A cursor continues after the
 * last row's sort key and id: a device whose key does not cross that position while the pages
 * are read appears exactly once.
 */
describe('fleet reads', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  const devices: Array<{ id: string; name: string; credential: string; sequence: number }> = [];
  let pendingId: string;

  const metrics = (cpu: number, memUsed = 500, mounts: Array<[number, number]> = [[40, 100]]) => ({
    cpuPercent: cpu,
    load: [0.2, 0.1, 0.05] as [number, number, number],
    memory: { totalBytes: 1000, usedBytes: memUsed, swapTotalBytes: 0, swapUsedBytes: 0 },
    mounts: mounts.map(([used, total], i) => ({
      mountpoint: `/m${i}`,
      device: `/dev/vd${i}`,
      fsType: 'ext4',
      totalBytes: total,
      usedBytes: used,
      inodesTotal: 100,
      inodesUsed: 5,
    })),
    network: [],
  });

  async function beat(device: (typeof devices)[number], extra: Parameters<typeof testHeartbeat>[2] = {}, sequence?: number) {
    const s = sequence ?? ++device.sequence;
    const r = await api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, s, extra) });
    expect(r.status).toBe(200);
  }
  const headline = async (id: string) =>
    (
      await api.sql.query(
        `SELECT headline_cpu_percent AS cpu, headline_mem_percent AS mem, headline_disk_percent AS disk FROM devices WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const list = (query: string) => api.request('GET', `devices?organizationId=${where.organizationId}&${query}`, { token: admin });

  /** Every page of one sort by cursor; `between` runs after each page. */
  async function walk(sort: string, limit: number, between?: (shown: Device[]) => Promise<void>): Promise<Device[]> {
    const seen: Device[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const r = await list(`sort=${sort}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items);
      cursor = r.body.nextCursor;
      if (!cursor) return seen;
      await between?.(seen);
    }
    throw new Error('no last page');
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    where = await createOrganizationSite(api, admin, 'Fleet Reads Co');
    // Names in one case: PostgreSQL's collation and JavaScript's comparison agree on them.
    for (let i = 0; i < 10; i++) {
      const d = await enrollDeviceAt(api, admin, where, `node-${String(i).padStart(2, '0')}`);
      devices.push({ id: d.id, name: `node-${String(i).padStart(2, '0')}`, credential: d.credential, sequence: 0 });
    }
    // Ties on purpose (cpu 30 twice, memory 50 thrice), a device without mounts, two without metrics.
    const cpus = [30, 75.5, 30, 5, 99, 62.25, 12, 48];
    for (const [i, cpu] of cpus.entries())
      await beat(devices[i]!, { metrics: metrics(cpu, i < 3 ? 500 : 100 * i, i === 6 ? [] : [[10 * i, 100]]) });
    await beat(devices[8]!);
    const created = await api.request('POST', 'devices', { token: admin, body: { name: 'node-pending', ...where, type: 'server' } });
    pendingId = created.body.device.id;
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('keeps the headline columns of the newest metrics; a replayed older heartbeat or one without metrics changes nothing', async () => {
    const d = devices[9]!;
    expect(await headline(d.id)).toEqual({ cpu: null, mem: null, disk: null });
    await beat(d, { metrics: metrics(20, 250, [[30, 100]]) }, 1);
    expect(await headline(d.id)).toEqual({ cpu: 20, mem: 25, disk: 30 });
    await beat(
      d,
      {
        metrics: metrics(70, 900, [
          [10, 100],
          [80, 200],
        ]),
      },
      3,
    );
    expect(await headline(d.id)).toEqual({ cpu: 70, mem: 90, disk: 40 });
    await beat(d, { metrics: metrics(99, 999, [[99, 100]]) }, 2);
    expect(await headline(d.id)).toEqual({ cpu: 70, mem: 90, disk: 40 });
    await beat(d, {}, 4);
    expect(await headline(d.id)).toEqual({ cpu: 70, mem: 90, disk: 40 });
    const shown = (await api.request('GET', `devices/${d.id}`, { token: admin })).body;
    expect(shown.metrics).toMatchObject({ cpuPercent: 70, memUsedPercent: 90, diskUsedPercentMax: 40 });
    d.sequence = 4;
  });

  it('orders every sort by its key, devices without one where they always were, ties by id; offset and cursor pages agree', async () => {
    const keyOf: Record<string, (d: Device) => string | number | null> = {
      name: (d) => d.name,
      lastHeartbeatAt: (d) => d.lastHeartbeatAt,
      createdAt: (d) => d.createdAt,
      enrolledAt: (d) => d.enrolledAt,
      status: (d) => d.status,
      cpu: (d) => d.metrics?.cpuPercent ?? null,
      memory: (d) => d.metrics?.memUsedPercent ?? null,
      disk: (d) => d.metrics?.diskUsedPercentMax ?? null,
    };
    for (const sort of DEVICE_SORTS) {
      const descending = sort.startsWith('-');
      const key = keyOf[sort.replace(/^-/, '')]!;
      const metric = ['cpu', 'memory', 'disk'].includes(sort.replace(/^-/, ''));
      const all = (await list(`sort=${sort}&limit=500`)).body.items as Device[];
      expect(all).toHaveLength(11);
      const expected = [...all].sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        if (x === null || y === null) {
          if (x === y) return a.id < b.id ? -1 : 1;
          const nullsLast = descending || metric;
          return (x === null) === nullsLast ? 1 : -1;
        }
        if (x !== y) return (x < y ? -1 : 1) * (descending ? -1 : 1);
        return a.id < b.id ? -1 : 1;
      });
      expect(
        all.map((d) => d.name),
        sort,
      ).toEqual(expected.map((d) => d.name));
      const byCursor = await walk(sort, 3);
      expect(
        byCursor.map((d) => d.id),
        sort,
      ).toEqual(all.map((d) => d.id));
      const byOffset: Device[] = [];
      for (let offset = 0; offset < 11; offset += 4) byOffset.push(...(await list(`sort=${sort}&limit=4&offset=${offset}`)).body.items);
      expect(
        byOffset.map((d) => d.id),
        sort,
      ).toEqual(all.map((d) => d.id));
    }
    const cpu = (await list('sort=-cpu&limit=500')).body.items.map((d: Device) => d.metrics?.cpuPercent ?? null);
    expect(cpu.slice(0, 4)).toEqual([99, 75.5, 70, 62.25]);
    expect(cpu.slice(-2)).toEqual([null, null]);
    const first = await list('sort=name&limit=10');
    expect(first.body).toMatchObject({ total: 11, limit: 10, offset: 0 });
    expect(typeof first.body.nextCursor).toBe('string');
    const last = await list(`sort=name&limit=10&cursor=${first.body.nextCursor}`);
    expect(last.body).toMatchObject({ total: 11, offset: 0, nextCursor: null });
    expect(last.body.items.map((d: Device) => d.id)).toEqual([pendingId]);
  });

  it('reads deep offset pages from the end and gets the same pages as from the front, for every sort', async () => {
    const deep = await createOrganizationSite(api, admin, 'Deep Pages Co');
    const count = 130; // offsets from 100 (fleet-view.repository.ts DEEP_OFFSET) in the back half are read backwards
    for (let i = 0; i < count; i++) {
      const r = await api.request('POST', 'devices', {
        token: admin,
        body: { name: `deep-${String(i).padStart(3, '0')}`, ...deep, type: 'server' },
      });
      expect(r.status).toBe(201);
    }
    // Sort keys with ties and NULLs on both metric columns (set directly: these devices never send heartbeats).
    await api.sql.query(
      `UPDATE devices SET headline_cpu_percent = CASE WHEN n % 7 = 0 THEN NULL ELSE (n % 13) * 5 END,
                          headline_mem_percent = CASE WHEN n % 5 = 0 THEN NULL ELSE (n % 4) * 20 END,
                          headline_disk_percent = (n % 9) * 10
         FROM (SELECT id, row_number() OVER (ORDER BY name) AS n FROM devices WHERE organization_id = $1) numbered
        WHERE devices.id = numbered.id`,
      [deep.organizationId],
    );
    const deepList = (query: string) => api.request('GET', `devices?organizationId=${deep.organizationId}&${query}`, { token: admin });
    for (const sort of DEVICE_SORTS) {
      const all = (await deepList(`sort=${sort}&limit=500`)).body.items.map((d: Device) => d.id);
      expect(all).toHaveLength(count);
      const byOffset: string[] = [];
      for (let offset = 0; offset < count; offset += 25) {
        const page = await deepList(`sort=${sort}&limit=25&offset=${offset}`);
        expect(page.status).toBe(200);
        expect(page.body, `${sort} offset ${offset}`).toMatchObject({ total: count, offset });
        expect(page.body.nextCursor === null, `${sort} offset ${offset}`).toBe(offset + 25 >= count);
        byOffset.push(...page.body.items.map((d: Device) => d.id));
      }
      expect(byOffset, sort).toEqual(all);
      // A page read backwards continues forwards by its cursor.
      const backwards = await deepList(`sort=${sort}&limit=10&offset=110`);
      const next = await deepList(`sort=${sort}&limit=10&cursor=${backwards.body.nextCursor}`);
      expect(
        next.body.items.map((d: Device) => d.id),
        sort,
      ).toEqual(all.slice(120, 130));
    }
    const past = await deepList('sort=name&limit=25&offset=500');
    expect(past.body).toMatchObject({ items: [], total: count, nextCursor: null });
  });

  it('returns every device exactly once across cursor pages while heartbeats change the sort keys', async () => {
    const all = (await list('sort=name&limit=500')).body.items as Device[];
    const byId = new Map(devices.map((d) => [d.id, d]));
    // Sorted by name while every heartbeat moves lastHeartbeatAt and CPU: the position never moves.
    const byName = await walk('name', 2, async () => {
      for (const d of devices.slice(0, 4)) await beat(d, { metrics: metrics(Math.round(Math.random() * 100)) });
    });
    expect(byName.map((d) => d.id)).toEqual(all.map((d) => d.id));

    // Sorted by CPU, highest first: devices already shown climb to 100, those still to come fall
    // below the position. Offset pages would repeat or skip devices here; the cursor does not.
    const walked = await walk('-cpu', 2, async (shown) => {
      const position = shown.at(-1)!.metrics?.cpuPercent ?? 0;
      const shownIds = new Set(shown.map((d) => d.id));
      for (const d of devices) {
        if (d.sequence === 0) continue;
        const current = (await headline(d.id)).cpu as number | null;
        if (current === null) continue;
        if (shownIds.has(d.id)) await beat(d, { metrics: metrics(100) });
        else await beat(d, { metrics: metrics(Math.max(0, position - 1 - Math.random())) });
      }
    });
    const ids = walked.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(all.map((d) => d.id).sort());
    expect(byId.size).toBe(10);

    // Sorted by last heartbeat, newest first: a heartbeat moves a shown device to the top, before the position.
    const fresh = await walk('-lastHeartbeatAt', 3, async (shown) => {
      await beat(byId.get(shown[0]!.id) ?? devices[0]!);
    });
    expect(new Set(fresh.map((d) => d.id)).size).toBe(fresh.length);
    expect([...fresh.map((d) => d.id)].sort()).toEqual(all.map((d) => d.id).sort());
  });

  it('refuses a cursor it did not make, of another sort, or combined with offset (400 naming the cursor)', async () => {
    const page = await list('sort=name&limit=2');
    const cursor = page.body.nextCursor as string;
    const forge = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const id = devices[0]!.id;
    for (const [sort, bad] of [
      ['name', 'not-a-cursor'],
      ['name', '%00'],
      ['name', forge([1, 'name'])],
      ['name', forge([2, 'name', 'node-01', id])],
      ['name', forge([1, 'name', 'node-01', 'x'])],
      ['name', forge([1, 'name', 5, id])],
      ['name', forge([1, 'name', 'a\u0000b', id])],
      ['cpu', forge([1, 'cpu', 'hot', id])],
      ['cpu', forge([1, 'cpu', 'NaN', id])],
      ['createdAt', forge([1, 'createdAt', '2026-02-31T00:00:00.000000Z', id])],
      ['createdAt', forge([1, 'createdAt', 'yesterday', id])],
    ]) {
      const r = await list(`sort=${sort}&cursor=${bad}`);
      expect({ bad, status: r.status, code: r.body.code }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED' });
    }
    const other = await list(`sort=-name&cursor=${cursor}`);
    expect(other.status).toBe(400);
    expect(other.body.detail).toContain('cursor');
    expect(other.body.detail).toContain('sort=name');
    const both = await list(`sort=name&offset=2&cursor=${cursor}`);
    expect(both.status).toBe(400);
    expect(both.body.detail).toContain('cursor and offset');
    expect((await list(`sort=name&cursor=`)).status).toBe(400);
  });

  it('computes the summary once for concurrent requests and shows a revoke at once', async () => {
    const cache = api.app.get(FleetSummaryCache);
    cache.invalidate();
    const before = cache.computations;
    const [a, b] = await Promise.all([
      api.request('GET', 'devices/summary', { token: admin }),
      api.request('GET', 'devices/summary', { token: await api.adminToken() }),
    ]);
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(cache.computations - before).toBe(1);
    expect((await api.request('GET', 'devices/summary', { token: admin })).body).toEqual(a.body);
    expect(cache.computations - before).toBe(1);
    // Another scope is its own computation.
    const scoped = await api.request('GET', `devices/summary?organizationId=${where.organizationId}`, { token: admin });
    expect(scoped.body.total).toBe(11);
    expect(cache.computations - before).toBe(2);

    expect((await api.request('POST', `devices/${devices[3]!.id}/revoke`, { token: admin })).status).toBe(201);
    const after = (await api.request('GET', 'devices/summary', { token: admin })).body;
    expect(after.byStatus.revoked).toBe(a.body.byStatus.revoked + 1);
    expect(after.byStatus.active).toBe(a.body.byStatus.active - 1);
    const created = await api.request('POST', 'devices', { token: admin, body: { name: 'node-new', ...where, type: 'server' } });
    expect(created.status).toBe(201);
    expect((await api.request('GET', 'devices/summary', { token: admin })).body.byStatus.pending).toBe(after.byStatus.pending + 1);
    // The worst devices come from the headline columns: the highest CPU of online devices first.
    expect(after.worst.cpuPercent.length).toBeGreaterThan(0);
    const values = after.worst.cpuPercent.map((w: { value: number }) => w.value);
    expect(values).toEqual([...values].sort((x: number, y: number) => y - x));
  });
});
