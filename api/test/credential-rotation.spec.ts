import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const newCredential = () => `dc_${randomBytes(32).toString('base64url')}`;

/**
 * credential.rotate through the real routes, on two API instances of one installation: the
 * agent's side makes the credential, hands it over with the old one, and the first request with
 * the new one makes the old one stop working everywhere (each instance caches credentials).
 */
describe('device credential rotation', () => {
  let hub: LabHub;
  let api: TestApi;
  let sibling: TestApi;
  let admin: string;
  let organizationId: string;
  let siteId: string;

  const enroll = (name: string) => enrollDeviceAt(api, admin, { organizationId, siteId }, name);
  /** Any authenticated agent request: the status tells whether the credential works there. */
  const works = async (credential: string, on: TestApi = api) =>
    (await on.request('GET', 'agent/commands?waitSeconds=0', { token: credential })).status;
  const queueRotation = (deviceId: string) =>
    api.request('POST', `devices/${deviceId}/critical-commands`, { token: admin, body: { action: 'credential.rotate', params: {} } });
  const handOver = (bearer: string, body: unknown, on: TestApi = api) => on.request('POST', 'agent/credential', { token: bearer, body });
  /** Queued, delivered and running, as the agent has it when it hands the new credential over. */
  const rotationRunning = async (device: { id: string; credential: string }) => {
    const queued = await queueRotation(device.id);
    expect(queued.status, queued.text).toBe(201);
    expect(queued.body).toMatchObject({ action: 'credential.rotate', critical: true, params: {} });
    const polled = await api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(polled.body.commands.map((c: { commandId: string }) => c.commandId)).toContain(queued.body.id);
    const running = await api.request('POST', `agent/commands/${queued.body.id}/status`, {
      token: device.credential,
      body: { status: 'running' },
    });
    expect(running.status).toBe(200);
    return queued.body.id as string;
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    admin = await api.adminToken();
    await stepUp(api, admin);
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Rotation Co'));
  });
  afterAll(async () => {
    await sibling?.stop();
    await api?.stop();
    await hub?.stop();
  });

  it('old and new both work until the first request with the new one; then the old one is 401 on both instances', async () => {
    const device = await enroll('rot-1');
    const commandId = await rotationRunning(device);
    // Both instances have the old credential cached now.
    expect(await works(device.credential, api)).toBe(200);
    expect(await works(device.credential, sibling)).toBe(200);

    const fresh = newCredential();
    const handed = await handOver(device.credential, { commandId, credential: fresh });
    expect(handed.status, handed.text).toBe(200);
    expect(handed.body).toEqual({ commandId, status: 'pending' });
    // The same credential again (the agent's retry after a lost answer) is taken.
    expect((await handOver(device.credential, { commandId, credential: fresh }, sibling)).status).toBe(200);
    // Pending: the old one still works on both instances.
    expect(await works(device.credential, api)).toBe(200);
    expect(await works(device.credential, sibling)).toBe(200);
    const [pending] = (await api.sql.query('SELECT credential_hash, pending_credential_hash FROM devices WHERE id = $1', [device.id])).rows;
    expect(pending).toEqual({ credential_hash: sha256(device.credential), pending_credential_hash: sha256(fresh) });

    // The first request with the new one: the agent's result report.
    const done = await sibling.request('POST', `agent/commands/${commandId}/status`, {
      token: fresh,
      body: { status: 'succeeded', exitCode: 0, stdout: 'rotated\n' },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('succeeded');
    const [after] = (await api.sql.query('SELECT credential_hash, pending_credential_hash FROM devices WHERE id = $1', [device.id])).rows;
    expect(after).toEqual({ credential_hash: sha256(fresh), pending_credential_hash: null });
    // Both instances forget the old one (the one that promoted at once, the other by the Redis message).
    expect(await works(device.credential, sibling)).toBe(401);
    await expect.poll(() => works(device.credential, api), { timeout: 5000 }).toBe(401);
    expect(await works(fresh, api)).toBe(200);
    expect(await works(fresh, sibling)).toBe(200);

    // Neither the command nor the trail holds the credential itself.
    const stored = await api.sql.query(`SELECT params::text AS params FROM commands WHERE id = $1`, [commandId]);
    expect(stored.rows[0].params).toBe('{}');
    const trail = await api.auditRows(`resource_id = $1 OR resource_id = $2`, [device.id, commandId]);
    expect(JSON.stringify(trail)).not.toContain(fresh);
    expect(trail.map((r) => [r.action, r.user_email, r.result])).toEqual(
      expect.arrayContaining([
        ['command.queue_critical', expect.stringContaining('@'), 'success'],
        ['device.credential_rotate', `device:${device.id}`, 'success'],
        ['device.credential_confirmed', `device:${device.id}`, 'success'],
      ]),
    );
  });

  it('refuses bad hand-overs: shape, no rotation in progress, another device, the current or a taken credential', async () => {
    const device = await enroll('rot-bad');
    const other = await enroll('rot-other');
    const commandId = await rotationRunning(device);
    const fresh = newCredential();
    const cases: Array<[unknown, number, string]> = [
      [{ commandId, credential: 'dc_short' }, 400, 'VALIDATION_FAILED'],
      [{ commandId, credential: `xx_${randomBytes(32).toString('base64url')}` }, 400, 'VALIDATION_FAILED'],
      [{ commandId: 'nope', credential: fresh }, 400, 'VALIDATION_FAILED'],
      [{ commandId, credential: fresh, extra: 1 }, 400, 'VALIDATION_FAILED'],
      [{ commandId }, 400, 'VALIDATION_FAILED'],
      [{ commandId: '00000000-0000-4000-8000-000000000000', credential: fresh }, 404, 'COMMAND_NOT_FOUND'],
    ];
    for (const [body, status, code] of cases) {
      const r = await handOver(device.credential, body);
      expect([r.status, r.body.code], JSON.stringify(body)).toEqual([status, code]);
    }
    // Another device cannot hand over for this rotation.
    expect((await handOver(other.credential, { commandId, credential: fresh })).body.code).toBe('COMMAND_NOT_FOUND');
    // A command that is not a rotation, and a rotation not yet delivered, are not "in progress".
    const restart = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    expect((await handOver(device.credential, { commandId: restart.body.id, credential: fresh })).body.code).toBe('COMMAND_NOT_FOUND');
    const queuedOnly = await queueRotation(other.id);
    expect((await handOver(other.credential, { commandId: queuedOnly.body.id, credential: fresh })).body.code).toBe('COMMAND_NOT_FOUND');
    // The current credential, or one another device holds, never becomes this device's.
    const same = await handOver(device.credential, { commandId, credential: device.credential });
    expect([same.status, same.body.code]).toEqual([409, 'DEVICE_CREDENTIAL_REFUSED']);
    const taken = await handOver(device.credential, { commandId, credential: other.credential });
    expect([taken.status, taken.body.code]).toEqual([409, 'DEVICE_CREDENTIAL_REFUSED']);
    // Without a device credential.
    expect((await api.request('POST', 'agent/credential', { body: { commandId, credential: fresh } })).status).toBe(401);
    // Nothing became pending, the old credential works, the other device keeps its own.
    const [row] = (await api.sql.query('SELECT pending_credential_hash FROM devices WHERE id = $1', [device.id])).rows;
    expect(row.pending_credential_hash).toBeNull();
    expect(await works(device.credential)).toBe(200);
    expect(await works(other.credential)).toBe(200);
    // Refusals are in the trail with the device as the actor.
    const refused = await api.auditRows(`action = 'device.credential_rotate' AND result = 'failure' AND user_email = $1`, [
      `device:${device.id}`,
    ]);
    expect(refused.length).toBeGreaterThan(0);
  });

  it('a pending credential never used leaves the old one working; revoking the device voids both', async () => {
    const device = await enroll('rot-revoke');
    const commandId = await rotationRunning(device);
    const fresh = newCredential();
    expect((await handOver(device.credential, { commandId, credential: fresh })).status).toBe(200);
    expect(await works(device.credential)).toBe(200);
    const revoked = await api.request('POST', `devices/${device.id}/revoke`, { token: admin });
    expect(revoked.status, revoked.text).toBeLessThan(300);
    const [row] = (await api.sql.query('SELECT credential_hash, pending_credential_hash FROM devices WHERE id = $1', [device.id])).rows;
    expect(row).toEqual({ credential_hash: null, pending_credential_hash: null });
    expect(await works(fresh, sibling)).toBe(401);
  });

  it('credential.rotate is critical: normal route refused, SOC and read-only refused, step-up required', async () => {
    const device = await enroll('rot-rbac');
    const normal = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'credential.rotate', params: {} },
    });
    expect([normal.status, normal.body.code]).toEqual([400, 'COMMAND_WRONG_ROUTE']);
    const withParams = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: admin,
      body: { action: 'credential.rotate', params: { credential: newCredential() } },
    });
    expect(withParams.status).toBe(400);
    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    const reader = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    for (const token of [soc, reader]) {
      const r = await api.request('POST', `devices/${device.id}/critical-commands`, {
        token,
        body: { action: 'credential.rotate', params: {} },
      });
      expect(r.status).toBe(403);
    }
    const otherAdmin = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);
    const noStepUp = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: otherAdmin,
      body: { action: 'credential.rotate', params: {} },
    });
    expect(noStepUp.body.code).toBe('AUTH_STEP_UP_REQUIRED');
  });
});
