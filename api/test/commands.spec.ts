import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import vectors from '@xspectre/contracts/test-vectors/command-envelope.json' with { type: 'json' };
import { CommandWakeups } from '../src/commands/command-wakeups.js';
import { CommandsRepository } from '../src/commands/commands.repository.js';
import { toSignedCommand } from '../src/commands/commands.mapper.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

/**
 * The signed command queue through the real routes: operators queue, the agent's side long
 * polls, verifies with the key pinned at enrollment and reports back.
 */
describe('signed command queue', () => {
  let hub: LabHub;
  let api: TestApi;
  let sibling: TestApi;
  let admin: string;
  let organizationId: string;
  let siteId: string;

  const enroll = async (name: string, kind: 'customer' | 'internal' = 'customer') =>
    enrollDeviceAt(
      api,
      admin,
      kind === 'internal' ? await createOrganizationSite(api, admin, `Internal ${name}`, kind) : { organizationId, siteId },
      name,
    );
  const queue = (deviceId: string, body: unknown, token = admin) => api.request('POST', `devices/${deviceId}/commands`, { token, body });
  const poll = (credential: string, waitSeconds = 0, on: TestApi = api) =>
    on.request('GET', `agent/commands?waitSeconds=${waitSeconds}`, { token: credential });
  const report = (credential: string, id: string, body: unknown) =>
    api.request('POST', `agent/commands/${id}/status`, { token: credential, body });

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    sibling = await TestApi.startSibling(api, { API_AGENT_SOURCE_CHECK: 'false' });
    admin = await api.adminToken();
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Commands Co'));
  });
  afterAll(async () => {
    await sibling?.stop();
    await api?.stop();
    await hub?.stop();
  });

  it('queues a signed command that verifies with the key pinned at enrollment, delivers it and records the reports', async () => {
    const device = await enroll('cmd-1');
    const queued = await queue(device.id, { action: 'service.restart', params: { unit: 'nginx.service' } });
    expect(queued.status, queued.text).toBe(201);
    expect(queued.body).toMatchObject({ status: 'queued', action: 'service.restart', critical: false, params: { unit: 'nginx.service' } });

    const fetched = await poll(device.credential);
    expect(fetched.status).toBe(200);
    expect(fetched.body.commands).toHaveLength(1);
    const signed = fetched.body.commands[0];
    const verified = verifyCommand(signed, device.pinned, { deviceId: device.id, now: new Date(fetched.body.serverTime) });
    expect(verified).toMatchObject({ ok: true, envelope: { commandId: queued.body.id, action: 'service.restart' } });
    // Another device's pinned expectation refuses it.
    expect(verifyCommand(signed, device.pinned, { deviceId: (await enroll('cmd-other')).id, now: new Date() })).toEqual({
      ok: false,
      reason: 'other_device',
    });

    expect((await api.request('GET', `commands/${queued.body.id}`, { token: admin })).body.status).toBe('delivered');
    const ack = await api.request('POST', 'agent/heartbeats', {
      token: device.credential,
      body: {
        protocolVersion: 1,
        deviceId: device.id,
        sequence: 1,
        sentAt: new Date().toISOString(),
        agentVersion: '0.1.0',
        uptimeSeconds: 1,
      },
    });
    expect(ack.body.pendingCommands).toBe(1);

    expect((await report(device.credential, queued.body.id, { status: 'running' })).body.status).toBe('running');
    const done = await report(device.credential, queued.body.id, { status: 'succeeded', exitCode: 0, stdout: 'restarted\n' });
    expect(done.body).toMatchObject({ status: 'succeeded', exitCode: 0, stdout: 'restarted\n', stdoutTruncated: false });
    // A lost answer retried: the same final status again changes nothing; another one is refused.
    expect((await report(device.credential, queued.body.id, { status: 'succeeded', exitCode: 0 })).status).toBe(200);
    const flip = await report(device.credential, queued.body.id, { status: 'failed', exitCode: 1 });
    expect(flip.status).toBe(409);
    expect(flip.body.code).toBe('COMMAND_TRANSITION_INVALID');
    expect((await poll(device.credential)).body.commands).toEqual([]);

    const audit = await api.auditRows(`action IN ('command.queue', 'command.status') AND details->>'commandId' = $1 OR resource_id = $1`, [
      queued.body.id,
    ]);
    expect(audit.map((r) => [r.action, r.user_email])).toEqual(
      expect.arrayContaining([
        ['command.queue', expect.stringContaining('@')],
        ['command.status', `device:${device.id}`],
      ]),
    );
  });

  it('a command edited in the database no longer verifies on the device', async () => {
    const device = await enroll('cmd-tamper');
    const queued = await queue(device.id, { action: 'service.stop', params: { unit: 'ssh.service' } });
    await api.sql.query(`UPDATE commands SET params = '{"unit": "sshd.service"}' WHERE id = $1`, [queued.body.id]);
    const signed = (await poll(device.credential)).body.commands[0];
    expect(signed.params).toEqual({ unit: 'sshd.service' });
    expect(verifyCommand(signed, device.pinned, { deviceId: device.id, now: new Date() })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('a stored row that is no longer a signed envelope is refused by the API, and the poll still delivers the others', async () => {
    const device = await enroll('cmd-malformed');
    const broken = await queue(device.id, { action: 'service.stop', params: { unit: 'ssh.service' } });
    const good = await queue(device.id, { action: 'service.restart', params: { unit: 'ssh.service' } });
    // Edited in the database: the validity is no longer exactly 5 minutes, and the action is unknown.
    await api.sql.query(`UPDATE commands SET expires_at = expires_at + interval '1 hour', action = 'Shell' WHERE id = $1`, [
      broken.body.id,
    ]);
    const polled = await poll(device.credential);
    expect(polled.status, polled.text).toBe(200);
    expect(polled.body.commands.map((c: { commandId: string }) => c.commandId)).toEqual([good.body.id]);
    const refused = await api.request('GET', `commands/${broken.body.id}`, { token: admin });
    expect(refused.body).toMatchObject({ status: 'rejected', action: 'Shell' });
    expect(refused.body.reason).toMatch(/^not delivered: the stored command is not a valid signed envelope \(.*action.*expiresAt.*\)$/);
    expect((await poll(device.credential)).body.commands.map((c: { commandId: string }) => c.commandId)).toEqual([good.body.id]);
  });

  // The poll holds up to 30 s; the test's own limit is lower, so only a wake-up can answer it in time.
  it('a long poll held by one instance wakes when another instance queues', { timeout: 20_000 }, async () => {
    const device = await enroll('cmd-wake');
    const waiting = poll(device.credential, 30, sibling);
    // Queued only once the sibling holds the poll (its waiter registered).
    await expect.poll(() => sibling.app.get(CommandWakeups).size, { timeout: 10_000 }).toBeGreaterThan(0);
    const queued = await queue(device.id, { action: 'container.restart', params: { container: 'gvmd' } });
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(answered.body.commands.map((c: { commandId: string }) => c.commandId)).toEqual([queued.body.id]);
  });

  it('critical actions only through the critical route, with the critical permission and a step-up', async () => {
    const device = await enroll('cmd-critical');
    const wrong = await queue(device.id, { action: 'reboot', params: {} });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('COMMAND_WRONG_ROUTE');
    expect(wrong.body.detail).toContain('critical-commands');
    const normalOnCritical = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    // The guard asks for the step-up before the body is judged.
    expect(normalOnCritical.body.code).toBe('AUTH_STEP_UP_REQUIRED');

    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    const socReboot = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: soc,
      body: { action: 'reboot', params: {} },
    });
    expect(socReboot.status).toBe(403);
    expect((await queue(device.id, { action: 'service.restart', params: { unit: 'nginx.service' } }, soc)).status).toBe(201);

    await stepUp(api, admin);
    const reboot = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: admin,
      body: { action: 'reboot', params: {} },
    });
    expect(reboot.status, reboot.text).toBe(201);
    expect(reboot.body).toMatchObject({ action: 'reboot', critical: true });
    const notCritical = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    expect(notCritical.body.code).toBe('COMMAND_WRONG_ROUTE');
  });

  it('SOC operators cannot act on internal infrastructure; quarantined and revoked devices get nothing', async () => {
    const internal = await enroll('cmd-internal', 'internal');
    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    const refused = await queue(internal.id, { action: 'service.restart', params: { unit: 'nginx.service' } }, soc);
    expect(refused.body.code).toBe('AUTH_INTERNAL_READ_ONLY');

    const device = await enroll('cmd-quarantine');
    const queued = await queue(device.id, { action: 'service.restart', params: { unit: 'nginx.service' } });
    await api.sql.query(`UPDATE devices SET quarantined_at = now(), quarantine_reason = 'test' WHERE id = $1`, [device.id]);
    const blocked = await queue(device.id, { action: 'service.restart', params: { unit: 'nginx.service' } });
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe('DEVICE_QUARANTINED');
    // Queued before the quarantine: never delivered while it lasts.
    expect((await poll(device.credential)).body.commands).toEqual([]);
    expect((await api.request('GET', `commands/${queued.body.id}`, { token: admin })).body.status).toBe('queued');

    const revoked = await enroll('cmd-revoked');
    await api.request('POST', `devices/${revoked.id}/revoke`, { token: admin });
    expect((await queue(revoked.id, { action: 'service.restart', params: { unit: 'nginx.service' } })).body.code).toBe('DEVICE_NOT_ACTIVE');
  });

  it('refuses bad input with a clear 4xx and stores nothing', async () => {
    const device = await enroll('cmd-bad');
    const bad: Array<[unknown, number]> = [
      [{ action: 'shell', params: { cmd: 'rm -rf /' } }, 400],
      [{ action: 'service.restart', params: { unit: '--now' } }, 400],
      [{ action: 'service.restart', params: { unit: 'nginx.service', extra: 1 } }, 400],
      [{ action: 'container.stop', params: {} }, 400],
      [{ action: 'service.restart' }, 400],
      ['reboot', 400],
    ];
    for (const [body, status] of bad) {
      const r = await queue(device.id, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await queue('not-a-uuid', { action: 'service.restart', params: { unit: 'a.service' } })).status).toBe(400);
    expect((await queue(crypto.randomUUID(), { action: 'service.restart', params: { unit: 'a.service' } })).body.code).toBe(
      'DEVICE_NOT_FOUND',
    );
    expect((await api.request('GET', `devices/${device.id}/commands`, { token: admin })).body.total).toBe(0);

    const queued = await queue(device.id, { action: 'diagnostics.collect', params: {} });
    const badReports: unknown[] = [
      { status: 'queued' },
      { status: 'rejected' },
      { status: 'succeeded', stdout: 'x'.repeat(64 * 1024 + 1) },
      { status: 'failed', exitCode: 1.5 },
      { status: 'running', surprise: true },
    ];
    for (const body of badReports) expect((await report(device.credential, queued.body.id, body)).status, JSON.stringify(body)).toBe(400);
    const other = await enroll('cmd-bad-other');
    expect((await report(other.credential, queued.body.id, { status: 'running' })).body.code).toBe('COMMAND_NOT_FOUND');
    expect((await poll(device.credential, 31)).status).toBe(400);
    for (const query of ['commands?status=done', 'commands?action=shell', 'commands?deviceId=x', 'commands?limit=0', 'commands?surprise=1'])
      expect((await api.request('GET', query, { token: admin })).status, query).toBe(400);
    expect((await api.request('GET', `devices/${device.id}/commands?deviceId=${device.id}`, { token: admin })).status).toBe(400);
    expect((await api.request('GET', `commands/${crypto.randomUUID()}`, { token: admin })).body.code).toBe('COMMAND_NOT_FOUND');
    expect((await api.request('GET', `devices/${crypto.randomUUID()}/commands`, { token: admin })).body.code).toBe('DEVICE_NOT_FOUND');
    expect((await api.request('GET', `commands/${queued.body.id}`, { token: admin })).body.status).toBe('queued');
  });

  it('the worker expires commands their device never fetched', async () => {
    const device = await enroll('cmd-expire');
    const stale = await queue(device.id, { action: 'service.restart', params: { unit: 'nginx.service' } });
    const fresh = await queue(device.id, { action: 'service.start', params: { unit: 'nginx.service' } });
    await api.sql.query(`UPDATE commands SET expires_at = now() - interval '1 second' WHERE id = $1`, [stale.body.id]);
    const result = await runMaintenanceJob<{ expired: string[] }>(api, MaintenanceJob.ExpireCommands);
    expect(result.expired).toEqual([stale.body.id]);
    expect((await api.request('GET', `commands/${stale.body.id}`, { token: admin })).body).toMatchObject({ status: 'expired' });
    expect((await poll(device.credential)).body.commands.map((c: { commandId: string }) => c.commandId)).toEqual([fresh.body.id]);
    const listed = await api.request('GET', `commands?deviceId=${device.id}&status=expired`, { token: admin });
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([stale.body.id]);
  });

  it('the shared test vectors survive storage: stored in PostgreSQL and read back as delivered, they still verify', async () => {
    const repository = api.app.get(CommandsRepository);
    for (const vector of vectors.valid) {
      const e = vector.envelope;
      await api.sql.query(
        `INSERT INTO devices (id, name, organization_id, site_id, type, status) VALUES ($1, $2, $3, $4, 'server', 'active') ON CONFLICT (id) DO NOTHING`,
        [e.deviceId, `vector-${e.deviceId.slice(0, 8)}`, organizationId, siteId],
      );
      await api.sql.query(
        `INSERT INTO commands (id, device_id, action, params, critical, key_id, nonce, issued_at, expires_at, signature, status, requested_by)
         VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9, 'queued', 'vectors')`,
        [e.commandId, e.deviceId, e.action, JSON.stringify(e.params), e.keyId, e.nonce, e.issuedAt, e.expiresAt, vector.signature],
      );
      const delivered = toSignedCommand((await repository.findById(e.commandId))!);
      const verified = verifyCommand(delivered, vectors.pinnedKeys, { deviceId: e.deviceId, now: new Date(e.issuedAt) });
      expect(verified.ok, vector.name).toBe(true);
    }
  });
});
