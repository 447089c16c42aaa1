import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKUP_PATHS } from '@xspectre/contracts';
import { verifyBackupToken } from '@xspectre/contracts/backup-token';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import { BackupScheduleService } from '../src/backups/backup-schedule.service.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { stepUp } from './support/step-up.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type EnrolledDevice, type LabHub } from './support/fleet.js';

/**
 * File-backup policies, the nightly slot scheduler (site time zones, DST, once per slot) and the
 * repository tokens agents get for their runs, through the real routes and the worker's job.
 */
describe('file backups: policy, schedule, repository tokens', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  let device: EnrolledDevice;
  let berlinDevice: EnrolledDevice;

  const putPolicy = (deviceId: string, body: unknown, token = admin) =>
    api.request('PUT', `devices/${deviceId}/backup-policy`, { token, body });
  const schedule = (now: Date) => api.app.get(BackupScheduleService, { strict: false }).scheduleDue(now);
  const runsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT id, kind, status, to_char(slot_date, 'YYYY-MM-DD') AS slot, due_at FROM backup_runs WHERE device_id = $1 ORDER BY due_at`,
        [deviceId],
      )
    ).rows;
  const tokenFor = (credential: string, body: unknown) => api.request('POST', 'agent/backup-tokens', { token: credential, body });

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    // Creating service credentials and asking for restores are critical: the admin steps up once, for the whole file.
    await stepUp(api, admin);
    where = await createOrganizationSite(api, admin, 'Backups Co');
    device = await enrollDeviceAt(api, admin, where, 'backup-1');
    const site = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId: where.organizationId, name: 'Berlin', timeZone: 'Europe/Berlin' },
    });
    expect(site.status, site.text).toBe(201);
    berlinDevice = await enrollDeviceAt(api, admin, { organizationId: where.organizationId, siteId: site.body.id }, 'backup-berlin');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('shows the defaults of the device type until a policy is set, then the policy, and audits the change', async () => {
    const initial = await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin });
    expect(initial.status, initial.text).toBe(200);
    expect(initial.body).toMatchObject({
      mode: 'OFF',
      paths: DEFAULT_BACKUP_PATHS.server,
      localTime: '02:00',
      keepDaily: 7,
      keepWeekly: 4,
    });
    expect(initial.body).toMatchObject({ customized: false, nextRunAt: null, timeZone: 'UTC' });

    const set = await putPolicy(device.id, {
      mode: 'FILE',
      paths: ['/etc', '/srv/app'],
      excludes: ['*.log'],
      localTime: '03:15',
      keepDaily: 10,
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({
      mode: 'FILE',
      paths: ['/etc', '/srv/app'],
      excludes: ['*.log'],
      localTime: '03:15',
      keepDaily: 10,
      keepWeekly: 4,
    });
    expect(set.body.customized).toBe(true);
    // The next 03:15 UTC after now.
    const next = new Date(set.body.nextRunAt);
    expect(next.getUTCHours() * 60 + next.getUTCMinutes()).toBe(3 * 60 + 15);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000);

    // The mode is the device's module: what enrollment hands the agent.
    expect((await api.request('GET', `devices/${device.id}`, { token: admin })).body.modules.backups).toBe('file');
    const audit = await api.sql.query(`SELECT details FROM audit_events WHERE action = 'backup.policy_update' AND resource_id = $1`, [
      device.id,
    ]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].details.before).toMatchObject({ mode: 'OFF' });
    expect(audit.rows[0].details.after).toMatchObject({ mode: 'FILE', localTime: '03:15' });
  });

  it('refuses bad policies with a message naming the field, and changes nothing', async () => {
    const before = (await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin })).body;
    const cases: Array<[unknown, RegExp]> = [
      [{ mode: 'FILE', paths: ['etc'] }, /absolute path/],
      [{ mode: 'FILE', paths: ['/etc/../root'] }, /"\.\."/],
      [{ mode: 'FILE', paths: [] }, /at least one path/],
      [{ mode: 'FILE', paths: ['/etc', '/etc'] }, /distinct/],
      [{ mode: 'FILE', excludes: ['--password-file=/x'] }, /must not start with "-"/],
      [{ mode: 'FILE', localTime: '24:00' }, /HH:MM/],
      [{ mode: 'FILE', keepDaily: 0 }, /keepDaily/],
      [{ mode: 'FILE', schedule: 'daily' }, /schedule/],
      [{ mode: 'WEEKLY' }, /mode/],
      // FULL and HYBRID are policies like the others (disk-image-schedule.spec.ts); their fields are checked too.
      [{ mode: 'FULL', keepImages: 5 }, /keepImages/],
    ];
    for (const [body, message] of cases) {
      const refused = await putPolicy(device.id, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.detail, JSON.stringify(body)).toMatch(message);
    }
    expect((await putPolicy('00000000-0000-4000-8000-000000000000', { mode: 'FILE' })).body.code).toBe('DEVICE_NOT_FOUND');
    const after = (await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin })).body;
    expect(after).toEqual({ ...before, nextRunAt: after.nextRunAt, nextImageAt: after.nextImageAt });
  });

  it("creates one run per device and local slot date, in the site's zone across both DST changes, however often it runs", async () => {
    expect((await putPolicy(berlinDevice.id, { mode: 'FILE' })).status).toBe(200);
    // 2026-03-29, Europe/Berlin: 02:00 does not exist (clocks go 02:00 CET -> 03:00 CEST); the slot is due at 03:00 CEST = 01:00Z.
    expect(await schedule(new Date('2026-03-29T00:59:00Z'))).toEqual([]);
    const [first, again] = await Promise.all([schedule(new Date('2026-03-29T01:00:30Z')), schedule(new Date('2026-03-29T01:00:30Z'))]);
    expect([...first, ...again].filter((r) => r.deviceId === berlinDevice.id)).toHaveLength(1);
    await schedule(new Date('2026-03-29T04:00:00Z'));
    // 2026-10-25: 02:00 happens twice (00:00Z CEST, 01:00Z CET); one run whichever the scheduler sees.
    await schedule(new Date('2026-10-25T00:00:30Z'));
    await schedule(new Date('2026-10-25T01:00:30Z'));
    await schedule(new Date('2026-10-25T02:30:00Z'));
    // A slot the worker missed (down from 01:00 to 06:30Z) is still taken within the catch-up window...
    await schedule(new Date('2026-10-26T06:30:00Z'));
    // ...but not a whole day later: that is the overdue alert's business.
    await schedule(new Date('2026-10-28T13:00:00Z'));
    const runs = await runsOf(berlinDevice.id);
    expect(runs.map((r) => [r.slot, r.kind, r.status, new Date(r.due_at).toISOString()])).toEqual([
      ['2026-03-29', 'backup', 'scheduled', '2026-03-29T01:00:00.000Z'],
      ['2026-10-25', 'backup', 'scheduled', '2026-10-25T01:00:00.000Z'],
      ['2026-10-26', 'backup', 'scheduled', '2026-10-26T01:00:00.000Z'],
    ]);
    // A device whose mode is OFF gets nothing; setting OFF stops the next nights.
    expect((await putPolicy(berlinDevice.id, { mode: 'OFF' })).status).toBe(200);
    await schedule(new Date('2026-10-29T01:00:30Z'));
    expect(await runsOf(berlinDevice.id)).toHaveLength(3);
    // The worker's every-minute job runs the same statement.
    const result = await runMaintenanceJob<{ scheduled: unknown[] }>(api, MaintenanceJob.ScheduleBackups);
    expect(Array.isArray(result.scheduled)).toBe(true);
  });

  it("hands the agent a short-lived token for its own run's operations only, verifiable with the published key", async () => {
    // The UTC device's slot is 03:15 UTC; make today's run due by scheduling at that instant.
    const slot = new Date();
    slot.setUTCHours(3, 15, 30, 0);
    if (slot.getTime() > Date.now()) slot.setUTCDate(slot.getUTCDate() - 1);
    await schedule(slot);
    const run = (await runsOf(device.id)).at(-1);
    expect(run?.slot, 'the latest slot of the UTC device').toBe(slot.toISOString().slice(0, 10));
    // Created at the slot (possibly yesterday): made recent, so the 24-hour token window is not what this test meets.
    await api.sql.query(`UPDATE backup_runs SET created_at = now() WHERE id = $1`, [run.id]);

    const issued = await tokenFor(device.credential, { runId: run.id, op: 'append' });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.repositoryUrl).toBe(`${api.config.API_BACKUP_SERVER_URL}/${device.id}/`);
    const keys = await api.request('GET', 'backups/token-keys', { token: admin });
    expect(keys.status).toBe(200);
    const verified = verifyBackupToken(
      issued.body.token,
      keys.body.keys.map((k: { keyId: string; publicKeyPem: string }) => ({ keyId: k.keyId, publicKey: createPublicKey(k.publicKeyPem) })),
      new Date(),
    );
    expect(verified).toMatchObject({ ok: true, claims: { sub: device.id, op: 'append', aud: 'xspectre-backup' } });
    if (verified.ok) expect(verified.claims.exp - verified.claims.iat).toBe(api.config.API_BACKUP_TOKEN_SECONDS);
    expect((await runsOf(device.id)).find((r) => r.id === run.id)?.status).toBe('running');
    expect((await tokenFor(device.credential, { runId: run.id, op: 'prune' })).status).toBe(200);

    // A backup run reads nothing; another device cannot use this run; unknown runs and bad bodies are refused.
    const read = await tokenFor(device.credential, { runId: run.id, op: 'read' });
    expect([read.status, read.body.code]).toEqual([403, 'BACKUP_TOKEN_REFUSED']);
    const stranger = await tokenFor(berlinDevice.credential, { runId: run.id, op: 'append' });
    expect([stranger.status, stranger.body.code]).toEqual([404, 'BACKUP_RUN_NOT_FOUND']);
    expect((await tokenFor(device.credential, { runId: '00000000-0000-4000-8000-000000000000', op: 'append' })).body.code).toBe(
      'BACKUP_RUN_NOT_FOUND',
    );
    expect((await tokenFor(device.credential, { runId: run.id, op: 'delete' })).status).toBe(400);
    expect((await api.request('POST', 'agent/backup-tokens', { token: admin, body: { runId: run.id, op: 'append' } })).status).toBe(401);

    // A finished run gets no more tokens.
    await api.sql.query(`UPDATE backup_runs SET status = 'succeeded' WHERE id = $1`, [run.id]);
    expect((await tokenFor(device.credential, { runId: run.id, op: 'append' })).body.code).toBe('BACKUP_TOKEN_REFUSED');

    // The audit names the token's id and operation, never the token.
    const audit = await api.sql.query(
      `SELECT details::text AS details, result FROM audit_events WHERE action = 'backup.token_issue' ORDER BY id`,
    );
    expect(audit.rows.filter((r) => r.result === 'success')).toHaveLength(2);
    for (const row of audit.rows) expect(row.details).not.toContain(issued.body.token.split('.')[2]);
    expect(audit.rows[0].details).toMatch(/"tokenId"/);
  });

  it('takes capacity reports from a backup server with its own service credential only', async () => {
    const created = await api.request('POST', 'service-credentials', { token: admin, body: { service: 'backup-server', name: 'store-1' } });
    expect(created.status, created.text).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^xs_svc_/);
    // The secret is shown once: the list never has it, the table keeps a hash.
    expect(JSON.stringify((await api.request('GET', 'service-credentials', { token: admin })).body)).not.toContain(secret);
    expect(JSON.stringify((await api.sql.query('SELECT * FROM service_credentials')).rows)).not.toContain(secret);

    const report = (body: unknown, token = secret) => api.request('POST', 'backup-server/report', { token, body });
    const body = {
      generatedAt: new Date().toISOString(),
      store: 'zfs',
      pool: { name: 'backup-pool', sizeBytes: 1000, usedBytes: 900, freeBytes: 100 },
      devices: [
        { deviceId: device.id, usedBytes: 400, quotaBytes: 500, snapshotCount: 24 },
        { deviceId: '00000000-0000-4000-8000-000000000099', usedBytes: 1, quotaBytes: null, snapshotCount: 0 },
      ],
      lastScrub: { state: 'finished', finishedAt: new Date().toISOString(), errors: 0 },
    };
    const accepted = await report(body);
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toEqual({ devicesRecorded: 1, devicesUnknown: 1 });
    const capacity = await api.request('GET', 'backups/capacity', { token: admin });
    expect(capacity.body.servers).toEqual([
      expect.objectContaining({ name: 'store-1', store: 'zfs', devices: 1, deviceBytes: 400, pool: body.pool }),
    ]);
    const audit = await api.sql.query(`SELECT user_email FROM audit_events WHERE action = 'backup.server_report'`);
    expect(audit.rows.map((r) => r.user_email)).toEqual(['service:backup-server/store-1']);

    // Too many devices in one request, a device's credential, an operator's session, a revoked credential: refused.
    const many = { ...body, devices: Array.from({ length: 2001 }, () => body.devices[0]) };
    expect((await report(many)).status).toBe(400);
    expect((await report(body, device.credential)).body.code).toBe('SERVICE_AUTH_INVALID');
    expect((await report(body, admin)).body.code).toBe('SERVICE_AUTH_INVALID');
    expect((await api.request('POST', 'backup-server/report', { body })).body.code).toBe('SERVICE_AUTH_REQUIRED');
    expect((await api.request('DELETE', `service-credentials/${created.body.id}`, { token: admin })).status).toBe(200);
    expect((await report(body)).body.code).toBe('SERVICE_AUTH_INVALID');
  });

  it("turns a due run into one signed backup.run at the device's poll and follows its reports", async () => {
    const carrier = await enrollDeviceAt(api, admin, where, 'backup-carrier');
    expect((await putPolicy(carrier.id, { mode: 'FILE', paths: ['/etc', '/opt'], localTime: '00:00' })).status).toBe(200);
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 30, 0);
    await schedule(midnight);
    const [run] = await runsOf(carrier.id);
    expect(run?.status).toBe('scheduled');
    // Created at the slot; the poll takes runs due within the catch-up window, so make it due now.
    await api.sql.query(`UPDATE backup_runs SET due_at = now() - interval '1 minute', created_at = now() WHERE id = $1`, [run.id]);

    const poll = () => api.request('GET', 'agent/commands?waitSeconds=0', { token: carrier.credential });
    // Two polls at once (two API instances would do the same): one command.
    const [a, b] = await Promise.all([poll(), poll()]);
    const delivered = [...a.body.commands, ...b.body.commands].filter((c: { action: string }) => c.action === 'backup.run');
    expect(
      new Set(delivered.map((c: { commandId: string }) => c.commandId)).size,
      JSON.stringify(delivered.map((c: { commandId: string }) => c.commandId)),
    ).toBe(1);
    const signed = delivered[0];
    const verified = verifyCommand(signed, carrier.pinned, { deviceId: carrier.id, now: new Date() });
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    expect(signed.params).toEqual({
      runId: run.id,
      repositoryUrl: `${api.config.API_BACKUP_SERVER_URL}/${carrier.id}/`,
      paths: ['/etc', '/opt'],
      excludes: expect.any(Array),
      keepDaily: 7,
      keepWeekly: 4,
      // Never checked: the first run asks for the weekly check; no recovery key is set, so no escrow.
      check: true,
      escrowRecipient: null,
    });
    // A delivered command is delivered again until the agent reports on it (the agent's journal runs it once); never a second command.
    await poll();
    const rows = await api.sql.query(`SELECT id FROM commands WHERE device_id = $1 AND action = 'backup.run'`, [carrier.id]);
    expect(rows.rows.map((r) => r.id)).toEqual([signed.commandId]);
    const queuedBy = await api.sql.query(`SELECT requested_by FROM commands WHERE id = $1`, [signed.commandId]);
    expect(queuedBy.rows[0].requested_by).toBe('system:backup-schedule');

    const report = (body: unknown) => api.request('POST', `agent/commands/${signed.commandId}/status`, { token: carrier.credential, body });
    expect((await report({ status: 'running' })).status).toBe(200);
    expect((await runsOf(carrier.id))[0].status).toBe('running');
    const summary = {
      snapshotId: '7f25e897',
      filesNew: 3,
      filesChanged: 0,
      filesUnmodified: 0,
      dataAddedBytes: 3145,
      totalFiles: 3,
      totalBytes: 3145,
      durationSeconds: 1.5,
      unreadableFiles: 0,
    };
    // The agent's result line (agent/src/backups/backup-result.ts): the summary, the listing, the check, the escrow.
    const resultLine = JSON.stringify({
      summary,
      snapshots: [{ id: '7f25e897'.padEnd(64, '0'), time: new Date().toISOString() }],
      check: { ok: true, subset: '10%', error: null },
      escrow: null,
    });
    const done = await report({ status: 'succeeded', exitCode: 0, stdout: `backup of 2 paths\n${resultLine}\n` });
    expect(done.status, done.text).toBe(200);
    const listed = await api.request('GET', `devices/${carrier.id}/backup-runs`, { token: admin });
    expect(listed.body.items[0]).toMatchObject({ id: run.id, status: 'succeeded', commandId: signed.commandId, summary, error: null });

    // A failed run carries the agent's reason.
    await api.sql.query(`UPDATE backup_runs SET slot_date = slot_date - 1 WHERE id = $1`, [run.id]);
    await schedule(midnight);
    const again = (await runsOf(carrier.id)).find((r) => r.status === 'scheduled')!;
    await api.sql.query(`UPDATE backup_runs SET due_at = now() - interval '1 minute', created_at = now() WHERE id = $1`, [again.id]);
    const second = (await poll()).body.commands.find((c: { action: string }) => c.action === 'backup.run');
    expect(second.params.runId).toBe(again.id);
    const failed = await api.request('POST', `agent/commands/${second.commandId}/status`, {
      token: carrier.credential,
      body: { status: 'failed', exitCode: 1, stderr: 'backup: Fatal: unable to open repository\n', reason: 'restic exited with 1' },
    });
    expect(failed.status, failed.text).toBe(200);
    expect((await runsOf(carrier.id)).find((r) => r.id === again.id)).toMatchObject({ status: 'failed' });
    const error = (await api.sql.query(`SELECT error FROM backup_runs WHERE id = $1`, [again.id])).rows[0].error;
    expect(error).toBe('restic exited with 1');

    // The failure is a device event the alert engine turns into one alert; the next success resolves it.
    const alertsOf = async () =>
      (await api.sql.query(`SELECT rule_key, state FROM alerts WHERE device_id = $1 AND rule_key = 'backup-failed'`, [carrier.id])).rows;
    // The engine reads an event once every older transaction on the server ended (api/src/alerts/outbox-reader.ts),
    // other test files' included: evaluate until it arrived.
    const settles = async (expected: unknown) => {
      for (let i = 0; i < 40 && JSON.stringify(await alertsOf()) !== JSON.stringify(expected); i++) {
        await runMaintenanceJob(api, MaintenanceJob.EvaluateAlerts);
        if (JSON.stringify(await alertsOf()) !== JSON.stringify(expected)) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(await alertsOf()).toEqual(expected);
    };
    await settles([{ rule_key: 'backup-failed', state: 'open' }]);
    const retry = await api.request('POST', `devices/${carrier.id}/backup-runs`, { token: admin, body: {} });
    expect(retry.status, retry.text).toBe(201);
    const third = (await poll()).body.commands.find((c: { action: string; params: { runId: string } }) => c.params.runId === retry.body.id);
    const ok = await api.request('POST', `agent/commands/${third.commandId}/status`, {
      token: carrier.credential,
      body: { status: 'succeeded', exitCode: 0, stdout: `${resultLine}\n` },
    });
    expect(ok.status, ok.text).toBe(200);
    await settles([{ rule_key: 'backup-failed', state: 'resolved' }]);
    const events = await api.sql.query(`SELECT type FROM device_events WHERE device_id = $1 AND type LIKE 'backup.%' ORDER BY id`, [
      carrier.id,
    ]);
    expect(events.rows.map((r) => r.type)).toEqual(['backup.succeeded', 'backup.failed', 'backup.succeeded']);
  });

  it('backs up now and restores chosen paths on request, each carried by a signed command at the next poll', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'backup-manual');
    const now = (token = admin) => api.request('POST', `devices/${device.id}/backup-runs`, { token, body: {} });
    expect((await now()).body.code).toBe('BACKUP_NOT_ENABLED');
    expect((await putPolicy(device.id, { mode: 'FILE' })).status).toBe(200);
    const started = await now();
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ kind: 'backup', status: 'scheduled', slotDate: null, requestedBy: expect.stringContaining('@') });
    expect((await now()).body.code).toBe('BACKUP_RUN_IN_PROGRESS');
    const poll = async () =>
      (await api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential })).body.commands as Array<Record<string, any>>;
    const backup = (await poll()).find((c) => c.action === 'backup.run')!;
    expect(backup.params.runId).toBe(started.body.id);
    const report = (id: string, body: unknown) => api.request('POST', `agent/commands/${id}/status`, { token: device.credential, body });
    expect((await report(backup.commandId, { status: 'failed', reason: 'restic is not installed' })).status).toBe(200);

    const restore = (body: unknown) => api.request('POST', `devices/${device.id}/backup-restores`, { token: admin, body });
    const good = { snapshotId: '7f25e897', paths: ['/etc/ssh', '/opt/app'], target: { mode: 'alternate', directory: '/srv/restore' } };
    for (const [bad, field] of [
      [{ ...good, snapshotId: 'zz' }, /snapshotId/],
      [{ ...good, snapshotId: '--target=/' }, /snapshotId/],
      [{ ...good, paths: ['etc'] }, /paths\.0/],
      [{ ...good, target: { mode: 'alternate' } }, /target/],
      [{ ...good, target: { mode: 'alternate', directory: '/srv/../etc' } }, /target/],
      [{ ...good, target: { mode: 'elsewhere' } }, /target/],
    ] as const) {
      const refused = await restore(bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.detail).toMatch(field);
    }
    const asked = await restore(good);
    expect(asked.status, asked.text).toBe(201);
    expect(asked.body).toMatchObject({ kind: 'restore', status: 'scheduled', request: good });
    const carried = (await poll()).find((c) => c.action === 'backup.restore')!;
    expect(carried.params).toEqual({
      runId: asked.body.id,
      repositoryUrl: `${api.config.API_BACKUP_SERVER_URL}/${device.id}/`,
      snapshotId: '7f25e897',
      include: ['/etc/ssh', '/opt/app'],
      target: '/srv/restore',
      source: null,
    });
    const stored = await api.sql.query(`SELECT critical FROM commands WHERE id = $1`, [carried.commandId]);
    expect(stored.rows[0].critical).toBe(true);
    // A restore run gets read tokens only.
    expect((await tokenFor(device.credential, { runId: asked.body.id, op: 'read' })).status).toBe(200);
    expect((await tokenFor(device.credential, { runId: asked.body.id, op: 'append' })).body.code).toBe('BACKUP_TOKEN_REFUSED');
    expect((await report(carried.commandId, { status: 'succeeded', exitCode: 0, stdout: 'restored 2 paths\n' })).status).toBe(200);
    const runs = await api.request('GET', `devices/${device.id}/backup-runs`, { token: admin });
    expect(runs.body.items.map((r: { kind: string; status: string }) => `${r.kind}:${r.status}`)).toEqual([
      'restore:succeeded',
      'backup:failed',
    ]);
  });

  it('lists the devices that back up with their last run and success, filtered failing or overdue', async () => {
    const list = async (query = '') => (await api.request('GET', `backups${query}`, { token: admin })).body;
    const all = await list('?limit=500');
    expect(all.items, JSON.stringify(all)).toBeDefined();
    const byName = new Map<string, Record<string, any>>(all.items.map((r: { deviceName: string }) => [r.deviceName, r]));
    // backup-berlin was set back to OFF: not listed.
    expect(byName.has('backup-berlin')).toBe(false);
    expect(byName.get('backup-carrier')).toMatchObject({
      mode: 'FILE',
      lastRunStatus: 'succeeded',
      lastSnapshotId: '7f25e897',
      overdue: false,
    });
    expect(byName.get('backup-manual')).toMatchObject({
      mode: 'FILE',
      lastRunStatus: 'failed',
      lastRunError: 'restic is not installed',
      overdue: true,
    });
    const failing = (await list('?filter=failing')).items.map((r: { deviceName: string }) => r.deviceName);
    expect(failing).toContain('backup-manual');
    expect(failing).not.toContain('backup-carrier');
    const overdue = (await list('?filter=overdue')).items.map((r: { deviceName: string }) => r.deviceName);
    expect(overdue).toContain('backup-manual');
    expect(overdue).not.toContain('backup-carrier');
    expect((await api.request('GET', 'backups?filter=broken', { token: admin })).status).toBe(400);
  });
});
