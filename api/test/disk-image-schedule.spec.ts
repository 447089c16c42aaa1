import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import { DiskImageOverdueService } from '../src/disk-images/disk-image-overdue.service.js';
import { DiskImageScheduleService, type ScheduledImageSlot } from '../src/disk-images/disk-image-schedule.service.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { evaluateThroughEvents } from './support/alert-outbox.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { stepUp } from './support/step-up.js';
import { buildRecoveryImageFixture } from './support/recovery-image.js';
import { createStick, imageRequest as imageRequestTo, type TestStick as Stick } from './support/recovery-stick.js';
import { freePort } from './support/built-process.js';
import { startLabBackupServer, type LabBackupServer } from './support/lab-backup-server.js';
import { NestFactory } from '@nestjs/core';
import { createLogger, NestPinoLogger } from '../src/common/logging/logger.js';
import { loadConfig } from '../src/config/config.js';
import { WorkerModule } from '../src/worker/worker.module.js';
import { testEnv } from './support/harness.js';
import {
  createOrganizationSite,
  enrollDeviceAt,
  startApiWithLabHub,
  testHeartbeat,
  type EnrolledDevice,
  type LabHub,
} from './support/fleet.js';

const MiB = 1024 ** 2;

/**
 * FULL and HYBRID backups (issue 16 item 7) through the real routes, the worker's jobs and the
 * real backup server: the policy (modes, weekly slot, images to keep, bad input), the weekly slot
 * in the site's zone across DST, once per device and slot however many workers run, the skip
 * when a job is open, the failure without a recovery medium (alerting), a scheduled image end to
 * end with the policy's keep travelling in the image-append token to the backup server's prune,
 * and the overdue event with its resolution.
 */
