import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { ageKey, confirmStepUpIfAsked, fullId, setFile, startRun, stepUpAdmin, summaryOf } from './support/backup-runs.js';
import { eventually, signIn, useConsoleE2e } from './support/e2e.js';

/** Where the report's screenshots go (beside the alerts page's, console/test/alerts.spec.ts). */
const SHOTS = '/tmp/shots-backups';
const GiB = 1024 ** 3;

/**
 * The fleet Backups page against the real API: a backup server's capacity report (its own service
 * credential, POST backup-server/report), devices that succeeded (verified by the weekly check),
 * failed, or never ran, the failing/overdue filters in the URL, the link to a device's tab, the
 * recovery key set behind the TOTP prompt, and a Read-Only operator who sees no key panel.
 */
describe('console: fleet backups', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  it('shows capacity, each device’s state and the filters; a Super Admin sets the recovery key', async () => {
    const { page, api } = e;
    const ok = await e.enrollDevice('acme-fleet-ok');
    const failing = await e.enrollDevice('acme-fleet-failing');
    const never = await e.enrollDevice('acme-fleet-never');
    for (const d of [ok, failing, never]) await setFile(e, d);

    // ok: a success whose weekly check passed (last verified restorable); failing: the agent's reason.
    const good = await startRun(e, ok);
    await good.succeed({
      summary: summaryOf('4be1c0de', 3 * GiB),
      snapshots: [{ id: fullId('4be1c0de'), time: new Date().toISOString() }],
      check: { ok: true, subset: '10%', error: null },
      escrow: null,
    });
    const bad = await startRun(e, failing);
    await bad.fail('repository quota exceeded');

    // The backup server's report, with a service credential of its own: pool 90 % full, a clean scrub.
    await stepUpAdmin(e);
    const credential = await api.request('POST', 'service-credentials', {
      token: e.admin,
      body: { service: 'backup-server', name: 'vault-1' },
    });
    expect(credential.status, credential.text).toBe(201);
    const report = await api.request('POST', 'backup-server/report', {
      token: credential.body.secret,
      body: {
        generatedAt: new Date().toISOString(),
        store: 'zfs',
        pool: { name: 'backup-pool', sizeBytes: 1000 * GiB, usedBytes: 900 * GiB, freeBytes: 100 * GiB },
        devices: [
          { deviceId: ok.id, usedBytes: 5 * GiB, quotaBytes: 50 * GiB, snapshotCount: 12 },
          { deviceId: failing.id, usedBytes: 48 * GiB, quotaBytes: 50 * GiB, snapshotCount: 3 },
        ],
        lastScrub: { state: 'finished', finishedAt: new Date().toISOString(), errors: 0 },
      },
    });
    expect(report.status, report.text).toBe(200);

    await page.goto(`${e.web.url}/backups`);
    const nav = page.getByRole('link', { name: 'Backups', exact: true });
    await eventually(() => nav.getAttribute('aria-current')).toBe('page');
    const server = page.locator('[data-testid="backup-server"][data-server="vault-1"]');
    await eventually(() => server.innerText()).toContain('backup-pool');
    const serverText = await server.innerText();
    expect(serverText).toContain('90 % used');
    expect(serverText).toContain('nearly full');
    expect(serverText).toContain('100 GiB free');
    expect(serverText).toContain('2 devices, 53.0 GiB');
    expect(await server.getByTestId('scrub-state').innerText()).toBe('scrubbed, no errors');
    expect(await server.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('90');

    const row = (id: string) => page.locator(`tr[data-device-id="${id}"]`);
    await eventually(() => row(ok.id).innerText()).toContain('acme-fleet-ok');
    expect(await row(ok.id).getByTestId('fleet-mode').innerText()).toBe('FILE');
    expect(await row(ok.id).getByTestId('fleet-last-status').innerText()).toBe('succeeded');
    expect(await row(ok.id).getByTestId('fleet-usage').innerText()).toBe('5.0 GiB of 50.0 GiB (10 %)');
    expect(await row(ok.id).getByTestId('fleet-verified').innerText()).toBe('verified');
    expect(await row(ok.id).getByTestId('fleet-badges').innerText()).toBe('');
    const failingRow = await row(failing.id).innerText();
    expect(failingRow).toContain('repository quota exceeded');
    expect(await row(failing.id).getByTestId('fleet-badges').innerText()).toMatch(/failing[\s\S]*overdue[\s\S]*quota/);
    expect(await row(never.id).getByTestId('fleet-last-status').count()).toBe(0);
    expect(await row(never.id).innerText()).toContain('no run yet');
    expect(await row(never.id).getByTestId('fleet-badges').innerText()).toBe('overdue');
    expect(await row(never.id).getByTestId('fleet-verified').innerText()).toBe('never verified');

    // The recovery key: none yet; set behind the TOTP prompt; a bad key refused before sending.
    const key = page.getByTestId('recovery-key');
    await eventually(() => key.getByTestId('recovery-recipient').innerText()).toContain('not set');
    await page.getByRole('button', { name: 'Set key…' }).click();
    const form = page.getByTestId('recovery-key-form');
    await form.getByLabel('New recovery key').fill('age1notakey');
    await form.getByRole('button', { name: 'Save key' }).click();
    await eventually(() => form.innerText()).toContain('must be an age X25519 public key');
    const recovery = ageKey('recovery');
    await form.getByLabel('New recovery key').fill(recovery.recipient);
    await form.getByRole('button', { name: 'Save key' }).click();
    await confirmStepUpIfAsked(e, page);
    await eventually(() => key.getByTestId('recovery-recipient').innerText()).toBe(recovery.recipient);
    expect(await key.getByTestId('recovery-devices').innerText()).toMatch(/0 escrowed, \d+ pending/);
    const stored = await api.request('GET', 'backups/recovery-key', { token: e.admin });
    expect(stored.body.recipient).toBe(recovery.recipient);

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/backups-fleet.png`, fullPage: true });

    // Filters in the URL: failing, then overdue, kept on reload; the link leads to the device's tab.
    await page.getByLabel('Filter backups').selectOption('failing');
    await page.waitForURL(/filter=failing/);
    await eventually(() =>
      page.locator('tr[data-device-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id'))),
    ).toEqual([failing.id]);
    await page.getByLabel('Filter backups').selectOption('overdue');
    await page.waitForURL(/filter=overdue/);
    await page.reload();
    await eventually(async () => {
      const ids = await page.locator('tr[data-device-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')));
      return [ids.includes(failing.id), ids.includes(never.id), ids.includes(ok.id)];
    }).toEqual([true, true, false]);
    expect(await page.getByLabel('Filter backups').inputValue()).toBe('overdue');
    await page.getByLabel('Filter backups').selectOption('');
    await row(ok.id).getByRole('link', { name: 'acme-fleet-ok' }).click();
    await page.waitForURL(`${e.web.url}/devices/${ok.id}/backups`);
  });

  it('shows a Read-Only operator the page without the recovery key', async () => {
    const user = await e.api.createUser(e.admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/backups?filter=failing`);
    await signIn(p, user.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/backups?filter=failing`);
    await eventually(() => p.getByTestId('backups-fleet').innerText()).toContain('acme-fleet-failing');
    await p.getByTestId('backup-servers').waitFor();
    expect(await p.getByTestId('recovery-key').count()).toBe(0);
    await context.close();
  });
});
