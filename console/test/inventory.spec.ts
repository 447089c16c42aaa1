import type { Page } from 'playwright-core';
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

/** The inventory pages by keyset cursor: Next and Previous over a sorted list, live reloads keep the page. */
describe('console: inventory pages', () => {
  const e = useConsoleE2e({ signIn: true });
  const PAGE = 50;
  const ids = (p: Page) => p.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')));
  /** The API's own order of the whole list (one read: at most 500 devices). */
  const apiOrder = async (query: string): Promise<string[]> => {
    const r = await e.api.request('GET', `devices?limit=500&${query}`, { token: e.admin });
    expect(r.status, r.text).toBe(200);
    return r.body.items.map((d: { id: string }) => d.id);
  };

  // Three pages: 50, 50 and 20 devices.
  beforeAll(async () => {
    for (let i = 0; i < 120; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => e.createDevice(`pager-dev-${String(i + j + 1).padStart(3, '0')}`)));
    }
  });

  it('pages forward and back across three pages of a sort, reloads the same page live, starts again on a filter or sort', async () => {
    const { page } = e;
    const byName = await apiOrder('sort=-name');
    expect(byName).toHaveLength(120);
    await page.goto(`${e.web.url}/devices?sort=-name`);
    await page.getByTestId('device-table').waitFor();
    const range = page.getByTestId('device-range');
    const previous = page.getByRole('button', { name: /^← (Previous|First page)$/ });
    const next = page.getByRole('button', { name: 'Next →' });
    const shows = async (from: number, to: number) => {
      await eventually(() => ids(page)).toEqual(byName.slice(from, to));
      expect(await range.innerText()).toBe(`${from + 1}–${to} of 120`);
    };

    await shows(0, 50);
    expect(await previous.isDisabled()).toBe(true);
    await next.click();
    await page.waitForURL(/[?&]cursor=/);
    await shows(50, 100);
    const page2 = page.url();
    // The selection stays while paging.
    await page.getByLabel('Select pager-dev-070').check();
    await next.click();
    await shows(100, 120);
    expect(await next.isDisabled()).toBe(true);
    await previous.click();
    await shows(50, 100);
    expect(page.url()).toBe(page2);
    await previous.click();
    await shows(0, 50);
    expect(new URL(page.url()).searchParams.has('cursor')).toBe(false);
    expect(await previous.isDisabled()).toBe(true);
    await page.getByTestId('bulk-bar').getByText('1 device selected').waitFor();

    // Live: a device created into page 2's range reloads page 2 (same cursor), not the first page.
    await next.click();
    await shows(50, 100);
    const created = await e.createDevice('pager-dev-050a');
    const withCreated = await apiOrder('sort=-name');
    expect(withCreated.indexOf(created)).toBe(70);
    await eventually(() => ids(page)).toEqual(withCreated.slice(50, 100));
    expect(page.url()).toBe(page2);
    expect(await range.innerText()).toBe('51–100 of 121');

    // A sort change starts at the first page of the new order.
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.waitForURL((url) => url.searchParams.get('sort') === 'name' && !url.searchParams.has('cursor'));
    const ascending = await apiOrder('sort=name');
    await eventually(() => ids(page)).toEqual(ascending.slice(0, PAGE));
    // So does a filter change, from a later page.
    await next.click();
    await eventually(() => range.innerText()).toBe('51–100 of 121');
    await next.click();
    await eventually(() => range.innerText()).toBe('101–121 of 121');
    await page.getByLabel('Search').fill('pager-dev-1');
    await page.waitForURL((url) => url.searchParams.get('q') === 'pager-dev-1' && !url.searchParams.has('cursor'));
    await eventually(() => range.innerText()).toBe('1–21 of 21');
    expect(await ids(page)).toEqual(await apiOrder('sort=name&q=pager-dev-1'));
    expect(await previous.isDisabled()).toBe(true);
    expect(await next.isDisabled()).toBe(true);
  });

  it('still opens an old link with offset=, then pages by cursor', async () => {
    const { page } = e;
    const byName = await apiOrder('sort=-name');
    await page.goto(`${e.web.url}/devices?sort=-name&offset=50`);
    const range = page.getByTestId('device-range');
    await eventually(() => ids(page)).toEqual(byName.slice(50, 100));
    expect(await range.innerText()).toBe(`51–100 of ${byName.length}`);
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.waitForURL((url) => url.searchParams.has('cursor') && !url.searchParams.has('offset'));
    await eventually(() => ids(page)).toEqual(byName.slice(100, 150));
    expect(await range.innerText()).toBe(`101–${byName.length} of ${byName.length}`);
    await page.getByRole('button', { name: '← Previous' }).click();
    await eventually(() => ids(page)).toEqual(byName.slice(50, 100));
    await page.getByRole('button', { name: '← Previous' }).click();
    await eventually(() => ids(page)).toEqual(byName.slice(0, 50));
    expect(await range.innerText()).toBe(`1–50 of ${byName.length}`);
  });

  it('refuses a cursor of another sort and offers the first page', async () => {
    const { page } = e;
    const descending = await e.api.request('GET', 'devices?sort=-name', { token: e.admin });
    const cursor = descending.body.nextCursor as string;
    await page.goto(`${e.web.url}/devices?sort=name&cursor=${encodeURIComponent(cursor)}`);
    await page.getByTestId('problem').getByText('VALIDATION_FAILED').waitFor();
    await page.getByRole('button', { name: 'First page' }).click();
    await eventually(() => ids(page)).toEqual((await apiOrder('sort=name')).slice(0, PAGE));
    expect(new URL(page.url()).searchParams.has('cursor')).toBe(false);
  });
});
