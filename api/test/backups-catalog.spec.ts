import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BackupProgress } from '@xspectre/contracts';
import type { EvaluationResult } from '../src/alerts/alert-evaluator.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { LiveClient } from './support/live-client.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { stepUp } from './support/step-up.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type EnrolledDevice, type LabHub } from './support/fleet.js';

type Check = { ok: boolean; subset: string; error: string | null } | null;

/**
 * Issue 15 items 2, 3, 5 and 7 through the real routes: the agent's result line becomes the
 * snapshot catalog and "last verified restorable", the weekly check is asked for by age, progress
 * reaches the run and the consoles that follow the device, and the built-in alert rules
 * backup-overdue, backup-check-failed and backup-quota open once and resolve.
 */
describe('backups: catalog, weekly check, progress, alert rules', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  const open: LiveClient[] = [];

  const sid = (c: string) => c.repeat(64);
  const putPolicy = (deviceId: string, body: unknown) => api.request('PUT', `devices/${deviceId}/backup-policy`, { token: admin, body });
  const poll = async (d: EnrolledDevice) =>
    (await api.request('GET', 'agent/commands?waitSeconds=0', { token: d.credential })).body.commands as Array<Record<string, any>>;
  const report = (d: EnrolledDevice, commandId: string, body: unknown) =>
    api.request('POST', `agent/commands/${commandId}/status`, { token: d.credential, body });
  const snapshotsOf = async (d: EnrolledDevice) => {
    const page = await api.request('GET', `devices/${d.id}/backup-snapshots`, { token: admin });
    expect(page.status, page.text).toBe(200);
    return page.body as { items: Array<Record<string, any>>; syncedAt: string | null; lastVerifiedAt: string | null };
  };
  const runsOf = async (d: EnrolledDevice) =>
    (await api.request('GET', `devices/${d.id}/backup-runs`, { token: admin })).body.items as Array<Record<string, any>>;
  const fleetRow = async (d: EnrolledDevice) =>
    ((await api.request('GET', 'backups?limit=500', { token: admin })).body.items as Array<Record<string, any>>).find(
      (r) => r.deviceId === d.id,
    );
  const eventsOf = async (d: EnrolledDevice, type: string) =>
    (await api.sql.query(`SELECT details FROM device_events WHERE device_id = $1 AND type = $2 ORDER BY id`, [d.id, type])).rows;
  const alertOf = async (d: EnrolledDevice, ruleKey: string) =>
    (await api.sql.query(`SELECT state FROM alerts WHERE device_id = $1 AND rule_key = $2 ORDER BY opened_at`, [d.id, ruleKey])).rows.map(
      (r) => r.state as string,
    );
  /** One evaluation that ran (another instance's evaluation holds the lock for a moment at most). */
  const evaluate = async () => {
    for (let i = 0; i < 20; i++) {
      const result = await runMaintenanceJob<EvaluationResult>(api, MaintenanceJob.EvaluateAlerts);
      if (!result.skipped) return result;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('the alert evaluation was skipped 20 times');
  };

  /**
   * Evaluates until `read` gives `expected`: the engine reads device events only once every older
   * transaction on the server has ended (api/src/alerts/outbox-reader.ts), other test files' included.
   */
  const settles = async (read: () => Promise<unknown>, expected: unknown) => {
    for (let i = 0; i < 40; i++) {
      await evaluate();
      if (JSON.stringify(await read()) === JSON.stringify(expected)) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await read()).toEqual(expected);
  };

  /** A backup now, carried to the device: its run id and the signed params. */
  const startBackup = async (d: EnrolledDevice) => {
    const run = await api.request('POST', `devices/${d.id}/backup-runs`, { token: admin, body: {} });
    expect(run.status, run.text).toBe(201);
    const command = (await poll(d)).find((c) => c.action === 'backup.run' && c.params.runId === run.body.id);
    expect(command, 'the backup.run command at the next poll').toBeDefined();
    expect((await report(d, command!.commandId, { status: 'running' })).status).toBe(200);
    return { runId: run.body.id as string, commandId: command!.commandId as string, params: command!.params as Record<string, any> };
  };
  const summary = (snapshotId: string, totalBytes: number, durationSeconds = 2.5) => ({
    snapshotId,
    filesNew: 1,
    filesChanged: 0,
    filesUnmodified: 9,
    dataAddedBytes: Math.floor(totalBytes / 10),
    totalFiles: 10,
    totalBytes,
    durationSeconds,
    unreadableFiles: 0,
  });
  const resultLine = (s: ReturnType<typeof summary>, snapshots: Array<{ id: string; time: string }>, check: Check = null) =>
    JSON.stringify({ summary: s, snapshots, check, escrow: null });
  const succeed = async (d: EnrolledDevice, commandId: string, stdout: string) => {
    const done = await report(d, commandId, { status: 'succeeded', exitCode: 0, stdout: `restic output\n${stdout}\n` });
    expect(done.status, done.text).toBe(200);
  };
  /** A whole successful backup with this result. */
  const backup = async (d: EnrolledDevice, s: ReturnType<typeof summary>, snapshots: Array<{ id: string; time: string }>, check: Check) => {
    const started = await startBackup(d);
    await succeed(d, started.commandId, resultLine(s, snapshots, check));
    return started;
  };
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    await stepUp(api, admin);
    where = await createOrganizationSite(api, admin, 'Catalog Co');
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.socket.terminate();
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('turns result lines into the catalog: sizes from the making run, prune removals, last verified restorable', async () => {
    const d = await enrollDeviceAt(api, admin, where, 'catalog-1');
    expect((await putPolicy(d.id, { mode: 'FILE', paths: ['/etc', '/srv/app'] })).status).toBe(200);
    expect(await snapshotsOf(d)).toEqual({ items: [], syncedAt: null, lastVerifiedAt: null });

    // Never checked: the first run asks for the check. restic's summary gives the short id.
    const first = await startBackup(d);
    expect(first.params.check).toBe(true);
    await succeed(
      d,
      first.commandId,
      resultLine(summary('aaaaaaaa', 1000), [{ id: sid('a'), time: at(30) }], { ok: true, subset: '10%', error: null }),
    );
    const one = await snapshotsOf(d);
    expect(one.items).toEqual([
      {
        snapshotId: sid('a'),
        time: expect.any(String),
        paths: ['/etc', '/srv/app'],
        totalBytes: 1000,
        dataAddedBytes: 100,
        totalFiles: 10,
        durationSeconds: 2.5,
        runId: first.runId,
      },
    ]);
    expect(one.syncedAt).not.toBeNull();
    expect(one.lastVerifiedAt).not.toBeNull();
    const [run] = await runsOf(d);
    expect(run).toMatchObject({ id: first.runId, status: 'succeeded', check: { ok: true, subset: '10%', error: null }, progress: null });
    expect(await fleetRow(d)).toMatchObject({ lastVerifiedAt: one.lastVerifiedAt, lastCheckOk: true, lastSnapshotId: 'aaaaaaaa' });

    // Checked just now: the next run does not check. A snapshot no run of ours made is listed with what is known.
    const second = await startBackup(d);
    expect(second.params.check).toBe(false);
    await succeed(
      d,
      second.commandId,
      resultLine(summary(sid('b'), 2000, 4), [
        { id: sid('a'), time: at(30) },
        { id: sid('c'), time: at(20) },
        { id: sid('b'), time: at(10) },
      ]),
    );
    const three = await snapshotsOf(d);
    expect(three.items.map((s) => [s.snapshotId, s.totalBytes, s.runId])).toEqual([
      [sid('b'), 2000, second.runId],
      [sid('c'), null, null],
      [sid('a'), 1000, first.runId],
    ]);
    expect(three.items[1]).toMatchObject({ paths: null, totalFiles: null, durationSeconds: null });
    // No check this time: the last verification stands.
    expect(three.lastVerifiedAt).toBe(one.lastVerifiedAt);
    expect((await runsOf(d))[0]!.check).toBeNull();

    // Prune forgot a and c: they leave the catalog.
    const third = await backup(
      d,
      summary('dddddddd', 2100),
      [
        { id: sid('b'), time: at(10) },
        { id: sid('d'), time: at(1) },
      ],
      null,
    );
    expect((await snapshotsOf(d)).items.map((s) => [s.snapshotId, s.runId])).toEqual([
      [sid('d'), third.runId],
      [sid('b'), second.runId],
    ]);

    // A check older than BACKUP_CHECK_INTERVAL_DAYS is due again.
    await api.sql.query(`UPDATE backup_device_states SET last_verified_at = now() - interval '8 days' WHERE device_id = $1`, [d.id]);
    const fourth = await startBackup(d);
    expect(fourth.params.check).toBe(true);
    expect((await report(d, fourth.commandId, { status: 'failed', reason: 'stopped by the test' })).status).toBe(200);

    // Unknown device: 404; bad id: 400.
    expect((await api.request('GET', 'devices/00000000-0000-4000-8000-000000000000/backup-snapshots', { token: admin })).body.code).toBe(
      'DEVICE_NOT_FOUND',
    );
    expect((await api.request('GET', 'devices/nope/backup-snapshots', { token: admin })).status).toBe(400);
  });

  it('fails a succeeded command without a valid result line, and leaves the catalog as it was', async () => {
    const d = await enrollDeviceAt(api, admin, where, 'catalog-bad');
    expect((await putPolicy(d.id, { mode: 'FILE' })).status).toBe(200);
    await backup(d, summary('eeeeeeee', 10), [{ id: sid('e'), time: at(5) }], null);
    const before = await snapshotsOf(d);
    const bad = [
      // The summary alone (the agent's former last line).
      JSON.stringify(summary('ffffffff', 10)),
      // A short id in the listing, an unknown field, a check without its subset, not JSON.
      resultLine(summary('ffffffff', 10), [{ id: 'ffffffff', time: at(1) }]),
      JSON.stringify({ summary: summary('ffffffff', 10), snapshots: [], check: null, escrow: null, extra: 1 }),
      JSON.stringify({ summary: summary('ffffffff', 10), snapshots: [], check: { ok: true, error: null }, escrow: null }),
      '{"summary":',
    ];
    for (const line of bad) {
      const started = await startBackup(d);
      await succeed(d, started.commandId, line);
      const [run] = await runsOf(d);
      expect(run, line).toMatchObject({ id: started.runId, status: 'failed', summary: null, error: expect.stringMatching(/result line/) });
    }
    expect(await snapshotsOf(d)).toEqual(before);
  });

  it('keeps the latest progress on the running run, pushes it to consoles following the device, and refuses bad posts', async () => {
    const d = await enrollDeviceAt(api, admin, where, 'progress-1');
    const other = await enrollDeviceAt(api, admin, where, 'progress-2');
    expect((await putPolicy(d.id, { mode: 'FILE' })).status).toBe(200);
    const started = await startBackup(d);
    const following = await LiveClient.connect(api, { bearer: admin });
    const fleetOnly = await LiveClient.connect(api, { bearer: admin });
    open.push(following, fleetOnly);
    following.sendJson({ type: 'subscribe', deviceIds: [d.id] });
    await following.next('subscribed');

    const progress: BackupProgress = {
      phase: 'backup',
      percentDone: 0.42,
      filesDone: 42,
      totalFiles: 100,
      bytesDone: 4200,
      totalBytes: 10000,
      secondsElapsed: 12,
      secondsRemaining: 16.5,
    };
    const post = (credential: string, body: unknown) => api.request('POST', 'agent/backup-progress', { token: credential, body });
    const auditBefore = (await api.sql.query(`SELECT count(*)::int AS n FROM audit_events`)).rows[0].n;
    const posted = await post(d.credential, { runId: started.runId, progress });
    expect(posted.status, posted.text).toBe(200);
    expect(posted.body).toEqual({ runId: started.runId, progressAt: expect.any(String) });
    const message = await following.next('backup.progress', (m) => m.runId === started.runId);
    expect(message).toEqual({ type: 'backup.progress', deviceId: d.id, runId: started.runId, progress, at: posted.body.progressAt });
    // Dispatched to both connections at once: once the pong is back, the other one would hold it.
    await fleetOnly.ping();
    expect(fleetOnly.messages.filter((m) => m.type === 'backup.progress')).toEqual([]);
    expect((await runsOf(d))[0]).toMatchObject({ id: started.runId, progress, progressAt: posted.body.progressAt });
    // Progress every 2 s is telemetry, like heartbeats: no audit row per post.
    expect((await api.sql.query(`SELECT count(*)::int AS n FROM audit_events`)).rows[0].n).toBe(auditBefore);

    // Another device's run, an unknown run: 404. Malformed bodies: 400 naming the field. An operator: 401.
    expect((await post(other.credential, { runId: started.runId, progress })).body.code).toBe('BACKUP_RUN_NOT_FOUND');
    expect((await post(d.credential, { runId: '00000000-0000-4000-8000-000000000000', progress })).status).toBe(404);
    for (const [body, field] of [
      [{ runId: started.runId, progress: { ...progress, percentDone: 2 } }, /percentDone/],
      [{ runId: started.runId, progress: { ...progress, phase: 'upload' } }, /phase/],
      [{ runId: started.runId, progress: { ...progress, filesDone: -1 } }, /filesDone/],
      [{ runId: 'run-1', progress }, /runId/],
      [{ runId: started.runId }, /progress/],
      [{ runId: started.runId, progress, extra: true }, /extra/],
    ] as const) {
      const refused = await post(d.credential, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.detail, JSON.stringify(body)).toMatch(field);
    }
    expect((await post(admin, { runId: started.runId, progress })).status).toBe(401);
    expect((await api.request('POST', 'agent/backup-progress', { body: { runId: started.runId, progress } })).status).toBe(401);

    // The run finishes: its progress goes, and later posts are refused.
    await succeed(d, started.commandId, resultLine(summary('abcdef01', 10), [{ id: sid('1'), time: at(1) }]));
    expect((await runsOf(d))[0]).toMatchObject({ status: 'succeeded', progress: null, progressAt: null });
    const late = await post(d.credential, { runId: started.runId, progress });
    expect([late.status, late.body.code]).toEqual([409, 'BACKUP_RUN_NOT_RUNNING']);
  });

  it('alerts once when a check fails and resolves when one passes again', async () => {
    const d = await enrollDeviceAt(api, admin, where, 'check-alert');
    expect((await putPolicy(d.id, { mode: 'FILE' })).status).toBe(200);
    const failed = { ok: false, subset: '10%', error: 'pack 3f2a… contains 1 error' };
    const first = await backup(d, summary('11111111', 10), [{ id: sid('1'), time: at(3) }], failed);
    expect(await eventsOf(d, 'backup.check_failed')).toEqual([{ details: { runId: first.runId, subset: '10%', error: failed.error } }]);
    await settles(() => alertOf(d, 'backup-check-failed'), ['open']);
    expect((await fleetRow(d))?.lastCheckOk).toBe(false);
    expect((await fleetRow(d))?.lastVerifiedAt).toBeNull();

    // Still failing: the next run checks again, and no second event.
    const second = await startBackup(d);
    expect(second.params.check).toBe(true);
    await succeed(d, second.commandId, resultLine(summary('22222222', 10), [{ id: sid('2'), time: at(2) }], failed));
    expect(await eventsOf(d, 'backup.check_failed')).toHaveLength(1);

    await backup(d, summary('33333333', 10), [{ id: sid('3'), time: at(1) }], { ok: true, subset: '10%', error: null });
    expect(await eventsOf(d, 'backup.check_succeeded')).toHaveLength(1);
    await settles(() => alertOf(d, 'backup-check-failed'), ['resolved']);
    expect(await fleetRow(d)).toMatchObject({ lastCheckOk: true, lastVerifiedAt: expect.any(String) });
  });

  it("alerts when a device's repository goes above 90 % of its quota, once, and resolves below", async () => {
    const d = await enrollDeviceAt(api, admin, where, 'quota-alert');
    const quiet = await enrollDeviceAt(api, admin, where, 'quota-quiet');
    const made = await api.request('POST', 'service-credentials', {
      token: admin,
      body: { service: 'backup-server', name: 'quota-store' },
    });
    expect(made.status, made.text).toBe(201);
    const send = async (usedBytes: number) => {
      const sent = await api.request('POST', 'backup-server/report', {
        token: made.body.secret,
        body: {
          generatedAt: new Date().toISOString(),
          store: 'directory',
          pool: { name: 'store', sizeBytes: 10_000, usedBytes: 5000, freeBytes: 5000 },
          devices: [
            { deviceId: d.id, usedBytes, quotaBytes: 1000, snapshotCount: 3 },
            { deviceId: quiet.id, usedBytes: 100, quotaBytes: 1000, snapshotCount: 1 },
            { deviceId: '00000000-0000-4000-8000-000000000077', usedBytes: 999, quotaBytes: 1000, snapshotCount: 1 },
          ],
          lastScrub: null,
        },
      });
      expect(sent.status, sent.text).toBe(200);
    };
    await send(500);
    expect(await eventsOf(d, 'backup.quota_ok')).toEqual([]);
    await send(950);
    await send(960);
    expect(await eventsOf(d, 'backup.quota_high')).toEqual([{ details: { usedBytes: 950, quotaBytes: 1000, thresholdPercent: 90 } }]);
    await settles(() => alertOf(d, 'backup-quota'), ['open']);
    await send(400);
    await send(300);
    expect(await eventsOf(d, 'backup.quota_ok')).toHaveLength(1);
    await settles(() => alertOf(d, 'backup-quota'), ['resolved']);
    // A device always below the line never had an event.
    expect((await api.sql.query(`SELECT count(*)::int AS n FROM device_events WHERE device_id = $1`, [quiet.id])).rows[0].n).toBe(1);
  });

  it("alerts on a backup server's pool above 85 % and on scrub errors, one fleet alert per server, resolved when it clears", async () => {
    const made = await api.request('POST', 'service-credentials', { token: admin, body: { service: 'backup-server', name: 'pool-store' } });
    expect(made.status, made.text).toBe(201);
    const send = async (usedBytes: number, lastScrub: unknown) => {
      const sent = await api.request('POST', 'backup-server/report', {
        token: made.body.secret,
        body: {
          generatedAt: new Date().toISOString(),
          store: 'zfs',
          pool: { name: 'backup-pool', sizeBytes: 1000, usedBytes, freeBytes: 1000 - usedBytes },
          devices: [],
          lastScrub,
        },
      });
      expect(sent.status, sent.text).toBe(200);
    };
    const fleetAlerts = async (ruleKey: string) =>
      (
        await api.sql.query(`SELECT state, subject, title, device_id FROM alerts WHERE rule_key = $1 ORDER BY opened_at`, [ruleKey])
      ).rows.filter((r) => r.subject === made.body.id);
    const scrub = (errors: number) => ({ state: 'finished', finishedAt: new Date().toISOString(), errors });

    await send(800, scrub(0));
    await evaluate();
    expect(await fleetAlerts('backup-pool')).toEqual([]);
    await send(870, scrub(3));
    await evaluate();
    expect(await fleetAlerts('backup-pool')).toEqual([
      { state: 'open', subject: made.body.id, title: 'Backup pool above 85 %: pool-store at 87 % (threshold 85 %)', device_id: null },
    ]);
    expect(await fleetAlerts('backup-scrub-errors')).toEqual([
      expect.objectContaining({ state: 'open', title: 'Backup pool scrub found errors: the last scrub of pool-store found 3 errors' }),
    ]);
    // Between the clear line and the threshold: still open. Below 80 %: resolved. A clean scrub resolves the scrub alert.
    await send(820, { state: 'in_progress', finishedAt: null, errors: null });
    await settles(async () => (await fleetAlerts('backup-pool')).map((a) => a.state), ['open']);
    await settles(async () => (await fleetAlerts('backup-scrub-errors')).map((a) => a.state), ['open']);
    await send(700, scrub(0));
    await settles(async () => (await fleetAlerts('backup-pool')).map((a) => a.state), ['resolved']);
    await settles(async () => (await fleetAlerts('backup-scrub-errors')).map((a) => a.state), ['resolved']);

    // A revoked backup server is no longer judged: its open alerts resolve.
    await send(990, scrub(1));
    await settles(async () => (await fleetAlerts('backup-pool')).map((a) => a.state), ['resolved', 'open']);
    expect((await api.request('DELETE', `service-credentials/${made.body.id}`, { token: admin })).status).toBe(200);
    await settles(async () => (await fleetAlerts('backup-pool')).map((a) => a.state), ['resolved', 'resolved']);
    await settles(async () => (await fleetAlerts('backup-scrub-errors')).map((a) => a.state), ['resolved', 'resolved']);
  });

  it('marks a device overdue once per episode after 26 h without success; its next success resolves it', async () => {
    const d = await enrollDeviceAt(api, admin, where, 'overdue-1');
    expect((await putPolicy(d.id, { mode: 'FILE' })).status).toBe(200);
    const detect = () => runMaintenanceJob<{ overdue: string[] }>(api, MaintenanceJob.DetectOverdueBackups);
    // Backing up for an hour only: not overdue yet, even without any success.
    expect((await detect()).overdue).not.toContain(d.id);
    await api.sql.query(`UPDATE backup_policies SET updated_at = now() - interval '27 hours' WHERE device_id = $1`, [d.id]);
    await api.sql.query(`UPDATE devices SET enrolled_at = now() - interval '30 hours' WHERE id = $1`, [d.id]);
    expect((await detect()).overdue).toContain(d.id);
    expect((await detect()).overdue).not.toContain(d.id);
    expect(await eventsOf(d, 'backup.overdue')).toEqual([{ details: { lastSuccessAt: null, overdueHours: 26 } }]);
    await settles(() => alertOf(d, 'backup-overdue'), ['open']);
    expect((await fleetRow(d))?.overdue).toBe(true);

    await backup(d, summary('44444444', 10), [{ id: sid('4'), time: at(1) }], null);
    await settles(() => alertOf(d, 'backup-overdue'), ['resolved']);
    expect((await detect()).overdue).not.toContain(d.id);

    // The success ages past 26 h: a new episode, a new event.
    await api.sql.query(`UPDATE backup_runs SET finished_at = now() - interval '27 hours' WHERE device_id = $1 AND status = 'succeeded'`, [
      d.id,
    ]);
    expect((await detect()).overdue).toContain(d.id);
    expect(await eventsOf(d, 'backup.overdue')).toHaveLength(2);
    await settles(() => alertOf(d, 'backup-overdue'), ['resolved', 'open']);

    // A device set back to OFF is not overdue; its episode closes without an event.
    expect((await putPolicy(d.id, { mode: 'OFF' })).status).toBe(200);
    await detect();
    const state = await api.sql.query(`SELECT overdue_since FROM backup_device_states WHERE device_id = $1`, [d.id]);
    expect(state.rows[0].overdue_since).toBeNull();
  });
});
