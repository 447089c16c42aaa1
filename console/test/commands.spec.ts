import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { enrollBody } from '../../api/test/support/fleet.js';
import { eventually, signIn, useConsoleE2e, XSS, type TestDevice } from './support/e2e.js';

/**
 * Remote actions in the console: the device page's tabs, its Actions menu (validation, the
 * confirmation, step-up for critical actions, disabled with the reason), the commands tab (live
 * statuses, output, reasons, the expiry countdown) and bulk actions from the inventory. The
 * device side is played through the agent routes (GET agent/commands, POST agent/commands/:id/status).
 */
describe('console: commands', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  /** The agent's side: fetch what waits (delivered), then report. */
  async function fetchCommands(device: TestDevice): Promise<Array<{ commandId: string; action: string }>> {
    const r = await e.api.request('GET', 'agent/commands?waitSeconds=0', { token: device.credential });
    expect(r.status, r.text).toBe(200);
    return r.body.commands;
  }
  async function report(device: TestDevice, commandId: string, body: Record<string, unknown>): Promise<void> {
    const r = await e.api.request('POST', `agent/commands/${commandId}/status`, { token: device.credential, body });
    expect(r.status, r.text).toBe(200);
  }
  async function pick(p: Page, item: string): Promise<void> {
    await p
      .getByTestId('command-actions')
      .getByRole('button', { name: /Actions/ })
      .click();
    await p.getByRole('menuitem', { name: item }).click();
  }
  const statusOf = (p: Page, commandId: string) =>
    p.locator(`tr[data-command-id="${commandId}"] [data-testid="command-status"]`).innerText();

  it('restarts a unit from the Actions menu and shows it succeed live, with its output as text', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-cmd-01');
    await device.heartbeat({
      services: [{ unit: 'nginx.service', activeState: 'active', subState: 'running', since: new Date().toISOString(), watched: true }],
    });
    await page.goto(`${e.web.url}/devices/${device.id}`);
    const tabs = page.getByTestId('device-tabs');
    await eventually(() => tabs.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    expect(await tabs.getByRole('link', { name: 'Commands' }).getAttribute('href')).toBe(`/devices/${device.id}/commands`);

    // The contract's unit name rule holds before anything is sent.
    await pick(page, 'Restart service…');
    const dialog = page.getByTestId('command-dialog');
    expect(await dialog.getByRole('heading').innerText()).toBe('Restart the service on acme-cmd-01?');
    await dialog.getByLabel('Unit').fill('nginx; reboot');
    await dialog.getByRole('button', { name: 'Restart the service' }).click();
    await eventually(() => dialog.innerText()).toContain('a systemd unit name such as nginx.service');
    expect((await e.api.request('GET', `devices/${device.id}/commands`, { token: e.admin })).body.total).toBe(0);

    await dialog.getByLabel('Unit').fill('nginx.service');
    await dialog.getByRole('button', { name: 'Restart the service' }).click();
    await page.waitForURL(new RegExp(`/devices/${device.id}/commands\\?command=`));
    const commandId = new URL(page.url()).searchParams.get('command')!;
    await eventually(() => tabs.getByRole('link', { name: 'Commands' }).getAttribute('aria-current')).toBe('page');
    await eventually(() => statusOf(page, commandId)).toBe('queued');

    // The device's side moves the status on screen without a reload.
    expect((await fetchCommands(device)).map((c) => c.commandId)).toEqual([commandId]);
    await eventually(() => statusOf(page, commandId)).toBe('delivered');
    await report(device, commandId, { status: 'running' });
    await eventually(() => statusOf(page, commandId)).toBe('running');
    await report(device, commandId, {
      status: 'succeeded',
      exitCode: 0,
      stdout: `restarted nginx.service\n${XSS}\n`,
      stderr: '',
      stdoutTruncated: true,
    });
    await eventually(() => statusOf(page, commandId)).toBe('succeeded');
    const detail = page.getByTestId('command-detail');
    await eventually(() => page.getByTestId('command-stdout').innerText()).toContain(XSS);
    expect(await detail.innerText()).toContain('truncated at 64 KiB');
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await e.shot('20-command-succeeded');
  });

  it('shows a rejected command with its reason and counts down while the device is not online', async () => {
    const { page, api, admin } = e;
    // Enrolled, no heartbeat yet: never seen, so commands wait.
    const device = await e.enrollDevice('acme-cmd-waiting');
    const queue = async (body: object) => {
      const r = await api.request('POST', `devices/${device.id}/commands`, { token: admin, body });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    const rejected = await queue({ action: 'service.stop', params: { unit: 'ssh.service' } });
    await fetchCommands(device);
    await report(device, rejected, { status: 'rejected', reason: 'the local policy denies service.stop' });
    const waiting = await queue({ action: 'diagnostics.collect', params: {} });

    await page.goto(`${e.web.url}/devices/${device.id}/commands`);
    const row = page.locator(`tr[data-command-id="${waiting}"]`);
    await eventually(() => row.getByTestId('command-expiry').innerText()).toMatch(/^expires in [45]:\d\d$/);
    await page.locator(`tr[data-command-id="${rejected}"]`).getByRole('button', { name: 'Stop service' }).click();
    await eventually(() => page.getByTestId('command-reason').innerText()).toContain('the local policy denies service.stop');
    expect(await page.getByTestId('command-reason').innerText()).toContain('Rejected by the device');
    await e.shot('21-command-rejected');
  });

  it('asks for a TOTP code before a reboot and disables actions of a quarantined device with the reason', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-cmd-reboot');
    await device.heartbeat();
    await page.goto(`${e.web.url}/devices/${device.id}`);
    await page.getByTestId('device-name').waitFor();
    await e.stepUpExpired();
    await pick(page, 'Reboot…');
    const dialog = page.getByTestId('command-dialog');
    expect(await dialog.innerText()).toContain('critical action');
    await dialog.getByRole('button', { name: 'Reboot' }).click();
    await e.confirmStepUp(page);
    await page.waitForURL(new RegExp(`/devices/${device.id}/commands\\?command=`));
    const commandId = new URL(page.url()).searchParams.get('command')!;
    await eventually(() => page.locator(`tr[data-command-id="${commandId}"]`).innerText()).toContain('critical');

    // A changed board: quarantined, the menu says why nothing can be sent.
    const hardware = enrollBody('X').hardware;
    await device.heartbeat({ inventory: { ...hardware, serial: 'SWAPPED', macs: ['52:54:00:aa:bb:cd'], agentVersion: '0.1.0' } });
    await page.getByText('Quarantined: the hardware fingerprint changed').waitFor();
    expect(await page.getByTestId('problem').first().innerText()).toContain('neither queued nor delivered');
    await page
      .getByTestId('command-actions')
      .getByRole('button', { name: /Actions/ })
      .click();
    await eventually(() => page.getByRole('note').first().innerText()).toContain('quarantined');
    expect(await page.getByRole('menuitem', { name: 'Restart service…' }).isDisabled()).toBe(true);
    await e.shot('22-actions-quarantined');
    await page.keyboard.press('Escape');
  });

  it('offers SOC operators no reboot and Read-Only operators no actions', async () => {
    const { api, admin } = e;
    const device = await e.enrollDevice('acme-cmd-roles');
    for (const [role, expected] of [
      ['soc_operator', 'some'],
      ['read_only', 'none'],
    ] as const) {
      const user = await api.createUser(admin, role);
      const { context, page: p } = await e.newPage();
      await p.goto(`${e.web.url}/devices/${device.id}`);
      await signIn(p, user.email, TEST_PASSWORD);
      await p.waitForURL(`${e.web.url}/devices/${device.id}`);
      await p.getByTestId('device-name').waitFor();
      if (expected === 'none') {
        expect(await p.getByTestId('command-actions').count()).toBe(0);
        await p.getByTestId('device-tabs').getByRole('link', { name: 'Commands' }).click();
        await p.getByText('No commands for this device yet').waitFor();
      } else {
        await p
          .getByTestId('command-actions')
          .getByRole('button', { name: /Actions/ })
          .click();
        await p.getByRole('menuitem', { name: 'Restart service…' }).waitFor();
        expect(await p.getByRole('menuitem', { name: 'Reboot…' }).count()).toBe(0);
      }
      await context.close();
    }
  });

  it('runs a bulk action on a selection and shows each device outcome', async () => {
    const { page } = e;
    const a = await e.enrollDevice('bulk-a');
    const b = await e.enrollDevice('bulk-b');
    await e.createDevice('bulk-pending');
    await page.goto(`${e.web.url}/devices?q=bulk-`);
    await eventually(() => page.locator('[data-testid="device-table"] tbody tr').count()).toBe(3);
    await page.getByLabel('Select every device on this page').check();
    await eventually(() => page.getByTestId('bulk-bar').innerText()).toContain('3 devices selected');
    await page
      .getByTestId('bulk-bar')
      .getByRole('button', { name: /Bulk actions/ })
      .click();
    await page.getByRole('menuitem', { name: 'Restart container…' }).click();
    const dialog = page.getByTestId('command-dialog');
    await dialog.getByLabel('Container').fill('gvmd');
    const targets = await dialog.getByTestId('command-targets').innerText();
    for (const name of ['bulk-a', 'bulk-b', 'bulk-pending']) expect(targets).toContain(name);
    expect(targets).toMatch(/bulk-pending\s*pending: will be refused/);
    await e.shot('23-bulk-confirm');
    await dialog.getByRole('button', { name: 'Restart the container on 3 devices' }).click();
    const outcome = dialog.getByTestId('bulk-outcome');
    await eventually(() => outcome.innerText()).toContain('2 of 3 queued, 1 refused');
    expect(await outcome.innerText()).toContain('DEVICE_NOT_ACTIVE');
    await e.shot('24-bulk-outcome');
    for (const device of [a, b]) expect((await fetchCommands(device)).map((c) => c.action)).toEqual(['container.restart']);
    await dialog.getByRole('button', { name: 'Done' }).click();
  });
});
