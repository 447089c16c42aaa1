import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryReport } from '@xspectre/contracts';
import { enrollBody, enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import type { TestApi } from './support/harness.js';

interface Heard {
  change: string;
  /** The row the change concerns, read from the database as the message arrived. */
  state: Record<string, unknown> | undefined;
}

/**
 * What takes access away is announced on the access-changes channel (every API instance closes
 * the terminals and file sessions concerned), and only once the change committed: a listener that
 * reads the database on the message sees the new state; a refused request announces nothing.
 */
describe('access changes', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let subscriber: Redis;
  const heard: Heard[] = [];
  const waiters: Array<() => void> = [];

  const stateOf = async (change: string) => {
    const [kind, id] = change.split(':');
    const sql = {
      session: `SELECT revoked_at IS NOT NULL AS revoked, revoke_reason FROM auth_sessions WHERE id = $1`,
      user: `SELECT role, status FROM users WHERE id = $1`,
      device: `SELECT status, quarantined_at IS NOT NULL AS quarantined FROM devices WHERE id = $1`,
    }[kind!];
    return sql ? (await api.sql.query(sql, [id])).rows[0] : undefined;
  };
  /** The first message for `change` heard from now on (or already heard since `from`). */
  const hear = async (change: string, from: number): Promise<Heard> => {
    for (;;) {
      const found = heard.slice(from).find((h) => h.change === change);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const sessionIdOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    subscriber = new Redis(api.config.REDIS_URL, { maxRetriesPerRequest: null });
    subscriber.on('message', (_channel: string, text: string) => {
      // Read at once, in order: what a listener on another instance would see at that moment.
      void stateOf(text).then((state) => {
        heard.push({ change: text, state });
        for (const wake of waiters.splice(0)) wake();
      });
    });
    await subscriber.subscribe(`${api.config.REDIS_KEY_PREFIX}access-changes`);
  });
  afterAll(async () => {
    subscriber?.disconnect();
    await api?.stop();
    await hub?.stop();
  });

  it('logging out announces the session, once it is revoked', async () => {
    const user = await api.createUser(admin, 'soc_operator');
    const token = await api.tokenFor(user.email);
    const from = heard.length;
    expect((await api.request('POST', 'auth/logout', { token })).status).toBe(200);
    expect((await hear(`session:${sessionIdOf(token)}`, from)).state).toEqual({ revoked: true, revoke_reason: 'logout' });
  });

  it('disabling a user and changing a role announce the user, once changed', async () => {
    const disabled = await api.createUser(admin, 'soc_operator');
    await api.tokenFor(disabled.email);
    const demoted = await api.createUser(admin, 'soc_operator');
    let from = heard.length;
    expect((await api.request('PATCH', `users/${disabled.id}`, { token: admin, body: { status: 'disabled' } })).status).toBe(200);
    expect((await hear(`user:${disabled.id}`, from)).state).toEqual({ role: 'soc_operator', status: 'disabled' });
    from = heard.length;
    expect((await api.request('PATCH', `users/${demoted.id}`, { token: admin, body: { role: 'read_only' } })).status).toBe(200);
    expect((await hear(`user:${demoted.id}`, from)).state).toEqual({ role: 'read_only', status: 'active' });
  });

  it('revoking a device announces it, once revoked', async () => {
    const enrolledFrom = heard.length;
    const { deviceId } = await enrollTestDevice(api, admin, { organization: 'Revoked Co', device: 'ac-revoked' });
    // Enrollment announces the device too (a re-enrolled device's old credential is forgotten everywhere).
    expect((await hear(`device:${deviceId}`, enrolledFrom)).state).toEqual({ status: 'active', quarantined: false });
    const from = heard.length;
    expect((await api.request('POST', `devices/${deviceId}/revoke`, { token: admin })).status).toBe(201);
    expect((await hear(`device:${deviceId}`, from)).state).toEqual({ status: 'revoked', quarantined: false });
  });

  it('a heartbeat whose inventory breaks the fingerprint announces the quarantined device', async () => {
    const mac = '52:54:00:aa:bb:03';
    const report: InventoryReport = {
      vendor: 'Lab',
      model: 'Virtual',
      serial: 'SN-AC',
      cpu: { model: 'Lab CPU', cores: 2, id: 'cpu-1' },
      ramBytes: 4 * 1024 ** 3,
      disks: [{ name: 'vda', model: null, serial: null, sizeBytes: 20 * 1024 ** 3 }],
      os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
      macs: [mac],
    };
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Quarantine Co', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'ac-quarantined', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    const { vendor, model, serial, cpu, ramBytes, disks, os } = report;
    const hardware = { vendor, model, serial, cpu, ramBytes, disks, os };
    const enrolled = await api.request('POST', 'enroll', {
      body: { ...enrollBody(created.body.claimCode.code), macs: [mac], hardware, installationSalt: randomBytes(16).toString('base64url') },
    });
    expect(enrolled.status, enrolled.text).toBe(201);
    const deviceId = enrolled.body.deviceId as string;
    const beat = (sequence: number, inventory: InventoryReport) =>
      api.request('POST', 'agent/heartbeats', {
        token: enrolled.body.deviceCredential,
        body: testHeartbeat(deviceId, sequence, { inventory }),
      });

    expect((await beat(1, report)).status).toBe(200);
    const from = heard.length;
    expect((await beat(2, { ...report, serial: 'SN-CLONE' })).status).toBe(200);
    // The group commit is not a request's unit of work: its transaction runs the announcement after it
    // commits. (A message sent just before the commit would usually read the same here: the commit is faster
    // than the read; the order itself is the database's after-commit queue, api/src/db/database.ts.)
    expect((await hear(`device:${deviceId}`, from)).state).toEqual({ status: 'active', quarantined: true });
  });

  it('a refused request announces nothing', async () => {
    const { deviceId } = await enrollTestDevice(api, admin, { organization: 'Refused Co', device: 'ac-refused' });
    const readOnly = await api.createUser(admin, 'read_only');
    const readOnlyToken = await api.tokenFor(readOnly.email);
    const target = await api.createUser(admin, 'soc_operator');
    const from = heard.length;
    expect((await api.request('POST', `devices/${deviceId}/revoke`, { token: readOnlyToken })).status).toBe(403);
    expect((await api.request('PATCH', `users/${target.id}`, { token: readOnlyToken, body: { status: 'disabled' } })).status).toBe(403);
    expect((await api.request('PATCH', `users/${target.id}`, { token: admin, body: { role: 'bogus' } })).status).toBe(400);
    // A change announced afterwards marks the end: the channel is ordered, so anything earlier has arrived.
    const marker = await api.createUser(admin, 'soc_operator');
    expect((await api.request('PATCH', `users/${marker.id}`, { token: admin, body: { role: 'read_only' } })).status).toBe(200);
    await hear(`user:${marker.id}`, from);
    expect(heard.slice(from).map((h) => h.change)).toEqual([`user:${marker.id}`]);
  });
});
