import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandKeyId } from '@xspectre/contracts/command-signature';
import { deriveKeys } from '../src/common/crypto/secrets.js';
import { ADMIN_EMAIL, TestApi } from './support/harness.js';
import { enrollBody, hubPeers, startApiWithLabHub, type LabHub, startLabHub } from './support/fleet.js';

type Hub = LabHub;

/** Enrollment against the real API, PostgreSQL, Redis and a real wireguard-go hub interface. */
describe('enrollment', () => {
  let hub: Hub;
  let api: TestApi;
  let admin: string;
  let customer: { orgId: string; siteId: string };
  let internal: { orgId: string; siteId: string };

  async function orgWithSite(token: string, name: string, kind: 'customer' | 'internal') {
    const org = await api.request('POST', 'organizations', { token, body: { name, kind } });
    const site = await api.request('POST', 'sites', {
      token,
      body: { organizationId: org.body.id, name: 'Main', timeZone: 'Europe/Berlin' },
    });
    return { orgId: org.body.id as string, siteId: site.body.id as string };
  }

  async function newDevice(name: string, where = customer, type: 'scanner' | 'server' = 'scanner') {
    const r = await api.request('POST', 'devices', {
      token: admin,
      body: { name, organizationId: where.orgId, siteId: where.siteId, type },
    });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${r.text}`);
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string, codeId: r.body.claimCode.id as string, body: r.body };
  }

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub({ API_WG_ENDPOINT: '198.18.0.1:51820', API_ENROLL_RATE_LIMIT_PER_IP: '1000' }));
    admin = await api.adminToken();
    customer = await orgWithSite(admin, 'Acme Corp', 'customer');
    internal = await orgWithSite(admin, 'xSPECTRE', 'internal');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('creates a device with a typeable one-time claim code and the bootstrap one-liner', async () => {
    const { body } = await newDevice('scanner-a1');
    expect(body.device).toMatchObject({ status: 'pending', type: 'scanner', billable: true, tunnel: { overlayAddress: null } });
    expect(body.claimCode.code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    expect(body.claimCode.status).toBe('active');
    expect(new Date(body.claimCode.expiresAt).getTime() - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);
    expect(body.claimCode.bootstrapCommand).toContain(`--claim ${body.claimCode.code}`);
    const { rows } = await api.sql.query('SELECT code_hash FROM claim_codes WHERE id = $1', [body.claimCode.id]);
    expect(rows[0].code_hash).not.toContain(body.claimCode.code.replace(/-/g, ''));
    const audit = JSON.stringify(await api.auditRows(`action = 'device.create'`));
    expect(audit).not.toContain(body.claimCode.code);
    const listed = await api.request('GET', `claim-codes?deviceId=${body.device.id}`, { token: admin });
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].code).toBeUndefined();
  });

  it('enrolls: allocates the address, adds exactly the /32 peer to the hub, returns the tunnel and a credential', async () => {
    const device = await newDevice('scanner-a2');
    const req = enrollBody(device.code.toLowerCase());
    const r = await api.request('POST', 'enroll', { body: req });
    expect(r.status).toBe(201);
    expect(r.body.tunnel).toMatchObject({
      prefixLength: 24,
      hubPublicKey: hub.publicKey,
      hubEndpoint: '198.18.0.1:51820',
      hubAddress: '10.10.0.1',
      allowedIps: ['10.10.0.1/32'],
    });
    expect(r.body.tunnel.address).toMatch(/^10\.10\.0\.([2-9]\d)$/);
    expect(r.body.deviceCredential).toMatch(/^dc_/);
    expect(r.body.commandSigningPublicKey).toMatch(/BEGIN PUBLIC KEY/);
    expect(await hubPeers(hub)).toContainEqual({ publicKey: req.wgPublicKey, allowedIps: `${r.body.tunnel.address}/32` });

    const view = await api.request('GET', `devices/${device.id}`, { token: admin });
    expect(view.body).toMatchObject({
      status: 'active',
      hostname: req.hostname,
      tunnel: { overlayAddress: r.body.tunnel.address, publicKey: req.wgPublicKey },
    });
    const { rows } = await api.sql.query('SELECT credential_hash, fingerprint FROM devices WHERE id = $1', [device.id]);
    expect(rows[0].credential_hash).not.toBe(r.body.deviceCredential);
    expect(rows[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const row = (await api.auditRows(`action = 'device.enroll' AND result = 'success' AND resource_id = $1`, [device.id]))[0];
    expect(row.details.overlayAddress).toBe(r.body.tunnel.address);
    // Redaction goes by whole key name (api/src/audit/audit-redaction.ts): an id is not a secret.
    expect(row.details.claimCodeId).toBe(device.codeId);
    expect(JSON.stringify(row)).not.toContain(r.body.deviceCredential);
    expect(JSON.stringify(row)).not.toContain(device.code);
    expect(JSON.stringify(row)).not.toContain(req.installationSalt);

    // The code is spent.
    const again = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CLAIM_CODE_USED');
  });

  it('hands out the command-signing keys of the key store: first the key devices enrolled before it pinned', async () => {
    // Before the key store the API derived the key from API_SECRET_KEY: an HKDF seed as an Ed25519 PKCS#8 key.
    const seed = deriveKeys(api.config.API_SECRET_KEY).commandSigningSeed;
    const legacy = createPublicKey(
      createPrivateKey({
        key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
        format: 'der',
        type: 'pkcs8',
      }),
    );
    const legacyPem = legacy.export({ format: 'pem', type: 'spki' }).toString();

    const device = await newDevice('scanner-keys');
    const r = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect(r.status).toBe(201);
    expect(r.body.commandSigningKeys).toEqual([{ keyId: commandKeyId(legacy), publicKeyPem: legacyPem }]);
    expect(r.body.commandSigningPublicKey).toBe(legacyPem);

    // The key lives in API_KEY_STORE_DIR, in a 0600 file.
    const keyFile = join(api.config.API_KEY_STORE_DIR, 'command-signing', `${commandKeyId(legacy)}.pem`);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("hands the agent the device's stored modules (defaults by type at creation, then the device's own)", async () => {
    const scanner = await newDevice('modules-scanner');
    expect(scanner.body.device.modules).toEqual({ docker: true, scanner: true, backups: 'off' });
    const server = await newDevice('modules-server', customer, 'server');
    expect(server.body.device.modules).toEqual({ docker: true, scanner: false, backups: 'off' });
    const { rows } = await api.sql.query('SELECT modules FROM devices WHERE id = $1', [server.id]);
    expect(rows[0].modules).toEqual({ docker: true, scanner: false, backups: 'off' });

    const changed = { docker: false, scanner: true, backups: 'hybrid' };
    await api.sql.query('UPDATE devices SET modules = $2 WHERE id = $1', [server.id, JSON.stringify(changed)]);
    const r = await api.request('POST', 'enroll', { body: enrollBody(server.code) });
    expect(r.status).toBe(201);
    expect(r.body.modules).toEqual(changed);
    expect((await api.request('GET', `devices/${server.id}`, { token: admin })).body.modules).toEqual(changed);
  });

  it('answers unknown, malformed, expired and revoked codes with their own clear errors', async () => {
    const unknown = await api.request('POST', 'enroll', { body: enrollBody('AAAA-BBBB-CCCC-DDDD-EEEE') });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('CLAIM_CODE_INVALID');
    const malformed = await api.request('POST', 'enroll', { body: enrollBody('not a code') });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].path).toBe('body.claimCode');

    const expired = await newDevice('scanner-expired');
    await api.sql.query(`UPDATE claim_codes SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.codeId]);
    const e = await api.request('POST', 'enroll', { body: enrollBody(expired.code) });
    expect([e.status, e.body.code]).toEqual([410, 'CLAIM_CODE_EXPIRED']);
    expect((await api.request('GET', `claim-codes?deviceId=${expired.id}&status=expired`, { token: admin })).body.total).toBe(1);

    const revoked = await newDevice('scanner-revoked-code');
    expect((await api.request('POST', `claim-codes/${revoked.codeId}/revoke`, { token: admin })).body.status).toBe('revoked');
    const v = await api.request('POST', 'enroll', { body: enrollBody(revoked.code) });
    expect([v.status, v.body.code]).toEqual([410, 'CLAIM_CODE_REVOKED']);

    // A new code replaces the old one.
    const replaced = await newDevice('scanner-new-code');
    const fresh = await api.request('POST', `devices/${replaced.id}/claim-codes`, { token: admin });
    expect(fresh.status).toBe(201);
    expect((await api.request('POST', 'enroll', { body: enrollBody(replaced.code) })).body.code).toBe('CLAIM_CODE_REVOKED');
    expect((await api.request('POST', 'enroll', { body: enrollBody(fresh.body.code) })).status).toBe(201);
    // Failed attempts leave devices pending and addresses free.
    expect((await api.request('GET', `devices/${expired.id}`, { token: admin })).body.status).toBe('pending');
  });

  it('50 concurrent enrollments with one code: exactly one device', async () => {
    const device = await newDevice('scanner-race');
    const bodies = Array.from({ length: 50 }, () => enrollBody(device.code));
    const results = await Promise.all(bodies.map((body) => api.request('POST', 'enroll', { body })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    // Every loser is told the code is used (the answers listed when one is not).
    const losers = results.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.body.code}`);
    expect(losers.filter((l) => l !== '409 CLAIM_CODE_USED')).toEqual([]);
    const winner = bodies[statuses.indexOf(201)]!;
    const peers = await hubPeers(hub);
    expect(peers.filter((p) => bodies.some((b) => b.wgPublicKey === p.publicKey))).toEqual([
      expect.objectContaining({ publicKey: winner.wgPublicKey }),
    ]);
    const { rows } = await api.sql.query(`SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1`, [device.id]);
    expect(rows[0].n).toBe(1);
  });

  it('internal devices come from the internal pool, and SOC operators cannot create them', async () => {
    const device = await newDevice('infra-1', internal, 'server');
    expect(device.body.device.billable).toBe(false);
    const r = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect(r.body.tunnel.address).toMatch(/^10\.10\.0\.1\d$/);
    const soc = await api.createUser(admin, 'soc_operator');
    const token = await api.tokenFor(soc.email);
    const refused = await api.request('POST', 'devices', {
      token,
      body: { name: 'infra-2', organizationId: internal.orgId, siteId: internal.siteId, type: 'server' },
    });
    expect(refused.body.code).toBe('AUTH_INTERNAL_READ_ONLY');
    expect((await api.request('POST', `devices/${device.id}/revoke`, { token })).body.code).toBe('AUTH_INTERNAL_READ_ONLY');
    const own = await api.request('POST', 'devices', {
      token,
      body: { name: 'cust-by-soc', organizationId: customer.orgId, siteId: customer.siteId, type: 'server' },
    });
    expect(own.status).toBe(201);
  });

  it('refuses a WireGuard key that another device already uses, and a site of another organization', async () => {
    const first = await newDevice('dup-key-1');
    const body = enrollBody(first.code);
    expect((await api.request('POST', 'enroll', { body })).status).toBe(201);
    const second = await newDevice('dup-key-2');
    const r = await api.request('POST', 'enroll', { body: { ...enrollBody(second.code), wgPublicKey: body.wgPublicKey } });
    expect(r.body.code).toBe('ENROLL_KEY_IN_USE');
    expect((await api.request('GET', `devices/${second.id}`, { token: admin })).body.status).toBe('pending');
    const mismatch = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'x', organizationId: customer.orgId, siteId: internal.siteId, type: 'server' },
    });
    expect(mismatch.body.code).toBe('DEVICE_SITE_MISMATCH');
  });

  it('takes heartbeats idempotently on (device, sequence) and refuses other devices and bad input', async () => {
    const device = await newDevice('hb-1');
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    const token = enrolled.body.deviceCredential;
    const hb = (sequence: number, deviceId = device.id) => ({
      protocolVersion: 1,
      deviceId,
      sequence,
      sentAt: new Date().toISOString(),
      agentVersion: '0.1.0',
      uptimeSeconds: 100 + sequence,
    });
    const one = await api.request('POST', 'agent/heartbeats', { token, body: hb(1) });
    expect(one.body).toMatchObject({ accepted: 1, duplicates: 0, lastSequence: 1, heartbeatIntervalSeconds: 30 });
    const batch = await api.request('POST', 'agent/heartbeats', { token, body: { heartbeats: [hb(1), hb(2), hb(3)] } });
    expect(batch.body).toMatchObject({ accepted: 2, duplicates: 1, lastSequence: 3 });
    const { rows } = await api.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1', [device.id]);
    expect(rows[0].n).toBe(3);
    expect((await api.request('GET', `devices/${device.id}`, { token: admin })).body.lastHeartbeatAt).not.toBeNull();

    expect((await api.request('POST', 'agent/heartbeats', { token, body: hb(4, '00000000-0000-4000-8000-000000000000') })).body.code).toBe(
      'DEVICE_ID_MISMATCH',
    );
    expect((await api.request('POST', 'agent/heartbeats', { token, body: { ...hb(5), protocolVersion: 99 } })).body.detail).toMatch(
      /unsupported agent protocol version/,
    );
    expect((await api.request('POST', 'agent/heartbeats', { token, body: { ...hb(5), extra: true } })).status).toBe(400);
    expect((await api.request('POST', 'agent/heartbeats', { token: 'dc_wrongwrongwrongwrongwrong', body: hb(5) })).body.code).toBe(
      'DEVICE_AUTH_INVALID',
    );
    expect((await api.request('POST', 'agent/heartbeats', { token: admin, body: hb(5) })).body.code).toBe('DEVICE_AUTH_INVALID');
    expect((await api.request('POST', 'agent/heartbeats', { body: hb(5) })).body.code).toBe('DEVICE_AUTH_REQUIRED');
  });

  it("hands the device its SSH setup: in the enroll answer and on GET agent/ssh-setup with the device's credential only", async () => {
    const device = await newDevice('ssh-setup-1');
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(device.code) });
    expect(enrolled.status).toBe(201);
    const ssh = enrolled.body.ssh;
    expect(ssh).toEqual({
      userCaPublicKey: expect.stringMatching(/^ssh-ed25519 [A-Za-z0-9+/]{68} xspectre-user-ca$/),
      principal: `xspectre-device-${device.id}`,
      account: 'xspectre-ops',
    });

    const token = enrolled.body.deviceCredential;
    const fetched = await api.request('GET', 'agent/ssh-setup', { token });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(ssh);

    // Another device gets the same CA and its own principal: a certificate for one never opens the other.
    const other = await newDevice('ssh-setup-2');
    const otherToken = (await api.request('POST', 'enroll', { body: enrollBody(other.code) })).body.deviceCredential;
    const theirs = await api.request('GET', 'agent/ssh-setup', { token: otherToken });
    expect(theirs.body).toEqual({ ...ssh, principal: `xspectre-device-${other.id}` });

    expect((await api.request('GET', 'agent/ssh-setup')).body.code).toBe('DEVICE_AUTH_REQUIRED');
    expect((await api.request('GET', 'agent/ssh-setup', { token: 'dc_wrongwrongwrongwrongwrong' })).body.code).toBe('DEVICE_AUTH_INVALID');
    expect((await api.request('GET', 'agent/ssh-setup', { token: admin })).body.code).toBe('DEVICE_AUTH_INVALID');
  });

  it('lists devices with filters, free-text search and paging; bad filters are 400s', async () => {
    const all = await api.request('GET', 'devices?limit=500', { token: admin });
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThan(5);
    const active = await api.request('GET', `devices?status=active&organizationId=${customer.orgId}`, { token: admin });
    expect(active.body.items.length).toBeGreaterThan(0);
    expect(
      active.body.items.every(
        (d: { status: string; organizationId: string }) => d.status === 'active' && d.organizationId === customer.orgId,
      ),
    ).toBe(true);
    const servers = await api.request('GET', 'devices?type=server', { token: admin });
    expect(servers.body.items.every((d: { type: string }) => d.type === 'server')).toBe(true);
    const byAddress = await api.request('GET', 'devices?q=10.10.0.', { token: admin });
    expect(byAddress.body.items.every((d: { tunnel: { overlayAddress: string | null } }) => d.tunnel.overlayAddress !== null)).toBe(true);
    expect((await api.request('GET', `devices?q=${encodeURIComponent("' OR 1=1 --")}`, { token: admin })).body.items).toEqual([]);
    const page = await api.request('GET', 'devices?limit=2&offset=1', { token: admin });
    expect(page.body.items).toHaveLength(2);
    expect(page.body.items[0].id).toBe(all.body.items[1].id);
    expect((await api.request('GET', 'devices?status=online', { token: admin })).status).toBe(400);
    expect((await api.request('GET', 'devices?organizationId=nope', { token: admin })).status).toBe(400);
    const ro = await api.createUser(admin, 'read_only');
    const roToken = await api.tokenFor(ro.email);
    expect((await api.request('GET', 'devices', { token: roToken })).status).toBe(200);
    expect(
      (
        await api.request('POST', 'devices', {
          token: roToken,
          body: { name: 'x', organizationId: customer.orgId, siteId: customer.siteId, type: 'server' },
        })
      ).body.code,
    ).toBe('AUTH_FORBIDDEN');
  });

  it('revoking removes the hub peer at once, voids the credential and quarantines the address', async () => {
    const device = await newDevice('to-revoke');
    const body = enrollBody(device.code);
    const enrolled = await api.request('POST', 'enroll', { body });
    const address = enrolled.body.tunnel.address;
    const revoked = await api.request('POST', `devices/${device.id}/revoke`, { token: admin });
    expect(revoked.status).toBe(201);
    expect(revoked.body.status).toBe('revoked');
    expect((await hubPeers(hub)).map((p) => p.publicKey)).not.toContain(body.wgPublicKey);
    const hb = {
      protocolVersion: 1,
      deviceId: device.id,
      sequence: 1,
      sentAt: new Date().toISOString(),
      agentVersion: '0.1.0',
      uptimeSeconds: 1,
    };
    expect((await api.request('POST', 'agent/heartbeats', { token: enrolled.body.deviceCredential, body: hb })).body.code).toBe(
      'DEVICE_AUTH_INVALID',
    );
    expect((await api.request('POST', `devices/${device.id}/revoke`, { token: admin })).body.code).toBe('DEVICE_ALREADY_REVOKED');
    expect((await api.request('POST', `devices/${device.id}/claim-codes`, { token: admin })).body.code).toBe('DEVICE_NOT_PENDING');

    const next = await newDevice('after-revoke');
    const r = await api.request('POST', 'enroll', { body: enrollBody(next.code) });
    expect(r.body.tunnel.address).not.toBe(address);
    expect(await api.auditRows(`action = 'device.revoke' AND resource_id = $1 AND result = 'success'`, [device.id])).toHaveLength(1);
    // The device's own history tells it too, newest first.
    const events = await api.request('GET', `devices/${device.id}/events`, { token: admin });
    expect(events.body.items.map((e: { type: string; severity: string }) => [e.type, e.severity])).toEqual([
      ['device.revoked', 'warning'],
      ['device.enrolled', 'info'],
    ]);
    expect(events.body.items[0].details).toMatchObject({ previousStatus: 'active', overlayAddress: address, by: ADMIN_EMAIL });
    expect(events.body.items[1].details).toMatchObject({ overlayAddress: address, hostname: body.hostname });
  });
});

describe('enrollment limits and failures', () => {
  it('with no instance driving a hub, enrollment answers HUB_NOT_CONFIGURED and changes nothing', async () => {
    const api = await TestApi.start({});
    try {
      const admin = await api.adminToken();
      const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'No Hub Co', kind: 'customer' } });
      const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'S', timeZone: 'UTC' } });
      const created = await api.request('POST', 'devices', {
        token: admin,
        body: { name: 'nohub', organizationId: org.body.id, siteId: site.body.id, type: 'server' },
      });
      const enroll = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
      expect([enroll.status, enroll.body.code]).toEqual([503, 'HUB_NOT_CONFIGURED']);
      expect(enroll.body.detail).toMatch(/no API instance drives the WireGuard hub/);
      const { rows } = await api.sql.query('SELECT used_at FROM claim_codes WHERE device_id = $1', [created.body.device.id]);
      expect(rows[0].used_at).toBeNull();
      expect((await api.request('GET', `devices/${created.body.device.id}`, { token: admin })).body.status).toBe('pending');
    } finally {
      await api.stop();
    }
  });

  it('a pool runs out (quarantine included), a failing hub changes nothing, and enrollment is rate-limited', async () => {
    const hub = await startLabHub();
    const api = await TestApi.start({
      API_WG_INTERFACE: hub.interfaceName,
      API_WG_NETNS: hub.netns,
      API_OVERLAY_POOL_CUSTOMER: '10.10.0.20-10.10.0.21',
      API_ENROLL_RATE_LIMIT_PER_IP: '5',
    });
    try {
      const admin = await api.adminToken();
      const place = async (kind: 'customer' | 'internal') => {
        const org = await api.request('POST', 'organizations', { token: admin, body: { name: `Org ${kind}`, kind } });
        const site = await api.request('POST', 'sites', {
          token: admin,
          body: { organizationId: org.body.id, name: 'S', timeZone: 'UTC' },
        });
        return { organizationId: org.body.id, siteId: site.body.id };
      };
      const cust = await place('customer');
      const intl = await place('internal');
      const device = async (name: string, where: { organizationId: string; siteId: string }) => {
        const d = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type: 'server' } });
        return { id: d.body.device.id as string, code: d.body.claimCode.code as string };
      };
      const [d0, d1, d2] = [await device('d0', cust), await device('d1', cust), await device('d2', cust)];
      const e0 = await api.request('POST', 'enroll', { body: enrollBody(d0.code) });
      expect(e0.body.tunnel.address).toBe('10.10.0.20');
      expect((await api.request('POST', 'enroll', { body: enrollBody(d1.code) })).body.tunnel.address).toBe('10.10.0.21');
      const full = await api.request('POST', 'enroll', { body: enrollBody(d2.code) });
      expect([full.status, full.body.code]).toEqual([503, 'OVERLAY_POOL_EXHAUSTED']);
      expect(full.body.detail).toMatch(/customer pool/);
      // A revoked device's address stays quarantined: the pool is still full.
      expect((await api.request('POST', `devices/${d0.id}/revoke`, { token: admin })).status).toBe(201);
      expect((await api.request('POST', 'enroll', { body: enrollBody(d2.code) })).body.code).toBe('OVERLAY_POOL_EXHAUSTED');

      // The hub goes away: revoke and enrollment fail, and nothing changes.
      await hub.stop();
      const revoke = await api.request('POST', `devices/${d1.id}/revoke`, { token: admin });
      expect([revoke.status, revoke.body.code]).toEqual([503, 'HUB_UNAVAILABLE']);
      expect((await api.request('GET', `devices/${d1.id}`, { token: admin })).body.status).toBe('active');
      expect((await api.request('GET', `devices/${d1.id}/events?type=device.revoked`, { token: admin })).body.total).toBe(0);
      const infra = await device('infra', intl);
      const failed = await api.request('POST', 'enroll', { body: enrollBody(infra.code) });
      expect(failed.body.code).toBe('HUB_UNAVAILABLE');
      const { rows } = await api.sql.query('SELECT used_at FROM claim_codes WHERE device_id = $1', [infra.id]);
      expect(rows[0].used_at).toBeNull();
      const leases = await api.sql.query('SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1', [infra.id]);
      expect(leases.rows[0].n).toBe(0);
      expect((await api.request('GET', `devices/${infra.id}`, { token: admin })).body.status).toBe('pending');
      // Six attempts from one address in ten minutes: the sixth is refused before anything is checked.
      const limited = await api.request('POST', 'enroll', { body: enrollBody(infra.code) });
      expect([limited.status, limited.body.code]).toEqual([429, 'RATE_LIMITED']);
      expect(limited.headers.get('retry-after')).toBe('600');
    } finally {
      await api.stop();
      await hub.stop().catch(() => undefined);
    }
  });
});
