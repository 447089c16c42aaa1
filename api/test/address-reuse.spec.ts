import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { enrollBody, hubPeers, startApiWithLabHub, type LabHub } from './support/fleet.js';

type Hub = LabHub;

/** An overlay address back from quarantine goes to a new device, though the revoked one still shows it. */
describe('overlay address reuse', () => {
  let hub: Hub;
  let api: TestApi;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({ API_OVERLAY_POOL_CUSTOMER: '10.10.0.20-10.10.0.21', API_OVERLAY_QUARANTINE_SECONDS: '0' }));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('enrolls a new device on the address of a revoked or retired one (no unique violation, no 500)', async () => {
    const admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Reuse Corp', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    const enrolled: Array<{ id: string; address: string }> = [];
    for (let i = 0; i < 6; i++) {
      const device = await api.request('POST', 'devices', {
        token: admin,
        body: { name: `reuse-${i}`, organizationId: org.body.id, siteId: site.body.id, type: 'server' },
      });
      const r = await api.request('POST', 'enroll', { body: enrollBody(device.body.claimCode.code) });
      expect(r.status, r.text).toBe(201);
      enrolled.push({ id: device.body.device.id, address: r.body.tunnel.address });
      expect((await api.request('POST', `devices/${device.body.device.id}/${i % 2 ? 'retire' : 'revoke'}`, { token: admin })).status).toBe(
        201,
      );
    }
    // Two addresses in the pool, six devices: each address went round three times.
    expect(new Set(enrolled.map((e) => e.address)).size).toBeLessThanOrEqual(2);
    const shown = await api.request('GET', `devices/${enrolled[0]!.id}`, { token: admin });
    expect(shown.body.status).toBe('revoked');
    expect(await hubPeers(hub)).toEqual([]);
  });
});