describe('disk images: weekly schedule, retention, overdue', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  let fixture: Awaited<ReturnType<typeof buildRecoveryImageFixture>>;
  let mediaDir: string;
  let backupServer: LabBackupServer | undefined;
  let backupPort: number;

  const putPolicy = (deviceId: string, body: unknown, token = admin) =>
    api.request('PUT', `devices/${deviceId}/backup-policy`, { token, body });
  const schedule = (now: Date) => api.app.get(DiskImageScheduleService, { strict: false }).scheduleDue(now);
  const overdue = (now: Date) => api.app.get(DiskImageOverdueService, { strict: false }).detect(now);
  const mine = (slots: ScheduledImageSlot[], deviceId: string) => slots.filter((s) => s.deviceId === deviceId);
  const slotsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT to_char(slot_date, 'YYYY-MM-DD') AS slot, due_at, outcome, job_id, reason FROM disk_image_slots WHERE device_id = $1 ORDER BY slot_date`,
        [deviceId],
      )
    ).rows.map((r) => ({ slot: r.slot, dueAt: new Date(r.due_at).toISOString(), outcome: r.outcome, jobId: r.job_id, reason: r.reason }));
  const jobsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT id, state, trigger, requested_by, error FROM disk_image_jobs WHERE device_id = $1 ORDER BY created_at, id`,
        [deviceId],
      )
    ).rows;
  const eventsOf = async (deviceId: string, type: string) =>
    (await api.sql.query(`SELECT details FROM device_events WHERE device_id = $1 AND type = $2 ORDER BY id`, [deviceId, type])).rows.map(
      (r) => r.details,
    );
  const alertStates = async (deviceId: string, key: string) =>
    (await api.sql.query(`SELECT state FROM alerts WHERE device_id = $1 AND rule_key = $2 ORDER BY opened_at`, [deviceId, key])).rows.map(
      (r) => r.state,
    );
  const poll = async (d: EnrolledDevice) =>
    (await api.request('GET', 'agent/commands?waitSeconds=0', { token: d.credential })).body.commands as Array<Record<string, any>>;
  const report = (d: EnrolledDevice, commandId: string, body: unknown) =>
    api.request('POST', `agent/commands/${commandId}/status`, { token: d.credential, body });
  const images = async (deviceId: string) => {
    const r = await api.request('GET', `devices/${deviceId}/disk-images`, { token: admin });
    expect(r.status, r.text).toBe(200);
    return r.body as { images: Array<Record<string, any>>; job: Record<string, any> | null };
  };
  const site = async (name: string, timeZone: string) => {
    const created = await api.request('POST', 'sites', { token: admin, body: { organizationId: where.organizationId, name, timeZone } });
    expect(created.status, created.text).toBe(201);
    return { organizationId: where.organizationId, siteId: created.body.id as string };
  };

  const stickFor = (deviceId: string) => createStick(api, admin, deviceId);
  const heartbeats = new Map<string, number>();

  /** The scheduler in a worker context of its own (its own pools), as a second worker process would run it. */
  const scheduleInWorker = async (now: Date) => {
    const config = loadConfig(
      testEnv(api.config.DB_URL, { REDIS_KEY_PREFIX: api.config.REDIS_KEY_PREFIX, API_SECRET_KEY: api.config.API_SECRET_KEY }),
    );
    const worker = await NestFactory.createApplicationContext(WorkerModule.register(config), {
      logger: new NestPinoLogger(createLogger('silent')),
    });
    try {
      return await worker.get(DiskImageScheduleService).scheduleDue(now);
    } finally {
      await worker.close();
    }
  };

  const imageRequest = (deviceId: string, token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    imageRequestTo(backupServer!.url, deviceId, token, method, path, body, headers);

  /**
   * Carries a scheduled job to its end the way the device and the stick do: the agent's poll gets
   * reboot-to-recovery, the stick registers and gets recovery.image, takes an image-append token,
   * uploads to the backup server, reports the image with what the server pruned, reboots back;
   * the agent's next poll ends the job. Returns the token's claims and the server's prune.
   */
  const runScheduledImage = async (device: EnrolledDevice, stick: Stick, jobId: string, trigger = 'schedule') => {
    const reboot = (await poll(device)).find((c) => c.action === 'reboot-to-recovery')!;
    expect(reboot, 'reboot-to-recovery at the poll after the slot').toBeDefined();
    expect(verifyCommand(reboot as any, device.pinned, { deviceId: device.id, now: new Date() }).ok).toBe(true);
    expect((await images(device.id)).job).toMatchObject({ id: jobId, state: 'booting-recovery', trigger });
    await report(device, reboot.commandId, { status: 'running' });
    await report(device, reboot.commandId, { status: 'succeeded', exitCode: 0 });
    expect((await stick.register()).status).toBe(200);
    const [command] = await stick.poll();
    expect(command).toMatchObject({ action: 'recovery.image' });
    const imageName = command!.params.imageName as string;
    await stick.report(command!.commandId, { status: 'running' });
    const issued = await stick.token(command!.commandId, 'image-append');
    expect(issued.status, issued.text).toBe(200);
    const claims = JSON.parse(Buffer.from(issued.body.token.split('.')[1], 'base64url').toString('utf8'));
    const compressed = randomBytes(64 * 1024);
    const upload = await imageRequest(device.id, issued.body.token, 'POST', 'uploads', { imageName, expectedRawBytes: 64 * MiB });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const { uploadId } = (await upload.json()) as { uploadId: string };
    expect(
      (await imageRequest(device.id, issued.body.token, 'PATCH', `uploads/${uploadId}`, compressed, { 'upload-offset': '0' })).status,
    ).toBe(204);
    const sha256Compressed = createHash('sha256').update(compressed).digest('hex');
    const metadata = {
      deviceId: device.id,
      imageName,
      disks: [
        {
          name: 'sda',
          model: 'QEMU HARDDISK',
          sizeBytes: 64 * MiB,
          partitionTable: { type: 'gpt', partitions: [{ number: 1, startBytes: MiB, sizeBytes: 62 * MiB }] },
          sha256Raw: '1'.repeat(64),
        },
      ],
      sha256Compressed,
      compressedBytes: compressed.length,
      rawBytes: 64 * MiB,
      startedAt: '2026-12-06T03:00:00Z',
      finishedAt: '2026-12-06T03:10:00Z',
      durationSeconds: 600,
      tools: { zstd: '1.5.5', agent: '0.1.0', compressionLevel: 3 },
    };
    const completed = await imageRequest(device.id, issued.body.token, 'POST', `uploads/${uploadId}/complete`, {
      sha256Compressed,
      compressedBytes: compressed.length,
      metadata,
    });
    expect(completed.status, await completed.clone().text()).toBe(201);
    const { pruned } = (await completed.json()) as { pruned: string[] };
    expect((await stick.call('POST', 'agent/recovery/images', { commandId: command!.commandId, metadata, pruned })).status).toBe(200);
    await stick.report(command!.commandId, { status: 'succeeded', exitCode: 0 });
    const [back] = await stick.poll();
    await stick.report(back!.commandId, { status: 'running' });
    await stick.report(back!.commandId, { status: 'succeeded', exitCode: 0 });
    await poll(device);
    expect((await images(device.id)).job).toMatchObject({ id: jobId, state: 'succeeded', trigger });
    // The agent's heartbeat ends recovery mode (api/src/recovery), so the next job reboots into the stick again.
    heartbeats.set(device.id, (heartbeats.get(device.id) ?? 0) + 1);
    expect(
      (
        await api.request('POST', 'agent/heartbeats', {
          token: device.credential,
          body: testHeartbeat(device.id, heartbeats.get(device.id)!),
        })
      ).status,
    ).toBeLessThan(300);
    await expect
      .poll(async () => (await eventsOf(device.id, 'device.recovery-mode-ended')).length, { timeout: 10_000 })
      .toBe(heartbeats.get(device.id));
    return { claims, pruned, imageName };
  };

  beforeAll(async () => {
    fixture = await buildRecoveryImageFixture();
    mediaDir = join(await mkdtemp(join(tmpdir(), 'xs-image-schedule-media-')), 'media');
    backupPort = await freePort();
    ({ api, hub } = await startApiWithLabHub({
      API_RECOVERY_IMAGE: fixture.image,
      API_RECOVERY_MEDIA_DIR: mediaDir,
      API_BACKUP_SERVER_URL: `http://127.0.0.1:${backupPort}`,
    }));
    admin = await api.adminToken();
    await stepUp(api, admin);
    where = await createOrganizationSite(api, admin, 'Image Schedule Co');
  });
  afterAll(async () => {
    await backupServer?.stop();
    await api?.stop();
    await hub?.stop();
    await fixture?.remove();
    if (mediaDir) await rm(join(mediaDir, '..'), { recursive: true, force: true });
  });

  it('takes FULL and HYBRID with the weekly slot and images to keep, shows the next image in the site zone, and audits the change', async () => {
    const berlin = await site('Berlin', 'Europe/Berlin');
    const device = await enrollDeviceAt(api, admin, berlin, 'sched-policy');
    // The worker's every-minute job (registered in maintenance.worker.ts) runs the scheduler at the present
    // time: with no FULL or HYBRID device yet it takes no slot, whatever the day.
    expect(await runMaintenanceJob(api, MaintenanceJob.ScheduleDiskImages)).toEqual({ slots: [] });
    const initial = (await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin })).body;
    expect(initial).toMatchObject({ mode: 'OFF', imageWeekday: 'sunday', imageLocalTime: '03:00', keepImages: 3, nextImageAt: null });

    const full = await putPolicy(device.id, { mode: 'FULL' });
    expect(full.status, full.text).toBe(200);
    expect(full.body).toMatchObject({ mode: 'FULL', keepImages: 3, imageWeekday: 'sunday', imageLocalTime: '03:00', nextRunAt: null });
    // The next Sunday 03:00 in Berlin, within a week, on a Sunday there.
    const next = new Date(full.body.nextImageAt);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600_000);
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      weekday: 'long',
      hour: '2-digit',
      minute: '2-digit',
    }).format(next);
    expect(local).toBe('Sunday 03:00');

    const hybrid = await putPolicy(device.id, { mode: 'HYBRID', keepImages: 4, imageWeekday: 'wednesday', imageLocalTime: '22:30' });
    expect(hybrid.status, hybrid.text).toBe(200);
    expect(hybrid.body).toMatchObject({ mode: 'HYBRID', keepImages: 4, imageWeekday: 'wednesday', imageLocalTime: '22:30' });
    expect(hybrid.body.nextRunAt).toEqual(expect.any(String)); // HYBRID backs files up nightly too
    expect(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(
        new Date(hybrid.body.nextImageAt),
      ),
    ).toBe('Wednesday 22:30');
    const modules = await api.sql.query(`SELECT modules ->> 'backups' AS backups FROM devices WHERE id = $1`, [device.id]);
    expect(modules.rows[0].backups).toBe('hybrid');
    const audit = await api.auditRows(`action = 'backup.policy_update' AND resource_id = $1 AND result = 'success'`, [device.id]);
    expect(audit.at(-1)?.details).toMatchObject({
      after: { mode: 'HYBRID', keepImages: 4, imageWeekday: 'wednesday', imageLocalTime: '22:30' },
    });
  });

  it('refuses keepImages outside 2–4, an unknown mode, weekday or time with 400 naming the field, and changes nothing', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'sched-bad');
    expect((await putPolicy(device.id, { mode: 'FULL', keepImages: 2 })).status).toBe(200);
    const before = (await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin })).body;
    const cases: Array<[unknown, RegExp]> = [
      [{ mode: 'FULL', keepImages: 1 }, /keepImages.*2–4/],
      [{ mode: 'FULL', keepImages: 5 }, /keepImages.*2–4/],
      [{ mode: 'HYBRID', keepImages: 2.5 }, /keepImages/],
      [{ mode: 'FULL', keepImages: '3' }, /keepImages/],
      [{ mode: 'WEEKLY' }, /mode/],
      [{ mode: 'full' }, /mode/],
      [{ mode: 'FULL', imageWeekday: 'sun' }, /imageWeekday/],
      [{ mode: 'FULL', imageLocalTime: '3:00' }, /imageLocalTime.*HH:MM/],
    ];
    for (const [body, message] of cases) {
      const refused = await putPolicy(device.id, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(refused.body.detail, JSON.stringify(body)).toMatch(message);
    }
    const after = (await api.request('GET', `devices/${device.id}/backup-policy`, { token: admin })).body;
    expect(after).toEqual({ ...before, nextImageAt: after.nextImageAt });
    // Changing the policy stays behind devices.manage-level RBAC: a viewer may read, not write.
    const viewer = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    expect((await putPolicy(device.id, { mode: 'FULL', keepImages: 3 }, viewer)).status).toBe(403);
    expect((await api.request('GET', `devices/${device.id}/backup-policy`, { token: viewer })).body.keepImages).toBe(2);
  });

  it("creates one job per device and weekly slot in the site's zone across both DST changes, however many workers run at once", async () => {
    const berlin = await site('Berlin DST', 'Europe/Berlin');
    const newYork = await site('New York DST', 'America/New_York');
    const b = await enrollDeviceAt(api, admin, berlin, 'sched-berlin');
    const n = await enrollDeviceAt(api, admin, newYork, 'sched-newyork');
    expect((await putPolicy(b.id, { mode: 'FULL' })).status).toBe(200);
    // 02:30 does not exist on 2026-03-08 in New York and happens twice on 2026-11-01.
    expect((await putPolicy(n.id, { mode: 'HYBRID', imageLocalTime: '02:30' })).status).toBe(200);

    // 2026-03-29, Berlin: clocks go 02:00 CET -> 03:00 CEST; Sunday 03:00 CEST = 01:00Z.
    expect(mine(await schedule(new Date('2026-03-29T00:59:00Z')), b.id)).toEqual([]);
    const at = new Date('2026-03-29T01:00:30Z');
    const concurrent = await Promise.all([schedule(at), schedule(at), scheduleInWorker(at), scheduleInWorker(at)]);
    expect(concurrent.flat().filter((s) => s.deviceId === b.id)).toHaveLength(1);
    await schedule(new Date('2026-03-29T03:00:00Z'));
    // 2026-03-08, New York: 02:30 is skipped; the slot is due an hour later by the wall clock (03:30 EDT = 07:30Z).
    // (Berlin's slot that Sunday, 02:00Z, is taken by the first of these, within its catch-up window.)
    expect(mine(await schedule(new Date('2026-03-08T07:29:00Z')), n.id)).toEqual([]);
    expect(mine(await schedule(new Date('2026-03-08T07:31:00Z')), n.id)).toHaveLength(1);
    // 2026-10-25, Berlin: 03:00 CET after the change = 02:00Z; the repeated hour before it changes nothing.
    await schedule(new Date('2026-10-25T00:30:00Z'));
    await schedule(new Date('2026-10-25T01:30:00Z'));
    await Promise.all([schedule(new Date('2026-10-25T02:00:10Z')), schedule(new Date('2026-10-25T02:00:10Z'))]);
    // 2026-11-01, New York: 02:30 happens twice (06:30Z EDT, 07:30Z EST): one slot whichever the scheduler sees.
    await schedule(new Date('2026-11-01T06:31:00Z'));
    await schedule(new Date('2026-11-01T07:31:00Z'));
    // A slot the worker missed is still taken within the catch-up window (6 h)...
    await schedule(new Date('2026-11-08T07:00:00Z'));
    // ...but not a day later: that is the overdue alert's business. Nor on a weekday.
    await schedule(new Date('2026-11-16T12:00:00Z'));
    await schedule(new Date('2026-11-18T02:00:10Z'));

    expect((await slotsOf(b.id)).map((s) => [s.slot, s.dueAt])).toEqual([
      ['2026-03-08', '2026-03-08T02:00:00.000Z'],
      ['2026-03-29', '2026-03-29T01:00:00.000Z'],
      ['2026-10-25', '2026-10-25T02:00:00.000Z'],
      ['2026-11-01', '2026-11-01T02:00:00.000Z'],
      ['2026-11-08', '2026-11-08T02:00:00.000Z'],
    ]);
    const ny = await slotsOf(n.id);
    expect(ny.map((s) => s.slot)).toEqual(['2026-03-08', '2026-11-01']);
    expect(ny[0]!.dueAt).toBe('2026-03-08T07:30:00.000Z');
    expect(['2026-11-01T06:30:00.000Z', '2026-11-01T07:30:00.000Z']).toContain(ny[1]!.dueAt);
    // Every slot made exactly one job, started by the schedule.
    for (const d of [b, n]) {
      const slots = await slotsOf(d.id);
      const jobs = await jobsOf(d.id);
      expect(jobs).toHaveLength(slots.length);
      expect(new Set(slots.map((s) => s.jobId))).toEqual(new Set(jobs.map((j) => j.id)));
      for (const j of jobs) expect(j).toMatchObject({ trigger: 'schedule', requested_by: 'system:disk-image-schedule' });
    }
  });

  it('without an active recovery medium the slot fails with a clear reason, and the disk-image-failed alert opens', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'sched-nomedium');
    expect((await putPolicy(device.id, { mode: 'FULL' })).status).toBe(200);
    const taken = mine(await schedule(new Date('2026-12-06T03:00:30Z')), device.id);
    expect(taken).toEqual([
      expect.objectContaining({ slotDate: '2026-12-06', outcome: 'failed', reason: expect.stringMatching(/no active recovery medium/) }),
    ]);
    const [job] = await jobsOf(device.id);
    expect(job).toMatchObject({
      state: 'failed',
      trigger: 'schedule',
      error: expect.stringMatching(/^weekly image of 2026-12-06 not taken: no active recovery medium/),
    });
    expect(await eventsOf(device.id, 'disk_image.failed')).toEqual([
      expect.objectContaining({ jobId: job.id, trigger: 'schedule', error: job.error }),
    ]);
    await evaluateThroughEvents(api);
    expect(await alertStates(device.id, 'disk-image-failed')).toEqual(['open']);
    // The console shows who started it and why it failed.
    expect((await images(device.id)).job).toMatchObject({
      id: job.id,
      state: 'failed',
      trigger: 'schedule',
      requestedBy: 'system:disk-image-schedule',
    });
    // The same slot again changes nothing.
    expect(mine(await schedule(new Date('2026-12-06T03:05:00Z')), device.id)).toEqual([]);
    expect(await jobsOf(device.id)).toHaveLength(1);
  });

  it('skips the slot, recorded with the open job, when the device has a job open', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'sched-busy');
    await stickFor(device.id);
    expect((await putPolicy(device.id, { mode: 'FULL' })).status).toBe(200);
    const taken = await api.request('POST', `devices/${device.id}/disk-images`, { token: admin, body: {} });
    expect(taken.status, taken.text).toBe(201);
    const slots = mine(await schedule(new Date('2026-12-13T03:00:30Z')), device.id);
    expect(slots).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        jobId: taken.body.id,
        reason: expect.stringMatching(/trigger operator.*booting-recovery/),
      }),
    ]);
    expect(await slotsOf(device.id)).toEqual([expect.objectContaining({ slot: '2026-12-13', outcome: 'skipped', jobId: taken.body.id })]);
    expect((await jobsOf(device.id)).map((j) => j.trigger)).toEqual(['operator']);
  });

  it("a slot that comes while the device is already in RECOVERY MODE starts at the stick's next poll (no normal agent polls then)", async () => {
    const device = await enrollDeviceAt(api, admin, where, 'sched-in-recovery');
    const stick = await stickFor(device.id);
    expect((await putPolicy(device.id, { mode: 'FULL' })).status).toBe(200);
    expect((await stick.register()).status).toBe(200);
    expect(await stick.poll()).toEqual([]);
    const [slot] = mine(await schedule(new Date('2027-01-10T03:00:30Z')), device.id);
    expect(slot).toMatchObject({ outcome: 'queued', jobId: expect.any(String) });
    const [command] = await stick.poll();
    expect(command).toMatchObject({ action: 'recovery.image' });
    expect((await images(device.id)).job).toMatchObject({ id: slot!.jobId, state: 'imaging', trigger: 'schedule' });
    // Polled again: the job has its command; nothing is queued twice.
    expect((await stick.poll()).map((c) => c.commandId)).toEqual([command!.commandId]);
    await stick.report(command!.commandId, { status: 'failed', exitCode: 1, reason: 'test: stop here' });
    expect((await images(device.id)).job).toMatchObject({ id: slot!.jobId, state: 'failed' });
  });

  it("a scheduled image runs as 'Take full image now' does, and the policy's keepImages travels in the token to the backup server's prune; the catalog marks what it pruned", async () => {
    backupServer ??= await startLabBackupServer({ host: '127.0.0.1', port: backupPort, keyStoreDir: api.config.API_KEY_STORE_DIR });
    const device = await enrollDeviceAt(api, admin, where, 'sched-e2e');
    const stick = await stickFor(device.id);
    expect((await putPolicy(device.id, { mode: 'FULL', keepImages: 2 })).status).toBe(200);
    const names: string[] = [];
    for (const [i, sunday] of ['2026-12-20', '2026-12-27', '2027-01-03'].entries()) {
      const [slot] = mine(await schedule(new Date(`${sunday}T03:00:30Z`)), device.id);
      expect(slot, sunday).toMatchObject({ outcome: 'queued', jobId: expect.any(String) });
      expect((await images(device.id)).job).toMatchObject({ id: slot!.jobId, state: 'requested', trigger: 'schedule' });
      const run = await runScheduledImage(device, stick, slot!.jobId!);
      expect(run.claims).toMatchObject({ op: 'image-append', sub: device.id, keepImages: 2 });
      names.push(run.imageName);
      expect(run.pruned).toEqual(i < 2 ? [] : [names[0]]);
    }
    const catalog = (await images(device.id)).images;
    expect(catalog.filter((c) => c.prunedAt === null).map((c) => c.imageName)).toEqual([names[2], names[1]]);
    expect(catalog.find((c) => c.imageName === names[0])?.prunedAt).toEqual(expect.any(String));
    const succeeded = await eventsOf(device.id, 'disk_image.succeeded');
    expect(succeeded.map((e) => e.trigger)).toEqual(['schedule', 'schedule', 'schedule']);
  });

  it('raises disk_image.overdue once per episode for a FULL device without an image for 8 days; the next success ends it and resolves the alert', async () => {
    backupServer ??= await startLabBackupServer({ host: '127.0.0.1', port: backupPort, keyStoreDir: api.config.API_KEY_STORE_DIR });
    const device = await enrollDeviceAt(api, admin, where, 'sched-overdue');
    const stick = await stickFor(device.id);
    expect((await putPolicy(device.id, { mode: 'FULL' })).status).toBe(200);
    const now = Date.now();
    // The policy was set 7 days ago: not overdue yet; 9 days ago: overdue.
    await api.sql.query(`UPDATE backup_policies SET updated_at = $2 WHERE device_id = $1`, [device.id, new Date(now - 7 * 24 * 3600_000)]);
    await api.sql.query(`UPDATE devices SET enrolled_at = $2, created_at = $2 WHERE id = $1`, [
      device.id,
      new Date(now - 30 * 24 * 3600_000),
    ]);
    expect(await overdue(new Date(now))).not.toContain(device.id);
    await api.sql.query(`UPDATE backup_policies SET updated_at = $2 WHERE device_id = $1`, [device.id, new Date(now - 9 * 24 * 3600_000)]);
    const [first, again] = await Promise.all([overdue(new Date(now)), overdue(new Date(now))]);
    expect([...first, ...again].filter((d) => d === device.id)).toHaveLength(1);
    expect((await runMaintenanceJob<{ overdue: string[] }>(api, MaintenanceJob.DetectOverdueDiskImages)).overdue).not.toContain(device.id);
    expect(await eventsOf(device.id, 'disk_image.overdue')).toEqual([{ lastSuccessAt: null, overdueDays: 8 }]);
    await evaluateThroughEvents(api);
    expect(await alertStates(device.id, 'disk-image-overdue')).toEqual(['open']);
    const fleet = (await api.request('GET', 'disk-images?limit=500', { token: admin })).body.items.find(
      (r: any) => r.deviceId === device.id,
    );
    expect(fleet).toMatchObject({ overdue: true, nextImageAt: expect.any(String), images: 0 });

    // The next success (an operator's image here) ends the episode and resolves the alert.
    const started = await api.request('POST', `devices/${device.id}/disk-images`, { token: admin, body: {} });
    expect(started.status, started.text).toBe(201);
    await runScheduledImage(device, stick, started.body.id, 'operator');
    await evaluateThroughEvents(api);
    expect(await alertStates(device.id, 'disk-image-overdue')).toEqual(['resolved']);
    expect((await api.sql.query(`SELECT overdue_since FROM disk_image_device_states WHERE device_id = $1`, [device.id])).rows).toEqual([
      { overdue_since: null },
    ]);
    expect(await overdue(new Date(now))).not.toContain(device.id);
    // Nine days after that success, a new episode: a second event.
    expect(await overdue(new Date(Date.now() + 9 * 24 * 3600_000))).toContain(device.id);
    expect(await eventsOf(device.id, 'disk_image.overdue')).toHaveLength(2);
  });
});
