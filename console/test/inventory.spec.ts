import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, TestDevice, useConsoleE2e } from './support/e2e.js';

/** The inventory's search, filters and sorts, all kept in the URL. */
describe('console: inventory', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });
  let scanner: TestDevice;

  // A fleet neither test changes: one scanner with metrics, two servers never seen.
  beforeAll(async () => {
    scanner = await e.enrollDevice('acme-scanner-01');
    await scanner.heartbeat();
    await scanner.heartbeat();
    await e.createDevice('acme-spare-01');
    await e.createDevice('acme-server-02');
  });

  it('searches, filters and sorts the inventory through the URL', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/devices`);
    await page.getByTestId('device-table').waitFor();
    await page.getByLabel('Search').fill('server-02');
    await page.waitForURL(/[?&]q=server-02/);
    await eventually(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Search').fill('no-such-device');
    await page.getByText('No device matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await eventually(() => page.locator('tbody tr').count()).toBe(3);
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.waitForURL(/sort=-name/);
    // The first cell is the selection checkbox: read the name's link.
    await eventually(() => page.locator('tbody tr').first().getByRole('link').first().innerText()).toBe('acme-spare-01');
    await page.getByLabel('Connectivity').selectOption('never_seen');
    await page.waitForURL(/connectivity=never_seen/);
    await eventually(() => page.locator('tbody tr').count()).toBe(2);
    // The URL is the state: opening it again shows the same view.
    await page.goto(page.url());
    await eventually(() => page.locator('tbody tr').count()).toBe(2);
    expect(await page.getByLabel('Connectivity').inputValue()).toBe('never_seen');
  });

  it('sorts the inventory by CPU from the URL in the API order, metrics shown at once', async () => {
    const { page, api, admin } = e;
    // Sorted by CPU from the URL: the same order as the API's, the device with metrics first, shown at once.
    await page.goto(`${e.web.url}/devices?sort=-cpu`);
    await page.getByTestId('device-table').waitFor();
    const byCpu = (await api.request('GET', 'devices?sort=-cpu', { token: admin })).body.items.map((d: { id: string }) => d.id);
    expect(byCpu[0]).toBe(scanner.id);
    await eventually(() => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')))).toEqual(
      byCpu,
    );
    expect(await page.locator('tbody tr').first().getByTestId('metrics').innerText()).toMatch(/^\d+(\.\d)? % · \d+(\.\d)? % · 41 %$/);
    expect(await page.locator('tbody tr').last().getByTestId('metrics').innerText()).toBe('—');
    expect(await page.getByTestId('metrics-header').getAttribute('aria-sort')).toBe('descending');
    await page.getByText('sorted by CPU, descending').waitFor();
    // The header switches the direction; devices without metrics stay last.
    await e.shot('14-inventory-by-cpu');
    await page.getByTestId('metrics-header').getByRole('button', { name: /^CPU/ }).click();
    await page.waitForURL(/sort=cpu/);
    await eventually(() => page.getByTestId('metrics-header').getAttribute('aria-sort')).toBe('ascending');
    expect(await page.locator('tbody tr').first().getAttribute('data-device-id')).toBe(scanner.id);
    await page.getByTestId('metrics-header').getByRole('button', { name: /^RAM/ }).click();
    await page.waitForURL(/sort=-memory/);
  });
});
