import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, TestApi, uniqueEmail } from './support/harness.js';
import { enrollBody, enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import { httpFrom } from './support/http-from.js';

type Hub = LabHub;

/**
 * Client addresses behind proxies. The API trusts only 127.0.0.2 here (API_TRUST_PROXY), so a test
 * connecting from 127.0.0.2 is the proxy and one connecting from 127.0.0.1 is a direct, untrusted
 * client. Every place that takes the address is checked: audit rows, sessions, the login and
 * enrollment rate limits, and the agent source check (which must use the TCP peer only).
 */
describe('client addresses behind a proxy', () => {
  const PROXY = '127.0.0.2';
  const DIRECT = '127.0.0.1';
  let hub: Hub;
  let api: TestApi;
  let admin: string;

  const login = (from: string, xff: string | undefined, email: string, password = 'wrong password 1') =>
    httpFrom(from, `${api.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      body: { email, password },
    });

  async function lastLoginFailure(email: string): Promise<any> {
    const rows = await api.auditRows(`action = 'auth.login' AND result = 'failure' AND user_email = $1`, [email]);
    return rows.at(-1);
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({
      API_TRUST_PROXY: PROXY,
      API_LOGIN_RATE_LIMIT_PER_IP: '3',
      API_ENROLL_RATE_LIMIT_PER_IP: '2',
      // The device source check is under test here.
      API_AGENT_SOURCE_CHECK: 'true',
    }));
    const r = await httpFrom(PROXY, `${api.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'x-forwarded-for': '192.0.2.200' },
      body: { email: 'admin@test.local', password: ADMIN_PASSWORD },
    });
    admin = r.body.accessToken;
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('records the client behind a trusted proxy (right-most untrusted hop) in audit rows and sessions', async () => {
    const email = uniqueEmail('nobody');
    // What the client wrote itself (203.0.113.9) is left of what the proxy appended.
    expect((await login(PROXY, '203.0.113.9, 198.51.100.7', email)).status).toBe(401);
    expect((await lastLoginFailure(email)).source_ip).toBe('198.51.100.7');

    const { rows } = await api.sql.query(`SELECT source_ip FROM auth_sessions ORDER BY created_at LIMIT 1`);
    expect(rows[0].source_ip).toBe('192.0.2.200');
    const success = await api.auditRows(`action = 'auth.login' AND result = 'success'`);
    expect(success[0].source_ip).toBe('192.0.2.200');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const email = uniqueEmail('nobody');
    expect((await login(DIRECT, '198.51.100.99', email)).status).toBe(401);
    expect((await lastLoginFailure(email)).source_ip).toBe(DIRECT);
  });

  it('gives each client behind the proxy its own login rate-limit bucket', async () => {
    const email = uniqueEmail('nobody');
    for (let i = 0; i < 3; i++) expect((await login(PROXY, '198.51.100.10', email)).status).toBe(401);
    const limited = await login(PROXY, '198.51.100.10', email);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    // Another operator behind the same proxy is not locked out of sign-in by the first.
    expect((await login(PROXY, '198.51.100.11', email)).status).toBe(401);
    // A client cannot pick a fresh bucket by writing X-Forwarded-For itself when it connects directly...
    for (let i = 0; i < 3; i++) await login(DIRECT, `198.51.100.${50 + i}`, email);
    expect((await login(DIRECT, '198.51.100.60', email)).status).toBe(429);
    // ...nor through the proxy: its own claim is left of the address the proxy appended.
    expect((await login(PROXY, '198.51.100.77, 198.51.100.10', email)).status).toBe(429);
  });

  it('gives each client behind the proxy its own enrollment rate-limit bucket', async () => {
    const enroll = (xff: string) =>
      httpFrom(PROXY, `${api.baseUrl}/api/v1/enroll`, {
        method: 'POST',
        headers: { 'x-forwarded-for': xff },
        body: enrollBody('AAAA-BBBB-CCCC-DDDD-EEEE'),
      }).then((r) => r.body.code as string);
    expect(await enroll('198.51.100.20')).not.toBe('RATE_LIMITED');
    expect(await enroll('198.51.100.20')).not.toBe('RATE_LIMITED');
    expect(await enroll('198.51.100.20')).toBe('RATE_LIMITED');
    expect(await enroll('198.51.100.21')).not.toBe('RATE_LIMITED');
  });

  it('never takes a device source address from X-Forwarded-For, even from a trusted proxy', async () => {
    const device = await enrollTestDevice(api, admin, { organization: 'Proxy Org', device: 'proxy-scanner' });
    const { rows } = await api.sql.query('SELECT overlay_address FROM devices WHERE id = $1', [device.deviceId]);
    const overlay = rows[0].overlay_address as string;
    expect(overlay).toMatch(/^10\.10\.0\./);
    for (const from of [PROXY, DIRECT]) {
      const r = await httpFrom(from, `${api.baseUrl}/api/v1/agent/heartbeats`, {
        method: 'POST',
        headers: { authorization: `Bearer ${device.credential}`, 'x-forwarded-for': overlay },
        body: testHeartbeat(device.deviceId, 1),
      });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('DEVICE_SOURCE_MISMATCH');
      expect(r.body.detail).toContain(from);
    }
    expect((await api.sql.query('SELECT 1 FROM device_heartbeats WHERE device_id = $1', [device.deviceId])).rowCount).toBe(0);
  });
});
