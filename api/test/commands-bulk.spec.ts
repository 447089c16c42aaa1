import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkCommandResult } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { enrollBody, startApiWithLabHub, type LabHub } from './support/fleet.js';
import { stepUp } from './support/step-up.js';

const RESTART = { action: 'service.restart', params: { unit: 'nginx.service' } } as const;

/**
 * `POST commands/bulk` and `POST critical-commands/bulk` through the real routes: one command and
 * one audit row per device, refusals per device, request-wide refusals that write nothing.
 */
describe('bulk commands', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let soc: { token: string; email: string };
  let readOnly: string;
  let customer: { organizationId: string; siteId: string };
  let internal: { organizationId: string; siteId: string };

  const organization = async (name: string, kind: 'customer' | 'internal') => {
    const organizationId = (await api.request('POST', 'organizations', { token: admin, body: { name, kind } })).body.id as string;
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId, name: 'HQ', timeZone: 'UTC' } });
    return { organizationId, siteId: site.body.id as string };
  };
  /** A device entry; enrolled (active) unless `pending`. */
  const device = async (name: string, where = customer, state: 'active' | 'pending' = 'active'): Promise<string> => {
    const created = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type: 'server' } });
    expect(created.status, created.text).toBe(201);
    if (state === 'pending') return created.body.device.id as string;
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
    expect(enrolled.status, enrolled.text).toBe(201);
    return enrolled.body.deviceId as string;
  };
  const bulk = (body: unknown, token = admin) => api.request<BulkCommandResult>('POST', 'commands/bulk', { token, body });
  const criticalBulk = (body: unknown, token = admin) => api.request<BulkCommandResult>('POST', 'critical-commands/bulk', { token, body });
  const commandsOf = async (deviceIds: string[]) =>
    (await api.sql.query('SELECT id, device_id, action, critical, status FROM commands WHERE device_id = ANY($1)', [deviceIds])).rows;
  const successRows = (deviceIds: string[]) =>
    api.auditRows(`result = 'success' AND action LIKE 'command.%' AND resource_id = ANY($1)`, [deviceIds]);

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    const socUser = await api.createUser(admin, 'soc_operator');
    soc = { token: await api.tokenFor(socUser.email), email: socUser.email };
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    customer = await organization('Bulk Co', 'customer');
    internal = await organization('Bulk Internal', 'internal');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('a mixed batch: the devices that can take it get a command and an audit row each, the others an error entry', async () => {
    const first = await device('bulk-active-1');
    const quarantined = await device('bulk-quarantined');
    await api.sql.query(`UPDATE devices SET quarantined_at = now(), quarantine_reason = 'test' WHERE id = $1`, [quarantined]);
    const pending = await device('bulk-pending', customer, 'pending');
    const internalDevice = await device('bulk-internal', internal);
    const unknown = randomUUID();
    const second = await device('bulk-active-2');
    const ids = [first, quarantined, pending, internalDevice, unknown, second];

    const r = await bulk({ deviceIds: ids, ...RESTART }, soc.token);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ requested: 6, queued: 2, refused: 4 });
    // Request order, one entry per device.
    expect(r.body.items.map((i) => [i.deviceId, i.command?.status ?? i.error?.code])).toEqual([
      [first, 'queued'],
      [quarantined, 'DEVICE_QUARANTINED'],
      [pending, 'DEVICE_NOT_ACTIVE'],
      [internalDevice, 'AUTH_INTERNAL_READ_ONLY'],
      [unknown, 'DEVICE_NOT_FOUND'],
      [second, 'queued'],
    ]);
    for (const item of r.body.items) {
      if (item.command) expect(item.error).toBeUndefined();
      else expect(item.error!.message.length).toBeGreaterThan(0);
    }
    expect(r.body.items[0]!.command).toMatchObject({ deviceId: first, action: 'service.restart', params: { unit: 'nginx.service' } });

    const stored = await commandsOf(ids);
    expect(stored.map((c) => c.device_id).sort()).toEqual([first, second].sort());
    expect(stored.map((c) => c.id).sort()).toEqual([r.body.items[0]!.command!.id, r.body.items[5]!.command!.id].sort());

    // One success row per queued command, naming its device and command, by the operator.
    const rows = await successRows(ids);
    expect(rows.map((row) => [row.action, row.resource_type, row.resource_id, row.details.commandId, row.user_email]).sort()).toEqual(
      stored.map((c) => ['command.queue', 'device', c.device_id, c.id, soc.email]).sort(),
    );
    // Each refusal is in the trail too, with its device and code.
    const refused = await api.auditRows(`result = 'failure' AND action = 'command.queue' AND resource_id = ANY($1)`, [ids]);
    expect(refused.map((row) => [row.resource_id, row.details.errorCode]).sort()).toEqual(
      [
        [quarantined, 'DEVICE_QUARANTINED'],
        [pending, 'DEVICE_NOT_ACTIVE'],
        [internalDevice, 'AUTH_INTERNAL_READ_ONLY'],
        [unknown, 'DEVICE_NOT_FOUND'],
      ].sort(),
    );
    // The whole batch shares one request id; no extra row for the request as a whole.
    expect(new Set([...rows, ...refused].map((row) => row.request_id)).size).toBe(1);
    expect(await api.auditRows(`request_id = $1`, [rows[0].request_id])).toHaveLength(6);

    // A Super Admin may change internal infrastructure.
    const byAdmin = await bulk({ deviceIds: [internalDevice], ...RESTART });
    expect(byAdmin.body).toMatchObject({ requested: 1, queued: 1, refused: 0 });
  });

  it('a command never commits without its audit row: a failing row undoes that device and ends the request', async () => {
    const [before, failing, after] = [await device('bulk-atomic-1'), await device('bulk-atomic-2'), await device('bulk-atomic-3')];
    // As a broken trail would: the success row of the middle device is refused by the database.
    await api.sql.query(`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit row refused by the test'; END $$`);
    await api.sql.query(
      `CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW
        WHEN (NEW.resource_id = '${failing}' AND NEW.result = 'success') EXECUTE FUNCTION test_refuse_audit()`,
    );
    try {
      const r = await bulk({ deviceIds: [before, failing, after], ...RESTART });
      expect(r.status).toBe(500);
    } finally {
      await api.sql.query('DROP TRIGGER test_refuse_audit ON audit_events');
      await api.sql.query('DROP FUNCTION test_refuse_audit()');
    }
    // The device before it keeps its command and row; the failing one has neither; the rest were not tried.
    expect((await commandsOf([before, failing, after])).map((c) => c.device_id)).toEqual([before]);
    expect((await successRows([before, failing, after])).map((row) => row.resource_id)).toEqual([before]);
  });

  it('every device refused is still a 200 with the reasons; nothing is stored', async () => {
    const pending = await device('bulk-all-refused', customer, 'pending');
    const r = await bulk({ deviceIds: [pending, randomUUID()], action: 'diagnostics.collect', params: {} });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ requested: 2, queued: 0, refused: 2 });
    expect(await commandsOf([pending])).toEqual([]);
  });

  it('critical actions only through critical-commands/bulk, with the critical permission and a step-up', async () => {
    const ids = [await device('bulk-reboot-1'), await device('bulk-reboot-2')];
    const reboot = { deviceIds: ids, action: 'reboot', params: {} };

    const wrong = await bulk(reboot);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'COMMAND_WRONG_ROUTE' });
    expect((wrong.body as unknown as { detail: string }).detail).toContain('POST critical-commands/bulk');

    // SOC operators hold no critical actions; a Super Admin needs a fresh step-up.
    expect((await criticalBulk(reboot, soc.token)).body).toMatchObject({ code: 'AUTH_FORBIDDEN' });
    const notSteppedUp = await criticalBulk(reboot);
    expect(notSteppedUp.status).toBe(403);
    expect(notSteppedUp.body).toMatchObject({ code: 'AUTH_STEP_UP_REQUIRED' });
    expect(await commandsOf(ids)).toEqual([]);
    expect(await successRows(ids)).toEqual([]);

    await stepUp(api, admin);
    const token = admin;
    const normalOnCritical = await criticalBulk({ deviceIds: ids, ...RESTART }, token);
    expect(normalOnCritical.status).toBe(400);
    expect((normalOnCritical.body as unknown as { detail: string }).detail).toContain('POST commands/bulk');

    const done = await criticalBulk(reboot, token);
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ requested: 2, queued: 2, refused: 0 });
    expect(done.body.items.every((i) => i.command?.critical === true && i.command.action === 'reboot')).toBe(true);
    expect((await successRows(ids)).map((row) => [row.action, row.resource_id]).sort()).toEqual(
      ids.map((id) => ['command.queue_critical', id]).sort(),
    );
  });

  it('read-only operators may not queue in bulk', async () => {
    const id = await device('bulk-read-only');
    expect((await bulk({ deviceIds: [id], ...RESTART }, readOnly)).body).toMatchObject({ code: 'AUTH_FORBIDDEN' });
    expect((await criticalBulk({ deviceIds: [id], action: 'reboot', params: {} }, readOnly)).body).toMatchObject({
      code: 'AUTH_FORBIDDEN',
    });
    expect(await commandsOf([id])).toEqual([]);
  });

  it('refuses bad input as a whole with a 400 naming the problem, and writes nothing', async () => {
    const id = await device('bulk-bad');
    const many = Array.from({ length: 501 }, () => randomUUID());
    const cases: Array<[string, unknown, string]> = [
      ['empty list', { deviceIds: [], ...RESTART }, 'body.deviceIds: name at least one device'],
      ['501 devices', { deviceIds: many, ...RESTART }, 'body.deviceIds: at most 500 devices per request'],
      ['duplicate ids', { deviceIds: [id, randomUUID(), id], ...RESTART }, `body.deviceIds.2: repeats deviceIds[0] (${id})`],
      ['duplicate ids in another case', { deviceIds: [id, id.toUpperCase()], ...RESTART }, 'body.deviceIds.1: repeats deviceIds[0]'],
      ['bad uuid', { deviceIds: [id, 'not-a-uuid'], ...RESTART }, 'body.deviceIds.1'],
      ['no device list', { ...RESTART }, 'body.deviceIds'],
      ['unknown action', { deviceIds: [id], action: 'shell', params: { cmd: 'id' } }, 'body.action'],
      ['params of another action', { deviceIds: [id], action: 'service.restart', params: { container: 'gvmd' } }, 'body.params'],
      ['bad unit name', { deviceIds: [id], action: 'service.stop', params: { unit: '--now' } }, 'body.params.unit'],
      ['unknown field', { deviceIds: [id], ...RESTART, force: true }, 'unknown field(s): force'],
      ['not an object', [id], 'body'],
    ];
    const problems: string[] = [];
    for (const [what, body, detail] of cases) {
      const r = await bulk(body);
      const got = r.body as unknown as { code?: string; detail?: string };
      if (r.status !== 400 || got.code !== 'VALIDATION_FAILED' || !got.detail?.includes(detail))
        problems.push(`${what}: ${r.status} ${got.code} ${got.detail}`);
    }
    expect(problems).toEqual([]);
    expect(await commandsOf([id])).toEqual([]);
    expect(await successRows([id])).toEqual([]);
  });
});
