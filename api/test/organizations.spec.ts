import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi, totpCode } from './support/harness.js';

describe('organizations and sites', () => {
  let api: TestApi;
  let admin: string;

  beforeAll(async () => {
    api = await TestApi.start();
    admin = await api.adminToken();
    const { secret } = await api.enableTotp(admin);
    await api.request('POST', 'auth/step-up', { token: admin, body: { code: await totpCode(secret, 0) } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('customers are billable, the single internal organization is not', async () => {
    const customer = await api.request('POST', 'organizations', { token: admin, body: { name: 'Contoso', kind: 'customer' } });
    expect(customer.status).toBe(201);
    expect(customer.body).toMatchObject({ name: 'Contoso', kind: 'customer', billable: true, siteCount: 0 });
    const internal = await api.request('POST', 'organizations', { token: admin, body: { name: 'xSPECTRE', kind: 'internal' } });
    expect(internal.body).toMatchObject({ kind: 'internal', billable: false });
    const second = await api.request('POST', 'organizations', { token: admin, body: { name: 'xSPECTRE Lab', kind: 'internal' } });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('ORGANIZATION_INTERNAL_EXISTS');
    const list = await api.request('GET', 'organizations?kind=customer', { token: admin });
    expect(list.body.items.map((o: { name: string }) => o.name)).toEqual(['Contoso']);
  });

  it('renames, lists with site counts, and refuses to delete an organization that still has sites', async () => {
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Fabrikam', kind: 'customer' } });
    const renamed = await api.request('PATCH', `organizations/${org.body.id}`, { token: admin, body: { name: 'Fabrikam GmbH' } });
    expect(renamed.body.name).toBe('Fabrikam GmbH');
    const taken = await api.request('PATCH', `organizations/${org.body.id}`, { token: admin, body: { name: 'contoso' } });
    expect(taken.body.code).toBe('ORGANIZATION_NAME_TAKEN');

    const site = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: org.body.id, name: 'Munich', timeZone: 'Europe/Berlin' },
    });
    expect(site.status).toBe(201);
    expect(site.body).toMatchObject({ name: 'Munich', timeZone: 'Europe/Berlin', organizationId: org.body.id });
    const other = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: org.body.id, name: 'Lisbon', timeZone: 'Europe/Lisbon' },
    });
    const moved = await api.request('PATCH', `sites/${other.body.id}`, { token: admin, body: { timeZone: 'Atlantic/Azores' } });
    expect(moved.body.timeZone).toBe('Atlantic/Azores');
    expect((await api.request('PATCH', `sites/${other.body.id}`, { token: admin, body: {} })).status).toBe(400);
    expect((await api.request('GET', `organizations/${org.body.id}`, { token: admin })).body.siteCount).toBe(2);
    const sites = await api.request('GET', `sites?organizationId=${org.body.id}`, { token: admin });
    expect(sites.body.items.map((s: { name: string }) => s.name)).toEqual(['Lisbon', 'Munich']);

    const refused = await api.request('DELETE', `organizations/${org.body.id}`, { token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('ORGANIZATION_NOT_EMPTY');
    for (const id of [site.body.id, other.body.id]) expect((await api.request('DELETE', `sites/${id}`, { token: admin })).status).toBe(204);
    expect((await api.request('DELETE', `organizations/${org.body.id}`, { token: admin })).status).toBe(204);
    expect((await api.request('GET', `organizations/${org.body.id}`, { token: admin })).status).toBe(404);
    expect(await api.auditRows(`action = 'organization.delete' AND resource_id = $1 AND result = 'success'`, [org.body.id])).toHaveLength(
      1,
    );
  });

  it('refuses to delete a site that has devices (a retired one too), and counts them', async () => {
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Northwind', kind: 'customer' } });
    const site = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: org.body.id, name: 'Oslo', timeZone: 'Europe/Oslo' },
    });
    expect(site.body.deviceCount).toBe(0);
    const device = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'oslo-scan-1', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    expect(device.status).toBe(201);
    expect((await api.request('GET', `sites/${site.body.id}`, { token: admin })).body.deviceCount).toBe(1);
    expect((await api.request('POST', `devices/${device.body.device.id}/retire`, { token: admin })).status).toBe(201);

    const refused = await api.request('DELETE', `sites/${site.body.id}`, { token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'SITE_NOT_EMPTY' });
    expect(refused.body.detail).toContain('Oslo still has 1 device(s)');
    const listed = await api.request('GET', `sites?organizationId=${org.body.id}`, { token: admin });
    expect(listed.body.items).toMatchObject([{ name: 'Oslo', deviceCount: 1 }]);
    expect((await api.request('GET', `devices/${device.body.device.id}`, { token: admin })).body.siteId).toBe(site.body.id);
    expect(await api.auditRows(`action = 'site.delete' AND resource_id = $1 AND result <> 'success'`, [site.body.id])).toHaveLength(1);
  });

  it('a site needs an existing organization', async () => {
    const r = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: '00000000-0000-4000-8000-000000000000', name: 'Ghost', timeZone: 'UTC' },
    });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('ORGANIZATION_NOT_FOUND');
  });

  it('operators read organizations but cannot change them', async () => {
    const soc = await api.createUser(admin, 'soc_operator');
    const token = await api.tokenFor(soc.email);
    expect((await api.request('GET', 'organizations', { token })).status).toBe(200);
    expect((await api.request('POST', 'organizations', { token, body: { name: 'Mine', kind: 'customer' } })).body.code).toBe(
      'AUTH_FORBIDDEN',
    );
  });
});

describe('health', () => {
  it('is ready with PostgreSQL and Redis, and not ready (503) without Redis', async () => {
    const ok = await TestApi.start();
    try {
      const ready = await ok.request('GET', 'health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true } } });
      expect(ready.headers.get('x-request-id')).toBeTruthy();
      const echoed = await ok.request('GET', 'health', { headers: { 'x-request-id': 'trace-abc-12345' } });
      expect(echoed.headers.get('x-request-id')).toBe('trace-abc-12345');
    } finally {
      await ok.stop();
    }
    const noRedis = await TestApi.start({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const r = await noRedis.request('GET', 'health/ready');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ status: 'not_ready', checks: { postgres: { ok: true }, redis: { ok: false } } });
      expect((await noRedis.request('GET', 'health')).status).toBe(200);
    } finally {
      await noRedis.stop();
    }
  });
});
