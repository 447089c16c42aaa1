import type { DeviceSummary } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { percent } from '../src/lib/format.js';
import { eventually, useConsoleE2e } from './support/e2e.js';

/** The overview: counts, billable devices, the health strip; the light theme and a phone's screen. */
describe('console: overview and theme', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  // Counts the whole fleet of this file's API: the other tests here add no device.
  it('shows the overview with numbers that link to the filtered list', async () => {
    const { page, api, admin, organizationId, siteId } = e;
    const device = await e.enrollDevice('acme-scanner-01');
    await device.heartbeat();
    await page.goto(`${e.web.url}/devices`);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('count-total').waitFor();
    expect((await page.getByTestId('count-total').innerText()).split('\n')[0]).toBe('1');
    expect(await page.getByTestId('count-online').innerText()).toContain('1');
    expect(await page.getByTestId('count-pending').innerText()).toContain('0');
    // A device created elsewhere: the count follows through the live connection, without a reload.
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'acme-spare-01', organizationId, siteId, type: 'server' },
    });
    expect(created.status).toBe(201);
    await eventually(async () => (await page.getByTestId('count-pending').innerText()).split('\n')[0]).toBe('1');
    await device.heartbeat();
    await eventually(() => page.getByTestId('health-strip').innerText()).toContain('acme-scanner-01');

    // Every number is the API's summary: the counts, the billable devices per customer, the health strip.
    const summary = async (): Promise<DeviceSummary> => (await api.request('GET', 'devices/summary', { token: admin })).body;
    const count = async (key: string) => Number((await page.getByTestId(`count-${key}`).innerText()).split('\n')[0]);
    await eventually(async () => {
      const s = await summary();
      const onScreen = [
        await count('total'),
        await count('online'),
        await count('offline'),
        await count('quarantined'),
        await count('pending'),
      ];
      return (
        JSON.stringify(onScreen) ===
        JSON.stringify([s.total, s.connectivity.online, s.connectivity.offline, s.quarantined, s.byStatus.pending])
      );
    }).toBe(true);
    const s = await summary();
    const acme = s.organizations.find((o) => o.organizationId === organizationId)!;
    expect(acme).toMatchObject({ billable: true, active: 1 });
    const billable = page.locator(`[data-organization-id="${organizationId}"]`).getByTestId('billable-active');
    expect(await billable.innerText()).toBe(String(acme.active));
    expect(await billable.getAttribute('href')).toBe(`/devices?organizationId=${organizationId}&status=active`);
    // The internal organization is not billable: not listed among the customers.
    expect(await page.getByTestId('billable').innerText()).not.toContain('xSPECTRE Internal');
    // The strip names the busiest device with the value of its newest heartbeat (live patches keep it current).
    await eventually(async () => {
      const top = (await summary()).worst.cpuPercent[0];
      const strip = await page.getByTestId('health-cpu').innerText();
      return top !== undefined && top.name === 'acme-scanner-01' && strip.includes(top.name) && strip.includes(percent(top.value));
    }).toBe(true);
    expect(await page.getByTestId('health-cpu').getByRole('link', { name: 'acme-scanner-01' }).getAttribute('href')).toBe(
      `/devices/${device.id}`,
    );
    expect(await page.getByTestId('recent-enrollments').innerText()).toContain('acme-scanner-01');
    expect(await page.getByText('Counted over the').count()).toBe(0);
    await e.shot('02-overview');
    await page.getByTestId('count-offline').click();
    await page.waitForURL(/\/devices\?connectivity=offline/);
  });

  it('remembers the light theme', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/devices`);
    await page.getByRole('button', { name: 'Switch to the light theme' }).click();
    await page.goto(`${e.web.url}/`);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
    await page.getByTestId('count-total').waitFor();
    await e.shot('08-overview-light');
    // A phone on call: the same page, navigation above the content.
    await page.setViewportSize({ width: 390, height: 844 });
    await e.shot('11-overview-phone');
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
  });
});
