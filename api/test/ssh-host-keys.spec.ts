import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryReport } from '@xspectre/contracts';
import { SshHostKeysService } from '../src/inventory/ssh-host-keys.service.js';
import { sshKeyFingerprint } from '../src/ssh/ssh-certificate-authority.js';
import { enrollBody, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import type { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { evaluateThroughEvents } from './support/alert-outbox.js';

const MAC = '52:54:00:aa:bb:02';
const newKey = (comment = 'root@lab') => `ssh-ed25519 ${randomBytes(32).toString('base64')} ${comment}`;

/**
 * Pinned SSH host keys through the real routes: the agent's inventory reports a key, a different
 * one becomes pending with a critical event and alert, and a stepped-up Super Admin accepts it.
 */
describe('SSH host keys', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let sequence = 0;

  const report = (changes: Partial<InventoryReport> = {}): InventoryReport => ({
    vendor: 'Lab',
    model: 'Virtual',
    serial: 'SN-HOSTKEY',
    cpu: { model: 'Lab CPU', cores: 2, id: 'cpu-1' },
    ramBytes: 4 * 1024 ** 3,
    disks: [{ name: 'vda', model: 'QEMU HARDDISK', serial: 'D1', sizeBytes: 20 * 1024 ** 3 }],
    os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
    macs: [MAC],
    nics: [{ name: 'eth0', mac: MAC, physical: true, addresses: ['192.0.2.10'] }],
    agentVersion: '0.1.0',
    ...changes,
  });

  /** An enrolled device whose fingerprint the reports above reproduce, pinned to `sshHostKey`. */
  const enroll = async (name: string, sshHostKey: string) => {
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: `${name} Co`, kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name, organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    const { vendor, model, serial, cpu, ramBytes, disks, os } = report();
    const enrolled = await api.request('POST', 'enroll', {
      body: {
        ...enrollBody(created.body.claimCode.code),
        macs: [MAC],
        hardware: { vendor, model, serial, cpu, ramBytes, disks, os },
        sshHostKey,
        installationSalt: randomBytes(16).toString('base64url'),
      },
    });
    expect(enrolled.status, enrolled.text).toBe(201);
    return { id: enrolled.body.deviceId as string, credential: enrolled.body.deviceCredential as string };
  };
  const inventory = async (device: { id: string; credential: string }, changes: Partial<InventoryReport>) => {
    const r = await api.request('POST', 'agent/heartbeats', {
      token: device.credential,
      body: testHeartbeat(device.id, ++sequence, { inventory: report(changes) }),
    });
    expect(r.status, r.text).toBe(200);
  };
  const hostKey = async (id: string) => {
    const r = await api.request('GET', `devices/${id}/ssh-host-key`, { token: admin });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };
  const events = async (id: string, type: string) =>
    (await api.request('GET', `devices/${id}/events?type=${type}`, { token: admin })).body.items as Array<Record<string, any>>;
  const alert = async (id: string) => {
    await evaluateThroughEvents(api);
    const { rows } = await api.sql.query(
      `SELECT state, severity, title, resolution FROM alerts WHERE device_id = $1 AND rule_key = 'ssh-host-key-changed'`,
      [id],
    );
    return rows;
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('the pinned key reported again (another comment) records nothing', async () => {
    const pinned = newKey();
    const device = await enroll('hk-same', pinned);
    const [type, blob] = pinned.split(' ');
    await inventory(device, { sshHostKey: `${type} ${blob} other-comment` });
    expect(await hostKey(device.id)).toEqual({
      deviceId: device.id,
      pinned: { key: pinned, fingerprint: sshKeyFingerprint(pinned) },
      pending: null,
    });
    expect(await events(device.id, 'ssh.host_key_changed')).toEqual([]);
    expect(await alert(device.id)).toEqual([]);
  });

  it('a different key becomes pending with one critical event and an open alert; connections are refused meanwhile', async () => {
    const pinned = newKey();
    const presented = newKey('root@rebuilt');
    const device = await enroll('hk-changed', pinned);
    await inventory(device, { sshHostKey: presented });
    // Reported again (with another inventory change): still the one event.
    await inventory(device, { sshHostKey: presented, ramBytes: 8 * 1024 ** 3 });

    const state = await hostKey(device.id);
    expect(state.pinned.fingerprint).toBe(sshKeyFingerprint(pinned));
    expect(state.pending).toMatchObject({
      key: presented.split(' ').slice(0, 2).join(' '),
      fingerprint: sshKeyFingerprint(presented),
      source: 'inventory',
    });
    const changed = await events(device.id, 'ssh.host_key_changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      severity: 'critical',
      details: { pinnedFingerprint: sshKeyFingerprint(pinned), presentedFingerprint: sshKeyFingerprint(presented), source: 'inventory' },
    });
    expect(await alert(device.id)).toEqual([
      expect.objectContaining({ state: 'open', severity: 'critical', title: 'SSH host key changed' }),
    ]);

    // The pinned key again does not clear the pending one: an operator decides.
    await inventory(device, { sshHostKey: pinned, ramBytes: 16 * 1024 ** 3 });
    expect((await hostKey(device.id)).pending?.fingerprint).toBe(sshKeyFingerprint(presented));
    expect(await events(device.id, 'ssh.host_key_changed')).toHaveLength(1);
  });

  it('accepting needs devices.critical_actions, a step-up and a reason; then the key is pinned and the alert resolved', async () => {
    const pinned = newKey();
    const presented = newKey();
    const device = await enroll('hk-accept', pinned);
    const accept = (token: string, body: unknown) => api.request('POST', `devices/${device.id}/ssh-host-key/accept`, { token, body });

    // Nothing pending yet.
    await stepUp(api, admin);
    const token = admin;
    const otherAdmin = await api.createUser(admin, 'super_admin');
    const notPending = await accept(token, { reason: 'rebuilt the device' });
    expect([notPending.status, notPending.body.code]).toEqual([409, 'SSH_HOST_KEY_NOT_PENDING']);

    await inventory(device, { sshHostKey: presented });
    expect(await alert(device.id)).toEqual([expect.objectContaining({ state: 'open' })]);

    for (const role of ['read_only', 'soc_operator'] as const) {
      const user = await api.createUser(admin, role);
      const refused = await accept(await api.tokenFor(user.email), { reason: 'rebuilt the device' });
      expect(refused.status, role).toBe(403);
    }
    const notSteppedUp = await accept(await api.tokenFor(otherAdmin.email), { reason: 'rebuilt the device' });
    expect([notSteppedUp.status, notSteppedUp.body.code]).toEqual([403, 'AUTH_STEP_UP_REQUIRED']);
    const tooShort = await accept(token, { reason: 'ok' });
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.errors).toEqual([expect.objectContaining({ path: 'body.reason', message: expect.stringMatching(/at least 3/) })]);
    expect((await hostKey(device.id)).pending).not.toBeNull();

    const accepted = await accept(token, { reason: 'device rebuilt under ticket 815' });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({
      deviceId: device.id,
      type: 'ssh.host_key_accepted',
      severity: 'info',
      details: {
        reason: 'device rebuilt under ticket 815',
        acceptedBy: expect.stringContaining('@'),
        previousFingerprint: sshKeyFingerprint(pinned),
        acceptedFingerprint: sshKeyFingerprint(presented),
      },
    });
    const state = await hostKey(device.id);
    expect(state.pinned.fingerprint).toBe(sshKeyFingerprint(presented));
    expect(state.pending).toBeNull();
    expect(await events(device.id, 'ssh.host_key_accepted')).toHaveLength(1);
    expect(await alert(device.id)).toEqual([expect.objectContaining({ state: 'resolved', resolution: 'auto' })]);
    const audit = await api.auditRows(`action = 'device.ssh_host_key_accept' AND resource_id = $1 AND result = 'success'`, [device.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({
      reason: 'device rebuilt under ticket 815',
      acceptedFingerprint: sshKeyFingerprint(presented),
    });

    // The accepted key reported again is the pinned one: nothing new.
    await inventory(device, { sshHostKey: presented, ramBytes: 8 * 1024 ** 3 });
    expect(await events(device.id, 'ssh.host_key_changed')).toHaveLength(1);
    expect((await accept(token, { reason: 'once more' })).body.code).toBe('SSH_HOST_KEY_NOT_PENDING');
  });

  it('a key presented to a connection is recorded in a transaction of its own, with its source', async () => {
    const device = await enroll('hk-connection', newKey());
    const presented = newKey();
    const event = await api.app.get(SshHostKeysService).observe(device.id, presented, 'connection');
    expect(event).toMatchObject({ type: 'ssh.host_key_changed', details: { source: 'connection' } });
    expect(await api.app.get(SshHostKeysService).observe(device.id, presented, 'connection')).toBeNull();
    expect((await hostKey(device.id)).pending).toMatchObject({ fingerprint: sshKeyFingerprint(presented), source: 'connection' });
    expect(await events(device.id, 'ssh.host_key_changed')).toHaveLength(1);
  });

  it('a device enrolled before keys were pinned gets the key of its inventory, never one an SSH peer shows', async () => {
    const device = await enroll('hk-unpinned', newKey());
    await api.sql.query(`UPDATE devices SET ssh_host_key = NULL WHERE id = $1`, [device.id]);
    expect(await api.app.get(SshHostKeysService).observe(device.id, newKey(), 'connection')).toBeNull();
    expect((await hostKey(device.id)).pinned).toBeNull();
    const reported = newKey();
    await inventory(device, { sshHostKey: reported });
    expect(await hostKey(device.id)).toMatchObject({ pinned: { fingerprint: sshKeyFingerprint(reported) }, pending: null });
    expect(await events(device.id, 'ssh.host_key_changed')).toEqual([]);
  });

  it('reading needs devices.view; an unknown device is 404', async () => {
    const device = await enroll('hk-read', newKey());
    const readOnly = await api.createUser(admin, 'read_only');
    expect((await api.request('GET', `devices/${device.id}/ssh-host-key`, { token: await api.tokenFor(readOnly.email) })).status).toBe(200);
    expect((await api.request('GET', `devices/${device.id}/ssh-host-key`)).status).toBe(401);
    const missing = await api.request('GET', `devices/${crypto.randomUUID()}/ssh-host-key`, { token: admin });
    expect([missing.status, missing.body.code]).toEqual([404, 'DEVICE_NOT_FOUND']);
  });
});
