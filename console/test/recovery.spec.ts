import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecoveryConf } from '../../api/src/recovery/recovery-image.js';
import { DiskImageScheduleService } from '../../api/src/disk-images/disk-image-schedule.service.js';
import { buildRecoveryImageFixture } from '../../api/test/support/recovery-image.js';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { confirmStepUpIfAsked, stepUpAdmin } from './support/backup-runs.js';
import { XSS, eventually, signIn, sleep, useConsoleE2e, type TestDevice } from './support/e2e.js';

/** Where the report's screenshots go (beside the backups' and alerts', console/test/backups-restore.spec.ts). */
const SHOTS = '/tmp/shots-recovery';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const sha = (c: string) => c.repeat(64);

/**
 * The device page's Recovery tab and RECOVERY MODE banner against the real API (issue 16): recovery
 * media created in the browser behind the TOTP prompt, the personalised image downloaded and its
 * credential read out of its CONFIG partition (mtype), the stick registering with it through the
 * recovery agent's routes, a full image taken from the console with its progress moving live, the
 * restore dialog refusing a mistyped device name and showing the API's refusal, a restore in
 * progress, a Read-Only operator without critical buttons, the revoke, and the fleet view.
 */
describe('console: recovery media, RECOVERY MODE and full-disk images', () => {
  const env: Record<string, string> = {};
  let removeFixture: (() => Promise<void>) | undefined;
  // Registered before useConsoleE2e's beforeAll: the API starts with the fixture image.
  beforeAll(async () => {
    const fixture = await buildRecoveryImageFixture();
    removeFixture = fixture.remove;
    env.API_RECOVERY_IMAGE = fixture.image;
    env.API_RECOVERY_MEDIA_DIR = join(fixture.dir, 'media');
    mkdirSync(env.API_RECOVERY_MEDIA_DIR, { recursive: true, mode: 0o700 });
  });
  afterAll(() => removeFixture?.());
  const e = useConsoleE2e({ hub: true, signIn: true, apiEnv: env });

  let device: TestDevice;
  let credential = '';
  let imageName = '';

  const stick = {
    request: (method: string, path: string, body?: unknown) => e.api.request(method, `agent/recovery/${path}`, { token: credential, body }),
    async command(action: string): Promise<Record<string, any>> {
      const polled = await this.request('GET', 'commands?waitSeconds=0');
      expect(polled.status, polled.text).toBe(200);
      const command = (polled.body.commands as Array<Record<string, any>>).find((c) => c.action === action);
      expect(command, polled.text).toBeDefined();
      return command!;
    },
    async status(commandId: string, body: unknown) {
      const r = await this.request('POST', `commands/${commandId}/status`, body);
      expect(r.status, r.text).toBe(200);
    },
    async progress(commandId: string, phase: string, bytesDone: number, bytesTotal: number, etaSeconds: number) {
      const r = await this.request('POST', 'progress', {
        commandId,
        phase,
        bytesDone,
        bytesTotal,
        rateBytesPerSecond: 80 * MiB,
        etaSeconds,
      });
      expect(r.status, r.text).toBe(204);
    },
  };
  const jobOf = async () => {
    const r = await e.api.request('GET', `devices/${device.id}/disk-images`, { token: e.admin });
    expect(r.status, r.text).toBe(200);
    return r.body.job as Record<string, any> | null;
  };
  function posts(p: Page, fragment: string): string[] {
    const bodies: string[] = [];
    p.on('request', (r: Request) => {
      if (r.method() === 'POST' && r.url().includes(fragment)) bodies.push(r.postData() ?? '');
    });
    return bodies;
  }

  it('creates recovery media behind the TOTP prompt, downloads the image with its SHA-256 and shows RECOVERY MODE with the disks', async () => {
    const { page } = e;
    device = await e.enrollDevice('acme-rec-01');
    await page.goto(`${e.web.url}/devices/${device.id}/recovery`);
    const tabs = page.getByTestId('device-tabs');
    await eventually(() => tabs.getByRole('link', { name: 'Recovery' }).getAttribute('aria-current')).toBe('page');
    await eventually(() => page.getByText('No recovery stick for this device.').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Create recovery media…' }).click();
    const create = page.getByRole('dialog', { name: 'Create recovery media for acme-rec-01?' });
    await create.getByRole('button', { name: 'Create recovery media' }).click();
    await confirmStepUpIfAsked(e, page);
    const listed = async () => (await e.api.request('GET', `devices/${device.id}/recovery-media`, { token: e.admin })).body.media;
    await eventually(async () => (await listed()).length).toBe(1);
    const [medium] = await listed();
    expect(medium).toMatchObject({ state: 'active', downloadable: true, recoveryMode: null });
    await eventually(() => page.getByTestId('recovery-image-sha256').innerText()).toBe(medium.imageSha256);
    const steps = await page.getByTestId('recovery-flashing-steps').innerText();
    expect(steps).toContain(`sha256sum xspectre-recovery-${medium.id.slice(0, 8)}.img`);
    expect(steps).toContain(medium.imageSha256);
    expect(steps).toMatch(/sudo dd if=xspectre-recovery-[0-9a-f]{8}\.img of=\/dev\/sdX/);
    expect(steps).toContain('balenaEtcher');
    expect(await page.getByTestId('recovery-medium').innerText()).toContain(medium.overlayAddress);
    // The steps come with the medium (GET recovery-media), not only in the create answer: still there after a reload.
    await page.reload();
    await eventually(() => page.getByTestId('recovery-flashing-steps').innerText()).toContain(medium.imageSha256);
    expect(await page.getByTestId('recovery-flashing-steps').innerText()).toContain(medium.downloadExpiresAt);
    expect(await page.getByTestId('recovery-flashing-steps').innerText()).toContain("Put the stick into acme-rec-01's internal USB port");

    // The download: checked in the browser against the SHA-256 shown, saved under the API's name.
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download image' }).click();
    await confirmStepUpIfAsked(e, page);
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(`xspectre-recovery-${medium.id.slice(0, 8)}.img`);
    const file = (await download.path())!;
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(medium.imageSha256);
    await eventually(() => page.getByTestId('recovery-download-result').innerText()).toContain('its SHA-256 matches');
    // The stick's credential, as the recovery agent reads it from the CONFIG partition.
    const conf = await readRecoveryConf(file);
    credential = /^XS_CREDENTIAL=(.+)$/m.exec(conf)![1]!;
    expect(credential).toMatch(/^xsr1\./);
    expect(conf).toContain(`XS_DEVICE_ID=${device.id}`);

    // The stick boots and registers, with device strings that would be markup if rendered as HTML.
    const registered = await stick.request('POST', 'register', {
      bootId: randomUUID(),
      agentVersion: '0.1.0',
      recipeHash: null,
      kernel: '6.1.0-28-amd64',
      hardware: {
        firmware: 'uefi',
        cpuModel: `QEMU Virtual CPU ${XSS}`,
        cpus: 2,
        memoryBytes: 2 * GiB,
        disks: [
          {
            name: 'sda',
            sizeBytes: 8 * GiB,
            model: `QEMU HARDDISK ${XSS}`,
            serial: 'QM00001',
            removable: false,
            rotational: true,
            role: 'target',
          },
          {
            name: 'sdc',
            sizeBytes: 4 * GiB,
            model: 'Data disk',
            serial: null,
            removable: false,
            rotational: true,
            role: 'target',
          },
          {
            name: 'sdb',
            sizeBytes: 16 * GiB,
            model: 'SanDisk Cruzer',
            serial: null,
            removable: true,
            rotational: false,
            role: 'recovery-stick',
          },
        ],
        nics: [{ name: 'ens3', mac: '52:54:00:12:34:56', driver: 'virtio_net' }],
      },
    });
    expect(registered.status, registered.text).toBe(200);
    const banner = page.getByTestId('recovery-mode-banner');
    await eventually(() => banner.isVisible()).toBe(true);
    expect(await page.getByTestId('recovery-mode-badge').innerText()).toBe('RECOVERY MODE');
    const text = await banner.innerText();
    expect(text).toContain('RECOVERY MODE');
    expect(await banner.getByTestId('recovery-firmware').innerText()).toBe('firmware UEFI');
    const sda = banner.locator('li[data-disk="sda"]');
    expect(await sda.getAttribute('data-role')).toBe('target');
    expect(await sda.innerText()).toContain('8.0 GiB');
    expect(await sda.innerText()).toContain('target disk');
    expect(await sda.innerText()).toContain('<img src=x');
    expect(await banner.locator('li[data-disk="sdb"]').innerText()).toContain('the recovery stick (never written)');
    expect(await banner.getByTestId('recovery-nics').innerText()).toContain('52:54:00:12:34:56');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // The banner is on every tab.
    await tabs.getByRole('link', { name: 'Overview' }).click();
    await eventually(() => page.getByTestId('recovery-mode-banner').isVisible()).toBe(true);
  });

  it('takes a full image from the console and follows its progress live', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/devices/${device.id}/recovery`);
    const sent = posts(page, '/disk-images');
    await page.getByRole('button', { name: 'Take full image now…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Take a full image of acme-rec-01?' });
    expect(await dialog.innerText()).toContain('The device is in RECOVERY MODE: the stick images the disks ticked below now');
    // The disk picker: the target disks, all ticked; the stick shown but never choosable.
    const picker = dialog.getByTestId('take-disk-picker');
    const sda = picker.getByRole('checkbox', { name: /^sda \(8\.0 GiB/ });
    const sdc = picker.getByRole('checkbox', { name: /^sdc \(4\.0 GiB, Data disk\)/ });
    const stickBox = picker.getByRole('checkbox', { name: 'sdb: the recovery stick (never imaged)' });
    expect([await sda.isChecked(), await sdc.isChecked(), await stickBox.isChecked(), await stickBox.isDisabled()]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    // None ticked: refused before anything is sent; then sda only.
    await sda.uncheck();
    await sdc.uncheck();
    await dialog.getByRole('button', { name: 'Take full image' }).click();
    await eventually(() => dialog.getByTestId('take-disk-error').innerText()).toBe('choose at least one disk to image');
    expect(sent).toEqual([]);
    await sda.check();
    await dialog.getByRole('button', { name: 'Take full image' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(async () => (await jobOf())?.state).toBe('imaging');
    imageName = (await jobOf())!.imageName;
    await eventually(() => page.getByTestId('disk-image-job-state').innerText()).toBe('imaging the disks');

    const command = await stick.command('recovery.image');
    expect(JSON.parse(sent.at(-1)!)).toEqual({ disks: ['sda'] });
    expect(command.params).toMatchObject({ imageName, disks: ['sda'], compressionLevel: 3 });
    await stick.status(command.commandId, { status: 'running' });
    await stick.progress(command.commandId, 'reading', 2 * GiB, 8 * GiB, 75);
    const progress = page.getByTestId('recovery-mode-progress');
    await eventually(() => progress.getByTestId('recovery-mode-progress-percent').innerText(), { timeout: 5000 }).toBe('25 %');
    expect(await progress.getByTestId('recovery-mode-progress-bytes').innerText()).toBe('2.0 GiB of 8.0 GiB');
    expect(await progress.getByTestId('recovery-mode-progress-rate').innerText()).toBe('80.0 MiB/s');
    expect(await progress.innerText()).toMatch(/Imaging[\s\S]*reading the disk[\s\S]*about 1 m \d\d s left/);
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('25');
    // The job card shows the same progress.
    await eventually(() => page.getByTestId('disk-image-progress-percent').innerText()).toBe('25 %');

    await sleep(1100); // the API stores and pushes at most one report a second per stick
    await stick.progress(command.commandId, 'uploading', 6 * GiB, 8 * GiB, 20);
    await eventually(() => progress.getByTestId('recovery-mode-progress-percent').innerText(), { timeout: 5000 }).toBe('75 %');
    expect(await progress.getByTestId('recovery-mode-progress-phase').innerText()).toBe('uploading the image');
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('75');
    mkdirSync(SHOTS, { recursive: true });
    await page.evaluate(() => (globalThis as unknown as { scrollTo: (x: number, y: number) => void }).scrollTo(0, 0));
    await sleep(600); // the bar's width transition
    await page.screenshot({ path: `${SHOTS}/device-recovery-mode.png`, fullPage: true });

    // The stick uploaded it and reports it; the command succeeds; the normal agent is back.
    const reported = await stick.request('POST', 'images', {
      commandId: command.commandId,
      metadata: {
        deviceId: device.id,
        imageName,
        disks: [
          {
            name: 'sda',
            model: 'QEMU HARDDISK',
            sizeBytes: 8 * GiB,
            partitionTable: { type: 'gpt', partitions: [{ number: 1, startBytes: MiB, sizeBytes: 8 * GiB - 2 * MiB }] },
            sha256Raw: sha('1'),
          },
        ],
        sha256Compressed: sha('c'),
        compressedBytes: 1536 * MiB,
        rawBytes: 8 * GiB,
        startedAt: new Date(Date.now() - 600_000).toISOString(),
        finishedAt: new Date().toISOString(),
        durationSeconds: 600,
        tools: { zstd: '1.5.4', agent: '0.1.0', compressionLevel: 3 },
      },
    });
    expect(reported.status, reported.text).toBeLessThan(300);
    await stick.status(command.commandId, { status: 'succeeded', exitCode: 0 });
    await eventually(async () => (await jobOf())?.state).toBe('rebooting');
    const polled = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(polled.status, polled.text).toBe(200);
    await eventually(async () => (await jobOf())?.state).toBe('succeeded');
    const row = page.locator(`tr[data-image-name="${imageName}"]`);
    await eventually(() => row.isVisible(), { timeout: 20_000 }).toBe(true);
    const rowText = await row.innerText();
    expect(rowText).toContain('1.5 GiB');
    expect(rowText).toContain('8.0 GiB');
    expect(rowText).toContain('cccccccc…cccc');
    expect(rowText).toContain('10 m 00 s');
    await eventually(() => page.getByTestId('disk-image-job-state').innerText(), { timeout: 20_000 }).toBe('succeeded');
  });

  it('restore: a mistyped name is refused before sending, the API’s refusal is shown, then the restore runs with its progress', async () => {
    const { page } = e;
    const sent = posts(page, '/restore');
    await page.goto(`${e.web.url}/devices/${device.id}/recovery`);
    const row = page.locator(`tr[data-image-name="${imageName}"]`);
    await row.getByRole('button', { name: 'Restore image…' }).click();
    const dialog = page.getByRole('dialog', { name: `Restore ${imageName} onto acme-rec-01` });
    expect(await dialog.getByLabel('Image disk sda (8.0 GiB)').inputValue()).toBe('sda');
    const confirm = dialog.getByLabel('Type the device’s name (acme-rec-01) to confirm');
    for (const typed of ['ACME-REC-01', 'acme-rec-01 ', 'acme-rec-0']) {
      await confirm.fill(typed);
      await dialog.getByRole('button', { name: 'Restore image' }).click();
      await eventually(() => dialog.innerText()).toContain('does not match the device’s name exactly');
    }
    expect(sent).toEqual([]);

    // Meanwhile another operator starts an image (through the API): the dialog shows the API's 409 as it says it.
    await stepUpAdmin(e);
    const other = await e.api.request('POST', `devices/${device.id}/disk-images`, { token: e.admin, body: {} });
    expect(other.status, other.text).toBe(201);
    await confirm.fill('acme-rec-01');
    await dialog.getByRole('button', { name: 'Restore image' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => dialog.getByTestId('problem').innerText()).toContain('DISK_IMAGE_JOB_IN_PROGRESS');
    expect(await confirm.inputValue()).toBe('acme-rec-01');
    // That image fails on the stick (the job ends with its reason), and the restore goes through.
    const image = await stick.command('recovery.image');
    await stick.status(image.commandId, { status: 'running' });
    await stick.status(image.commandId, { status: 'failed', exitCode: 1, stderr: 'sda: read error at 1048576\n' });
    await eventually(async () => (await jobOf())?.state).toBe('failed');
    await dialog.getByRole('button', { name: 'Restore image' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => dialog.isVisible()).toBe(false);
    expect(JSON.parse(sent.at(-1)!)).toEqual({ confirmDeviceName: 'acme-rec-01', targets: [{ imageDisk: 'sda', target: 'sda' }] });
    await eventually(async () => (await jobOf())?.state).toBe('restoring');

    const restore = await stick.command('recovery.restore');
    expect(restore.params).toMatchObject({
      imageName,
      sha256Compressed: sha('c'),
      targets: [{ imageDisk: 'sda', target: 'sda', sizeBytes: 8 * GiB }],
    });
    await stick.status(restore.commandId, { status: 'running' });
    await stick.progress(restore.commandId, 'writing', 3 * GiB, 8 * GiB, 64);
    const progress = page.getByTestId('disk-image-progress');
    await eventually(() => progress.getByTestId('disk-image-progress-percent').innerText(), { timeout: 10_000 }).toBe('37 %');
    expect(await progress.innerText()).toMatch(/Restoring[\s\S]*writing the disk[\s\S]*3\.0 GiB of 8\.0 GiB/);
    expect(await page.getByTestId('disk-image-job-state').innerText()).toBe('restoring the disks');
    expect(await page.getByTestId('recovery-mode-progress-percent').innerText()).toBe('37 %');
    await page.evaluate(() => (globalThis as unknown as { scrollTo: (x: number, y: number) => void }).scrollTo(0, 0)); // the dialog left the page scrolled: a full-page shot from the top
    await sleep(600);
    await page.screenshot({ path: `${SHOTS}/restore-in-progress.png`, fullPage: true });
  });

  it('shows a Read-Only operator the media, the banner and the images without a critical button', async () => {
    const user = await e.api.createUser(e.admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/devices/${device.id}/recovery`);
    await signIn(p, user.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/devices/${device.id}/recovery`);
    await eventually(() => p.getByTestId('recovery-image-sha256').isVisible()).toBe(true);
    await eventually(() => p.locator(`tr[data-image-name="${imageName}"]`).isVisible()).toBe(true);
    expect(await p.getByTestId('recovery-mode-banner').isVisible()).toBe(true);
    for (const name of ['Create new recovery media…', 'Download image', 'Revoke…', 'Take full image now…', 'Restore image…']) {
      expect(await p.getByRole('button', { name }).count(), name).toBe(0);
    }
    await context.close();
  });

  it('lists the device in the fleet view and revokes the stick, which ends RECOVERY MODE', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/backups`);
    const fleetRow = page.getByTestId('disk-images-fleet').locator(`tr[data-device-id="${device.id}"]`);
    await eventually(() => fleetRow.isVisible()).toBe(true);
    expect(await fleetRow.getByTestId('images-fleet-last').innerText()).toBe(imageName);
    expect(await fleetRow.getByTestId('images-fleet-job').innerText()).toContain('restore: restoring the disks');
    expect(await fleetRow.innerText()).toContain('1.5 GiB of 8.0 GiB');
    await fleetRow.getByRole('link', { name: 'acme-rec-01' }).click();
    await page.waitForURL(`${e.web.url}/devices/${device.id}/recovery`);

    await page.getByRole('button', { name: 'Revoke…' }).click();
    await page.getByRole('dialog', { name: 'Revoke this recovery medium?' }).getByRole('button', { name: 'Revoke the stick' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => page.getByTestId('recovery-mode-banner').count()).toBe(0);
    expect(await page.getByTestId('recovery-mode-badge').count()).toBe(0);
    await eventually(() => page.getByText('No recovery stick for this device.').isVisible()).toBe(true);
    await page.getByText('Revoked media (1)').click();
    expect(await page.getByTestId('recovery-media-history').locator('tbody tr').count()).toBe(1);
    // The revoked stick's credential is dead.
    expect((await stick.request('GET', 'commands?waitSeconds=0')).status).toBe(401);
  });
  it('takes an image of a device not in RECOVERY MODE: it is told to reboot into its stick, and its failure is shown on the tab', async () => {
    const { page } = e;
    const other = await e.enrollDevice('acme-rec-02');
    await page.goto(`${e.web.url}/devices/${other.id}/recovery`);
    await eventually(() => page.getByText('No full-disk image yet.').isVisible()).toBe(true);
    expect(await page.getByTestId('recovery-mode-banner').count()).toBe(0);
    await page.getByRole('button', { name: 'Take full image now…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Take a full image of acme-rec-02?' });
    expect(await dialog.innerText()).toContain('The device reboots into its recovery stick');
    expect(await dialog.getByTestId('take-all-disks-note').innerText()).toContain('Every disk is imaged');
    expect(await dialog.getByTestId('take-disk-picker').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Take full image' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => page.getByTestId('disk-image-job-state').innerText()).toBe('rebooting into the recovery stick');
    expect(await page.getByTestId('disk-image-job').innerText()).toContain('Waiting for the recovery stick');
    expect(await page.getByRole('button', { name: 'Take full image now…' }).isDisabled()).toBe(true);

    // The agent gets reboot-to-recovery and cannot: the job's end (a device event, or the open job read again) reaches the tab.
    const polled = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: other.credential });
    const command = (polled.body.commands as Array<Record<string, any>>).find((c) => c.action === 'reboot-to-recovery');
    expect(command, polled.text).toBeDefined();
    const report = (body: unknown) =>
      e.api.request('POST', `agent/commands/${command!.commandId}/status`, { token: other.credential, body });
    expect((await report({ status: 'running' })).status).toBe(200);
    expect((await report({ status: 'failed', exitCode: 1, stderr: `no recovery stick found ${XSS}\n` })).status).toBe(200);
    await eventually(() => page.getByTestId('disk-image-job-state').innerText()).toBe('failed');
    expect(await page.getByTestId('disk-image-job-error').innerText()).toContain(`no recovery stick found ${XSS}`);
    expect(await page.getByRole('button', { name: 'Take full image now…' }).isDisabled()).toBe(false);
  });

  it("shows a FULL device's weekly schedule and a scheduled image that could not start as the schedule's, with its reason", async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-rec-weekly');
    const set = await e.api.request('PUT', `devices/${device.id}/backup-policy`, { token: e.admin, body: { mode: 'FULL' } });
    expect(set.status, set.text).toBe(200);
    await page.goto(`${e.web.url}/devices/${device.id}/recovery`);
    const schedule = page.getByTestId('disk-image-schedule');
    await eventually(() => schedule.innerText()).toContain(`Weekly image (FULL): Sunday 03:00 ${set.body.timeZone}, keep 3.`);
    expect(await page.getByTestId('disk-image-next').innerText()).toContain('03:00');
    // The slot comes (the worker's scheduler, at the policy's next image time): no recovery stick, so it fails with the reason.
    const slots = await e.api.app
      .get(DiskImageScheduleService, { strict: false })
      .scheduleDue(new Date(Date.parse(set.body.nextImageAt) + 30_000));
    expect(slots.filter((x) => x.deviceId === device.id)).toEqual([expect.objectContaining({ outcome: 'failed' })]);
    await page.reload();
    await eventually(() => page.getByTestId('disk-image-job-state').innerText()).toBe('failed');
    expect(await page.getByTestId('disk-image-job-trigger').innerText()).toContain('by the weekly schedule');
    expect(await page.getByTestId('disk-image-job-error').innerText()).toContain('no active recovery medium');
    await e.shot('66-disk-image-weekly-failed');
  });
});
