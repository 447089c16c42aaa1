import { mkdirSync, readFileSync } from 'node:fs';
import type { Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ageDecrypt,
  ageEncrypt,
  ageKey,
  confirmStepUpIfAsked,
  fullId,
  setFile,
  startRun,
  stepUpAdmin,
  summaryOf,
} from './support/backup-runs.js';
import { eventually, sleep, useConsoleE2e, type TestDevice } from './support/e2e.js';

/** Where the report's screenshots go (beside the alerts page's, console/test/alerts.spec.ts). */
const SHOTS = '/tmp/shots-backups';
const MiB = 1024 ** 2;

/**
 * The device page's Backups tab against the real API and the agent's routes: the snapshot catalog
 * and "last verified restorable", a running backup's progress bar moved by `backup.progress`, the
 * restore dialog's path picker (problems named before sending, the API's refusal shown, then a
 * restore queued), and a restore onto new hardware whose password is encrypted in the browser to
 * the replacement device's transfer key (checked with the age CLI).
 */
describe('console: backup restores', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  async function runsOf(device: TestDevice): Promise<Array<Record<string, any>>> {
    const r = await e.api.request('GET', `devices/${device.id}/backup-runs`, { token: e.admin });
    expect(r.status, r.text).toBe(200);
    return r.body.items;
  }
  /** Every POST of a restore the page sends, as sent. */
  function restoreBodies(p: typeof e.page): string[] {
    const bodies: string[] = [];
    p.on('request', (r: Request) => {
      if (r.method() === 'POST' && r.url().includes('/backup-restores')) bodies.push(r.postData() ?? '');
    });
    return bodies;
  }

  it('lists the catalog, follows a running backup live and restores chosen paths', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-bak-catalog');
    await setFile(e, device);
    const older = new Date(Date.now() - 26 * 3600_000).toISOString();
    const first = await startRun(e, device);
    await first.succeed({
      summary: summaryOf('c0ffee01', 120 * MiB),
      // One snapshot no run of ours made (sizes unknown), and the one this run made.
      snapshots: [
        { id: fullId('0ddba11a'), time: older },
        { id: fullId('c0ffee01'), time: new Date().toISOString() },
      ],
      check: { ok: true, subset: '10%', error: null },
      escrow: null,
    });
    const running = await startRun(e, device);
    await running.progress(0.42, 250);

    const bodies = restoreBodies(page);
    await page.goto(`${e.web.url}/devices/${device.id}/backups`);
    const snapshots = page.getByTestId('backup-snapshots');
    const made = snapshots.locator(`tr[data-snapshot-id="${fullId('c0ffee01')}"]`);
    await eventually(() => made.innerText()).toContain('c0ffee010000');
    const madeText = await made.innerText();
    expect(madeText).toContain('120 MiB');
    expect(madeText).toContain('+30.0 MiB');
    expect(madeText).toContain('44');
    expect(madeText).toContain('1 m 15 s');
    expect(await snapshots.locator(`tr[data-snapshot-id="${fullId('0ddba11a')}"]`).innerText()).toContain('—');
    expect(await page.getByTestId('last-verified').innerText()).toMatch(/ago|just now/);

    // The running backup's progress, then a newer report arriving live (well within the 10 s refetch).
    const progress = page.getByTestId('backup-progress');
    await eventually(() => progress.getByTestId('backup-progress-percent').innerText()).toBe('42 %');
    expect(await progress.innerText()).toMatch(/about 4 m \d\d s left/);
    expect(await progress.getByTestId('backup-progress-files').innerText()).toBe('185 of 440 files');
    expect(await progress.getByTestId('backup-progress-bytes').innerText()).toBe('16.8 MiB of 40.0 MiB');
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('42');
    await running.progress(0.73, 90);
    await eventually(() => progress.getByTestId('backup-progress-percent').innerText(), { timeout: 5000 }).toBe('73 %');
    expect(await progress.innerText()).toMatch(/about 1 m \d\d s left|about \d+ s left/);
    mkdirSync(SHOTS, { recursive: true });
    await sleep(600); // the bar's width transition
    await page.screenshot({ path: `${SHOTS}/device-backups.png`, fullPage: true });

    // The path picker: the snapshot's backed-up paths to tick, sub-paths typed; problems named before sending.
    await made.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore files on acme-bak-catalog' });
    expect(await dialog.getByLabel('Snapshot', { exact: true }).inputValue()).toBe(fullId('c0ffee01'));
    expect(await dialog.getByTestId('restore-paths').innerText()).toMatch(/\/etc[\s\S]*\/srv\/data/);
    await dialog.getByLabel('Or sub-paths').fill('etc/nginx\n/srv/../root');
    await dialog.getByLabel('another directory').check();
    await dialog.getByLabel('Directory to restore into').fill('restore');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await eventually(() => dialog.innerText()).toContain('“etc/nginx” must be an absolute path (start with /)');
    const shown = await dialog.innerText();
    expect(shown).toContain('“/srv/../root” must not contain ".." segments');
    expect(shown).toContain('“restore” must be an absolute path');
    await e.shot('62-backup-restore-path-picker');
    await dialog.getByLabel('Or sub-paths').fill('');
    await dialog.getByLabel('Directory to restore into').fill('/srv/restore');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await eventually(() => dialog.innerText()).toContain('tick a path or type one');
    expect(bodies).toEqual([]);

    // The API's refusal (a backup is still running) shown in the dialog, which keeps the choice.
    await dialog.getByRole('checkbox', { name: '/etc' }).check();
    await dialog.getByLabel('Or sub-paths').fill('/srv/data/app\n');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => dialog.getByTestId('problem').innerText()).toContain('BACKUP_RUN_IN_PROGRESS');
    expect(await dialog.getByRole('checkbox', { name: '/etc' }).isChecked()).toBe(true);

    // Once the backup is done, the same restore is queued: the run carries exactly the chosen paths.
    await running.succeed({
      summary: summaryOf('c0ffee02', 121 * MiB),
      snapshots: [
        { id: fullId('0ddba11a'), time: older },
        { id: fullId('c0ffee01'), time: new Date(Date.now() - 60_000).toISOString() },
        { id: fullId('c0ffee02'), time: new Date().toISOString() },
      ],
      check: null,
      escrow: null,
    });
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(async () => (await runsOf(device)).filter((r) => r.kind === 'restore').length).toBe(1);
    const restore = (await runsOf(device)).find((r) => r.kind === 'restore')!;
    expect(restore).toMatchObject({
      status: 'scheduled',
      request: {
        snapshotId: fullId('c0ffee01'),
        paths: ['/etc', '/srv/data/app'],
        target: { mode: 'alternate', directory: '/srv/restore' },
      },
    });
    await eventually(() => dialog.isVisible()).toBe(false);
    // The progress card follows the restore now; the catalog lists the new snapshot.
    await eventually(() => page.locator(`tr[data-snapshot-id="${fullId('c0ffee02')}"]`).count(), { timeout: 20_000 }).toBe(1);
  });

  it('restores a dead device’s backups onto new hardware with the password encrypted in the browser', async () => {
    const { page, api } = e;
    const recovery = ageKey('recovery');
    const transfer = ageKey('transfer');
    const password = 'Tr0ub4dor&3 horse staple';
    await stepUpAdmin(e);
    const key = await api.request('PUT', 'backups/recovery-key', { token: e.admin, body: { recipient: recovery.recipient } });
    expect(key.status, key.text).toBe(200);

    // The dead device escrowed its password (encrypted on the device to the recovery key) with its last backup.
    const dead = await e.enrollDevice('acme-bak-dead');
    await setFile(e, dead);
    const last = await startRun(e, dead);
    await last.succeed({
      summary: summaryOf('deadbeef', 64 * MiB),
      snapshots: [{ id: fullId('deadbeef'), time: new Date().toISOString() }],
      check: null,
      escrow: { recipient: recovery.recipient, ciphertext: ageEncrypt(recovery.recipient, password) },
    });
    const replacement = await e.enrollDevice('acme-bak-new');

    // Before the replacement reports a transfer key, the dialog says why nothing can be sent.
    await page.goto(`${e.web.url}/devices/${replacement.id}/backups`);
    await page.getByRole('button', { name: "Restore another device's backups here…" }).click();
    const dialog = page.getByRole('dialog', { name: "Restore another device's backups on acme-bak-new" });
    await eventually(() => dialog.getByTestId('transfer-key-missing').innerText()).toContain('has not reported a transfer key yet');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    const reported = await api.request('POST', 'agent/backup-transfer-key', {
      token: replacement.credential,
      body: { recipient: transfer.recipient },
    });
    expect(reported.status, reported.text).toBeLessThan(300);

    const bodies = restoreBodies(page);
    await page.reload();
    await page.getByRole('button', { name: "Restore another device's backups here…" }).click();
    await eventually(() => dialog.getByTestId('transfer-key').innerText()).toContain(transfer.recipient.slice(0, 16));
    await dialog.getByLabel('Source device').fill('acme-bak-dead');
    await dialog.getByRole('button', { name: /^acme-bak-dead/ }).click();
    await eventually(() => dialog.getByTestId('transfer-source').innerText()).toContain('acme-bak-dead');

    // The escrow, downloaded as <device>.age, decrypts offline with the recovery key to the password.
    const downloading = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download acme-bak-dead.age' }).click();
    await confirmStepUpIfAsked(e, page);
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('acme-bak-dead.age');
    const escrowFile = readFileSync((await download.path())!, 'utf8');
    const decrypted = ageDecrypt(recovery.file, escrowFile);
    expect(decrypted).toBe(password);

    await dialog.getByLabel('Snapshot', { exact: true }).selectOption(fullId('deadbeef'));
    await dialog.getByRole('checkbox', { name: '/etc' }).check();
    await dialog.getByLabel('Repository password').fill(decrypted);
    await e.shot('63-backup-new-hardware');
    await dialog.getByRole('button', { name: 'Restore here' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(async () => (await runsOf(replacement)).length).toBe(1);
    await eventually(() => dialog.isVisible()).toBe(false);

    // What left the browser: the ciphertext only, which the replacement's transfer identity decrypts to the password.
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(body).not.toContain(password);
    const sent = JSON.parse(bodies.at(-1)!);
    expect(sent).toMatchObject({
      snapshotId: fullId('deadbeef'),
      paths: ['/etc'],
      target: { mode: 'original' },
      source: { deviceId: dead.id },
    });
    expect(ageDecrypt(transfer.file, sent.source.passwordCiphertext)).toBe(password);
    const [run] = await runsOf(replacement);
    expect(run).toMatchObject({
      kind: 'restore',
      request: { source: { deviceId: dead.id, passwordCiphertext: sent.source.passwordCiphertext } },
    });
    expect(JSON.stringify(run)).not.toContain(password);

    // Opened again, the form starts empty: the password was not kept.
    await page.getByRole('button', { name: "Restore another device's backups here…" }).click();
    expect(await dialog.getByLabel('Repository password').inputValue()).toBe('');
  });
});
