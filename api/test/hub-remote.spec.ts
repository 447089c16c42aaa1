import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollBody } from './support/fleet.js';

/**
 * An instance that drives no hub (API_WG_INTERFACE unset) asks the one that does over Redis
 * (api/src/hub/hub-requests.ts). Nobody subscribed: HUB_NOT_CONFIGURED at once. A subscriber that
 * never answers (a hub instance hung or partitioned): HUB_UNAVAILABLE after API_HUB_REQUEST_TIMEOUT_MS,
 * short here. Either way the enrollment changes nothing. Real PostgreSQL and Redis; the silent
 * "hub" is a plain Redis subscriber.
 */
describe('asking a remote hub over Redis', () => {
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  const subscribers: Redis[] = [];

  beforeAll(async () => {
    api = await TestApi.start({ API_HUB_REQUEST_TIMEOUT_MS: '300' });
    admin = await api.adminToken();
    where = await createOrganizationSite(api, admin, 'Remote Hub Co');
  });
  afterAll(async () => {
    for (const s of subscribers) s.disconnect();
    await api?.stop();
  });

  async function newDevice(name: string): Promise<{ id: string; code: string }> {
    const r = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type: 'server' } });
    expect(r.status, r.text).toBe(201);
    return { id: r.body.device.id, code: r.body.claimCode.code };
  }

  async function unchanged(deviceId: string): Promise<void> {
    expect((await api.request('GET', `devices/${deviceId}`, { token: admin })).body.status).toBe('pending');
    const codes = await api.sql.query('SELECT used_at FROM claim_codes WHERE device_id = $1', [deviceId]);
    expect(codes.rows[0].used_at).toBeNull();
    const leases = await api.sql.query('SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1', [deviceId]);
    expect(leases.rows[0].n).toBe(0);
  }

  it('nobody drives a hub: HUB_NOT_CONFIGURED, nothing changed', async () => {
    const device = await newDevice('remote-none');
    const r = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect([r.status, r.body.code]).toEqual([503, 'HUB_NOT_CONFIGURED']);
    await unchanged(device.id);
  });

  it('the hub instance receives the question but never answers: HUB_UNAVAILABLE after the timeout, nothing changed', async () => {
    const silent = new Redis(api.config.REDIS_URL, { maxRetriesPerRequest: null });
    subscribers.push(silent);
    const heard: string[] = [];
    silent.on('message', (_channel: string, text: string) => heard.push(text));
    await silent.subscribe(`${api.config.REDIS_KEY_PREFIX}hub:requests`);

    const device = await newDevice('remote-silent');
    const r = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect([r.status, r.body.code]).toEqual([503, 'HUB_UNAVAILABLE']);
    expect(r.body.detail).toContain('did not answer within 300 ms');
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    // It was asked (one probe before the enrollment's transaction), and nothing changed.
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatch(/^[0-9a-f-]{36} probe$/);
    await unchanged(device.id);

    // A hub answering someone else's request (another id) does not answer this one.
    const publisher = new Redis(api.config.REDIS_URL, { maxRetriesPerRequest: null });
    subscribers.push(publisher);
    silent.on('message', () => {
      void publisher.publish(
        `${api.config.REDIS_KEY_PREFIX}hub:replies`,
        '00000000-0000-4000-8000-000000000000 ok yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=',
      );
    });
    const again = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect([again.status, again.body.code]).toEqual([503, 'HUB_UNAVAILABLE']);
    expect(heard).toHaveLength(2);
    await unchanged(device.id);
  });
});
