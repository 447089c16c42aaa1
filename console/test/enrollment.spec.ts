import { describe, expect, it } from 'vitest';
import { enrollBody } from '../../api/test/support/fleet.js';
import { ConsoleServer } from './support/console-server.js';
import { eventually, hostileHeartbeat, sleep, TestDevice, useConsoleE2e } from './support/e2e.js';

/** Enrolling devices and the live inventory: rows that arrive, heartbeats, reconnects, revocation. */
describe('console: enrollment and live inventory', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  it('creates a device and shows its claim code, expiry countdown and bootstrap command', async () => {
    const { api } = e;
    const enrollment = await e.adminContext.newPage();
    await enrollment.goto(`${e.web.url}/devices`);
    await enrollment.getByRole('link', { name: 'Enrollment' }).click();
    await enrollment.waitForURL(`${e.web.url}/enroll`);
    await enrollment.getByLabel('Device name').waitFor();
    await enrollment.getByLabel('Organization').selectOption({ label: 'Acme Security GmbH' });
    await enrollment.getByLabel('Site').selectOption({ label: 'Berlin HQ' });
    await enrollment.getByLabel('Type').selectOption('scanner');
    await enrollment.getByLabel('Device name').fill('acme-scanner-01');
    await enrollment.getByRole('button', { name: 'Create device and claim code' }).click();
    const issued = enrollment.getByTestId('issued-code');
    await issued.waitFor();
    const code = (await enrollment.getByLabel('Claim code', { exact: true }).innerText()).trim();
    expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$|^[A-Z2-7]{20}$/);
    expect(await enrollment.getByLabel('Bootstrap command').innerText()).toContain(code);
    expect(await enrollment.getByTestId('code-expiry').innerText()).toMatch(/^2[34]:\d\d:\d\d$/);
    await eventually(() => enrollment.getByTestId('pending-devices').innerText()).toContain('acme-scanner-01');
    await e.shot('05-enrollment', enrollment);

    // A second tab shows the inventory of active devices when the device enrolls: it must appear
    // there by itself, and the enrollment tab must tell the operator it arrived.
    const page = await e.adminContext.newPage();
    await page.goto(`${e.web.url}/devices?status=active`);
    await page.getByText('No device matches these filters.').waitFor();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(code, { hostname: 'acme-scan-01' }) });
    expect(enrolled.status, enrolled.text).toBe(201);
    const row = page.locator(`tr[data-device-id="${enrolled.body.deviceId}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.innerText()).toContain('acme-scanner-01');
    await enrollment.getByTestId('enrolled-notice').waitFor();
    await enrollment.close();
    await page.close();
  });

  it('shows heartbeats live in the inventory: online, last seen, metrics, overlay address', async () => {
    const { page } = e;
    const device: TestDevice = await e.enrollDevice('acme-live-01');
    await page.goto(`${e.web.url}/devices?status=active`);
    const row = page.locator(`tr[data-device-id="${device.id}"]`);
    await row.waitFor();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await device.heartbeat(hostileHeartbeat());
    await eventually(() => row.getByTestId('connectivity').innerText(), { timeout: 15_000 }).toBe('online');
    for (let i = 0; i < 5; i++) {
      await device.heartbeat();
      await sleep(1200);
    }
    await eventually(() => row.innerText()).toMatch(/\d+(\.\d)? % · \d+(\.\d)? % · 41 %/);
    expect(await row.innerText()).toMatch(/just now|\d+ s ago/);
    expect(await row.innerText()).toMatch(/10\.10\.0\.\d+/);
    await e.shot('03-inventory');
  });

  it('reconnects the live connection by itself and refetches what changed meanwhile', async () => {
    const { page, api } = e;
    await page.goto(`${e.web.url}/devices`);
    await page.getByTestId('device-table').waitFor();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await e.web.stop();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('reconnecting');
    // Created while the console was away: no live message about it reached this page.
    const created = await api.request('POST', 'devices', {
      token: e.admin,
      body: { name: 'acme-server-02', organizationId: e.organizationId, siteId: e.siteId, type: 'server' },
    });
    expect(created.status).toBe(201);
    e.web = await ConsoleServer.start(e.port, api.baseUrl);
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('live');
    await page.locator(`tr[data-device-id="${created.body.device.id}"]`).waitFor();
  });

  it('revokes a device after a confirmation', async () => {
    const { page, api, admin } = e;
    const spareId = await e.createDevice('acme-spare-01');
    await page.goto(`${e.web.url}/enroll`);
    const row = page.getByTestId('pending-devices').locator('tr', { hasText: 'acme-spare-01' });
    await row.getByRole('button', { name: 'Revoke code' }).click();
    await page.getByRole('button', { name: 'Revoke code' }).last().click();
    await eventually(() => row.innerText()).toContain('no active code');
    const codes = await api.request('GET', `claim-codes?deviceId=${spareId}`, { token: admin });
    expect(codes.body.items.map((c: { status: string }) => c.status)).toEqual(['revoked']);
    await page.goto(`${e.web.url}/devices/${spareId}`);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke this device?' }).waitFor();
    await page.getByRole('button', { name: 'Revoke device' }).click();
    await eventually(() => page.getByTestId('device-status').innerText()).toBe('revoked');
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect((await api.request('GET', `devices/${spareId}`, { token: admin })).body.status).toBe('revoked');
  });
});
