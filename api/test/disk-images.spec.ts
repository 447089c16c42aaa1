import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '@xspectre/contracts/command-signature';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import type { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { stepUp } from './support/step-up.js';
import { buildRecoveryImageFixture } from './support/recovery-image.js';
import { createStick, imageRequest as imageRequestTo, stickHardware } from './support/recovery-stick.js';
import { freePort } from './support/built-process.js';
import { startLabBackupServer, type LabBackupServer } from './support/lab-backup-server.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, type EnrolledDevice, type LabHub } from './support/fleet.js';

const sha = (c: string) => c.repeat(64);
const MiB = 1024 ** 2;

/** An image's metadata.json as the stick writes it (contracts/src/backup-server.ts DiskImageMetadataSchema). */
function metadataOf(deviceId: string, imageName: string, disks: Array<{ name: string; sizeBytes: number }>) {
  return {
    deviceId,
    imageName,
    disks: disks.map((d, i) => ({
      name: d.name,
      model: 'QEMU HARDDISK',
      sizeBytes: d.sizeBytes,
      partitionTable: { type: 'gpt', partitions: [{ number: 1, startBytes: 1_048_576, sizeBytes: d.sizeBytes - 2_097_152 }] },
      sha256Raw: sha(String(i + 1)),
    })),
    sha256Compressed: sha('c'),
    compressedBytes: 123_456,
    rawBytes: disks.reduce((n, d) => n + d.sizeBytes, 0),
    startedAt: '2026-12-01T03:00:00Z',
    finishedAt: '2026-12-01T03:10:00Z',
    durationSeconds: 600,
    tools: { zstd: '1.5.5', agent: '0.1.0', compressionLevel: 3 },
  };
}

/**
 * Full-disk images (issue 16) through the real routes: "take full image now" and "restore
 * image…" with RBAC, step-up and the typed confirmation; the normal agent's reboot-to-recovery
 * and its failure; the worker's sweep of a stick that never registered; the catalog and fleet views.
 */
describe('disk images: catalog, take and restore jobs', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  let fixture: Awaited<ReturnType<typeof buildRecoveryImageFixture>>;
  let mediaDir: string;
  let backupServer: LabBackupServer;
  let backupPort: number;

  const poll = async (d: EnrolledDevice) =>
    (await api.request('GET', 'agent/commands?waitSeconds=0', { token: d.credential })).body.commands as Array<Record<string, any>>;
  const report = (d: EnrolledDevice, commandId: string, body: unknown) =>
    api.request('POST', `agent/commands/${commandId}/status`, { token: d.credential, body });
  const take = (deviceId: string, body: unknown = {}, token = admin) =>
    api.request('POST', `devices/${deviceId}/disk-images`, { token, body });
  const restore = (deviceId: string, imageName: string, body: unknown, token = admin) =>
    api.request('POST', `devices/${deviceId}/disk-images/${imageName}/restore`, { token, body });
  const images = async (deviceId: string) => {
    const r = await api.request('GET', `devices/${deviceId}/disk-images`, { token: admin });
    expect(r.status, r.text).toBe(200);
    return r.body as { images: Array<Record<string, any>>; job: Record<string, any> | null };
  };
  const eventsOf = async (deviceId: string, type: string) =>
    (await api.sql.query(`SELECT details FROM device_events WHERE device_id = $1 AND type = $2 ORDER BY id`, [deviceId, type])).rows.map(
      (r) => r.details,
    );
  /** A catalog row as the stick's report leaves it (the report route needs a registered stick). */
  const catalog = async (deviceId: string, imageName: string, disks: Array<{ name: string; sizeBytes: number }>) => {
    const m = metadataOf(deviceId, imageName, disks);
    await api.sql.query(
      `INSERT INTO disk_images (device_id, image_name, compressed_bytes, sha256_compressed, raw_bytes, metadata, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())`,
      [deviceId, imageName, m.compressedBytes, m.sha256Compressed, m.rawBytes, JSON.stringify(m)],
    );
  };

  const stickFor = (deviceId: string) => createStick(api, admin, deviceId);
  const hardwareWith = stickHardware;
  const imageRequest = (deviceId: string, token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    imageRequestTo(backupServer.url, deviceId, token, method, path, body, headers);

  beforeAll(async () => {
    fixture = await buildRecoveryImageFixture();
    mediaDir = join(await mkdtemp(join(tmpdir(), 'xs-disk-images-media-')), 'media');
    backupPort = await freePort();
    ({ api, hub } = await startApiWithLabHub({
      API_RECOVERY_IMAGE: fixture.image,
      API_RECOVERY_MEDIA_DIR: mediaDir,
      API_BACKUP_SERVER_URL: `http://127.0.0.1:${backupPort}`,
    }));
    admin = await api.adminToken();
    where = await createOrganizationSite(api, admin, 'Disk Images Co');
  });
  afterAll(async () => {
    await backupServer?.stop();
    await api?.stop();
    await hub?.stop();
    await fixture?.remove();
    if (mediaDir) await rm(join(mediaDir, '..'), { recursive: true, force: true });
  });

  it('refuses a viewer and a SOC operator, and asks a Super Admin for a step-up before anything', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-rbac');
    const viewer = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    const soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    for (const token of [viewer, soc]) {
      const refused = await take(device.id, {}, token);
      expect(refused.status, refused.text).toBe(403);
      expect(refused.body.code).toBe('AUTH_FORBIDDEN');
      expect((await restore(device.id, '2026-12-01T030000Z', { confirmDeviceName: 'img-rbac' }, token)).body.code).toBe('AUTH_FORBIDDEN');
    }
    // Viewers may look.
    expect((await api.request('GET', `devices/${device.id}/disk-images`, { token: viewer })).status).toBe(200);
    expect((await api.request('GET', 'disk-images', { token: viewer })).status).toBe(200);

    const noStepUp = await take(device.id);
    expect(noStepUp.status).toBe(403);
    expect(noStepUp.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    expect((await restore(device.id, '2026-12-01T030000Z', { confirmDeviceName: 'img-rbac' })).body.code).toBe('AUTH_STEP_UP_REQUIRED');
    expect((await api.sql.query(`SELECT 1 FROM disk_image_jobs WHERE device_id = $1`, [device.id])).rows).toEqual([]);
    await stepUp(api, admin);
  });

  it('refuses bad bodies and parameters with a message naming the field', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-bad');
    const cases: Array<[string, unknown, RegExp]> = [
      [`devices/${device.id}/disk-images`, { disks: ['SDA'] }, /disks/],
      [`devices/${device.id}/disk-images`, { disks: [] }, /disks/],
      [`devices/${device.id}/disk-images`, { disks: ['sda'], level: 19 }, /level/],
      [`devices/${device.id}/disk-images/2026-12-01T030000Z/restore`, {}, /confirmDeviceName/],
      [`devices/${device.id}/disk-images/2026-12-01T030000Z/restore`, { confirmDeviceName: 'img-bad', targets: [] }, /targets/],
      [
        `devices/${device.id}/disk-images/2026-12-01T030000Z/restore`,
        { confirmDeviceName: 'img-bad', targets: [{ imageDisk: 'sda', target: '/dev/sda' }] },
        /target/,
      ],
      [`devices/${device.id}/disk-images/2026-12-01T03:00:00Z/restore`, { confirmDeviceName: 'img-bad' }, /imageName/],
      [`devices/not-a-uuid/disk-images`, {}, /id/],
    ];
    for (const [path, body, message] of cases) {
      const refused = await api.request('POST', path, { token: admin, body });
      expect(refused.status, `${path} ${JSON.stringify(body)}: ${refused.text}`).toBe(400);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(JSON.stringify(refused.body), path).toMatch(message);
    }
    expect((await api.request('GET', 'disk-images?limit=0', { token: admin })).status).toBe(400);
    expect((await api.sql.query(`SELECT 1 FROM disk_image_jobs WHERE device_id = $1`, [device.id])).rows).toEqual([]);
  });

  it('take: a device not in recovery mode gets a signed reboot-to-recovery; one job at a time; the job waits, shown on the device and the fleet view', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-take');
    const started = await take(device.id, { disks: ['sda'] });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ kind: 'image', state: 'booting-recovery', params: { disks: ['sda'] }, error: null });
    expect(started.body.imageName).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z$/);
    expect(started.body.commands.rebootToRecovery).toEqual(expect.any(String));

    const command = (await poll(device)).find((c) => c.action === 'reboot-to-recovery')!;
    expect(command.commandId).toBe(started.body.commands.rebootToRecovery);
    expect(verifyCommand(command as any, device.pinned, { deviceId: device.id, now: new Date() }).ok).toBe(true);

    const again = await take(device.id);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DISK_IMAGE_JOB_IN_PROGRESS');

    const view = await images(device.id);
    expect(view.images).toEqual([]);
    expect(view.job).toMatchObject({ id: started.body.id, state: 'booting-recovery', progress: null });
    const fleet = await api.request('GET', 'disk-images?limit=500', { token: admin });
    expect(fleet.status, fleet.text).toBe(200);
    expect(fleet.body.items.find((r: any) => r.deviceId === device.id)).toMatchObject({
      deviceName: 'img-take',
      lastImageName: null,
      images: 0,
      openJob: { id: started.body.id, kind: 'image', state: 'booting-recovery' },
      lastJobFailed: false,
    });
    const audit = await api.auditRows(`action = 'disk_image.take' AND resource_id = $1 AND result = 'success'`, [device.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ jobId: started.body.id, kind: 'image', recoveryMode: false });

    // The agent took it (it reboots now): the job goes on waiting for the stick.
    expect((await report(device, command.commandId, { status: 'running' })).status).toBe(200);
    expect((await report(device, command.commandId, { status: 'succeeded', exitCode: 0 })).status).toBe(200);
    expect((await images(device.id)).job).toMatchObject({ state: 'booting-recovery' });

    // The stick never registers: the worker's sweep fails the job once the wait is over.
    expect(await runMaintenanceJob<{ failed: string[] }>(api, MaintenanceJob.SweepDiskImageJobs)).toEqual({ failed: [] });
    await api.sql.query(`UPDATE disk_image_jobs SET waiting_since = waiting_since - interval '2 hours' WHERE id = $1`, [started.body.id]);
    expect(await runMaintenanceJob<{ failed: string[] }>(api, MaintenanceJob.SweepDiskImageJobs)).toEqual({ failed: [started.body.id] });
    const failed = (await images(device.id)).job!;
    expect(failed).toMatchObject({ state: 'failed', error: 'the recovery stick did not register within 30 minutes' });
    expect(await eventsOf(device.id, 'disk_image.failed')).toEqual([
      { jobId: started.body.id, kind: 'image', imageName: started.body.imageName, trigger: 'operator', error: failed.error },
    ]);
    // A new job may start now.
    expect((await take(device.id)).status).toBe(201);
  });

  it('take: a reboot-to-recovery the agent fails ends the job with its reason', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-noboot');
    const started = await take(device.id);
    expect(started.status, started.text).toBe(201);
    const command = (await poll(device)).find((c) => c.action === 'reboot-to-recovery')!;
    expect((await report(device, command.commandId, { status: 'running' })).status).toBe(200);
    const failed = await report(device, command.commandId, { status: 'failed', exitCode: 1, stderr: 'no recovery stick found\n' });
    expect(failed.status, failed.text).toBe(200);
    expect((await images(device.id)).job).toMatchObject({
      state: 'failed',
      error: 'reboot-to-recovery failed: no recovery stick found',
    });
    expect(await eventsOf(device.id, 'disk_image.failed')).toHaveLength(1);
    const row = (await api.request('GET', 'disk-images?limit=500', { token: admin })).body.items.find((r: any) => r.deviceId === device.id);
    expect(row).toMatchObject({ openJob: null, lastJobFailed: true });
  });

  it('take with chosen disks: in recovery mode judged against the stick’s disks now (400 naming the disk, never the stick); otherwise when the stick registers', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-disks');
    const stick = await stickFor(device.id);
    const hardware = hardwareWith([
      { name: 'sda', sizeBytes: 64 * 1024 ** 2 },
      { name: 'nvme0n1', sizeBytes: 128 * 1024 ** 2 },
      { name: 'sdb', sizeBytes: 16 * 1024 ** 2, role: 'recovery-stick' },
    ]);
    expect((await stick.register(hardware)).status).toBe(200);
    for (const [disks, message] of [
      [['sdz'], /the machine has no disk sdz \(its target disks: sda, nvme0n1\)/],
      [['sda', 'sdb'], /disk sdb is the recovery stick: it is never imaged/],
      [['sda', 'sda'], /disk sda is listed twice/],
    ] as Array<[string[], RegExp]>) {
      const refused = await take(device.id, { disks });
      expect([refused.status, refused.body.code], refused.text).toEqual([400, 'DISK_IMAGE_DISK_INVALID']);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(refused.body.detail).toMatch(message);
    }
    expect((await api.sql.query(`SELECT 1 FROM disk_image_jobs WHERE device_id = $1`, [device.id])).rows).toEqual([]);
    const started = await take(device.id, { disks: ['nvme0n1'] });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ state: 'imaging', params: { disks: ['nvme0n1'] } });
    const [command] = (await stick.poll()).filter((c) => c.action === 'recovery.image');
    expect(command!.params).toMatchObject({ disks: ['nvme0n1'] });
    await stick.report(command!.commandId, { status: 'running' });
    await stick.report(command!.commandId, { status: 'failed', exitCode: 1, stderr: 'stopped by the test\n' });
    expect((await images(device.id)).job).toMatchObject({ state: 'failed' });

    // Not in recovery mode: accepted now, judged when the stick registers (the job fails naming the disk, the stick goes back).
    const other = await enrollDeviceAt(api, admin, where, 'img-disks-later');
    const otherStick = await stickFor(other.id);
    const waiting = await take(other.id, { disks: ['sdz'] });
    expect(waiting.status, waiting.text).toBe(201);
    expect(waiting.body.state).toBe('booting-recovery');
    expect((await otherStick.register(hardware)).status).toBe(200);
    await expect.poll(async () => (await images(other.id)).job?.state, { timeout: 10_000 }).toBe('failed');
    expect((await images(other.id)).job!.error).toMatch(/the machine has no disk sdz/);
    expect((await otherStick.poll()).map((c) => c.action)).toEqual(['recovery.reboot']);
  });

  it("restore: the typed confirmation must be the device's name exactly; the image must be in the catalog", async () => {
    const device = await enrollDeviceAt(api, admin, where, 'img-restore');
    const name = '2026-12-01T030000Z';
    const missing = await restore(device.id, name, { confirmDeviceName: 'img-restore' });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('DISK_IMAGE_NOT_FOUND');
    await catalog(device.id, name, [{ name: 'sda', sizeBytes: 8 * 1024 ** 3 }]);
    for (const typed of ['IMG-RESTORE', 'img-restore ', 'img-restor']) {
      const wrong = await restore(device.id, name, { confirmDeviceName: typed });
      expect(wrong.status, typed).toBe(400);
      expect(wrong.body.code).toBe('DISK_IMAGE_CONFIRMATION_MISMATCH');
      expect(JSON.stringify(wrong.body)).toMatch(/confirmDeviceName/);
    }
    expect((await api.sql.query(`SELECT 1 FROM disk_image_jobs WHERE device_id = $1`, [device.id])).rows).toEqual([]);
    expect((await api.auditRows(`action = 'disk_image.restore' AND resource_id = $1 AND result = 'failure'`, [device.id])).length).toBe(4);

    // Not in recovery mode: reboot-to-recovery first; the targets are judged when the stick registers.
    const started = await restore(device.id, name, { confirmDeviceName: 'img-restore' });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ kind: 'restore', state: 'booting-recovery', imageName: name });
    // A restore goes on waiting when the device cannot take the command (a dead device reaches the stick by boot order).
    const command = (await poll(device)).find((c) => c.action === 'reboot-to-recovery')!;
    await report(device, command.commandId, { status: 'running' });
    await report(device, command.commandId, { status: 'failed', exitCode: 1, stderr: 'efibootmgr: not found' });
    expect((await images(device.id)).job).toMatchObject({ state: 'booting-recovery' });

    const view = await images(device.id);
    expect(view.images).toEqual([
      expect.objectContaining({
        imageName: name,
        compressedBytes: 123_456,
        rawBytes: 8 * 1024 ** 3,
        sha256Compressed: sha('c'),
        prunedAt: null,
      }),
    ]);
    const fleetRow = (await api.request('GET', 'disk-images?limit=500', { token: admin })).body.items.find(
      (r: any) => r.deviceId === device.id,
    );
    expect(fleetRow).toMatchObject({ lastImageName: name, images: 1, lastImageRawBytes: 8 * 1024 ** 3, openJob: { kind: 'restore' } });
    expect(fleetRow.lastImageAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('image, end to end: reboot-to-recovery → the stick registers → recovery.image → image-append token → upload to the backup server → image reported → recovery.reboot → the agent is back', async () => {
    backupServer ??= await startLabBackupServer({ host: '127.0.0.1', port: backupPort, keyStoreDir: api.config.API_KEY_STORE_DIR });
    const device = await enrollDeviceAt(api, admin, where, 'img-e2e');
    const other = await enrollDeviceAt(api, admin, where, 'img-e2e-other');
    const stick = await stickFor(device.id);

    const started = await take(device.id);
    expect(started.status, started.text).toBe(201);
    expect(started.body.state).toBe('booting-recovery');
    const imageName = started.body.imageName as string;
    const reboot = (await poll(device)).find((c) => c.action === 'reboot-to-recovery')!;
    expect(reboot.commandId).toBe(started.body.commands.rebootToRecovery);
    await report(device, reboot.commandId, { status: 'running' });
    expect((await report(device, reboot.commandId, { status: 'succeeded', exitCode: 0 })).status).toBe(200);
    // The normal agent's poll does not see recovery commands, and the stick's does not see the agent's.
    expect(await stick.poll()).toEqual([]);

    const registered = await stick.register(
      hardwareWith([
        { name: 'sda', sizeBytes: 64 * MiB },
        { name: 'sdb', sizeBytes: 170 * MiB, role: 'recovery-stick' },
      ]),
    );
    expect(registered.status, registered.text).toBe(200);
    const imaging = await images(device.id);
    expect(imaging.job).toMatchObject({ state: 'imaging', commands: { recovery: expect.any(String) } });
    const [command] = await stick.poll();
    expect(command).toMatchObject({
      action: 'recovery.image',
      commandId: imaging.job!.commands.recovery,
      params: { imageName, disks: [], compressionLevel: 3 },
    });
    expect(verifyCommand(command as any, device.pinned, { deviceId: device.id, now: new Date() }).ok).toBe(true);
    expect((await poll(device)).map((c) => c.action)).not.toContain('recovery.image');

    // Tokens: only the op this command needs, only this device's command, only while it is under way.
    const readRefused = await stick.token(command!.commandId, 'image-read');
    expect(readRefused.status).toBe(403);
    expect(readRefused.body.code).toBe('DISK_IMAGE_TOKEN_REFUSED');
    const otherStick = await stickFor(other.id);
    const crossed = await otherStick.token(command!.commandId, 'image-append');
    expect(crossed.status).toBe(403);
    expect(crossed.body.code).toBe('DISK_IMAGE_TOKEN_REFUSED');
    const bad = await stick.call('POST', 'agent/recovery/image-tokens', { commandId: command!.commandId, op: 'append' });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/op/);
    expect(
      (
        await api.request('POST', 'agent/recovery/image-tokens', {
          token: device.credential,
          body: { commandId: command!.commandId, op: 'image-append' },
        })
      ).status,
    ).toBe(401);

    await stick.report(command!.commandId, { status: 'running' });
    const issued = await stick.token(command!.commandId, 'image-append');
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.imagesUrl).toBe(`http://127.0.0.1:${backupPort}/disk-images/${device.id}/`);
    const keys = (await api.request('GET', 'backups/token-keys', { token: admin })).body.keys;
    expect(keys.length).toBeGreaterThan(0);
    const tokenAudit = await api.auditRows(`action = 'disk_image.token_issue' AND resource_id = $1 AND result = 'success'`, [device.id]);
    expect(tokenAudit).toHaveLength(1);
    expect(tokenAudit[0].details).toMatchObject({ op: 'image-append', commandId: command!.commandId, tokenId: expect.any(String) });
    expect(JSON.stringify(tokenAudit)).not.toContain(issued.body.token);

    // The upload, as the stick does it: create, append, complete (the backup server checks the token and the hash).
    const compressed = randomBytes(256 * 1024);
    const upload = await imageRequest(device.id, issued.body.token, 'POST', 'uploads', { imageName, expectedRawBytes: 64 * MiB });
    expect(upload.status, await upload.clone().text()).toBe(201);
    const { uploadId } = (await upload.json()) as { uploadId: string };
    const patched = await imageRequest(device.id, issued.body.token, 'PATCH', `uploads/${uploadId}`, compressed, { 'upload-offset': '0' });
    expect(patched.status, await patched.clone().text()).toBe(204);
    const metadata = {
      ...metadataOf(device.id, imageName, [{ name: 'sda', sizeBytes: 64 * MiB }]),
      sha256Compressed: createHash('sha256').update(compressed).digest('hex'),
      compressedBytes: compressed.length,
    };
    const completed = await imageRequest(device.id, issued.body.token, 'POST', `uploads/${uploadId}/complete`, {
      sha256Compressed: metadata.sha256Compressed,
      compressedBytes: metadata.compressedBytes,
      metadata,
    });
    expect(completed.status, await completed.clone().text()).toBe(201);
    const answer = (await completed.json()) as { pruned: string[] };

    // Another device's image, and an image this command did not take, are refused; the report is idempotent.
    const foreign = await stick.call('POST', 'agent/recovery/images', {
      commandId: command!.commandId,
      metadata: { ...metadata, deviceId: other.id },
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.code).toBe('DISK_IMAGE_REPORT_INVALID');
    const renamed = await stick.call('POST', 'agent/recovery/images', {
      commandId: command!.commandId,
      metadata: { ...metadata, imageName: '2020-01-01T000000Z' },
    });
    expect(renamed.status).toBe(422);
    const badMeta = await stick.call('POST', 'agent/recovery/images', {
      commandId: command!.commandId,
      metadata: { ...metadata, rawBytes: 1 },
    });
    expect(badMeta.status).toBe(400);
    expect(badMeta.body.detail).toMatch(/rawBytes/);
    const reported = await stick.call('POST', 'agent/recovery/images', { commandId: command!.commandId, metadata, pruned: answer.pruned });
    expect(reported.status, reported.text).toBe(200);
    expect(reported.body).toEqual({ imageName, recorded: true });
    expect((await stick.call('POST', 'agent/recovery/images', { commandId: command!.commandId, metadata })).body).toEqual({
      imageName,
      recorded: false,
    });

    expect((await stick.report(command!.commandId, { status: 'succeeded', exitCode: 0 })).status).toBe(200);
    const rebooting = await images(device.id);
    expect(rebooting.images).toEqual([
      expect.objectContaining({ imageName, compressedBytes: compressed.length, rawBytes: 64 * MiB, prunedAt: null }),
    ]);
    expect(rebooting.job).toMatchObject({ state: 'rebooting', commands: { reboot: expect.any(String) } });
    const [back] = await stick.poll();
    expect(back).toMatchObject({ action: 'recovery.reboot', commandId: rebooting.job!.commands.reboot });
    await stick.report(back!.commandId, { status: 'running' });
    await stick.report(back!.commandId, { status: 'succeeded', exitCode: 0 });
    // A token after the command ended is refused.
    const late = await stick.token(command!.commandId, 'image-append');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('DISK_IMAGE_COMMAND_NOT_RUNNING');

    // The device's own agent is heard again: the job succeeded.
    await poll(device);
    const done = await images(device.id);
    expect(done.job).toMatchObject({ state: 'succeeded', error: null, finishedAt: expect.any(String) });
    expect(await eventsOf(device.id, 'disk_image.succeeded')).toEqual([
      { jobId: started.body.id, kind: 'image', imageName, trigger: 'operator' },
    ]);
    const reportAudit = await api.auditRows(`action = 'disk_image.report' AND resource_id = $1 AND result = 'success'`, [device.id]);
    expect(reportAudit[0].details).toMatchObject({ imageName, sha256Compressed: metadata.sha256Compressed });

    // Restore while the stick is registered: the targets are judged against its disks at once.
    const again = await stick.register(
      hardwareWith([
        { name: 'sda', sizeBytes: 32 * MiB },
        { name: 'sdb', sizeBytes: 170 * MiB, role: 'recovery-stick' },
        { name: 'vda', sizeBytes: 128 * MiB },
      ]),
    );
    expect(again.status, again.text).toBe(200);
    const small = await restore(device.id, imageName, { confirmDeviceName: 'img-e2e' });
    expect(small.status).toBe(409);
    expect(small.body.code).toBe('DISK_IMAGE_TARGET_INVALID');
    expect(small.body.detail).toMatch(/disk sda \(33554432 bytes\) is smaller than the image's sda/);
    const ontoStick = await restore(device.id, imageName, { confirmDeviceName: 'img-e2e', targets: [{ imageDisk: 'sda', target: 'sdb' }] });
    expect(ontoStick.status).toBe(409);
    expect(ontoStick.body.detail).toMatch(/sdb is the recovery stick/);
    const restoring = await restore(device.id, imageName, { confirmDeviceName: 'img-e2e', targets: [{ imageDisk: 'sda', target: 'vda' }] });
    expect(restoring.status, restoring.text).toBe(201);
    expect(restoring.body).toMatchObject({ kind: 'restore', state: 'restoring', commands: { rebootToRecovery: null } });
    const [restoreCommand] = await stick.poll();
    expect(restoreCommand).toMatchObject({
      action: 'recovery.restore',
      params: {
        imageName,
        sha256Compressed: metadata.sha256Compressed,
        compressedBytes: compressed.length,
        targets: [{ imageDisk: 'sda', sha256Raw: sha('1'), sizeBytes: 64 * MiB, target: 'vda' }],
      },
    });
    expect((await stick.token(restoreCommand!.commandId, 'image-append')).body.code).toBe('DISK_IMAGE_TOKEN_REFUSED');
    await stick.report(restoreCommand!.commandId, { status: 'running' });
    const read = await stick.token(restoreCommand!.commandId, 'image-read');
    expect(read.status, read.text).toBe(200);
    const downloaded = await imageRequest(device.id, read.body.token, 'GET', `${imageName}.img.zst`);
    expect(downloaded.status).toBe(200);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(compressed)).toBe(true);
    // The read token opens only this device's images.
    expect((await imageRequest(other.id, read.body.token, 'GET', '')).status).toBe(403);
    await stick.report(restoreCommand!.commandId, { status: 'failed', exitCode: 1, stderr: 'read-back hash mismatch on vda\n' });
    const failed = await images(device.id);
    expect(failed.job).toMatchObject({ state: 'failed', error: 'recovery.restore failed: read-back hash mismatch on vda' });
    expect(await eventsOf(device.id, 'disk_image.failed')).toHaveLength(1);
  });
});
