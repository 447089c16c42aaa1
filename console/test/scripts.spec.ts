import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { eventually, signIn, useConsoleE2e, XSS, type TestDevice } from './support/e2e.js';

/**
 * The script library page (Administration), "Run script…" in the Actions menu and in bulk
 * actions, script runs in the commands tab, and the fleet-wide Commands view. The device side is
 * played through the agent routes, as in commands.spec.ts.
 */
describe('console: scripts and the fleet commands view', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  /** A change through the API as the admin: a refused step-up is answered with the next code, then retried. */
  async function asAdmin(method: string, path: string, body?: unknown) {
    let r = await e.api.request(method, path, { token: e.admin, body });
    if (r.status === 403 && r.body?.code === 'AUTH_STEP_UP_REQUIRED') {
      const stepUp = await e.api.request('POST', 'auth/step-up', { token: e.admin, body: { code: await e.adminCode() } });
      expect(stepUp.status, stepUp.text).toBe(200);
      r = await e.api.request(method, path, { token: e.admin, body });
    }
    return r;
  }
  async function newScript(name: string, content = '#!/bin/bash\necho "$@"\n'): Promise<{ id: string; sha256: string }> {
    const r = await asAdmin('POST', 'scripts', { name, interpreter: 'bash', content, timeoutSeconds: 60 });
    expect(r.status, r.text).toBe(201);
    return r.body;
  }
  async function fetchCommands(device: TestDevice): Promise<Array<{ commandId: string; action: string; params: Record<string, unknown> }>> {
    const r = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(r.status, r.text).toBe(200);
    return r.body.commands;
  }
  async function report(device: TestDevice, commandId: string, body: Record<string, unknown>): Promise<void> {
    const r = await e.api.request('POST', `agent/commands/${commandId}/status`, { token: device.credential, body });
    expect(r.status, r.text).toBe(200);
  }
  /**
   * After a critical action: the TOTP prompt when the last check is no longer fresh, else nothing.
   * Either way `done` must come true; which one happens depends on time, not on the console.
   */
  async function critical(p: Page, done: () => Promise<unknown>): Promise<void> {
    const prompt = p.getByRole('heading', { name: 'Confirm a critical action' });
    const first = await Promise.race([
      prompt.waitFor({ timeout: 20_000 }).then(
        () => 'prompt',
        () => 'none',
      ),
      done().then(
        () => 'done',
        () => 'none',
      ),
    ]);
    if (first === 'prompt') await e.confirmStepUp(p);
    await done();
  }
  async function pick(p: Page, item: string, menu = 'command-actions', button: RegExp = /Actions/): Promise<void> {
    await p.getByTestId(menu).getByRole('button', { name: button }).click();
    await p.getByRole('menuitem', { name: item }).click();
  }

  it('adds a script behind the TOTP prompt, refuses bad input before sending, shows the API refusal, edits and deletes', async () => {
    const { page } = e;
    await e.stepUpExpired();
    await page.goto(`${e.web.url}/devices`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Script library' }).click();
    await page.waitForURL(`${e.web.url}/admin/scripts`);
    await page.getByText('The library is empty').waitFor();

    // The contract's rules hold before anything is sent.
    await page.getByRole('button', { name: 'New script' }).click();
    const editor = page.getByTestId('script-editor');
    await editor.getByLabel('Name').fill('Rotate logs');
    await editor.getByLabel('Timeout (seconds)').fill('5000');
    await editor.getByRole('button', { name: 'Add script' }).click();
    await eventually(() => editor.innerText()).toContain('must not be empty');
    expect(await editor.innerText()).toMatch(/3600/);
    expect((await e.api.request('GET', 'scripts', { token: e.admin })).body.total).toBe(0);

    const content = `#!/bin/bash\n# ${XSS}\nfind /var/log/gvm -name '*.log' -size +100M -exec gzip {} \\;\necho "rotated: $*"\n`;
    await editor.getByLabel('Timeout (seconds)').fill('120');
    await editor.getByLabel('Description').fill('Compresses large Greenbone logs.');
    await editor.getByLabel('Content').fill(content);
    await eventually(() => editor.getByTestId('script-size').innerText()).toContain(`${Buffer.byteLength(content)} B of 256 KiB`);
    await e.shot('30-script-editor');
    await editor.getByRole('button', { name: 'Add script' }).click();
    await e.confirmStepUp(page);
    await eventually(() => page.getByTestId('script-notice').innerText()).toBe('“Rotate logs” was added.');
    const created = (await e.api.request('GET', 'scripts', { token: e.admin })).body.items[0];
    expect(created).toMatchObject({ name: 'Rotate logs', interpreter: 'bash', timeoutSeconds: 120, archived: false });
    const row = page.locator(`tr[data-script-id="${created.id}"]`);
    expect(await row.innerText()).toContain(created.sha256.slice(0, 12));
    // Selected after saving: its content shown as text.
    await eventually(() => page.getByTestId('script-content').innerText()).toContain(XSS);
    expect(await page.getByTestId('script-sha256').innerText()).toBe(created.sha256);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await e.shot('31-script-library');

    // Names are unique in any letter case: the API's 409 is shown in the editor.
    await page.getByRole('button', { name: 'New script' }).click();
    await editor.getByLabel('Name').fill('rotate LOGS');
    await editor.getByLabel('Content').fill('echo again\n');
    await editor.getByRole('button', { name: 'Add script' }).click();
    await critical(page, () => editor.getByTestId('problem').waitFor());
    expect(await editor.getByTestId('problem').innerText()).toContain('SCRIPT_NAME_TAKEN');
    await e.shot('32-script-name-taken');
    await editor.getByRole('button', { name: 'Cancel' }).click();

    // Editing the content makes a new version (a new SHA-256).
    await row.getByRole('button', { name: 'Rotate logs', exact: true }).click();
    await page.getByRole('button', { name: 'Edit' }).click();
    await editor.getByLabel('Content').fill('#!/bin/bash\necho v2 "$@"\n');
    await editor.getByRole('button', { name: 'Save script' }).click();
    await critical(page, () => page.getByText('“Rotate logs” was saved.').waitFor());
    const edited = (await e.api.request('GET', `scripts/${created.id}`, { token: e.admin })).body;
    expect(edited.sha256).not.toBe(created.sha256);
    await eventually(() => page.getByTestId('script-sha256').innerText()).toBe(edited.sha256);

    // A script no command ran is deleted (after a confirmation).
    const unused = await newScript('Unused');
    await page.reload();
    await page.getByRole('button', { name: 'Delete Unused' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete the script “Unused”?' });
    expect(await confirm.innerText()).toContain('archived instead');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await critical(page, () => page.getByText('“Unused” was deleted.').waitFor());
    await eventually(() => page.locator(`tr[data-script-id="${unused.id}"]`).count()).toBe(0);
    expect((await e.api.request('GET', `scripts/${unused.id}`, { token: e.admin })).status).toBe(404);
  });

  it('runs a script from the Actions menu with its arguments as a list and shows it in the commands tab and the fleet view', async () => {
    const { page } = e;
    const script = await newScript('Collect scan logs');
    const device = await e.enrollDevice('acme-script-01');
    await device.heartbeat();
    await page.goto(`${e.web.url}/devices/${device.id}`);
    await page.getByTestId('device-name').waitFor();
    await pick(page, 'Run script…');
    const dialog = page.getByTestId('command-dialog');
    expect(await dialog.getByRole('heading').innerText()).toBe('Run the script on acme-script-01?');
    await dialog.getByLabel('Script').selectOption({ label: 'Collect scan logs (bash)' });
    expect(await dialog.getByTestId('script-run-sha256').innerText()).toBe(script.sha256);

    // One field per argument; a space stays inside its argument; a too long one is refused before sending.
    for (let i = 0; i < 3; i++) await dialog.getByRole('button', { name: 'Add argument' }).click();
    await dialog.getByLabel('Argument 1', { exact: true }).fill('--since');
    await dialog.getByLabel('Argument 2', { exact: true }).fill('x'.repeat(1025));
    await dialog.getByLabel('Argument 3', { exact: true }).fill('2 hours ago');
    await dialog.getByRole('button', { name: 'Run the script' }).click();
    await eventually(() => dialog.innerText()).toContain('must be at most 1024 characters');
    expect((await e.api.request('GET', `devices/${device.id}/commands`, { token: e.admin })).body.total).toBe(0);
    await dialog.getByRole('button', { name: 'Remove argument 2' }).click();
    expect(await dialog.getByLabel('Argument 2', { exact: true }).inputValue()).toBe('2 hours ago');
    expect(await dialog.getByTestId('command-summary').innerText()).toContain(
      'Run the script Collect scan logs with 2 arguments on this device',
    );
    expect(await dialog.innerText()).toContain('critical action');
    await e.shot('33-script-run-confirm');
    await dialog.getByRole('button', { name: 'Run the script' }).click();
    await critical(page, () => page.waitForURL(new RegExp(`/devices/${device.id}/commands\\?command=`)));
    const commandId = new URL(page.url()).searchParams.get('command')!;

    // Sent as a list, signed with the library's version.
    const stored = (await e.api.request('GET', `commands/${commandId}`, { token: e.admin })).body;
    expect(stored.params).toMatchObject({ scriptId: script.id, sha256: script.sha256, args: ['--since', '2 hours ago'] });
    const row = page.locator(`tr[data-command-id="${commandId}"]`);
    await eventually(() => row.innerText()).toContain('Collect scan logs --since "2 hours ago"');
    const detail = page.getByTestId('script-run-detail');
    await eventually(() => detail.getByTestId('script-run-args').locator('li').allInnerTexts()).toEqual(['--since', '2 hours ago']);
    expect(await detail.innerText()).toContain(script.sha256);
    await e.shot('34-script-run-command');

    // The fleet view: every device's commands, live, filtered, each leading to its device's tab.
    const other = await e.enrollDevice('acme-script-02');
    const restart = await asAdmin('POST', `devices/${other.id}/commands`, { action: 'service.restart', params: { unit: 'gvmd.service' } });
    expect(restart.status, restart.text).toBe(201);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Commands', exact: true }).click();
    await page.waitForURL(`${e.web.url}/commands`);
    const fleet = page.getByTestId('fleet-commands');
    const fleetRow = fleet.locator(`tr[data-command-id="${commandId}"]`);
    await eventually(() => fleetRow.innerText()).toContain('acme-script-01');
    expect(await fleetRow.innerText()).toContain('Collect scan logs --since "2 hours ago"');
    await eventually(() => fleet.locator(`tr[data-command-id="${restart.body.id}"]`).innerText()).toContain('acme-script-02');
    const status = fleetRow.getByTestId('command-status');
    expect(await status.innerText()).toBe('queued');
    const signed = await fetchCommands(device);
    expect(signed.map((c) => [c.commandId, c.params.sha256])).toEqual([[commandId, script.sha256]]);
    await eventually(() => status.innerText()).toBe('delivered');
    await report(device, commandId, { status: 'running' });
    await eventually(() => status.innerText()).toBe('running');
    // A command queued meanwhile appears without a reload.
    const later = await asAdmin('POST', `devices/${other.id}/commands`, { action: 'diagnostics.collect', params: {} });
    await eventually(() => fleet.locator(`tr[data-command-id="${later.body.id}"]`).count()).toBe(1);
    await e.shot('35-fleet-commands');

    await page.getByLabel('Filter by action').selectOption('script.run');
    await eventually(() => fleet.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Filter by action').selectOption('');
    await page.getByLabel('Filter by device').fill('acme-script-02');
    await page
      .getByRole('list', { name: 'Matching devices' })
      .getByRole('button', { name: /acme-script-02/ })
      .click();
    await eventually(() => page.getByTestId('device-filter').innerText()).toContain('acme-script-02');
    expect(new URL(page.url()).searchParams.get('deviceId')).toBe(other.id);
    await eventually(() => fleet.locator('tbody tr').count()).toBe(2);
    await page.getByLabel('Filter by status').selectOption('running');
    await page.getByText('No commands match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await eventually(() => fleet.locator('tbody tr').count()).toBe(3);

    await fleetRow.getByTestId('command-link').click();
    await page.waitForURL(`${e.web.url}/devices/${device.id}/commands?command=${commandId}`);
    await eventually(() => page.getByTestId('script-run-args').locator('li').count()).toBe(2);
  });

  it('runs a script on a selection, and a deleted script that ran is archived and no longer offered', async () => {
    const { page } = e;
    const script = await newScript('Restart scanner feed');
    await newScript('Still runnable');
    const a = await e.enrollDevice('bulk-script-a');
    const b = await e.enrollDevice('bulk-script-b');
    await page.goto(`${e.web.url}/devices?q=bulk-script-`);
    await eventually(() => page.locator('[data-testid="device-table"] tbody tr').count()).toBe(2);
    await page.getByLabel('Select every device on this page').check();
    await pick(page, 'Run script…', 'bulk-bar', /Bulk actions/);
    const dialog = page.getByTestId('command-dialog');
    await dialog.getByLabel('Script').selectOption({ label: 'Restart scanner feed (bash)' });
    await dialog.getByRole('button', { name: 'Add argument' }).click();
    await dialog.getByLabel('Argument 1', { exact: true }).fill('--feed=nvt');
    const targets = await dialog.getByTestId('command-targets').innerText();
    for (const name of ['bulk-script-a', 'bulk-script-b']) expect(targets).toContain(name);
    expect(await dialog.getByTestId('script-run-sha256').innerText()).toBe(script.sha256);
    await dialog.getByRole('button', { name: 'Run the script on 2 devices' }).click();
    const outcome = dialog.getByTestId('bulk-outcome');
    await critical(page, () => outcome.waitFor());
    await eventually(() => outcome.innerText()).toContain('2 of 2 queued');
    await e.shot('36-script-bulk-outcome');
    for (const device of [a, b])
      expect((await fetchCommands(device)).map((c) => [c.action, c.params.args])).toEqual([['script.run', ['--feed=nvt']]]);
    await dialog.getByRole('button', { name: 'Done' }).click();

    // Commands ran it: deleting archives it; the menu offers it no more.
    await page.goto(`${e.web.url}/admin/scripts?script=${script.id}`);
    await page.getByRole('button', { name: 'Delete Restart scanner feed' }).click();
    await page
      .getByRole('dialog', { name: /Delete the script/ })
      .getByRole('button', { name: 'Delete' })
      .click();
    await critical(page, () => page.getByText('“Restart scanner feed” was archived').waitFor());
    await eventually(() => page.locator(`tr[data-script-id="${script.id}"]`).innerText()).toContain('archived');
    await page.getByLabel('Filter scripts').selectOption('false');
    await eventually(() => page.locator(`tr[data-script-id="${script.id}"]`).count()).toBe(0);
    await page.goto(`${e.web.url}/devices/${a.id}`);
    await page.getByTestId('device-name').waitFor();
    await pick(page, 'Run script…');
    // Another script is still runnable, so the list is there, without the archived one.
    await page.getByTestId('command-dialog').getByLabel('Script').waitFor();
    const offered = await page.getByTestId('command-dialog').locator('option').allInnerTexts();
    expect(offered).toContain('Still runnable (bash)');
    expect(offered.some((o) => o.startsWith('Restart scanner feed'))).toBe(false);
    await page.getByTestId('command-dialog').getByRole('button', { name: 'Cancel' }).click();
    // Its past runs still name it.
    await page.goto(`${e.web.url}/devices/${a.id}/commands`);
    await eventually(() => page.getByTestId('commands').innerText()).toContain('Restart scanner feed --feed=nvt');
  });

  it('shows Read-Only operators the library without changes, and offers SOC operators no script runs', async () => {
    const { api, admin } = e;
    await newScript('Read me');
    const device = await e.enrollDevice('acme-script-roles');
    for (const role of ['read_only', 'soc_operator'] as const) {
      const user = await api.createUser(admin, role);
      const { context, page: p } = await e.newPage();
      await p.goto(`${e.web.url}/admin/scripts`);
      await signIn(p, user.email, TEST_PASSWORD);
      await p.waitForURL(`${e.web.url}/admin/scripts`);
      await p.getByTestId('scripts-table').getByRole('button', { name: 'Read me' }).click();
      await p.getByTestId('script-content').waitFor();
      expect(await p.getByRole('button', { name: 'New script' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Edit' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
      if (role === 'soc_operator') {
        await p.goto(`${e.web.url}/devices/${device.id}`);
        await p.getByTestId('device-name').waitFor();
        await p
          .getByTestId('command-actions')
          .getByRole('button', { name: /Actions/ })
          .click();
        await p.getByRole('menuitem', { name: 'Restart service…' }).waitFor();
        expect(await p.getByRole('menuitem', { name: 'Run script…' }).count()).toBe(0);
      }
      await context.close();
    }
  });
});
