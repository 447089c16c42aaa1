import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { WgCliHubDriver, generateKeyPair } from '@xspectre/wireguard';
import { HubService } from '../src/hub/hub.service.js';
import { TestApi } from './support/harness.js';
import { enrollBody, hubPeers, startApiWithLabHub, type LabHub } from './support/fleet.js';

type Hub = LabHub;

// Small-order Curve25519 points (contracts/src/wireguard-keys.spec.ts has all 14 encodings).
const SMALL_ORDER = [
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=',
  'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEdc=',
  '7P///////////////////////////////////////38=',
  '7v////////////////////////////////////////8=',
];

/** Keys no peer can use: refused at enrollment, and reported (not retried silently) by the hub reconcile. */
describe('WireGuard keys the hub cannot use', () => {
  let hub: Hub;
  let api: TestApi;
  let admin: string;
  let where: { orgId: string; siteId: string };
  let serial = 0;

  async function newDevice() {
    const r = await api.request('POST', 'devices', {
      token: admin,
      body: { name: `wg-${++serial}`, organizationId: where.orgId, siteId: where.siteId, type: 'server' },
    });
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string };
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({ API_ENROLL_RATE_LIMIT_PER_IP: '1000' }));
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Keys Corp', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    where = { orgId: org.body.id, siteId: site.body.id };
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await api?.stop();
    await hub?.stop();
  });

  it('refuses small-order public keys with a 400 naming wgPublicKey; the claim code stays usable', async () => {
    const device = await newDevice();
    for (const key of SMALL_ORDER) {
      const r = await api.request('POST', 'enroll', { body: enrollBody(device.code, { wgPublicKey: key }) });
      expect([r.status, r.body.code], key).toEqual([400, 'VALIDATION_FAILED']);
      expect(r.body.errors).toContainEqual({ path: 'body.wgPublicKey', message: expect.stringMatching(/small-order/) });
    }
    expect((await api.request('POST', 'enroll', { body: enrollBody(device.code) })).status).toBe(201);
  });

  it("refuses the hub's own public key with ENROLL_KEY_IS_HUB; the claim code stays usable", async () => {
    const device = await newDevice();
    const r = await api.request('POST', 'enroll', { body: enrollBody(device.code, { wgPublicKey: hub.publicKey }) });
    expect([r.status, r.body.code]).toEqual([409, 'ENROLL_KEY_IS_HUB']);
    expect((await api.request('GET', `devices/${device.id}`, { token: admin })).body.status).toBe('pending');
    expect((await api.request('POST', 'enroll', { body: enrollBody(device.code) })).status).toBe(201);
  });

  it('the reconcile reports active devices the hub refuses, warns once per device, and stops re-adding them', async () => {
    // Devices enrolled before these checks existed: their keys are planted directly.
    const [ownKey, smallOrder] = [await newDevice(), await newDevice()];
    for (const d of [ownKey, smallOrder]) expect((await api.request('POST', 'enroll', { body: enrollBody(d.code) })).status).toBe(201);
    await api.sql.query('UPDATE devices SET wg_public_key = $2 WHERE id = $1', [ownKey.id, hub.publicKey]);
    await api.sql.query('UPDATE devices SET wg_public_key = $2 WHERE id = $1', [smallOrder.id, SMALL_ORDER[0]]);

    const warn = vi.spyOn(Logger.prototype, 'warn');
    const log = vi.spyOn(Logger.prototype, 'log');
    const service = api.app.get(HubService);
    const results = [await service.reconcile()];
    log.mockClear();
    results.push(await service.reconcile(), await service.reconcile());
    // Nothing is applied again: a refused peer is left out, not re-added every period.
    expect(log.mock.calls.filter(([entry]) => (entry as { msg?: string })?.msg === 'hub peers updated')).toEqual([]);
    for (const result of results) {
      expect(result.ok).toBe(true);
      expect(result.refused).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ deviceId: ownKey.id, reason: "the hub's own key" }),
          expect.objectContaining({ deviceId: smallOrder.id, reason: 'small-order key' }),
        ]),
      );
      expect(result.refused).toHaveLength(2);
    }
    const warnedAbout = (id: string) => warn.mock.calls.filter(([entry]) => (entry as { deviceId?: string })?.deviceId === id).length;
    expect([warnedAbout(ownKey.id), warnedAbout(smallOrder.id)]).toEqual([1, 1]);
    expect((await hubPeers(hub)).map((p) => p.publicKey)).not.toContain(SMALL_ORDER[0]);

    // Re-enrolled under a new key (revoked here): the device leaves the report.
    expect((await api.request('POST', `devices/${smallOrder.id}/revoke`, { token: admin })).status).toBe(201);
    expect((await service.reconcile()).refused.map((r) => r.deviceId)).toEqual([ownKey.id]);
  });

  it('the hub driver returns the peers the interface did not keep', async () => {
    const driver = new WgCliHubDriver({ interfaceName: hub.interfaceName, netns: hub.netns });
    const device = { publicKey: generateKeyPair().publicKey, allowedIps: ['10.10.0.240/32'] };
    const own = { publicKey: hub.publicKey, allowedIps: ['10.10.0.241/32'] };
    const applied = await driver.apply([device, own]);
    expect(applied.add.map((p) => p.publicKey).sort()).toEqual([device.publicKey, own.publicKey].sort());
    expect(applied.refused).toEqual([own]);
    expect(await hubPeers(hub)).toEqual([{ publicKey: device.publicKey, allowedIps: '10.10.0.240/32' }]);
    expect((await driver.apply([device])).refused).toEqual([]);
  });
});
