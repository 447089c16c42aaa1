import { describe, expect, it } from 'vitest';
import { ADMIN_EMAIL } from '../../api/test/support/harness.js';
import { runMaintenanceJob } from '../../api/test/support/worker-job.js';
import { MaintenanceJob } from '../../api/src/worker/maintenance.jobs.js';
import { eventually, useConsoleE2e } from './support/e2e.js';

/** Administration: organizations and sites, users and display names, the audit log. */
describe('console: administration and audit log', () => {
  const e = useConsoleE2e({ signIn: true });

  it('shows the administration pages', async () => {
    const { page, api, admin, organizationId, siteId } = e;
    // Berlin HQ has devices: it cannot be deleted.
    await e.createDevice('acme-berlin-01');
    await e.createDevice('acme-berlin-02');
    await page.goto(`${e.web.url}/devices`);
    await page.getByRole('link', { name: 'Organizations & sites' }).click();
    await eventually(() => page.getByRole('table').first().innerText()).toContain('Acme Security GmbH');
    await e.shot('09-organizations');
    // Create an organization and a site through the forms, then delete both (the organization is critical).
    await page.getByLabel('Name', { exact: true }).first().fill('Short-lived Customer');
    await page.getByRole('button', { name: 'Create' }).first().click();
    await eventually(() => page.getByRole('table').first().innerText()).toContain('Short-lived Customer');
    const siteForm = page.locator('form', { has: page.getByLabel('Time zone') });
    await siteForm.getByLabel('Organization').selectOption({ label: 'Short-lived Customer' });
    await siteForm.getByLabel('Name', { exact: true }).fill('Pop-up site');
    await siteForm.getByLabel('Time zone').selectOption('Europe/Vienna');
    await siteForm.getByRole('button', { name: 'Create' }).click();
    const siteRow = page.getByTestId('sites-table').locator('tr', { hasText: 'Pop-up site' });
    await eventually(() => siteRow.innerText()).toContain('Europe/Vienna');
    await siteRow.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete site Pop-up site?' }).getByRole('button', { name: 'Delete' }).click();
    await eventually(() => siteRow.count()).toBe(0);
    const orgRow = page.getByTestId('organizations-table').locator('tr', { hasText: 'Short-lived Customer' });
    await orgRow.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete organization Short-lived Customer?' }).getByRole('button', { name: 'Delete' }).click();
    // The step-up dialog appears only when the last TOTP check is older than the step-up window.
    const stepUp = page.getByRole('dialog', { name: 'Confirm a critical action' });
    await eventually(async () => (await orgRow.count()) === 0 || (await stepUp.isVisible())).toBe(true);
    if (await stepUp.isVisible()) {
      await stepUp.getByLabel('Authentication code').fill(await e.adminCode());
      await page.getByRole('button', { name: 'Verify and continue' }).click();
    }
    await eventually(() => orgRow.count()).toBe(0);
    expect((await api.auditRows(`action = 'organization.delete' AND result = 'success'`)).length).toBe(1);

    // Sites show their devices; one with devices cannot be deleted, and the console says why instead of offering it.
    const berlin = (await api.request('GET', `sites/${siteId}`, { token: admin })).body;
    expect(berlin.deviceCount).toBeGreaterThan(0);
    const berlinRow = page.getByTestId('sites-table').locator('tr', { hasText: 'Berlin HQ' });
    expect(await berlinRow.getByTestId('site-devices').innerText()).toBe(`${berlin.deviceCount} devices`);
    const berlinDelete = berlinRow.getByRole('button', { name: 'Delete' });
    expect(await berlinDelete.isDisabled()).toBe(true);
    expect(await berlinDelete.getAttribute('title')).toContain(`still has ${berlin.deviceCount} devices`);
    // The organization with sites neither.
    const acmeRow = page.getByTestId('organizations-table').locator('tr', { hasText: 'Acme Security GmbH' });
    expect(await acmeRow.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
    // A site that gains a device after the page loaded: the API refuses, the console shows its detail.
    const race = await api.request('POST', 'sites', { token: admin, body: { organizationId, name: 'Race site', timeZone: 'UTC' } });
    await page.reload();
    const raceRow = page.getByTestId('sites-table').locator('tr', { hasText: 'Race site' });
    await eventually(() => raceRow.getByTestId('site-devices').innerText()).toBe('0 devices');
    await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'acme-race-01', organizationId, siteId: race.body.id, type: 'server' },
    });
    await raceRow.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete site Race site?' }).getByRole('button', { name: 'Delete' }).click();
    await eventually(() => page.getByTestId('problem').innerText()).toContain('SITE_NOT_EMPTY');
    expect(await page.getByTestId('problem').innerText()).toContain('HTTP 409');
    expect(await page.getByTestId('problem').innerText()).toContain('Race site');
    await eventually(() => raceRow.getByTestId('site-devices').innerText()).toBe('1 device');
    expect(await raceRow.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);

    // Rename an organization and edit a site (name and time zone) through the dialog.
    const internalRow = page.getByTestId('organizations-table').locator('tr', { hasText: 'xSPECTRE Internal' });
    await internalRow.getByRole('button', { name: 'Rename' }).click();
    const renameOrg = page.getByRole('dialog', { name: 'Rename the organization' });
    expect(await renameOrg.getByLabel('Organization name').inputValue()).toBe('xSPECTRE Internal');
    await renameOrg.getByLabel('Organization name').fill('xSPECTRE Internal Infrastructure');
    await renameOrg.getByRole('button', { name: 'Save' }).click();
    await eventually(() => internalRow.first().innerText()).toContain('xSPECTRE Internal Infrastructure');
    expect(await renameOrg.isVisible()).toBe(false);
    const orgs = (await api.request('GET', 'organizations?kind=internal', { token: admin })).body.items;
    expect(orgs.map((o: { name: string }) => o.name)).toEqual(['xSPECTRE Internal Infrastructure']);
    await raceRow.getByRole('button', { name: 'Edit' }).click();
    const editSite = page.getByRole('dialog', { name: 'Edit the site' });
    await editSite.getByLabel('Site name').fill('Race site Vienna');
    await editSite.getByLabel('Site time zone').selectOption('Europe/Vienna');
    await e.shot('13-site-edit');
    await editSite.getByRole('button', { name: 'Save' }).click();
    const vienna = page.getByTestId('sites-table').locator('tr', { hasText: 'Race site Vienna' });
    await eventually(() => vienna.innerText()).toContain('Europe/Vienna');
    expect((await api.request('GET', `sites/${race.body.id}`, { token: admin })).body).toMatchObject({
      name: 'Race site Vienna',
      timeZone: 'Europe/Vienna',
    });
    // An empty name is refused by the form, not sent.
    await internalRow.getByRole('button', { name: 'Rename' }).click();
    await renameOrg.getByLabel('Organization name').fill('');
    await renameOrg.getByRole('button', { name: 'Save' }).click();
    expect(await renameOrg.isVisible()).toBe(true);
    await renameOrg.getByRole('button', { name: 'Cancel' }).click();
    await e.shot('09-organizations');
    await page.getByRole('link', { name: 'Users & roles' }).click();
    await eventually(() => page.getByRole('table').first().innerText()).toContain(ADMIN_EMAIL);
    await page.getByLabel('Require two-factor authentication (TOTP) for every operator').waitFor();
    await e.shot('10-users');
    // The operator's own display name, edited in a dialog: the table and the shell show the new one.
    await page.getByRole('button', { name: `Edit the display name of ${ADMIN_EMAIL}` }).click();
    const rename = page.getByRole('dialog', { name: `Display name of ${ADMIN_EMAIL}` });
    await rename.getByLabel('Display name').fill('Night Shift Lead');
    await rename.getByRole('button', { name: 'Save' }).click();
    const adminRow = page.getByRole('row', { name: new RegExp(ADMIN_EMAIL.replace(/[.]/g, '\\.')) });
    await eventually(() => adminRow.getByTestId('user-display-name').innerText()).toBe('Night Shift Lead');
    await eventually(() => page.locator('header').first().innerText()).toContain('Night Shift Lead');
    const users = (await api.request('GET', 'users?limit=500', { token: admin })).body.items;
    expect(users.find((u: { email: string }) => u.email === ADMIN_EMAIL).displayName).toBe('Night Shift Lead');
  });

  it('shows the audit log with the chain verification', async () => {
    const { page } = e;
    await e.createDevice('acme-audit-01');
    // The worker verifies the chain; the page shows its latest result.
    await page.goto(`${e.web.url}/admin/audit`);
    await eventually(() => page.getByTestId('chain-status').innerText()).toMatch(/not verified yet/);
    await runMaintenanceJob(e.api, MaintenanceJob.VerifyAuditChain);
    await page.getByTestId('chain-status').getByRole('button', { name: 'Refresh' }).click();
    await eventually(() => page.getByTestId('chain-status').innerText()).toMatch(/chain intact through entry \d+ · verified /);
    await eventually(() => page.getByTestId('audit-count').innerText()).toMatch(/^entries #\d+–#\d+ · \d+ in the log$/);
    expect(await page.getByTestId('audit-table').innerText()).toContain('device.create');
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toBe('/api/v1/audit/export');
    await e.shot('06-audit');
    await page.getByLabel('Action', { exact: true }).fill('device.create');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/action=device.create/);
    await expect
      .poll(async () =>
        (await page.getByTestId('audit-table').locator('tbody tr').allInnerTexts()).every((t) => t.includes('device.create')),
      )
      .toBe(true);
    await eventually(() => page.getByTestId('audit-count').innerText()).toMatch(/ matching$/);
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(href).toBe('/api/v1/audit/export?action=device.create');
    // The export link works with the browser's own session cookie.
    const csv = await page.request.get(`${e.web.url}${href}`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toContain('text/csv');
    expect(await csv.text()).toContain('device.create');
    // A resource id on a row opens that resource's whole history, and the form shows the filter.
    await page.getByTestId('audit-table').locator('tbody tr').first().getByRole('link').click();
    await page.waitForURL(/resourceId=/);
    const resourceId = new URL(page.url()).searchParams.get('resourceId')!;
    await eventually(() => page.getByLabel('Resource id').inputValue()).toBe(resourceId);
    await eventually(() => page.getByLabel('Action', { exact: true }).inputValue()).toBe('');
  });
});
