import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD, totpCode } from '../../api/test/support/harness.js';
import { eventually, signIn, useConsoleE2e } from './support/e2e.js';

/** What each role is offered: Read-Only, SOC operator; the two-factor policy for new operators. */
describe('console: roles and permissions', () => {
  const e = useConsoleE2e({ signIn: true });

  it('offers a Read-Only operator no management and explains a forbidden deep link', async () => {
    const { api, admin } = e;
    const deviceId = await e.createDevice('acme-readonly-01');
    const reader = await api.createUser(admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/devices/${deviceId}`);
    await p.waitForURL(/\/sign-in/);
    await signIn(p, reader.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/devices/${deviceId}`);
    await p.getByTestId('device-name').waitFor();
    expect(await p.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Retire' }).count()).toBe(0);
    const nav = await p.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).not.toContain('Enrollment');
    expect(nav).not.toContain('Audit log');
    expect(nav).not.toContain('Users');
    await p.goto(`${e.web.url}/devices`);
    await p.getByTestId('device-table').waitFor();
    expect(await p.getByRole('link', { name: /Enroll a device/ }).count()).toBe(0);

    await p.goto(`${e.web.url}/enroll`);
    await eventually(() => p.getByTestId('problem').innerText()).toContain('needs the devices.manage permission');
    expect(await p.getByLabel('Device name').count()).toBe(0);
    await p.goto(`${e.web.url}/admin/audit`);
    await eventually(() => p.getByTestId('problem').innerText()).toContain('needs the audit.view permission');
    await e.shot('07-read-only-forbidden', p);

    // TOTP setup: QR code, the key, and recovery codes shown once.
    await p.goto(`${e.web.url}/account/security`);
    await p.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await p.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = (await p.getByTestId('totp-secret').innerText()).trim();
    await p.getByLabel('Code from the app').fill(await totpCode(secret));
    await p.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await p.getByTestId('recovery-codes').waitFor();
    expect(await p.locator('[data-testid="recovery-codes"] li').count()).toBe(10);

    await p.getByLabel('Current password').fill(TEST_PASSWORD);
    await p.getByLabel('New password', { exact: true }).fill('a-new-password-for-reader');
    await p.getByLabel('New password again').fill('a-new-password-for-reader');
    await p.getByRole('button', { name: 'Change password' }).click();
    await p.getByText('Use the new password at your next sign-in.').waitFor();
    const relogin = await api.login(reader.email, 'a-new-password-for-reader');
    expect(relogin.status).toBe(200);
    expect(relogin.body.mfaRequired).toBe(true);
    await context.close();
  });

  it('offers a SOC operator enrollment into customer organizations only', async () => {
    const { api, admin } = e;
    const operator = await api.createUser(admin, 'soc_operator');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/enroll`);
    await signIn(p, operator.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/enroll`);
    const options = p.getByLabel('Organization').locator('option');
    await eventually(() => options.allInnerTexts()).toContain('Acme Security GmbH');
    expect((await options.allInnerTexts()).join()).not.toContain('xSPECTRE Internal');
    await context.close();
  });
  // Last in this file: the policy then holds for every operator of this API.
  it('enforces the two-factor policy: a new operator sets up TOTP first, then continues', async () => {
    const { page, api, admin } = e;
    await e.stepUpExpired();
    await page.goto(`${e.web.url}/admin/users`);
    const policy = page.getByLabel('Require two-factor authentication (TOTP) for every operator');
    await policy.click();
    // A critical setting: the step-up window from earlier has passed.
    await e.confirmStepUp(page);
    await eventually(() => policy.isChecked()).toBe(true);
    expect((await api.request('GET', 'settings/security', { token: admin })).body.requireTotp).toBe(true);

    const operator = await api.createUser(admin, 'soc_operator');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/devices`);
    await signIn(p, operator.email, TEST_PASSWORD);
    await p.waitForURL(/\/account\/security\?setup=required&next=%2Fdevices/);
    await p.getByText('Two-factor authentication is required').waitFor();
    // Setup starts by itself; nothing else of the console is reachable until it is done.
    await p.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = (await p.getByTestId('totp-secret').innerText()).trim();
    await p.getByLabel('Code from the app').fill(await totpCode(secret));
    await p.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await p.getByTestId('recovery-codes').waitFor();
    await p.getByRole('button', { name: /I have saved them/ }).click();
    await p.waitForURL(`${e.web.url}/devices`);
    await p.getByTestId('device-table').waitFor();
    await context.close();
  });
});
