import { describe, expect, it } from 'vitest';
import { MaintenanceJob } from '../../api/src/worker/maintenance.jobs.js';
import { MaintenanceProcessor } from '../../api/src/worker/maintenance.processor.js';
import { enrollBody } from '../../api/test/support/fleet.js';
import { eventually, HEARTBEAT_SECONDS, hostileHeartbeat, sleep, useConsoleE2e, XSS } from './support/e2e.js';

/** The device page: charts, device strings as text, offline detection, quarantine, the audit trail. */
describe('console: device page', () => {
  const e = useConsoleE2e({ hub: true, worker: true, signIn: true });

  // First in this file: the detection job marks every silent device of this API offline, and the
  // devices of later tests must not be silent long enough yet.
  it('turns the device offline on screen when its heartbeats stop', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-offline-01');
    await device.heartbeat();
    const lastHeartbeat = Date.now();
    await page.goto(`${e.web.url}/devices/${device.id}`);
    await eventually(() => page.getByTestId('connectivity').first().innerText()).toBe('online');
    // Offline after three missed intervals; the worker's detection job publishes the change.
    await sleep(lastHeartbeat + 3 * HEARTBEAT_SECONDS * 1000 + 1500 - Date.now());
    const result = await e.worker!.get(MaintenanceProcessor).process({ name: MaintenanceJob.DetectOffline });
    expect(result).toMatchObject({ wentOffline: [device.id] });
    await eventually(() => page.getByTestId('connectivity').first().innerText(), { timeout: 15_000 }).toBe('offline');
    // The transition is recorded and the history on the page follows (refetched on the live event).
    await eventually(() => page.getByTestId('connectivity-history').innerText()).toMatch(/offline[\s\S]*online/);
  });

  it('shows the device page with charts from the API and device strings as text', async () => {
    const { page } = e;
    const device = await e.enrollDevice('acme-scanner-01');
    await device.heartbeat(hostileHeartbeat());
    for (let i = 0; i < 3; i++) await device.heartbeat();
    await page.goto(`${e.web.url}/devices`);
    await page.getByRole('link', { name: 'acme-scanner-01' }).click();
    await page.waitForURL(`${e.web.url}/devices/${device.id}`);
    for (const metric of ['cpu', 'memory', 'disk', 'network']) {
      await eventually(() => page.getByTestId(`chart-${metric}`).getAttribute('data-has-values'), { timeout: 15_000 }).toBe('true');
    }
    const points = Number(await page.getByTestId('chart-cpu').getAttribute('data-points'));
    expect(points).toBeGreaterThanOrEqual(1);
    // uPlot drew on its canvas.
    expect(await page.locator('[data-testid="chart-cpu"] canvas').count()).toBe(1);
    // A live heartbeat extends the chart without a reload.
    await sleep(HEARTBEAT_SECONDS * 1000);
    await device.heartbeat();
    await eventually(async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points'))).toBeGreaterThan(points);

    await page.getByTestId('services').waitFor();
    expect(await page.getByTestId('services').innerText()).toContain(`${XSS}.service`);
    expect(await page.getByTestId('containers').innerText()).toContain(XSS);
    await eventually(() => page.getByText(`${XSS} Model ${XSS}`).count()).toBe(1);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.getByTestId('device-audit').waitFor();
    expect(await page.getByTestId('device-audit').innerText()).toContain('device.create');
    await e.shot('04-device');
  });

  it('quarantines on changed hardware and lets a Super Admin accept it after a fresh TOTP check', async () => {
    const { page, api } = e;
    const device = await e.enrollDevice('acme-quarantine-01');
    await device.heartbeat();
    await page.goto(`${e.web.url}/devices/${device.id}`);
    await eventually(() => page.getByTestId('connectivity').first().innerText()).toBe('online');
    // The sign-in's TOTP check no longer counts as a fresh one.
    await e.stepUpExpired();
    const hardware = enrollBody('X').hardware;
    await device.heartbeat({ inventory: { ...hardware, serial: 'SWAPPED-BOARD', macs: ['52:54:00:aa:bb:cc'], agentVersion: '0.1.0' } });
    // The live patch says "quarantined"; the page fetches the reason.
    await page.getByText('Quarantined: the hardware fingerprint changed').waitFor();
    await page.getByRole('button', { name: 'Accept the new hardware…' }).click();
    await page.getByLabel('Why is the new hardware trusted?').fill('mainboard replaced under RMA 4711');
    await page.getByRole('button', { name: 'Accept and end the quarantine' }).click();
    // Critical: the API asks for a step-up, the console asks for a code and retries by itself.
    await e.confirmStepUp(page);
    await eventually(() => page.getByText('Quarantined: the hardware fingerprint changed').count()).toBe(0);
    const audit = await api.auditRows(`action = 'device.fingerprint_accept'`);
    // First refused for want of a step-up, then done after it.
    expect(audit.map((row) => row.result)).toEqual(['failure', 'success']);
    expect(audit[0].error_message).toContain('AUTH_STEP_UP_REQUIRED');
  });

  it("pages through a device's audit trail", async () => {
    const { page, api, admin } = e;
    const id = await e.createDevice('acme-paging-01');
    // device.create and 24 claim codes: more audit entries than one page of 20.
    for (let i = 0; i < 24; i++) {
      const r = await api.request('POST', `devices/${id}/claim-codes`, { token: admin });
      expect(r.status, r.text).toBe(201);
    }
    const auditTotal = async (): Promise<number> =>
      (await api.request('GET', `audit?resourceId=${id}&limit=1`, { token: admin })).body.total;
    const total = await auditTotal();
    expect(total).toBeGreaterThanOrEqual(25);
    await page.goto(`${e.web.url}/devices/${id}`);
    const audit = page.getByTestId('device-audit');
    await audit.waitFor();
    const card = page.locator('section', { has: audit });
    expect(await audit.locator('tbody tr').count()).toBe(20);
    expect(await card.getByTestId('shown-count').innerText()).toBe(`20 of ${total} entries`);
    expect(await audit.innerText()).not.toContain('device.create');
    for (let shown = 20; shown < total; shown += 20) {
      await card.getByRole('button', { name: `Show ${Math.min(20, total - shown)} more` }).click();
      await eventually(() => audit.locator('tbody tr').count()).toBe(Math.min(shown + 20, total));
    }
    expect(await card.getByTestId('shown-count').innerText()).toBe(`all ${total} entries`);
    expect(await card.getByRole('button', { name: /Show \d+ more/ }).count()).toBe(0);
    // The oldest entry is last; nothing shown twice.
    expect(await audit.locator('tbody tr').last().innerText()).toContain('device.create');
    // A live device event (the device is revoked elsewhere) refetches the first page: the new entry lands on top, the expanded pages stay.
    expect((await api.request('POST', `devices/${id}/revoke`, { token: admin })).status).toBe(201);
    const after = await auditTotal();
    expect(after).toBeGreaterThan(total);
    await eventually(() => card.getByTestId('shown-count').innerText()).toBe(`all ${after} entries`);
    expect(await audit.locator('tbody tr').count()).toBe(after);
    expect(await audit.locator('tbody tr').first().innerText()).toContain('device.revoke');
    await e.shot('12-device-audit-paged');
  });
});
