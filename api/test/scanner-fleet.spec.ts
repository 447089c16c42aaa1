import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ScannerStatsSchema, type ScannerStats } from '@xspectre/contracts';
import type { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollBody, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** A feed version `YYYYMMDDhhmm` this long ago. */
const feedVersion = (ago: number) => new Date(Date.now() - ago).toISOString().replace(/\D/g, '').slice(0, 12);
const iso = (offset: number) => new Date(Date.now() + offset).toISOString();

interface Shape {
  nvtAge?: number;
  gvmdTag?: string;
  ospdState?: string;
  running?: boolean;
  lastEndedAgo?: number;
  reachable?: boolean;
  reportId?: string;
}

/** A scanner's report as the agent's collector makes it, in one of the states the fleet view tells apart. */
function report(shape: Shape = {}): ScannerStats {
  const reachable = shape.reachable ?? true;
  const container = (service: string, image: string, state = 'running', memoryBytes: number | null = null) => ({
    service,
    container: `greenbone-community-edition-${service}-1`,
    image,
    state,
    restartCount: 0,
    startedAt: iso(-DAY),
    lastOomKillAt: null,
    memoryBytes,
  });
  return ScannerStatsSchema.parse({
    collectedAt: iso(-5_000),
    gmp: reachable
      ? { reachable: true, error: null, latencyMs: 9, version: '22.5', features: null }
      : { reachable: false, error: { code: 'socket_missing', message: 'no socket' }, latencyMs: null, version: null, features: null },
    feeds: reachable
      ? [
          { type: 'NVT', version: feedVersion(shape.nvtAge ?? 2 * HOUR), isSyncing: false, syncingSince: null, syncError: null },
          { type: 'SCAP', version: feedVersion(DAY), isSyncing: true, syncingSince: null, syncError: null },
        ]
      : [],
    feedOwnerSet: reachable ? true : null,
    scanners: [],
    tasks: reachable
      ? [
          {
            id: 'task-1',
            name: 'Weekly',
            status: shape.running === false ? 'Done' : 'Running',
            progress: shape.running === false ? null : 30,
            currentScanStartedAt: null,
            averageDurationSeconds: 3600,
            nextRunAt: iso(2 * DAY),
            lastReport: {
              id: shape.reportId ?? randomUUID(),
              scanStartedAt: iso(-(shape.lastEndedAgo ?? DAY) - HOUR),
              scanEndedAt: iso(-(shape.lastEndedAgo ?? DAY)),
              counts: { critical: 1, high: 2, medium: 3, low: 4, log: 9, falsePositive: 0 },
              errorCount: 0,
            },
          },
          {
            id: 'task-2',
            name: 'Nightly',
            status: 'Done',
            progress: null,
            currentScanStartedAt: null,
            averageDurationSeconds: null,
            nextRunAt: iso(DAY),
            lastReport: null,
          },
        ]
      : [],
    tasksTruncated: false,
    totals: { tasks: 2, targets: 1, credentials: 0, reports: 3 },
    coreContainers: [
      container('gvmd', `registry.community.greenbone.net/community/gvmd:${shape.gvmdTag ?? '24.1.2'}`),
      container('ospd-openvas', 'registry.community.greenbone.net/community/ospd-openvas:22.7.1', shape.ospdState ?? 'running'),
      container('redis-server', 'registry.community.greenbone.net/community/redis-server', 'running', 2 * 1024 ** 3),
    ],
    dockerData: { path: '/var/lib/docker', usedBytes: 30, totalBytes: 120 },
    hostMemoryBytes: 8 * 1024 ** 3,
  });
}

describe('scanner fleet view (GET scanners)', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let readOnly: string;
  let acme: { organizationId: string; siteId: string };
  let beta: { organizationId: string; siteId: string };
  const sequence = new Map<string, number>();
  const ids: Record<string, string> = {};

  const enrollScanner = async (where: { organizationId: string; siteId: string }, name: string, type = 'scanner') => {
    const created = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type } });
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
    if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${enrolled.text}`);
    return { id: enrolled.body.deviceId as string, credential: enrolled.body.deviceCredential as string };
  };
  const send = async (device: { id: string; credential: string }, stats: ScannerStats) => {
    const seq = (sequence.get(device.id) ?? 0) + 1;
    sequence.set(device.id, seq);
    const r = await api.request('POST', 'agent/heartbeats', {
      token: device.credential,
      body: { heartbeats: [{ ...testHeartbeat(device.id, seq), scannerStats: stats }] },
    });
    expect(r.status, r.text).toBe(200);
  };
  const list = (query = '', token = admin) => api.request('GET', `scanners${query}`, { token });
  const names = (body: { items: Array<{ deviceName: string }> }) => body.items.map((i) => i.deviceName);

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    acme = await createOrganizationSite(api, admin, 'Acme Scans');
    beta = await createOrganizationSite(api, admin, 'Beta Scans', 'internal');
    const shapes: Array<[string, { organizationId: string; siteId: string }, Shape]> = [
      ['a-healthy', acme, {}],
      ['b-stale-feed', acme, { nvtAge: 10 * DAY, gvmdTag: '24.1.0' }],
      ['c-idle-failing', acme, { ospdState: 'exited', running: false, lastEndedAgo: 10 * DAY }],
      ['d-unreachable', beta, { reachable: false }],
      ['e-healthy', beta, {}],
    ];
    for (const [name, where, shape] of shapes) {
      const device = await enrollScanner(where, name);
      ids[name] = device.id;
      await send(device, report(shape));
    }
    // Reports are stored after the heartbeat's commit, off the request path.
    for (let i = 0; (await list()).body.total !== 5; i++) {
      if (i > 200) throw new Error(`the scanner reports did not arrive: ${(await list()).text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // An open scanner alert on the healthy one of Beta (and a resolved one that does not count).
    for (const [severity, state, subject] of [
      ['critical', 'open', 'NVT'],
      ['warning', 'acknowledged', 'SCAP'],
      ['warning', 'resolved', 'CERT'],
    ])
      await api.sql.query(
        `INSERT INTO alerts (id, rule_key, kind, severity, state, device_id, organization_id, site_id, subject, title, opened_at)
         VALUES ($1, 'scanner-feed-age', 'scanner', $2, $3, $4, $5, $6, $7, 'test alert', now())`,
        [randomUUID(), severity, state, ids['e-healthy'], beta.organizationId, beta.siteId, subject],
      );
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('fills every field of a row from the latest report and its history', async () => {
    const r = await list('', readOnly);
    expect(r.status, r.text).toBe(200);
    expect(names(r.body)).toEqual(['a-healthy', 'b-stale-feed', 'c-idle-failing', 'd-unreachable', 'e-healthy']);
    const a = r.body.items[0];
    expect(a).toMatchObject({
      deviceId: ids['a-healthy'],
      organizationId: acme.organizationId,
      organizationName: 'Acme Scans',
      siteId: acme.siteId,
      siteName: 'HQ',
      stale: false,
      gmpReachable: true,
      gmpVersion: '22.5',
      feedsSyncing: true,
      tasksRunning: 1,
      coreContainers: [
        { service: 'gvmd', state: 'running' },
        { service: 'ospd-openvas', state: 'running' },
        { service: 'redis-server', state: 'running' },
      ],
      dockerDataUsedPercent: 25,
      redisMemoryPercent: 25,
      // redis-server's image has no tag: no version for it.
      versions: { gvmd: '24.1.2', 'ospd-openvas': '22.7.1' },
      versionDrift: false,
      severityLastWeek: { critical: 1, high: 2, medium: 3, low: 4 },
      openAlerts: { critical: 0, warning: 0, info: 0 },
    });
    expect(a.feeds).toEqual([
      { type: 'NVT', version: expect.any(String), at: expect.any(String), syncing: false },
      { type: 'SCAP', version: expect.any(String), at: expect.any(String), syncing: true },
    ]);
    expect(Math.abs(Date.parse(a.lastFinishedScanAt) - (Date.now() - DAY))).toBeLessThan(60_000);
    expect(Math.abs(Date.parse(a.nextRunAt) - (Date.now() + DAY))).toBeLessThan(60_000);

    const byName = Object.fromEntries(r.body.items.map((i: { deviceName: string }) => [i.deviceName, i]));
    expect(byName['e-healthy'].openAlerts).toEqual({ critical: 1, warning: 1, info: 0 });
    expect(byName['e-healthy'].organizationName).toBe('Beta Scans');
    // A report that ended 10 days ago is not last week's.
    expect(byName['c-idle-failing'].severityLastWeek).toEqual({ critical: 0, high: 0, medium: 0, low: 0 });
    expect(byName['b-stale-feed']).toMatchObject({ versionDrift: true, versions: { gvmd: '24.1.0' } });
    expect(byName['d-unreachable']).toMatchObject({ gmpReachable: false, feeds: [], lastFinishedScanAt: null, nextRunAt: null });
  });

  it.each([
    ['stale_feeds', ['b-stale-feed']],
    ['failing', ['c-idle-failing', 'd-unreachable', 'e-healthy']],
    ['idle', ['c-idle-failing', 'd-unreachable']],
    ['version_drift', ['b-stale-feed']],
  ])('filter=%s', async (filter, expected) => {
    const r = await list(`?filter=${filter}`);
    expect(r.status, r.text).toBe(200);
    expect(names(r.body)).toEqual(expected);
    expect(r.body.total).toBe(expected.length);
  });

  it('filters by organization and site, with totals and pages that agree', async () => {
    const acmeRows = await list(`?organizationId=${acme.organizationId}`);
    expect(names(acmeRows.body)).toEqual(['a-healthy', 'b-stale-feed', 'c-idle-failing']);
    const betaSite = await list(`?siteId=${beta.siteId}&filter=failing`);
    expect([names(betaSite.body), betaSite.body.total]).toEqual([['d-unreachable', 'e-healthy'], 2]);

    const page1 = await list('?limit=2&offset=0');
    const page3 = await list('?limit=2&offset=4');
    const past = await list('?limit=2&offset=10');
    expect([names(page1.body), page1.body.total]).toEqual([['a-healthy', 'b-stale-feed'], 5]);
    expect([names(page3.body), page3.body.total]).toEqual([['e-healthy'], 5]);
    expect([names(past.body), past.body.total]).toEqual([[], 5]);
    const failingPage = await list('?filter=failing&limit=1&offset=1');
    expect([names(failingPage.body), failingPage.body.total]).toEqual([['d-unreachable'], 3]);
  });

  it('leaves out scanners that are not active and shows a stale report as stale', async () => {
    await api.sql.query(`UPDATE scanner_snapshots SET collected_at = now() - interval '25 minutes' WHERE device_id = ANY($1)`, [
      [ids['a-healthy'], ids['c-idle-failing'], ids['d-unreachable']],
    ]);
    const stale = await list('?stale=true');
    expect(names(stale.body)).toEqual(['a-healthy', 'c-idle-failing', 'd-unreachable']);
    expect(stale.body.items.map((i: { stale: boolean }) => i.stale)).toEqual([true, true, true]);
    expect(names((await list('?stale=false')).body)).toEqual(['b-stale-feed', 'e-healthy']);
    // A stale report no longer sets the fleet's newest versions, but e's fresh 24.1.2 still does.
    expect(names((await list('?filter=version_drift')).body)).toEqual(['b-stale-feed']);

    const revoked = await api.request('POST', `devices/${ids['e-healthy']}/revoke`, { token: admin });
    expect(revoked.status, revoked.text).toBeLessThan(300);
    expect((await list()).body.total).toBe(4);
    // e was the last fresh 24.1.2: with it gone, nobody fresh is newer than b's 24.1.0.
    expect(names((await list('?filter=version_drift')).body)).toEqual([]);
  });

  it.each([
    ['filter=broken', 'filter'],
    ['organizationId=nope', 'organizationId'],
    ['siteId=1', 'siteId'],
    ['limit=0', 'limit'],
    ['stale=maybe', 'stale'],
    ['unknown=1', 'unknown'],
  ])('refuses %s with a 400 naming the field', async (query, field) => {
    const r = await list(`?${query}`);
    expect(r.status, r.text).toBe(400);
    expect(r.text).toContain(field);
  });
});
