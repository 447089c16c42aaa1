import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SMART_DISKS, type DiskHealth, type DiskHealthReport } from '@xspectre/contracts';
import { HeartbeatAlerts } from '../src/alerts/heartbeat-alerts.js';
import { evaluateThroughEvents } from './support/alert-outbox.js';
import {
  createOrganizationSite,
  enrollDeviceAt,
  startApiWithLabHub,
  testHeartbeat,
  type EnrolledDevice,
  type LabHub,
} from './support/fleet.js';
import type { TestApi } from './support/harness.js';

/**
 * SMART disk health through the real parts: heartbeats carrying `diskHealth` over the agent
 * route, the row per device, the device events and the built-in `disk-smart-failed` rule through
 * the alert engine's outbox, the inventory route; bad readings refused whole.
 */
describe('SMART disk health', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let place: { organizationId: string; siteId: string };
  const sequences = new Map<string, number>();

  const disk = (over: Partial<DiskHealth> = {}): DiskHealth => ({
    device: '/dev/sda',
    protocol: 'ATA',
    model: 'WDC WD20EFRX-68EUZN0',
    serial: 'WD-WCC4E0DEAD01',
    health: 'passed',
    temperatureC: 33,
    powerOnHours: 41_000,
    reallocatedSectors: 0,
    pendingSectors: 0,
    mediaErrors: null,
    percentageUsed: null,
    criticalWarning: null,
    error: null,
    ...over,
  });
  const nvme = disk({
    device: '/dev/nvme0',
    protocol: 'NVMe',
    model: 'Samsung SSD 970 EVO Plus 1TB',
    serial: 'S4EWNX0R654321B',
    reallocatedSectors: null,
    pendingSectors: null,
    mediaErrors: 0,
    percentageUsed: 3,
    criticalWarning: 0,
  });
  const reading = (disks: DiskHealth[], status: DiskHealthReport['status'] = 'ok'): DiskHealthReport => ({
    collectedAt: new Date().toISOString(),
    status,
    ...(status === 'unavailable' ? { reason: 'smartctl is not installed (package smartmontools)' } : {}),
    disks,
  });
  const nextSequence = (d: EnrolledDevice) => {
    const s = (sequences.get(d.id) ?? 0) + 1;
    sequences.set(d.id, s);
    return s;
  };
  const beat = async (d: EnrolledDevice, diskHealth: DiskHealthReport) => {
    const r = await api.request('POST', 'agent/heartbeats', {
      token: d.credential,
      body: testHeartbeat(d.id, nextSequence(d), { diskHealth }),
    });
    expect(r.status, r.text).toBe(200);
    await api.app.get(HeartbeatAlerts).idle();
  };
  const eventsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT type, severity, details FROM device_events WHERE device_id = $1 AND type LIKE 'disk.smart%' ORDER BY id`,
        [deviceId],
      )
    ).rows;
  const smartAlerts = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT severity, state, title FROM alerts WHERE device_id = $1 AND rule_key = 'disk-smart-failed' ORDER BY opened_at`,
        [deviceId],
      )
    ).rows;
  const inventory = async (deviceId: string) => {
    const r = await api.request('GET', `devices/${deviceId}/inventory`, { token: admin });
    expect(r.status).toBe(200);
    return r.body.diskHealth;
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    place = await createOrganizationSite(api, admin, 'Disk Health Co', 'customer');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('ships the built-in rule: critical, on disk.smart_failed, resolved by disk.smart_ok', async () => {
    const r = await api.request('GET', 'alert-rules', { token: admin });
    const rule = r.body.items.find((x: { key: string }) => x.key === 'disk-smart-failed');
    expect(rule).toMatchObject({
      kind: 'event',
      severity: 'critical',
      enabled: true,
      builtIn: true,
      params: { eventType: 'disk.smart_failed', resolvedBy: 'disk.smart_ok' },
    });
  });

  it('a failing disk raises one event and one critical alert per episode; passing again resolves it', async () => {
    const d = await enrollDeviceAt(api, admin, place, 'smart-1');
    expect(await inventory(d.id)).toBeNull();

    await beat(d, reading([disk(), nvme]));
    expect(await eventsOf(d.id)).toEqual([]);
    expect(await inventory(d.id)).toMatchObject({
      failing: [],
      report: { status: 'ok', disks: [{ device: '/dev/sda' }, { device: '/dev/nvme0' }] },
    });

    const failing = disk({ health: 'failed', reallocatedSectors: 2048, pendingSectors: 17 });
    await beat(d, reading([failing, nvme]));
    await beat(d, reading([{ ...failing, temperatureC: 35 }, nvme])); // the same episode: no second event
    await beat(d, reading([], 'unavailable')); // tells nothing about the disks: neither event
    expect(await eventsOf(d.id)).toEqual([
      {
        type: 'disk.smart_failed',
        severity: 'critical',
        details: { disks: ['WD-WCC4E0DEAD01'], reasons: ['/dev/sda: SMART health self-assessment FAILED'], failingDisks: 1 },
      },
    ]);
    expect((await inventory(d.id)).failing).toEqual([{ disk: 'WD-WCC4E0DEAD01', reason: '/dev/sda: SMART health self-assessment FAILED' }]);
    await evaluateThroughEvents(api);
    expect(await smartAlerts(d.id)).toEqual([{ severity: 'critical', state: 'open', title: 'Disk failing (SMART)' }]);

    // The NVMe drive now reports its spare below threshold: a new failing disk is a new event; the alert stays one.
    await beat(d, reading([failing, { ...nvme, criticalWarning: 1 }]));
    expect((await eventsOf(d.id)).map((e) => [e.type, e.details.disks])).toEqual([
      ['disk.smart_failed', ['WD-WCC4E0DEAD01']],
      ['disk.smart_failed', ['S4EWNX0R654321B']],
    ]);
    await evaluateThroughEvents(api);
    expect(await smartAlerts(d.id)).toHaveLength(1);

    // The failing disk was replaced and the NVMe warning cleared: ok, the alert resolves.
    await beat(d, reading([disk({ serial: 'WD-NEW0001' }), nvme]));
    expect((await eventsOf(d.id)).at(-1)).toEqual({
      type: 'disk.smart_ok',
      severity: 'info',
      details: { disks: ['WD-WCC4E0DEAD01', 'S4EWNX0R654321B'] },
    });
    await evaluateThroughEvents(api);
    expect((await smartAlerts(d.id)).map((a) => a.state)).toEqual(['resolved']);
    expect((await inventory(d.id)).failing).toEqual([]);
  });

  it('an older reading replayed late changes nothing', async () => {
    const d = await enrollDeviceAt(api, admin, place, 'smart-2');
    const late = testHeartbeat(d.id, 1, { diskHealth: reading([disk({ health: 'failed' })]) });
    sequences.set(d.id, 1);
    await beat(d, reading([disk()]));
    const r = await api.request('POST', 'agent/heartbeats', { token: d.credential, body: late });
    expect(r.status).toBe(200);
    expect(await eventsOf(d.id)).toEqual([]);
    expect((await inventory(d.id)).report.disks[0].health).toBe('passed');
  });

  it('bad readings are refused whole with a clear message; nothing is stored', async () => {
    const d = await enrollDeviceAt(api, admin, place, 'smart-3');
    const send = (raw: string) =>
      api.request('POST', 'agent/heartbeats', { token: d.credential, rawBody: raw.replace('"SEQ"', String(nextSequence(d))) });
    const heartbeatWith = (diskHealth: unknown) =>
      JSON.stringify(testHeartbeat(d.id, 0, { diskHealth: diskHealth as DiskHealthReport })).replace('"sequence":0', '"sequence":"SEQ"');

    const tooMany = await send(
      heartbeatWith(reading(Array.from({ length: MAX_SMART_DISKS + 1 }, (_, i) => disk({ device: `/dev/sd${i}` })))),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.detail).toMatch(/diskHealth\.disks.*at most 32 disks/s);

    const huge = await send(heartbeatWith(reading([disk({ model: 'x'.repeat(100_000) })])));
    expect(huge.status).toBe(400);
    expect(huge.body.detail).toMatch(/diskHealth\.disks\.0\.model/);

    // NaN and Infinity are not JSON; an out-of-range number is refused by the contract.
    const nan = await send(heartbeatWith(reading([disk()])).replace('"temperatureC":33', '"temperatureC":NaN'));
    expect(nan.status).toBe(400);
    const infinite = await send(heartbeatWith(reading([disk()])).replace('"temperatureC":33', '"temperatureC":1e999'));
    expect(infinite.status).toBe(400);
    expect(infinite.body.detail).toMatch(/diskHealth\.disks\.0\.temperatureC/);
    const fractional = await send(heartbeatWith(reading([disk({ reallocatedSectors: 1.5 })])));
    expect(fractional.status).toBe(400);
    expect(fractional.body.detail).toMatch(/diskHealth\.disks\.0\.reallocatedSectors/);
    const control = await send(heartbeatWith(reading([disk({ serial: 'S1\u001b[2J' })])));
    expect(control.status).toBe(400);
    expect(control.body.detail).toMatch(/control characters/);
    const unknownField = await send(heartbeatWith({ ...reading([disk()]), extra: 1 }));
    expect(unknownField.status).toBe(400);

    for (const r of [tooMany, huge, nan, infinite, fractional, control, unknownField])
      expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    expect(await inventory(d.id)).toBeNull();
    expect((await api.sql.query(`SELECT count(*)::int AS n FROM device_disk_health WHERE device_id = $1`, [d.id])).rows[0].n).toBe(0);
    expect(await eventsOf(d.id)).toEqual([]);
  });
});
