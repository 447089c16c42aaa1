import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { enrollBody, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/** `GET devices/summary` and the headline metrics in `GET devices`, from real enrollments and heartbeats. */
describe('fleet summary and headline metrics', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  const ids: Record<string, string> = {};
  let customerId: string;
  let internalId: string;
  let emptyCustomerId: string;
  let customerSiteId: string;

  const metrics = (cpu: number, memUsed: number, mounts: Array<[number, number]>) => ({
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
    network: [
      { name: 'eth0', rxBytes: 10, txBytes: 20, rxBytesPerSecond: 100, txBytesPerSecond: 50 },
      { name: 'eth1', rxBytes: 10, txBytes: 20, rxBytesPerSecond: 25, txBytesPerSecond: 5 },
    ],
  });

  async function createDevice(name: string, organizationId: string, siteId: string, type: 'scanner' | 'server' = 'scanner') {
    const r = await api.request('POST', 'devices', { token: admin, body: { name, organizationId, siteId, type } });
    expect(r.status).toBe(201);
    ids[name] = r.body.device.id;
    return r.body.claimCode.code as string;
  }

  async function enrollAndBeat(name: string, organizationId: string, siteId: string, m?: ReturnType<typeof metrics>) {
    const code = await createDevice(name, organizationId, siteId);
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(code) });
    expect(enrolled.status).toBe(201);
    const heartbeat = testHeartbeat(ids[name]!, 1, m ? { metrics: m } : {});
    const r = await api.request('POST', 'agent/heartbeats', { token: enrolled.body.deviceCredential, body: heartbeat });
    expect(r.status).toBe(200);
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    const org = async (name: string, kind: 'customer' | 'internal') => {
      const o = await api.request('POST', 'organizations', { token: admin, body: { name, kind } });
      const s = await api.request('POST', 'sites', { token: admin, body: { organizationId: o.body.id, name: 'HQ', timeZone: 'UTC' } });
      return { id: o.body.id as string, siteId: s.body.id as string };
    };
    const customer = await org('Acme', 'customer');
    const internal = await org('xSPECTRE', 'internal');
    const empty = await org('Zeta Empty', 'customer');
    customerId = customer.id;
    internalId = internal.id;
    emptyCustomerId = empty.id;
    customerSiteId = customer.siteId;

    await enrollAndBeat(
      'hot',
      customer.id,
      customer.siteId,
      metrics(91.5, 500, [
        [95, 100],
        [10, 100],
      ]),
    );
    await enrollAndBeat('cool', customer.id, customer.siteId, metrics(12, 900, []));
    await enrollAndBeat('silent', customer.id, customer.siteId);
    await enrollAndBeat('infra', internal.id, internal.siteId, metrics(50, 100, [[50, 100]]));
    await enrollAndBeat('gone', customer.id, customer.siteId, metrics(99, 999, [[99, 100]]));
    await createDevice('waiting', customer.id, customer.siteId);
    expect((await api.request('POST', `devices/${ids.gone}/revoke`, { token: admin })).status).toBe(201);
    // Fixture shortcuts for states the inventory and worker tests reach the long way round:
    // 'infra' silent for an hour (offline), 'cool' quarantined.
    await api.sql.query(`UPDATE devices SET last_heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [ids.infra]);
    await api.sql.query(`UPDATE devices SET quarantined_at = now(), quarantine_reason = 'test' WHERE id = $1`, [ids.cool]);
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('lists each device with the headline numbers of its newest metrics', async () => {
    const r = await api.request('GET', 'devices?sort=name&limit=50', { token: admin });
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.body.items.map((d: { name: string }) => [d.name, d]));
    expect(byName.hot.metrics).toEqual({ cpuPercent: 91.5, memUsedPercent: 50, diskUsedPercentMax: 95, netRxBps: 125, netTxBps: 55 });
    expect(Date.parse(byName.hot.metricsSampledAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(byName.cool.metrics).toMatchObject({ cpuPercent: 12, memUsedPercent: 90, diskUsedPercentMax: null });
    expect(byName.silent).toMatchObject({ metrics: null, metricsSampledAt: null, connectivity: 'online' });
    expect(byName.waiting).toMatchObject({ metrics: null, connectivity: 'never_seen' });
    const one = await api.request('GET', `devices/${ids.hot}`, { token: admin });
    expect(one.body.metrics).toEqual(byName.hot.metrics);
  });

  it('sorts by CPU, memory and disk, devices without metrics last in both directions', async () => {
    const names = async (sort: string) =>
      (await api.request('GET', `devices?sort=${sort}&organizationId=${customerId}`, { token: admin })).body.items.map(
        (d: { name: string }) => d.name,
      );
    expect((await names('-cpu')).slice(0, 3)).toEqual(['gone', 'hot', 'cool']);
    expect((await names('cpu')).slice(0, 3)).toEqual(['cool', 'hot', 'gone']);
    expect((await names('-memory')).slice(0, 3)).toEqual(['gone', 'cool', 'hot']);
    expect((await names('-disk')).slice(0, 2)).toEqual(['gone', 'hot']);
    expect((await names('-cpu')).slice(3).sort()).toEqual(['silent', 'waiting']);
    const bad = await api.request('GET', 'devices?sort=load', { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('counts the whole fleet by status, connectivity and quarantine, with every organization', async () => {
    const r = await api.request('GET', 'devices/summary', { token: admin });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      total: 6,
      byStatus: { pending: 1, active: 4, revoked: 1, retired: 0 },
      connectivity: { online: 3, offline: 2, neverSeen: 1 },
      quarantined: 1,
    });
    expect(r.body.organizations).toEqual([
      { organizationId: customerId, name: 'Acme', billable: true, active: 3, online: 3, pending: 1 },
      { organizationId: internalId, name: 'xSPECTRE', billable: false, active: 1, online: 0, pending: 0 },
      { organizationId: emptyCustomerId, name: 'Zeta Empty', billable: true, active: 0, online: 0, pending: 0 },
    ]);
    // The worst lists hold online devices only: 'gone' (revoked) and 'infra' (offline) are left out.
    expect(r.body.worst.cpuPercent.map((w: { name: string; value: number }) => [w.name, w.value])).toEqual([
      ['hot', 91.5],
      ['cool', 12],
    ]);
    expect(r.body.worst.memUsedPercent.map((w: { name: string }) => w.name)).toEqual(['cool', 'hot']);
    expect(r.body.worst.diskUsedPercentMax).toMatchObject([{ id: ids.hot, name: 'hot', value: 95 }]);
  });

  it('narrows to one organization or site, and refuses unknown or malformed filters', async () => {
    const internal = await api.request('GET', `devices/summary?organizationId=${internalId}`, { token: admin });
    expect(internal.body).toMatchObject({ total: 1, connectivity: { online: 0, offline: 1, neverSeen: 0 } });
    expect(internal.body.organizations).toHaveLength(1);
    expect(internal.body.worst.cpuPercent).toEqual([]);
    const site = await api.request('GET', `devices/summary?siteId=${customerSiteId}`, { token: admin });
    expect(site.body.total).toBe(5);
    expect(site.body.organizations.map((o: { name: string }) => o.name)).toEqual(['Acme']);
    const servers = await api.request('GET', 'devices/summary?type=server', { token: admin });
    expect(servers.body).toMatchObject({ total: 0, worst: { cpuPercent: [] } });

    for (const query of ['organizationId=acme', 'siteId=1', 'type=router', 'limit=5']) {
      const bad = await api.request('GET', `devices/summary?${query}`, { token: admin });
      expect(bad.status, query).toBe(400);
      expect(bad.body.code, query).toBe('VALIDATION_FAILED');
    }
  });

  it('is readable by every role that sees devices, and not without a session', async () => {
    const readOnly = await api.createUser(admin, 'read_only');
    const token = await api.tokenFor(readOnly.email);
    expect((await api.request('GET', 'devices/summary', { token })).status).toBe(200);
    expect((await api.request('GET', 'devices/summary')).status).toBe(401);
  });
});
