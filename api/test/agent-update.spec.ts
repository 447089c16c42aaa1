import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_ACTION_PARAMS } from '@xspectre/contracts';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const NO_ID = '00000000-0000-4000-8000-000000000000';

/** A build folder as agent/build-sea.mjs leaves it: the executable and its build.json. */
async function writeBuild(dir: string, version: string, buildId: string, bytes: Buffer, claimedSha = sha256(bytes)) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'xspectre-agent'), bytes, { mode: 0o755 });
  await writeFile(join(dir, 'xspectre-agent.build.json'), `${JSON.stringify({ version, buildId, sha256: claimedSha })}\n`);
  return { version, buildId, sha256: sha256(bytes), sizeBytes: bytes.length };
}

/**
 * agent.update through the real routes: the operator names a build the API serves, the API signs
 * its id, hash and size; the device downloads exactly those bytes, only while its update is in
 * progress.
 */
describe('agent.update', () => {
  let hub: LabHub;
  let api: TestApi;
  let root: string;
  let admin: string;
  let soc: string;
  let readOnly: string;
  let plainAdmin: string;
  let organizationId: string;
  let siteId: string;
  let counter = 0;
  const builds: Record<string, Awaited<ReturnType<typeof writeBuild>>> = {};
  const bytes = {
    current: Buffer.from('#!current-build\n'.repeat(500)),
    next: Buffer.from('#!next-build\n'.repeat(700)),
    twin: Buffer.from('#!twin-build\n'.repeat(300)),
  };

  const enroll = () => enrollDeviceAt(api, admin, { organizationId, siteId }, `update-dev-${++counter}`);
  const update = (deviceId: string, params: unknown, token = admin) =>
    api.request('POST', `devices/${deviceId}/critical-commands`, { token, body: { action: 'agent.update', params } });
  const poll = (credential: string) => api.request('GET', 'agent/commands?waitSeconds=0', { token: credential });
  const download = (credential: string, id: string) =>
    fetch(`${api.baseUrl}/api/v1/agent/commands/${id}/agent-build`, { headers: { authorization: `Bearer ${credential}` } });
  const commandCount = async () => Number((await api.sql.query('SELECT count(*)::int AS n FROM commands')).rows[0].n);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'xs-agent-builds-'));
    const dist = join(root, 'dist');
    builds.current = await writeBuild(dist, '0.1.0', '1'.repeat(64), bytes.current);
    await writeFile(join(dist, 'bootstrap.sh'), '#!/bin/sh\n');
    builds.next = await writeBuild(join(root, 'builds', 'next'), '0.2.0', '2'.repeat(64), bytes.next);
    // Same version as `next`, another build: a version alone does not name it.
    builds.twin = await writeBuild(join(root, 'builds', 'twin'), '0.2.0', '3'.repeat(64), bytes.twin);
    // A file that is not what its build.json says: never offered.
    await writeBuild(join(root, 'builds', 'tampered'), '0.3.0', '4'.repeat(64), Buffer.from('tampered'), sha256(Buffer.from('original')));
    await writeBuild(join(root, 'builds', 'no-info'), '0.4.0', '5'.repeat(64), Buffer.from('x'));
    await rm(join(root, 'builds', 'no-info', 'xspectre-agent.build.json'));

    ({ api, hub } = await startApiWithLabHub({ API_AGENT_DIST_DIR: dist, API_AGENT_BUILDS_DIR: join(root, 'builds') }));
    admin = await api.adminToken();
    await stepUp(api, admin);
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    plainAdmin = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Updates Co'));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('signs the id, SHA-256 and size of the build named by version or build id; the audit row names the build', async () => {
    const device = await enroll();
    const byVersion = await update(device.id, { version: '0.1.0' });
    expect(byVersion.status, byVersion.text).toBe(201);
    expect(byVersion.body).toMatchObject({ action: 'agent.update', critical: true, status: 'queued' });
    const { version, buildId, sha256: hash, sizeBytes } = builds.current!;
    expect(byVersion.body.params).toEqual({ version, buildId, sha256: hash, sizeBytes });
    const byId = await update(device.id, { buildId: builds.twin!.buildId });
    expect(byId.body.params).toEqual(builds.twin);

    const signed = (await poll(device.credential)).body.commands;
    expect(signed.map((c: { commandId: string }) => c.commandId)).toEqual([byVersion.body.id, byId.body.id]);
    for (const command of signed) {
      expect(verifyCommand(command, device.pinned, { deviceId: device.id, now: new Date() })).toMatchObject({ ok: true });
      // What the agent checks before anything else: the action's signed schema.
      expect(COMMAND_ACTION_PARAMS['agent.update'].safeParse(command.params).success).toBe(true);
    }
    const audit = await api.auditRows(`action = 'command.queue_critical' AND details->>'commandId' = $1`, [byId.body.id]);
    expect(audit[0].details.agentBuild).toEqual({ version: '0.2.0', buildId: builds.twin!.buildId, sha256: builds.twin!.sha256 });
  });

  it('only on the critical route, for a stepped-up Super Admin', async () => {
    const device = await enroll();
    const before = await commandCount();
    const wrong = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'agent.update', params: { version: '0.1.0' } },
    });
    expect([wrong.status, wrong.body.code]).toEqual([400, 'COMMAND_WRONG_ROUTE']);
    expect(wrong.body.detail).toContain('critical-commands');
    expect((await update(device.id, { version: '0.1.0' }, soc)).body.code).toBe('AUTH_FORBIDDEN');
    expect((await update(device.id, { version: '0.1.0' }, readOnly)).body.code).toBe('AUTH_FORBIDDEN');
    expect((await update(device.id, { version: '0.1.0' }, plainAdmin)).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const bulkWrong = await api.request('POST', 'commands/bulk', {
      token: admin,
      body: { deviceIds: [device.id], action: 'agent.update', params: { version: '0.1.0' } },
    });
    expect([bulkWrong.status, bulkWrong.body.code]).toEqual([400, 'COMMAND_WRONG_ROUTE']);
    expect(await commandCount()).toBe(before);
  });

  it('refuses bad input with 400, and builds it does not serve with 404 or 409 naming what it serves; nothing is queued', async () => {
    const device = await enroll();
    const before = await commandCount();
    const bad: Array<[string, unknown]> = [
      ['no build named', {}],
      ['both version and build id', { version: '0.1.0', buildId: builds.current!.buildId }],
      ['a hash from the operator', { version: '0.1.0', sha256: builds.current!.sha256 }],
      ['a size from the operator', { version: '0.1.0', sizeBytes: 10 }],
      ['a URL', { version: '0.1.0', url: 'http://elsewhere.example/agent' }],
      ['an upper-case build id', { buildId: 'A'.repeat(64) }],
      ['a short build id', { buildId: '1'.repeat(63) }],
      ['a path as version', { version: '../../etc/passwd' }],
      ['a number as version', { version: 1 }],
      ['params not an object', 'latest'],
    ];
    for (const [what, params] of bad) {
      const r = await update(device.id, params);
      expect([r.status, r.body.code], what).toEqual([400, 'VALIDATION_FAILED']);
    }
    const missing = await update(device.id, { version: '9.9.9' });
    expect([missing.status, missing.body.code]).toEqual([404, 'AGENT_BUILD_NOT_FOUND']);
    expect(missing.body.detail).toContain(`0.1.0 (${builds.current!.buildId})`);
    // A file that does not match its build.json, and a folder without one, are not served.
    expect(missing.body.detail).not.toContain('0.3.0');
    expect((await update(device.id, { version: '0.3.0' })).body.code).toBe('AGENT_BUILD_NOT_FOUND');
    expect((await update(device.id, { buildId: '4'.repeat(64) })).body.code).toBe('AGENT_BUILD_NOT_FOUND');
    expect((await update(device.id, { version: '0.4.0' })).body.code).toBe('AGENT_BUILD_NOT_FOUND');
    const twins = await update(device.id, { version: '0.2.0' });
    expect([twins.status, twins.body.code]).toEqual([409, 'AGENT_BUILD_AMBIGUOUS']);
    expect(twins.body.detail).toContain(builds.next!.buildId);
    expect(twins.body.detail).toContain(builds.twin!.buildId);
    expect((await update(NO_ID, { version: '0.1.0' })).body.code).toBe('DEVICE_NOT_FOUND');
    expect(await commandCount()).toBe(before);
  });

  it('a bulk update signs the same build for every device', async () => {
    const [a, b] = [await enroll(), await enroll()];
    const bulk = await api.request('POST', 'critical-commands/bulk', {
      token: admin,
      body: { deviceIds: [a.id, b.id], action: 'agent.update', params: { buildId: builds.next!.buildId } },
    });
    expect(bulk.status, bulk.text).toBe(200);
    expect(bulk.body.queued).toBe(2);
    for (const item of bulk.body.items) expect(item.command.params).toEqual(builds.next);
  });

  it('the device downloads exactly the signed bytes, only its own update, only while delivered or running', async () => {
    const device = await enroll();
    const other = await enroll();
    const queued = await update(device.id, { buildId: builds.next!.buildId });
    // Queued, not yet delivered: nothing.
    expect((await download(device.credential, queued.body.id)).status).toBe(404);
    await poll(device.credential);
    const got = await download(device.credential, queued.body.id);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    const body = Buffer.from(await got.arrayBuffer());
    expect(sha256(body)).toBe(queued.body.params.sha256);
    expect(body.length).toBe(queued.body.params.sizeBytes);

    const stranger = await download(other.credential, queued.body.id);
    expect(stranger.status).toBe(404);
    expect(((await stranger.json()) as { code: string }).code).toBe('COMMAND_NOT_FOUND');
    expect((await download('not-a-credential', queued.body.id)).status).toBe(401);
    expect((await fetch(`${api.baseUrl}/api/v1/agent/commands/${queued.body.id}/agent-build`)).status).toBe(401);
    const restart = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    await poll(device.credential);
    expect((await download(device.credential, restart.body.id)).status).toBe(404);
    expect((await download(device.credential, NO_ID)).status).toBe(404);
    expect((await download(device.credential, 'nope')).status).toBe(400);

    const report = (body: unknown) => api.request('POST', `agent/commands/${queued.body.id}/status`, { token: device.credential, body });
    expect((await report({ status: 'running' })).status).toBe(200);
    expect((await download(device.credential, queued.body.id)).status).toBe(200);
    expect((await report({ status: 'succeeded', exitCode: 0 })).status).toBe(200);
    expect((await download(device.credential, queued.body.id)).status).toBe(404);
  });

  it('a build whose file changed after the command was signed is no longer served for it', async () => {
    const device = await enroll();
    const dir = join(root, 'builds', 'changing');
    await writeBuild(dir, '0.5.0', '6'.repeat(64), Buffer.from('#!first\n'));
    const queued = await update(device.id, { version: '0.5.0' });
    expect(queued.status, queued.text).toBe(201);
    await poll(device.credential);
    await writeBuild(dir, '0.5.0', '6'.repeat(64), Buffer.from('#!second, longer\n'));
    const got = await download(device.credential, queued.body.id);
    expect(got.status).toBe(404);
    expect(((await got.json()) as { code: string }).code).toBe('AGENT_BUILD_NOT_FOUND');
  });
});
