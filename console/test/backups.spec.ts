import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, TEST_PASSWORD } from '../../api/test/support/harness.js';
import { eventually, signIn, useConsoleE2e, type TestDevice } from './support/e2e.js';

/**
 * The device page's Backups tab against the real API: the policy (defaults, an edit refused by the
 * API with the form kept, then saved), "Back up now" and its refusal while a run is open, a run
 * carried to success by the agent's routes and restored behind the TOTP prompt, and a Read-Only
 * operator who sees everything and may change nothing.
 */
describe('console: backups', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  const statusOf = (p: Page, runId: string) => p.locator(`tr[data-run-id="${runId}"] [data-testid="backup-run-status"]`).innerText();
  async function runsOf(deviceId: string): Promise<Array<Record<string, any>>> {
    const r = await e.api.request('GET', `devices/${deviceId}/backup-runs`, { token: e.admin });
    expect(r.status, r.text).toBe(200);
    return r.body.items;
  }
  async function setFile(device: TestDevice): Promise<void> {
    const r = await e.api.request('PUT', `devices/${device.id}/backup-policy`, { token: e.admin, body: { mode: 'FILE', paths: ['/etc'] } });
    expect(r.status, r.text).toBe(200);
  }

  it('shows the defaults, keeps a refused edit as typed, saves a FILE policy and backs up now', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-bak-01');
    await page.goto(`${e.web.url}/devices/${device.id}/backups`);
    const tabs = page.getByTestId('device-tabs');
    await eventually(() => tabs.getByRole('link', { name: 'Backups' }).getAttribute('aria-current')).toBe('page');

    // The scanner's defaults, OFF, and why there is nothing to back up now.
    const policy = page.getByTestId('backup-policy');
    await eventually(() => policy.innerText()).toContain('/var/lib/gvm');
    expect(await page.getByTestId('backup-mode').innerText()).toBe('OFF');
    expect(await page.getByTestId('backup-policy-defaults').innerText()).toBe('defaults of the device type');
    expect(await policy.innerText()).toContain('02:00 (Europe/Berlin)');
    expect(await page.getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('backup-now-blocker').innerText()).toContain('set the mode to FILE or HYBRID first');
    await page.getByText('No backup runs for this device yet.').waitFor();

    await page.getByRole('button', { name: 'Edit policy' }).click();
    const form = page.getByTestId('backup-policy-form');
    expect(await form.locator('option[value="FULL"]').isDisabled()).toBe(false);
    expect(await form.locator('option[value="HYBRID"]').innerText()).toContain('files nightly + full-disk image weekly');
    await form.getByLabel('Mode').selectOption('FILE');
    const typed = '/etc\nsrv/data\n/opt/app';
    await form.getByLabel('Paths').fill(typed);
    await form.getByLabel(/Nightly at/).fill('03:30');
    await form.getByRole('button', { name: 'Save policy' }).click();
    // The API's words, next to the form, which still holds what was typed; nothing was stored.
    await eventually(() => form.getByTestId('problem').innerText()).toContain('must be an absolute path');
    expect(await form.getByLabel('Paths').inputValue()).toBe(typed);
    expect(await form.getByLabel('Mode').inputValue()).toBe('FILE');
    expect(await form.getByLabel(/Nightly at/).inputValue()).toBe('03:30');
    const stored = await e.api.request('GET', `devices/${device.id}/backup-policy`, { token: e.admin });
    expect([stored.body.mode, stored.body.customized]).toEqual(['OFF', false]);
    await e.shot('60-backup-policy-refused');

    await form.getByLabel('Paths').fill('/etc\n/srv/data\n\n/opt/app\n');
    await form.getByLabel('Keep weekly').fill('2');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await eventually(() => page.getByTestId('backup-mode').innerText()).toBe('FILE');
    const saved = await policy.innerText();
    expect(saved).toContain('/srv/data');
    expect(saved).not.toContain('/var/lib/gvm');
    expect(saved).toContain('03:30 (Europe/Berlin)');
    expect(saved).toContain('7 daily, 2 weekly');
    expect(saved).toContain(ADMIN_EMAIL);
    expect(await page.getByTestId('backup-policy-defaults').count()).toBe(0);
    const after = await e.api.request('GET', `devices/${device.id}/backup-policy`, { token: e.admin });
    expect(after.body).toMatchObject({ mode: 'FILE', paths: ['/etc', '/srv/data', '/opt/app'], localTime: '03:30', keepWeekly: 2 });

    // Back up now: a scheduled run by hand; a second one is refused while it is open.
    await eventually(() => page.getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Back up now' }).click();
    await eventually(async () => (await runsOf(device.id)).length).toBe(1);
    const [run] = await runsOf(device.id);
    await eventually(() => statusOf(page, run!.id)).toBe('scheduled');
    expect(await page.locator(`tr[data-run-id="${run!.id}"]`).innerText()).toContain(`by hand (${ADMIN_EMAIL})`);
    await page.getByRole('button', { name: 'Back up now' }).click();
    await eventually(() => page.getByTestId('problem').first().innerText()).toContain('BACKUP_RUN_IN_PROGRESS');
    expect(await runsOf(device.id)).toHaveLength(1);
    await e.shot('61-backup-runs');
  });

  it('follows a run to success while open, then restores its snapshot behind the TOTP prompt', async () => {
    const { page, api } = e;
    const device = await e.enrollDevice('acme-bak-restore');
    await setFile(device);
    const started = await api.request('POST', `devices/${device.id}/backup-runs`, { token: e.admin });
    expect(started.status, started.text).toBe(201);
    const runId = started.body.id as string;
    await page.goto(`${e.web.url}/devices/${device.id}/backups`);
    await eventually(() => statusOf(page, runId)).toBe('scheduled');

    // The agent's side: the run arrives as backup.run and succeeds with restic's summary line.
    const polled = await api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    const command = (polled.body.commands as Array<{ commandId: string; action: string }>).find((c) => c.action === 'backup.run');
    expect(command, polled.text).toBeDefined();
    const summary = {
      snapshotId: '7f25e8971a2b',
      filesNew: 3,
      filesChanged: 0,
      filesUnmodified: 0,
      dataAddedBytes: 3 * 1024 * 1024,
      totalFiles: 3,
      totalBytes: 3 * 1024 * 1024,
      durationSeconds: 1.5,
      unreadableFiles: 0,
    };
    // The agent's result line (agent/src/backups/backup-result.ts): the summary, the repository's listing, no check, no escrow.
    const result = {
      summary,
      snapshots: [{ id: '7f25e8971a2b'.padEnd(64, '0'), time: new Date().toISOString() }],
      check: null,
      escrow: null,
    };
    const done = await api.request('POST', `agent/commands/${command!.commandId}/status`, {
      token: device.credential,
      body: { status: 'succeeded', exitCode: 0, stdout: `backup of 1 path\n${JSON.stringify(result)}\n` },
    });
    expect(done.status, done.text).toBe(200);
    // No reload: the open run is read again within 10 s.
    await eventually(() => statusOf(page, runId), { timeout: 20_000 }).toBe('succeeded');
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    expect(await row.innerText()).toContain('7f25e8971a2b');
    expect(await row.innerText()).toContain('+3.0 MiB');

    await e.stepUpExpired();
    await row.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore files on acme-bak-restore' });
    // The run's snapshot, as the catalog lists it (its full id), with the paths it backed up to tick.
    expect(await dialog.getByLabel('Snapshot', { exact: true }).inputValue()).toBe('7f25e8971a2b'.padEnd(64, '0'));
    expect(await dialog.getByTestId('restore-paths').innerText()).toContain('/etc');
    await dialog.getByLabel('Or sub-paths').fill('/etc/nginx\n');
    await dialog.getByLabel('another directory').check();
    await dialog.getByLabel('Directory to restore into').fill('/srv/restore');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await e.confirmStepUp(page);
    await eventually(async () => (await runsOf(device.id)).length).toBe(2);
    const [restore] = await runsOf(device.id);
    expect(restore).toMatchObject({
      kind: 'restore',
      status: 'scheduled',
      request: {
        snapshotId: '7f25e8971a2b'.padEnd(64, '0'),
        paths: ['/etc/nginx'],
        target: { mode: 'alternate', directory: '/srv/restore' },
      },
    });
    await eventually(() => statusOf(page, restore!.id)).toBe('scheduled');
    expect(await page.locator(`tr[data-run-id="${restore!.id}"]`).innerText()).toContain('/srv/restore');
    expect(await dialog.isVisible()).toBe(false);
  });

  it('sets HYBRID with the weekly image and images to keep; a keep outside 2–4 is refused with the form kept', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-bak-hybrid');
    await page.goto(`${e.web.url}/devices/${device.id}/backups`);
    await page.getByRole('button', { name: 'Edit policy' }).click();
    const form = page.getByTestId('backup-policy-form');
    await form.getByLabel('Mode').selectOption('HYBRID');
    await form.getByLabel('Full-disk image on').selectOption('saturday');
    await form.getByLabel('Full-disk image time').fill('04:15');
    await form.getByLabel('Keep images').fill('5');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await eventually(() => form.getByTestId('problem').innerText()).toContain('keepImages');
    expect(await form.getByLabel('Keep images').inputValue()).toBe('5');
    await form.getByLabel('Keep images').fill('4');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await eventually(() => page.getByTestId('backup-mode').innerText()).toBe('HYBRID');
    expect(await page.getByTestId('backup-image-schedule').innerText()).toBe('weekly, Saturday 04:15 (Europe/Berlin); keep 4');
    await page.getByTestId('backup-next-image').waitFor();
    const stored = await e.api.request('GET', `devices/${device.id}/backup-policy`, { token: e.admin });
    expect(stored.body).toMatchObject({ mode: 'HYBRID', imageWeekday: 'saturday', imageLocalTime: '04:15', keepImages: 4 });
    await e.shot('62-backup-policy-hybrid');
  });

  it('shows a Read-Only operator the policy and runs, and no buttons', async () => {
    const { api, admin } = e;
    const device = await e.enrollDevice('acme-bak-ro');
    await setFile(device);
    expect((await api.request('POST', `devices/${device.id}/backup-runs`, { token: admin })).status).toBe(201);
    const user = await api.createUser(admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/devices/${device.id}/backups`);
    await signIn(p, user.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/devices/${device.id}/backups`);
    await eventually(() => p.getByTestId('backup-mode').innerText()).toBe('FILE');
    await eventually(() => p.locator('[data-testid="backup-run-status"]').allInnerTexts()).toEqual(['scheduled']);
    for (const name of ['Edit policy', 'Back up now', 'Restore…']) expect(await p.getByRole('button', { name }).count()).toBe(0);
    expect(await p.getByTestId('backup-policy-form').count()).toBe(0);
    await context.close();
  });
});
