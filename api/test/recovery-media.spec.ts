import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { RecoveryConfSchema } from '@xspectre/contracts';
import { publicKeyFromPrivate } from '@xspectre/wireguard';
import { ADMIN_EMAIL, TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { createOrganizationSite, enrollDeviceAt, hubPeers, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import { FIXTURE_CONFIG_OFFSET, buildRecoveryImageFixture } from './support/recovery-image.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Recovery media against the real API, PostgreSQL, Redis and a wireguard-go hub; a small stand-in stick image. */
describe('recovery media', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let readOnly: string;
  let soc: string;
  let fixture: Awaited<ReturnType<typeof buildRecoveryImageFixture>>;
  let mediaDir: string;
  let where: { organizationId: string; siteId: string };

  beforeAll(async () => {
    fixture = await buildRecoveryImageFixture();
    mediaDir = join(await mkdtemp(join(tmpdir(), 'xs-recovery-media-')), 'media');
    ({ api, hub } = await startApiWithLabHub({
      API_RECOVERY_IMAGE: fixture.image,
      API_RECOVERY_MEDIA_DIR: mediaDir,
      API_WG_ENDPOINT: '198.18.0.1:51820',
    }));
    admin = await api.adminToken();
    await stepUp(api, admin);
    const viewer = await api.createUser(admin, 'read_only');
    readOnly = await api.tokenFor(viewer.email);
    const operator = await api.createUser(admin, 'soc_operator');
    soc = await api.tokenFor(operator.email);
    where = await createOrganizationSite(api, admin, 'Recovery Org');
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
    await fixture?.remove();
    if (mediaDir) await rm(join(mediaDir, '..'), { recursive: true, force: true });
  });

  async function createMedium(deviceId: string) {
    const r = await api.request('POST', `devices/${deviceId}/recovery-media`, { token: admin, body: {} });
    if (r.status !== 201) throw new Error(`create medium: ${r.status} ${r.text}`);
    return r.body as { medium: Record<string, any>; flashingSteps: string[] };
  }

  /** The personalised image's recovery.conf, read back with mtools as a technician's OS would. */
  async function confOf(imagePath: string): Promise<Record<string, string>> {
    const { stdout } = await execa('mtype', ['-i', `${imagePath}@@${FIXTURE_CONFIG_OFFSET}`, '::recovery.conf'], {
      env: { MTOOLS_SKIP_CHECK: '1' },
    });
    return Object.fromEntries(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  async function download(deviceId: string, mediumId: string, dir: string) {
    const response = await fetch(`${api.baseUrl}/api/v1/devices/${deviceId}/recovery-media/${mediumId}/image`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const body = Buffer.from(await response.arrayBuffer());
    const path = join(dir, `${mediumId}.img`);
    if (response.status === 200) await (await import('node:fs/promises')).writeFile(path, body);
    return {
      status: response.status,
      headers: response.headers,
      body,
      path,
      json: response.status === 200 ? null : JSON.parse(body.toString()),
    };
  }

  it('creating needs devices.critical_actions and a step-up: read-only, SOC operator and a session without step-up are refused', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-rbac');
    const viewer = await api.request('POST', `devices/${device.id}/recovery-media`, { token: readOnly, body: {} });
    expect(viewer.status).toBe(403);
    expect(viewer.body.code).toBe('AUTH_FORBIDDEN');
    const operator = await api.request('POST', `devices/${device.id}/recovery-media`, { token: soc, body: {} });
    expect(operator.status).toBe(403);
    const second = await api.createUser(admin, 'super_admin');
    const secondAdmin = await api.tokenFor(second.email);
    const noStepUp = await api.request('POST', `devices/${device.id}/recovery-media`, { token: secondAdmin, body: {} });
    expect(noStepUp.status).toBe(403);
    expect(noStepUp.body.code).toBe('AUTH_STEP_UP_REQUIRED');
    const extra = await api.request('POST', `devices/${device.id}/recovery-media`, { token: admin, body: { wgPublicKey: 'x' } });
    expect(extra.status).toBe(400);
    expect(extra.headers.get('content-type')).toContain('application/problem+json');
    // The viewer may list (nothing yet).
    const listed = await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly });
    expect(listed.status).toBe(200);
    expect(listed.body.media).toEqual([]);
  });

  it('creates a medium: a recovery-pool /32 peer on the hub, secrets only in the image, recovery.conf exactly the contract keys', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-create');
    const { medium, flashingSteps } = await createMedium(device.id);
    expect(medium).toMatchObject({ deviceId: device.id, state: 'active', downloadable: true, recoveryMode: null, revokedAt: null });
    expect(medium.overlayAddress).toMatch(/^10\.10\.0\.(2[0-4]\d)$/);
    expect(flashingSteps.join('\n')).toContain(medium.imageSha256);
    expect(flashingSteps.join('\n')).toMatch(/dd if=.* of=\/dev\/sdX/);
    // The medium view carries the same steps while the image is downloadable (SHA-256 and the window's end in them).
    expect(medium.flashingSteps).toEqual(flashingSteps);
    const viewed = (await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly })).body.media[0];
    expect(viewed.flashingSteps).toEqual(flashingSteps);
    expect(viewed.flashingSteps.join('\n')).toContain(medium.downloadExpiresAt);
    expect(await hubPeers(hub)).toContainEqual({ publicKey: medium.wgPublicKey, allowedIps: `${medium.overlayAddress}/32` });

    const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-dl-'));
    try {
      const got = await download(device.id, medium.id, dir);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('application/octet-stream');
      expect(got.headers.get('content-disposition')).toMatch(/^attachment; filename="xspectre-recovery-[0-9a-f]{8}\.img"$/);
      expect(got.headers.get('x-image-sha256')).toBe(medium.imageSha256);
      expect(sha256(got.body)).toBe(medium.imageSha256);
      expect(got.body.length).toBe(medium.imageSizeBytes);

      const conf = await confOf(got.path);
      expect(Object.keys(conf).sort()).toEqual(
        [
          'XS_RECOVERY_CONF_VERSION',
          'XS_DEVICE_ID',
          'XS_MEDIUM_ID',
          'XS_API_URL',
          'XS_CREDENTIAL',
          'XS_WG_PRIVATE_KEY',
          'XS_WG_ADDRESS',
          'XS_WG_HUB_PUBLIC_KEY',
          'XS_WG_HUB_ENDPOINT',
          'XS_WG_ALLOWED_IPS',
          'XS_COMMAND_KEYS',
          'XS_DEVICE_NAME',
        ].sort(),
      );
      expect(RecoveryConfSchema.parse(conf)).toMatchObject({
        XS_DEVICE_ID: device.id,
        XS_MEDIUM_ID: medium.id,
        XS_WG_ADDRESS: `${medium.overlayAddress}/32`,
        XS_WG_HUB_PUBLIC_KEY: hub.publicKey,
        XS_WG_HUB_ENDPOINT: '198.18.0.1:51820',
        XS_WG_ALLOWED_IPS: '10.10.0.1/32',
        XS_API_URL: api.config.API_AGENT_API_URL,
        XS_DEVICE_NAME: 'rec-create',
      });
      expect(publicKeyFromPrivate(conf.XS_WG_PRIVATE_KEY!)).toBe(medium.wgPublicKey);
      expect(conf.XS_COMMAND_KEYS).toBe(
        `${device.pinned[0]!.keyId}:${device.pinned[0]!.publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, '')}`,
      );
      // The generic image's other file is untouched; the generic image itself is unchanged.
      const { stdout: listing } = await execa('mdir', ['-b', '-i', `${got.path}@@${FIXTURE_CONFIG_OFFSET}`, '::'], {
        env: { MTOOLS_SKIP_CHECK: '1' },
      });
      expect(listing).toContain('recovery.conf.example');
      await expect(
        execa('mtype', ['-i', `${fixture.image}@@${FIXTURE_CONFIG_OFFSET}`, '::recovery.conf'], { env: { MTOOLS_SKIP_CHECK: '1' } }),
      ).rejects.toThrow();

      // Stored: the credential's hash and the public key, never the secrets.
      const { rows } = await api.sql.query('SELECT * FROM recovery_media WHERE id = $1', [medium.id]);
      expect(rows[0].credential_hash).toBe(sha256(conf.XS_CREDENTIAL!));
      expect(JSON.stringify(rows[0])).not.toContain(conf.XS_CREDENTIAL);
      expect(JSON.stringify(rows[0])).not.toContain(conf.XS_WG_PRIVATE_KEY);
      const audit = JSON.stringify(await api.auditRows(`action LIKE 'recovery_medium.%'`));
      expect(audit).toContain(medium.id);
      expect(audit).not.toContain(conf.XS_CREDENTIAL);
      expect(audit).not.toContain(conf.XS_WG_PRIVATE_KEY);
      const downloads = await api.auditRows(`action = 'recovery_medium.image_download' AND result = 'success' AND resource_id = $1`, [
        device.id,
      ]);
      expect(downloads).toHaveLength(1);

      // The private directory: 0700, the image 0600, no rendered conf file left behind.
      expect((await stat(mediaDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(mediaDir, `${medium.id}.img`))).mode & 0o777).toBe(0o600);
      expect(await readdir(mediaDir)).toEqual([`${medium.id}.img`]);

      // After its window the image is gone: 410, and the file is deleted.
      await api.sql.query(`UPDATE recovery_media SET download_expires_at = now() - interval '1 second' WHERE id = $1`, [medium.id]);
      const late = await download(device.id, medium.id, dir);
      expect(late.status).toBe(410);
      expect(late.json.code).toBe('RECOVERY_IMAGE_GONE');
      expect(await readdir(mediaDir)).toEqual([]);
      const listed = await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly });
      expect(listed.body.media[0]).toMatchObject({ id: medium.id, downloadable: false, downloadExpiresAt: null, flashingSteps: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a generic image, creating answers RECOVERY_IMAGE_NOT_BUILT saying how to build it', async () => {
    const other = await TestApi.startSibling(api, { API_RECOVERY_IMAGE: join(fixture.dir, 'missing.img') });
    try {
      const token = admin;
      const device = await enrollDeviceAt(api, admin, where, 'rec-noimage');
      const r = await other.request('POST', `devices/${device.id}/recovery-media`, { token, body: {} });
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('RECOVERY_IMAGE_NOT_BUILT');
      expect(r.body.detail).toContain('recovery-usb/build.sh');
      const media = await api.sql.query('SELECT count(*)::int AS n FROM recovery_media WHERE device_id = $1', [device.id]);
      expect(media.rows[0].n).toBe(0);
      const leases = await api.sql.query(`SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1 AND pool = 'recovery'`, [
        device.id,
      ]);
      expect(leases.rows[0].n).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('the recovery credential opens only recovery routes, a device credential only device routes', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-separation');
    const { medium } = await createMedium(device.id);
    const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-dl-'));
    try {
      const conf = await confOf((await download(device.id, medium.id, dir)).path);
      const credential = conf.XS_CREDENTIAL!;
      const asStick = await api.request('POST', 'agent/heartbeats', { token: credential, body: testHeartbeat(device.id, 1) });
      expect(asStick.status).toBe(401);
      expect(asStick.body.code).toBe('DEVICE_AUTH_INVALID');
      const stickPoll = await api.request('GET', 'agent/commands?waitSeconds=0', { token: credential });
      expect(stickPoll.status).toBe(401);
      const asDevice = await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: device.credential });
      expect(asDevice.status).toBe(401);
      expect(asDevice.body.code).toBe('RECOVERY_AUTH_INVALID');
      const none = await api.request('POST', 'agent/recovery/register', { body: {} });
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('RECOVERY_AUTH_REQUIRED');
      const operator = await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: admin });
      expect(operator.status).toBe(401);
      const ok = await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: credential });
      expect(ok.status).toBe(200);
      expect(ok.body.commands).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('registers in recovery mode (idempotent per boot), polls only recovery.* commands, reports status and progress, and leaves recovery mode when the agent is back', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-agent');
    const { medium } = await createMedium(device.id);
    const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-dl-'));
    const credential = (await confOf((await download(device.id, medium.id, dir)).path)).XS_CREDENTIAL!;
    await rm(dir, { recursive: true, force: true });
    const stick = (method: string, path: string, body?: unknown) => api.request(method, path, { token: credential, body });

    const bootId = '0b9c3c7e-3f7e-4a4c-9a53-2f4a8f6f2c11';
    const hardware = {
      firmware: 'uefi',
      cpuModel: 'QEMU Virtual CPU',
      cpus: 2,
      memoryBytes: 1024 ** 3,
      disks: [
        {
          name: 'sda',
          sizeBytes: 64 * 1024 ** 2,
          model: 'QEMU HARDDISK',
          serial: null,
          removable: false,
          rotational: true,
          role: 'target',
        },
        { name: 'sdb', sizeBytes: 174063616, model: null, serial: null, removable: true, rotational: true, role: 'recovery-stick' },
      ],
      nics: [{ name: 'eth0', mac: '52:54:00:12:34:56', driver: 'e1000' }],
    };
    const register = { bootId, agentVersion: '0.1.0', recipeHash: null, kernel: '6.1.0-50-amd64', hardware };

    const bad = await stick('POST', 'agent/recovery/register', { ...register, hardware: { ...hardware, cpus: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('cpus');
    const first = await stick('POST', 'agent/recovery/register', register);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ deviceId: device.id, mediumId: medium.id, backupUrl: api.config.API_BACKUP_SERVER_URL });
    const again = await stick('POST', 'agent/recovery/register', register);
    expect(again.status).toBe(200);
    const events = async (type: string) =>
      (await api.request('GET', `devices/${device.id}/events?type=${type}`, { token: admin })).body.items as unknown[];
    expect(await events('device.recovery-mode')).toHaveLength(1);
    const listed = await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly });
    expect(listed.body.media[0].recoveryMode).toMatchObject({ bootId, hardware, progress: null });
    expect(listed.body.media[0].lastSeenAt).not.toBeNull();

    // A recovery.smart is for the stick only; a reboot for the agent only.
    const smart = await api.request('POST', `devices/${device.id}/commands`, {
      token: admin,
      body: { action: 'recovery.smart', params: {} },
    });
    expect(smart.status).toBe(201);
    const reboot = await api.request('POST', `devices/${device.id}/critical-commands`, {
      token: admin,
      body: { action: 'reboot', params: {} },
    });
    expect(reboot.status).toBe(201);
    const agentPoll = await api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(agentPoll.body.commands.map((c: any) => c.commandId)).toEqual([reboot.body.id]);
    const stickPoll = await stick('GET', 'agent/recovery/commands?waitSeconds=0');
    expect(stickPoll.status).toBe(200);
    expect(stickPoll.body.commands.map((c: any) => c.commandId)).toEqual([smart.body.id]);
    expect(stickPoll.body.commands[0].action).toBe('recovery.smart');

    // Each reports only its own.
    const crossed = await stick('POST', `agent/recovery/commands/${reboot.body.id}/status`, { status: 'running' });
    expect(crossed.status).toBe(404);
    const crossedBack = await api.request('POST', `agent/commands/${smart.body.id}/status`, {
      token: device.credential,
      body: { status: 'running' },
    });
    expect(crossedBack.status).toBe(404);

    // Progress: only for a running command of this device.
    const progress = { commandId: smart.body.id, phase: 'reading', bytesDone: 10, bytesTotal: 100, rateBytesPerSecond: 5, etaSeconds: 18 };
    const early = await stick('POST', 'agent/recovery/progress', progress);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('RECOVERY_COMMAND_NOT_RUNNING');
    const unknown = await stick('POST', 'agent/recovery/progress', { ...progress, commandId: reboot.body.id });
    expect(unknown.status).toBe(404);
    const running = await stick('POST', `agent/recovery/commands/${smart.body.id}/status`, { status: 'running' });
    expect(running.status).toBe(200);
    expect(running.body.status).toBe('running');
    const tooMuch = await stick('POST', 'agent/recovery/progress', { ...progress, bytesDone: 200 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.text).toContain('bytesDone');
    const stored = await stick('POST', 'agent/recovery/progress', progress);
    expect(stored.status).toBe(204);
    const withProgress = await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly });
    expect(withProgress.body.media[0].recoveryMode.progress).toEqual(progress);
    const done = await stick('POST', `agent/recovery/commands/${smart.body.id}/status`, { status: 'succeeded', exitCode: 0, stdout: '{}' });
    expect(done.status).toBe(200);
    const audited = await api.auditRows(`action = 'recovery.register' AND result = 'success' AND resource_id = $1`, [device.id]);
    expect(audited.length).toBeGreaterThanOrEqual(1);

    // A new boot registers again; then the device's own agent is heard: recovery mode ends.
    const second = await stick('POST', 'agent/recovery/register', { ...register, bootId: '5d1f5a8e-8a51-4c33-9e39-0d2cb4c0f0a7' });
    expect(second.status).toBe(200);
    expect(await events('device.recovery-mode')).toHaveLength(2);
    const heartbeat = await api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 1) });
    expect(heartbeat.status).toBeLessThan(300);
    await expect.poll(async () => (await events('device.recovery-mode-ended')).length, { timeout: 10_000 }).toBe(1);
    const after = await api.request('GET', `devices/${device.id}/recovery-media`, { token: readOnly });
    expect(after.body.media[0].recoveryMode).toBeNull();
  });

  it('a second create revokes the first; revoking removes the peer, kills the credential at once and deletes the image', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-revoke');
    const first = (await createMedium(device.id)).medium;
    const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-dl-'));
    try {
      const firstCredential = (await confOf((await download(device.id, first.id, dir)).path)).XS_CREDENTIAL!;
      expect((await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: firstCredential })).status).toBe(200);

      const second = (await createMedium(device.id)).medium;
      expect(second.overlayAddress).not.toBe(first.overlayAddress);
      const listed = await api.request('GET', `devices/${device.id}/recovery-media`, { token: admin });
      expect(listed.body.media.map((m: any) => [m.id, m.state])).toEqual([
        [second.id, 'active'],
        [first.id, 'revoked'],
      ]);
      const peers = await hubPeers(hub);
      expect(peers).not.toContainEqual(expect.objectContaining({ publicKey: first.wgPublicKey }));
      expect(peers).toContainEqual({ publicKey: second.wgPublicKey, allowedIps: `${second.overlayAddress}/32` });
      // The credential was cached by the poll above: the revoke still kills it at once.
      const dead = await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: firstCredential });
      expect(dead.status).toBe(401);
      expect((await download(device.id, first.id, dir)).status).toBe(410);

      const secondCredential = (await confOf((await download(device.id, second.id, dir)).path)).XS_CREDENTIAL!;
      expect((await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: secondCredential })).status).toBe(200);
      const viewer = await api.request('DELETE', `devices/${device.id}/recovery-media/${second.id}`, { token: readOnly });
      expect(viewer.status).toBe(403);
      const revoked = await api.request('DELETE', `devices/${device.id}/recovery-media/${second.id}`, { token: admin });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: second.id, state: 'revoked', downloadable: false });
      expect(await hubPeers(hub)).not.toContainEqual(expect.objectContaining({ publicKey: second.wgPublicKey }));
      expect((await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: secondCredential })).status).toBe(401);
      expect(await readdir(mediaDir)).not.toContain(`${second.id}.img`);
      const missing = await api.request('DELETE', `devices/${device.id}/recovery-media/00000000-0000-4000-8000-000000000000`, {
        token: admin,
      });
      expect(missing.status).toBe(404);
      const otherDevice = await enrollDeviceAt(api, admin, where, 'rec-other');
      const foreign = await api.request('DELETE', `devices/${otherDevice.id}/recovery-media/${first.id}`, { token: admin });
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('RECOVERY_MEDIUM_NOT_FOUND');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('revoking the device revokes its stick in the same step: medium revoked, peer gone, credential dead, image deleted', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-device-revoked');
    const medium = (await createMedium(device.id)).medium;
    const dir = await mkdtemp(join(tmpdir(), 'xs-recovery-dl-'));
    try {
      const credential = (await confOf((await download(device.id, medium.id, dir)).path)).XS_CREDENTIAL!;
      expect((await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: credential })).status).toBe(200);
      expect((await api.request('POST', `devices/${device.id}/revoke`, { token: admin })).status).toBe(201);
      const listed = await api.request('GET', `devices/${device.id}/recovery-media`, { token: admin });
      expect(listed.body.media).toEqual([expect.objectContaining({ id: medium.id, state: 'revoked', downloadable: false })]);
      expect(listed.body.media[0].revokedBy).toBe(ADMIN_EMAIL);
      expect(await hubPeers(hub)).not.toContainEqual(expect.objectContaining({ publicKey: medium.wgPublicKey }));
      expect((await api.request('GET', 'agent/recovery/commands?waitSeconds=0', { token: credential })).status).toBe(401);
      expect(await readdir(mediaDir)).not.toContain(`${medium.id}.img`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('two concurrent creates for one device: exactly one active medium, its image the only file, its address the only reservation', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'rec-concurrent');
    const [a, b] = await Promise.all([createMedium(device.id), createMedium(device.id)]);
    const listed = (await api.request('GET', `devices/${device.id}/recovery-media`, { token: admin })).body.media as Array<
      Record<string, any>
    >;
    expect(listed.map((m) => m.state).sort()).toEqual(['active', 'revoked']);
    const active = listed.find((m) => m.state === 'active')!;
    const revoked = listed.find((m) => m.state === 'revoked')!;
    expect([a.medium.id, b.medium.id].sort()).toEqual([active.id, revoked.id].sort());
    const files = await readdir(mediaDir);
    expect(files).toContain(`${active.id}.img`);
    expect(files).not.toContain(`${revoked.id}.img`);
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
    const { rows: live } = await api.sql.query(
      `SELECT address FROM overlay_leases WHERE device_id = $1 AND pool = 'recovery' AND released_at IS NULL`,
      [device.id],
    );
    expect(live.map((r) => r.address)).toEqual([active.overlayAddress]);
    const peers = await hubPeers(hub);
    expect(peers).toContainEqual({ publicKey: active.wgPublicKey, allowedIps: `${active.overlayAddress}/32` });
    expect(peers).not.toContainEqual(expect.objectContaining({ publicKey: revoked.wgPublicKey }));
    expect(await api.auditRows(`action = 'recovery_medium.create' AND result = 'success' AND resource_id = $1`, [device.id])).toHaveLength(
      2,
    );
  });

  it('a personalisation that fails (a generic image without the CONFIG partition) leaves nothing: no medium, no reservation, no peer, no file', async () => {
    const broken = join(fixture.dir, 'broken.img');
    await writeFile(broken, Buffer.alloc(1024 * 1024));
    const otherDir = join(fixture.dir, 'broken-media');
    const other = await TestApi.startSibling(api, { API_RECOVERY_IMAGE: broken, API_RECOVERY_MEDIA_DIR: otherDir });
    try {
      const device = await enrollDeviceAt(api, admin, where, 'rec-broken');
      const peersBefore = await hubPeers(hub);
      const r = await other.request('POST', `devices/${device.id}/recovery-media`, { token: admin, body: {} });
      expect([r.status, r.body.code]).toEqual([503, 'RECOVERY_IMAGE_INVALID']);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      const media = await api.sql.query('SELECT count(*)::int AS n FROM recovery_media WHERE device_id = $1', [device.id]);
      expect(media.rows[0].n).toBe(0);
      const leases = await api.sql.query(`SELECT count(*)::int AS n FROM overlay_leases WHERE device_id = $1 AND pool = 'recovery'`, [
        device.id,
      ]);
      expect(leases.rows[0].n).toBe(0);
      // No peer was added (a lagging sync of an earlier case may still remove one).
      for (const peer of await hubPeers(hub)) expect(peersBefore).toContainEqual(peer);
      expect(await readdir(otherDir)).toEqual([]);
      // The refusal is audited although the route has no request transaction.
      const failures = await api.auditRows(`action = 'recovery_medium.create' AND result = 'failure' AND resource_id = $1`, [device.id]);
      expect(failures).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });
});
