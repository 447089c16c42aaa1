import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { enrollBody, enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/**
 * Text PostgreSQL cannot store (NUL, unpaired UTF-16 surrogates) is refused at validation with a
 * 400 naming the field, wherever it arrives: bodies, query strings, path parameters, from
 * operators and devices alike. Before, such text reached PostgreSQL and the answer was a 500.
 */
const LONE_HIGH = '\ud800';
const LONE_LOW = '\udfff';
const NUL = '\u0000';

describe('text the database cannot store', () => {
  let api: TestApi;
  let admin: string;
  let hub: LabHub;
  let orgId: string;
  let siteId: string;
  const count = async (table: string) => Number((await api.sql.query(`SELECT count(*) FROM ${table}`)).rows[0].count);

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Text Org', kind: 'customer' } });
    orgId = org.body.id;
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: orgId, name: 'HQ', timeZone: 'UTC' } });
    siteId = site.body.id;
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  function expectRefused(r: { status: number; body: any }, path: string) {
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  }

  it('refuses unpaired surrogates and NUL in operator names, nothing stored', async () => {
    const orgs = await count('organizations');
    for (const name of [`bad${LONE_HIGH}`, `${LONE_LOW}bad`, `a${NUL}b`]) {
      expectRefused(await api.request('POST', 'organizations', { token: admin, body: { name, kind: 'customer' } }), 'body.name');
      expectRefused(
        await api.request('POST', 'sites', { token: admin, body: { organizationId: orgId, name, timeZone: 'UTC' } }),
        'body.name',
      );
      expectRefused(
        await api.request('POST', 'devices', { token: admin, body: { name, organizationId: orgId, siteId, type: 'scanner' } }),
        'body.name',
      );
      expectRefused(await api.request('PATCH', `organizations/${orgId}`, { token: admin, body: { name } }), 'body.name');
      expectRefused(
        await api.request('POST', 'users', {
          token: admin,
          body: { email: 'x@example.com', displayName: name, role: 'read_only', password: 'long-enough-password' },
        }),
        'body.displayName',
      );
    }
    expect(await count('organizations')).toBe(orgs);
    // A well-formed pair (an emoji) is ordinary text.
    const emoji = await api.request('POST', 'organizations', { token: admin, body: { name: 'Café 🛰️', kind: 'customer' } });
    expect(emoji.status).toBe(201);
    expect(emoji.body.name).toBe('Café 🛰️');
  });

  it('names the field in unknown keys and nested values too, keys included', async () => {
    const r = await api.request('POST', 'organizations', {
      token: admin,
      body: { name: 'ok', kind: 'customer', [`k${NUL}`]: 1, nested: { deep: [`v${LONE_HIGH}`] } },
    });
    expectRefused(r, 'body.nested.deep.0');
    expect(r.body.errors.map((e: { path: string }) => e.path)).toContain('body.<key #2>');
    // The bad text itself is never echoed back.
    expect(r.text).not.toContain('\\u0000');
  });

  it('refuses NUL in query-string filters of every list and the CSV export', async () => {
    const filters = [
      'devices?q=%00',
      'devices/summary?organizationId=%00',
      'organizations?q=a%00b',
      `sites?organizationId=${orgId}&q=%00`,
      'users?q=%00',
      'audit?action=%00',
      'audit?resourceType=x%00',
      'audit?resourceId=%00',
      'audit/export?action=%00',
      'claim-codes?deviceId=%00',
    ];
    for (const path of filters) {
      const r = await api.request('GET', path, { token: admin });
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.body.code).toBe('VALIDATION_FAILED');
      expect(r.body.errors[0].path).toMatch(/^query\./);
    }
  });

  it('refuses NUL in path parameters', async () => {
    for (const path of ['devices/%00', 'organizations/a%00', 'devices/%00/revoke']) {
      const method = path.endsWith('revoke') ? 'POST' : 'GET';
      const r = await api.request(method, path, { token: admin, ...(method === 'POST' ? { body: {} } : {}) });
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.body.errors[0].path).toMatch(/^path\./);
    }
  });

  it('refuses them in device facts: enrollment and heartbeats', async () => {
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'text-device', organizationId: orgId, siteId, type: 'scanner' },
    });
    const body = enrollBody(created.body.claimCode.code);
    body.hardware.vendor = `Lab${LONE_HIGH}`;
    expectRefused(await api.request('POST', 'enroll', { body }), 'body.hardware.vendor');
    // The claim code is still usable: nothing was written.
    const ok = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
    expect(ok.status).toBe(201);

    const { deviceId, credential } = await enrollTestDevice(api, admin, { organization: 'Text Device Org', device: 'facts' });
    const services = [{ unit: `x${LONE_LOW}.service`, activeState: 'active', subState: 'running', since: null, watched: true }];
    const r = await api.request('POST', 'agent/heartbeats', { token: credential, body: testHeartbeat(deviceId, 1, { services }) });
    expectRefused(r, 'body.services.0.unit');
    const docker = { status: 'error' as const, error: `boom${NUL}` };
    expectRefused(
      await api.request('POST', 'agent/heartbeats', { token: credential, body: testHeartbeat(deviceId, 1, { docker }) }),
      'body.docker.error',
    );
    expect(Number((await api.sql.query('SELECT count(*) FROM device_heartbeats WHERE device_id = $1', [deviceId])).rows[0].count)).toBe(0);
    // The device's next good heartbeat is taken.
    const good = await api.request('POST', 'agent/heartbeats', { token: credential, body: testHeartbeat(deviceId, 1) });
    expect(good.status).toBe(200);
  });
});
