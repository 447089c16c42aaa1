import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_ACTION_PARAMS, SCRIPT_CONTENT_MAX_BYTES } from '@xspectre/contracts';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import { TestApi } from './support/harness.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The script library and script runs through the real routes: Super Admins (stepped up) manage
 * scripts, a script run signs the library's hash, and the device's agent fetches exactly the
 * version its command signed, only while that command is in progress.
 */
describe('script library and script.run', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let soc: string;
  let readOnly: string;
  let plainAdmin: string;
  let organizationId: string;
  let siteId: string;
  let counter = 0;

  const enroll = (name: string) => enrollDeviceAt(api, admin, { organizationId, siteId }, name);
  const newScript = (overrides: Record<string, unknown> = {}) => ({
    name: `Script ${++counter}`,
    interpreter: 'bash',
    content: `#!/bin/bash\necho "run ${counter}: $@"\n`,
    ...overrides,
  });
  const create = (body: unknown, token = admin) => api.request('POST', 'scripts', { token, body });
  const runScript = (deviceId: string, params: unknown, token = admin) =>
    api.request('POST', `devices/${deviceId}/critical-commands`, { token, body: { action: 'script.run', params } });
  const poll = (credential: string) => api.request('GET', 'agent/commands?waitSeconds=0', { token: credential });
  const fetchScript = (credential: string, commandId: string) =>
    api.request('GET', `agent/commands/${commandId}/script`, { token: credential });
  const report = (credential: string, id: string, body: unknown) =>
    api.request('POST', `agent/commands/${id}/status`, { token: credential, body });
  const decoded = (body: { contentBase64: string }) => Buffer.from(body.contentBase64, 'base64').toString('utf8');

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    await stepUp(api, admin);
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    plainAdmin = await api.tokenFor((await api.createUser(admin, 'super_admin')).email);
    ({ organizationId, siteId } = await createOrganizationSite(api, admin, 'Scripts Co'));
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('a stepped-up Super Admin creates, reads, replaces and deletes a script; each change is audited with its hash', async () => {
    const body = newScript({ description: 'prints its arguments', timeoutSeconds: 30 });
    const created = await create(body);
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      name: body.name,
      description: 'prints its arguments',
      interpreter: 'bash',
      content: body.content,
      sha256: sha256(body.content),
      sizeBytes: Buffer.byteLength(body.content),
      timeoutSeconds: 30,
      archived: false,
      createdBy: 'admin@test.local',
    });
    const id = created.body.id as string;
    // Readers: everyone who sees devices; the list leaves the content out.
    expect((await api.request('GET', `scripts/${id}`, { token: readOnly })).body.content).toBe(body.content);
    const listed = await api.request('GET', 'scripts', { token: soc });
    expect(listed.status).toBe(200);
    const item = listed.body.items.find((s: { id: string }) => s.id === id);
    expect(item).toMatchObject({ name: body.name, sha256: sha256(body.content) });
    expect(item).not.toHaveProperty('content');

    const replaced = await api.request('PUT', `scripts/${id}`, {
      token: admin,
      body: { ...body, interpreter: 'sh', content: 'echo replaced\n' },
    });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body).toMatchObject({ interpreter: 'sh', sha256: sha256('echo replaced\n'), description: 'prints its arguments' });
    // Defaults apply to a replacement as to a creation.
    expect(
      (await api.request('PUT', `scripts/${id}`, { token: admin, body: { name: body.name, interpreter: 'sh', content: 'x' } })).body,
    ).toMatchObject({
      description: '',
      timeoutSeconds: 600,
    });

    const deleted = await api.request('DELETE', `scripts/${id}`, { token: admin });
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({ id, outcome: 'deleted' });
    expect((await api.request('GET', `scripts/${id}`, { token: admin })).body.code).toBe('SCRIPT_NOT_FOUND');
    expect((await api.request('DELETE', `scripts/${id}`, { token: admin })).status).toBe(404);
    expect((await api.sql.query('SELECT count(*)::int AS n FROM script_versions WHERE script_id = $1', [id])).rows[0].n).toBe(0);

    const audit = await api.auditRows(`resource_id = $1 AND result = 'success'`, [id]);
    expect(audit.map((r) => [r.action, r.details.sha256])).toEqual([
      ['script.create', sha256(body.content)],
      ['script.update', sha256('echo replaced\n')],
      ['script.update', sha256('x')],
      ['script.delete', sha256('x')],
    ]);
    expect(audit[1].details.previousSha256).toBe(sha256(body.content));
  });

  it('only Super Admins change the library, and only stepped up', async () => {
    const body = newScript();
    expect((await create(body, soc)).body.code).toBe('AUTH_FORBIDDEN');
    expect((await create(body, readOnly)).body.code).toBe('AUTH_FORBIDDEN');
    expect((await create(body, plainAdmin)).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const id = (await create(body)).body.id;
    for (const token of [soc, readOnly]) {
      expect((await api.request('PUT', `scripts/${id}`, { token, body })).body.code).toBe('AUTH_FORBIDDEN');
      expect((await api.request('DELETE', `scripts/${id}`, { token })).body.code).toBe('AUTH_FORBIDDEN');
    }
    expect((await api.request('PUT', `scripts/${id}`, { token: plainAdmin, body })).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    expect((await api.request('DELETE', `scripts/${id}`, { token: plainAdmin })).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    expect((await api.request('GET', `scripts/${id}`, { token: admin })).body.content).toBe(body.content);
    expect((await api.request('GET', 'scripts')).status).toBe(401);
  });

  it('refuses bad scripts with 400 naming the field, and a taken name (any case) with 409', async () => {
    const bad: Array<[string, unknown]> = [
      ['empty name', newScript({ name: '' })],
      ['blank name', newScript({ name: '   ' })],
      ['name with a newline', newScript({ name: 'a\nb' })],
      ['content too big', newScript({ content: 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES + 1) })],
      ['content too big in UTF-8', newScript({ content: 'é'.repeat(SCRIPT_CONTENT_MAX_BYTES / 2 + 1) })],
      ['empty content', newScript({ content: '' })],
      ['NUL in the content', newScript({ content: 'echo a\u0000b' })],
      ['unpaired surrogate (not UTF-8)', newScript({ content: 'echo \uD83D' })],
      ['bad interpreter', newScript({ interpreter: 'perl' })],
      ['interpreter as a path', newScript({ interpreter: '/bin/bash' })],
      ['timeout 0', newScript({ timeoutSeconds: 0 })],
      ['timeout over an hour', newScript({ timeoutSeconds: 3601 })],
      ['hash sent by the client', newScript({ sha256: 'a'.repeat(64) })],
      ['no content', { name: 'x', interpreter: 'sh' }],
    ];
    for (const [what, body] of bad) {
      const r = await create(body);
      expect([r.status, r.body.code], what).toEqual([400, 'VALIDATION_FAILED']);
    }
    const tooBig = await create(newScript({ content: 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES + 1) }));
    expect(tooBig.body.detail).toContain('content');
    // At the bound: accepted.
    expect((await create(newScript({ content: 'x'.repeat(SCRIPT_CONTENT_MAX_BYTES) }))).status).toBe(201);

    const first = await create(newScript({ name: 'Restart Scanner' }));
    expect(first.status).toBe(201);
    const dup = await create(newScript({ name: 'restart scanner' }));
    expect([dup.status, dup.body.code]).toEqual([409, 'SCRIPT_NAME_TAKEN']);
    const other = await create(newScript());
    const renamed = await api.request('PUT', `scripts/${other.body.id}`, { token: admin, body: newScript({ name: 'RESTART SCANNER' }) });
    expect([renamed.status, renamed.body.code]).toEqual([409, 'SCRIPT_NAME_TAKEN']);
    expect((await api.request('PUT', `scripts/00000000-0000-4000-8000-000000000000`, { token: admin, body: newScript() })).status).toBe(
      404,
    );
    expect((await api.request('GET', 'scripts/not-a-uuid', { token: admin })).status).toBe(400);
    expect((await api.request('GET', 'scripts?archived=maybe', { token: admin })).status).toBe(400);
  });

  it('a script run is queued on the critical route with the signed hash, interpreter and timeout of the library', async () => {
    const device = await enroll(`script-dev-${counter}`);
    const body = newScript({ interpreter: 'python3', content: 'import sys\nprint(sys.argv[1:])\n', timeoutSeconds: 42 });
    const script = (await create(body)).body;

    const wrong = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'script.run', params: { scriptId: script.id, args: [] } },
    });
    expect([wrong.status, wrong.body.code]).toEqual([400, 'COMMAND_WRONG_ROUTE']);
    expect(wrong.body.detail).toContain('critical-commands');
    expect((await runScript(device.id, { scriptId: script.id }, soc)).body.code).toBe('AUTH_FORBIDDEN');
    expect((await runScript(device.id, { scriptId: script.id }, plainAdmin)).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    // The operator does not choose the hash, the interpreter or the timeout.
    for (const extra of [{ sha256: sha256('other') }, { interpreter: 'bash' }, { timeoutSeconds: 1 }])
      expect((await runScript(device.id, { scriptId: script.id, ...extra })).status).toBe(400);
    for (const args of [['a\u0000'], Array(33).fill('x'), ['x'.repeat(1025)], 'a b'])
      expect((await runScript(device.id, { scriptId: script.id, args })).status, JSON.stringify(args).slice(0, 40)).toBe(400);
    expect((await runScript(device.id, { scriptId: '00000000-0000-4000-8000-000000000000' })).body.code).toBe('SCRIPT_NOT_FOUND');

    const args = ['--flag', '$HOME', 'two words', "it's"];
    const queued = await runScript(device.id, { scriptId: script.id, args });
    expect(queued.status, queued.text).toBe(201);
    expect(queued.body).toMatchObject({ action: 'script.run', critical: true, status: 'queued' });
    expect(queued.body.params).toEqual({
      scriptId: script.id,
      sha256: sha256(body.content),
      interpreter: 'python3',
      timeoutSeconds: 42,
      args,
    });

    const signed = (await poll(device.credential)).body.commands[0];
    const verified = verifyCommand(signed, device.pinned, { deviceId: device.id, now: new Date() });
    expect(verified).toMatchObject({ ok: true, envelope: { commandId: queued.body.id, action: 'script.run' } });
    expect(signed.params.sha256).toBe(sha256(body.content));
    // What the agent checks before anything else: the action's signed schema.
    expect(COMMAND_ACTION_PARAMS['script.run'].safeParse(signed.params).success).toBe(true);

    // Delivered: the device fetches exactly the signed version, whose hash is the signed one.
    const fetched = await fetchScript(device.credential, queued.body.id);
    expect(fetched.status, fetched.text).toBe(200);
    expect(fetched.body).toMatchObject({ commandId: queued.body.id, sha256: signed.params.sha256 });
    expect(decoded(fetched.body)).toBe(body.content);
    expect(sha256(decoded(fetched.body))).toBe(signed.params.sha256);

    const audit = await api.auditRows(`action = 'command.queue_critical' AND details->>'commandId' = $1`, [queued.body.id]);
    // The row names the script version the command signed.
    expect(audit[0].details.script).toEqual({ id: script.id, name: body.name, sha256: sha256(body.content) });
  });

  it('a bulk script run signs the same version for every device', async () => {
    const [a, b] = [await enroll(`script-bulk-a-${counter}`), await enroll(`script-bulk-b-${counter}`)];
    const body = newScript();
    const script = (await create(body)).body;
    const request = { deviceIds: [a.id, b.id], action: 'script.run', params: { scriptId: script.id, args: ['x'] } };
    const normal = await api.request('POST', 'commands/bulk', { token: admin, body: request });
    expect([normal.status, normal.body.code]).toEqual([400, 'COMMAND_WRONG_ROUTE']);
    const bulk = await api.request('POST', 'critical-commands/bulk', { token: admin, body: request });
    expect(bulk.status, bulk.text).toBe(200);
    expect(bulk.body.queued).toBe(2);
    for (const item of bulk.body.items)
      expect(item.command.params).toEqual({
        scriptId: script.id,
        sha256: sha256(body.content),
        interpreter: 'bash',
        timeoutSeconds: 600,
        args: ['x'],
      });
    const withHash = await api.request('POST', 'critical-commands/bulk', {
      token: admin,
      body: { ...request, params: { scriptId: (await create(newScript())).body.id, sha256: sha256('x') } },
    });
    expect(withHash.status).toBe(400); // the hash is not the operator's to send, in bulk either
  });

  it('a command queued before an edit fetches the version it signed; the next run signs the new one', async () => {
    const device = await enroll(`script-edit-${counter}`);
    const body = newScript({ content: 'echo version one\n' });
    const script = (await create(body)).body;
    const before = await runScript(device.id, { scriptId: script.id });
    expect(before.status).toBe(201);
    const edited = await api.request('PUT', `scripts/${script.id}`, { token: admin, body: { ...body, content: 'echo version two\n' } });
    expect(edited.body.sha256).toBe(sha256('echo version two\n'));
    const after = await runScript(device.id, { scriptId: script.id });
    expect(after.body.params.sha256).toBe(sha256('echo version two\n'));

    await poll(device.credential);
    const old = await fetchScript(device.credential, before.body.id);
    expect([old.body.sha256, decoded(old.body)]).toEqual([sha256('echo version one\n'), 'echo version one\n']);
    expect(decoded((await fetchScript(device.credential, after.body.id)).body)).toBe('echo version two\n');
    // Running still answers; a final status ends it.
    expect((await report(device.credential, before.body.id, { status: 'running' })).status).toBe(200);
    expect((await fetchScript(device.credential, before.body.id)).status).toBe(200);
    expect((await report(device.credential, before.body.id, { status: 'succeeded', exitCode: 0, stdout: 'version one\n' })).status).toBe(
      200,
    );
    expect((await fetchScript(device.credential, before.body.id)).body.code).toBe('COMMAND_NOT_FOUND');
  });

  it('the agent route answers only for this device, a script run, delivered or running', async () => {
    const device = await enroll(`script-own-${counter}`);
    const other = await enroll(`script-other-${counter}`);
    const script = (await create(newScript())).body;
    const queued = await runScript(device.id, { scriptId: script.id });

    // Queued, not yet delivered: nothing.
    const early = await fetchScript(device.credential, queued.body.id);
    expect([early.status, early.body.code]).toEqual([404, 'COMMAND_NOT_FOUND']);
    await poll(device.credential);
    // Another device's command, delivered: nothing for it.
    const stranger = await fetchScript(other.credential, queued.body.id);
    expect([stranger.status, stranger.body.code]).toEqual([404, 'COMMAND_NOT_FOUND']);
    expect((await fetchScript(device.credential, queued.body.id)).status).toBe(200);
    // A command that is not a script run, and a command that does not exist.
    const restart = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'service.restart', params: { unit: 'nginx.service' } },
    });
    await poll(device.credential);
    expect((await fetchScript(device.credential, restart.body.id)).status).toBe(404);
    expect((await fetchScript(device.credential, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await fetchScript(device.credential, 'nope')).status).toBe(400);
    // Without a device credential: refused before anything is looked up.
    expect((await api.request('GET', `agent/commands/${queued.body.id}/script`, { token: admin })).body.code).toBe('DEVICE_AUTH_INVALID');
    expect((await api.request('GET', `agent/commands/${queued.body.id}/script`)).body.code).toBe('DEVICE_AUTH_REQUIRED');
    // Rejected by the agent: final, nothing more to fetch.
    await report(device.credential, queued.body.id, { status: 'rejected', reason: 'denied by local policy' });
    expect((await fetchScript(device.credential, queued.body.id)).status).toBe(404);
  });

  it('deleting a script that commands ran archives it: no new runs, no fetch for runs not yet fetched, its name is free again', async () => {
    const device = await enroll(`script-archive-${counter}`);
    const body = newScript({ name: 'Archive Me' });
    const script = (await create(body)).body;
    const queued = await runScript(device.id, { scriptId: script.id });
    expect(queued.status).toBe(201);

    const deleted = await api.request('DELETE', `scripts/${script.id}`, { token: admin });
    expect(deleted.body).toEqual({ id: script.id, outcome: 'archived' });
    expect((await api.request('GET', `scripts/${script.id}`, { token: admin })).body).toMatchObject({
      archived: true,
      content: body.content,
    });
    const archivedList = await api.request('GET', 'scripts?archived=true', { token: admin });
    expect(archivedList.body.items.map((s: { id: string }) => s.id)).toContain(script.id);
    const runnable = await api.request('GET', 'scripts?archived=false', { token: admin });
    expect(runnable.body.items.map((s: { id: string }) => s.id)).not.toContain(script.id);
    // Deleting again keeps it archived.
    expect((await api.request('DELETE', `scripts/${script.id}`, { token: admin })).body.outcome).toBe('archived');

    const again = await runScript(device.id, { scriptId: script.id });
    expect([again.status, again.body.code]).toEqual([409, 'SCRIPT_ARCHIVED']);
    const edit = await api.request('PUT', `scripts/${script.id}`, { token: admin, body });
    expect([edit.status, edit.body.code]).toEqual([409, 'SCRIPT_ARCHIVED']);
    await poll(device.credential);
    const fetched = await fetchScript(device.credential, queued.body.id);
    expect([fetched.status, fetched.body.code]).toEqual([409, 'SCRIPT_ARCHIVED']);
    // The name can be used by a new script.
    expect((await create(newScript({ name: 'archive me' }))).status).toBe(201);
  });
});
