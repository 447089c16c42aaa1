import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat, InventoryReport } from '@xspectre/contracts';
import { TestApi, totpCode } from './support/harness.js';
import { enrollBody, startApiWithLabHub, type LabHub } from './support/fleet.js';

const ENROLLED_MAC = '52:54:00:aa:bb:01';
const DOCKER_MAC = '02:42:ac:11:00:02';

/** Inventory versions, the hardware change history and the fingerprint quarantine, through the real routes. */
describe('inventory and hardware fingerprint', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let totpSecret: string;
  let deviceId: string;
  let credential: string;
  let sequence = 0;

  const report = (changes: Partial<InventoryReport> = {}): InventoryReport => ({
    vendor: 'Lab',
    model: 'Virtual',
    serial: 'SN-ORIGINAL',
    cpu: { model: 'Lab CPU', cores: 2, id: 'cpu-1' },
    ramBytes: 4 * 1024 ** 3,
    disks: [{ name: 'vda', model: 'QEMU HARDDISK', serial: 'D1', sizeBytes: 20 * 1024 ** 3 }],
    os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
    macs: [ENROLLED_MAC],
    nics: [{ name: 'eth0', mac: ENROLLED_MAC, physical: true, addresses: ['192.0.2.10'] }],
    agentVersion: '0.1.0',
    ...changes,
  });
  const hb = (extra: Partial<Heartbeat> = {}): Heartbeat => ({
    protocolVersion: 1,
    deviceId,
    sequence: ++sequence,
    sentAt: new Date().toISOString(),
    agentVersion: '0.1.0',
    uptimeSeconds: 60,
    ...extra,
  });
  const send = async (body: unknown) => {
    const r = await api.request('POST', 'agent/heartbeats', { token: credential, body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const inventory = async (query = '') => (await api.request('GET', `devices/${deviceId}/inventory${query}`, { token: admin })).body;
  const events = async (type?: string) =>
    (await api.request('GET', `devices/${deviceId}/events${type ? `?type=${type}` : ''}`, { token: admin })).body.items;
  const device = async () => (await api.request('GET', `devices/${deviceId}`, { token: admin })).body;

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    totpSecret = (await api.enableTotp(admin)).secret;
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Inventory Co', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'inv-1', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    const base = enrollBody(created.body.claimCode.code);
    const { vendor, model, serial, cpu, ramBytes, disks, os } = report();
    const hardware = { vendor, model, serial, cpu, ramBytes, disks, os };
    const enrolled = await api.request('POST', 'enroll', {
      body: { ...base, macs: [ENROLLED_MAC], hardware, installationSalt: randomBytes(16).toString('base64url') },
    });
    expect(enrolled.status).toBe(201);
    deviceId = enrolled.body.deviceId;
    credential = enrolled.body.deviceCredential;
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('stores the first report as version 1 and adds no version for an unchanged one', async () => {
    await send(hb({ inventory: report() }));
    await send(hb({ inventory: report() }));
    // A container's veth appearing adds a MAC (kept for the fingerprint) but is no inventory change.
    await send(hb({ inventory: report({ macs: [ENROLLED_MAC, '7a:11:22:33:44:55'] }) }));
    const inv = await inventory();
    expect(inv.current).toMatchObject({ version: 1, fingerprintMatches: true, changes: [], inventory: { serial: 'SN-ORIGINAL' } });
    expect(inv.history.total).toBe(1);
    expect((await device()).quarantine).toBeNull();
  });

  it('records what changed; a docker bridge sorting first or a RAM upgrade is a hardware change, not a fingerprint change', async () => {
    await send(
      hb({
        inventory: report({
          ramBytes: 8 * 1024 ** 3,
          macs: [DOCKER_MAC, ENROLLED_MAC],
          nics: [
            { name: 'docker0', mac: DOCKER_MAC, physical: false, addresses: ['172.17.0.1'] },
            { name: 'eth0', mac: ENROLLED_MAC, physical: true, addresses: ['192.0.2.10'] },
          ],
        }),
      }),
    );
    const inv = await inventory();
    expect(inv.current).toMatchObject({ version: 2, fingerprintMatches: true });
    expect(inv.current.changes).toEqual([
      { path: 'nics[docker0].addresses', before: null, after: '172.17.0.1' },
      { path: 'nics[docker0].mac', before: null, after: DOCKER_MAC },
      { path: 'ramBytes', before: String(4 * 1024 ** 3), after: String(8 * 1024 ** 3) },
    ]);
    const [changed] = await events('hardware.changed');
    expect(changed).toMatchObject({ severity: 'warning', details: { inventoryVersion: 2, paths: ['nics[docker0].mac', 'ramBytes'] } });
    expect((await device()).quarantine).toBeNull();
  });

  it('quarantines the device when the fingerprint changes, emits a critical event, and lists it as quarantined', async () => {
    await send(hb({ inventory: report({ serial: 'SN-CLONE' }) }));
    const inv = await inventory();
    expect(inv.current).toMatchObject({ version: 3, fingerprintMatches: false });
    expect(inv.current.changes).toContainEqual({ path: 'serial', before: 'SN-ORIGINAL', after: 'SN-CLONE' });
    const quarantined = await device();
    expect(quarantined.quarantine).toMatchObject({ reason: expect.stringMatching(/fingerprint changed/) });
    expect(quarantined.status).toBe('active');
    const [event] = await events('fingerprint.changed');
    expect(event).toMatchObject({ severity: 'critical', details: { inventoryVersion: 3, serial: 'SN-CLONE' } });
    const list = await api.request('GET', 'devices?quarantined=true', { token: admin });
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([deviceId]);
    const clean = await api.request('GET', 'devices?quarantined=false', { token: admin });
    expect(clean.body.items.map((d: { id: string }) => d.id)).not.toContain(deviceId);
  });

  it('ignores a late replay of an older inventory, and a replayed heartbeat adds nothing', async () => {
    const older = { ...hb({ inventory: report({ ramBytes: 1 }) }), sequence: 1 };
    const ack = await send({ heartbeats: [older] });
    expect(ack).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await inventory()).history.total).toBe(3);
  });

  it('the history pages newest first without the documents', async () => {
    const page = await inventory('?limit=2&offset=0');
    expect(page.history.items.map((v: { version: number }) => v.version)).toEqual([3, 2]);
    expect(page.history.items[0].inventory).toBeUndefined();
    expect((await api.request('GET', `devices/${deviceId}/inventory?limit=0`, { token: admin })).status).toBe(400);
    expect((await api.request('GET', `devices/${crypto.randomUUID()}/inventory`, { token: admin })).body.code).toBe('DEVICE_NOT_FOUND');
    expect((await api.request('GET', 'devices/not-a-uuid/inventory', { token: admin })).status).toBe(400);
  });

  it('accepting the new hardware needs the critical permission, a step-up and a reason; then the quarantine ends', async () => {
    const soc = await api.createUser(admin, 'soc_operator');
    const socToken = await api.tokenFor(soc.email);
    const forbidden = await api.request('POST', `devices/${deviceId}/fingerprint/accept`, {
      token: socToken,
      body: { reason: 'replaced board' },
    });
    expect(forbidden.status).toBe(403);
    const noStepUp = await api.request('POST', `devices/${deviceId}/fingerprint/accept`, {
      token: admin,
      body: { reason: 'replaced board' },
    });
    expect(noStepUp.body.code).toBe('AUTH_STEP_UP_REQUIRED');

    const stepUp = await api.request('POST', 'auth/step-up', { token: admin, body: { code: await totpCode(totpSecret) } });
    expect(stepUp.status).toBe(200);
    const noReason = await api.request('POST', `devices/${deviceId}/fingerprint/accept`, { token: admin, body: {} });
    expect(noReason.status).toBe(400);
    expect((await device()).quarantine).not.toBeNull();

    const accepted = await api.request('POST', `devices/${deviceId}/fingerprint/accept`, {
      token: admin,
      body: { reason: 'mainboard replaced under ticket 4711' },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      type: 'fingerprint.accepted',
      severity: 'info',
      details: { reason: 'mainboard replaced under ticket 4711' },
    });
    expect((await device()).quarantine).toBeNull();
    const audit = await api.auditRows(`action = 'device.fingerprint_accept'`);
    // Refused by role, by the missing step-up, by the missing reason; then done.
    expect(audit.map((a) => [a.result, a.resource_id])).toEqual([
      ['failure', deviceId],
      ['failure', deviceId],
      ['failure', deviceId],
      ['success', deviceId],
    ]);

    const again = await api.request('POST', `devices/${deviceId}/fingerprint/accept`, { token: admin, body: { reason: 'again please' } });
    expect(again.body.code).toBe('DEVICE_NOT_QUARANTINED');

    // The accepted hardware is the reference now: reporting it again or a RAM change does not quarantine.
    await send(hb({ inventory: report({ serial: 'SN-CLONE', ramBytes: 16 * 1024 ** 3 }) }));
    expect((await inventory()).current).toMatchObject({ version: 4, fingerprintMatches: true });
    expect((await device()).quarantine).toBeNull();
  });

  it('records a journal gap the agent reports as a warning event', async () => {
    await send(hb({ journalGap: { fromSequence: 100, toSequence: 149, droppedCount: 50 } }));
    const [gap] = await events('journal.gap');
    expect(gap).toMatchObject({ severity: 'warning', details: { fromSequence: 100, toSequence: 149, droppedCount: 50 } });
    expect((await api.request('GET', `devices/${deviceId}/events?type=nope`, { token: admin })).status).toBe(400);
  });

  it("stores and shows the agent's build id; a new build is a new inventory version, not a hardware change", async () => {
    const before = (await inventory()).current.version as number;
    const buildId = 'ab'.repeat(32);
    await send(hb({ inventory: report({ serial: 'SN-CLONE', ramBytes: 16 * 1024 ** 3, agentBuildId: buildId }) }));
    const inv = await inventory();
    expect(inv.current).toMatchObject({ version: before + 1, fingerprintMatches: true, inventory: { agentBuildId: buildId } });
    expect(inv.current.changes).toEqual([{ path: 'agentBuildId', before: null, after: buildId }]);
    expect(
      (await events('hardware.changed')).map((e: { details: { inventoryVersion: number } }) => e.details.inventoryVersion),
    ).not.toContain(before + 1);
    const bad = await api.request('POST', 'agent/heartbeats', {
      token: credential,
      body: hb({ inventory: report({ agentBuildId: 'not-hex' }) }),
    });
    expect(bad.status).toBe(400);
  });
});
