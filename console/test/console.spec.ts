import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DeviceSummary, Heartbeat } from '@xspectre/contracts';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, NestPinoLogger } from '../../api/src/common/logging/logger.js';
import { MaintenanceJob } from '../../api/src/worker/maintenance.jobs.js';
import { MaintenanceProcessor } from '../../api/src/worker/maintenance.processor.js';
import { WorkerModule } from '../../api/src/worker/worker.module.js';
import { enrollBody, startLabHub } from '../../api/test/support/fleet.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_PASSWORD, TestApi, totpCode } from '../../api/test/support/harness.js';
import { percent } from '../src/lib/format.js';
import { CONSOLE_DIR, ConsoleServer, ensureConsoleBuilt, freePort } from './support/console-server.js';

const ARTIFACTS = join(CONSOLE_DIR, 'test-artifacts');

/** Polls until the assertion holds; generous, as two shared cores can be slow (vitest's default is 1 s). */
function eventually<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: 15_000, interval: 100, ...options });
}
const XSS = '<img src=x onerror="window.__xss=1">';
const HEARTBEAT_SECONDS = 5;
/** The shortest step-up window the API allows: a sign-in with TOTP counts as a step-up for this long. */
const STEP_UP_SECONDS = 30;

/**
 * The console end to end: the real API (own database, a lab WireGuard hub), the built console
 * behind its own server, Debian's Chromium driving it as an operator would.
 */
describe('console', () => {
  let hub: Awaited<ReturnType<typeof startLabHub>>;
  let api: TestApi;
  let web: ConsoleServer;
  let consolePort: number;
  let browser: Browser;
  let worker: INestApplicationContext;
  let admin: string;
  let adminSecret: string;
  let adminRecoveryCodes: string[];
  let organizationId: string;
  let siteId: string;
  let device: { id: string; name: string; credential: string } | undefined;
  let sequence = 0;
  let signedInAt = 0;
  let adminContext: BrowserContext;
  let page: Page;

  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  const metrics = (cpu: number) => ({
    cpuPercent: cpu,
    load: [0.4, 0.3, 0.2] as [number, number, number],
    memory: { totalBytes: 8e9, usedBytes: 3.2e9 + cpu * 1e7, swapTotalBytes: 0, swapUsedBytes: 0 },
    mounts: [
      { mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 100e9, usedBytes: 41e9, inodesTotal: 1e6, inodesUsed: 1e5 },
    ],
    network: [{ name: 'eth0', rxBytes: 1e6, txBytes: 2e6, rxBytesPerSecond: 120_000 + cpu * 1000, txBytesPerSecond: 40_000 }],
  });

  async function heartbeat(extra: Partial<Heartbeat> = {}): Promise<void> {
    const body: Heartbeat = {
      protocolVersion: 1,
      deviceId: device!.id,
      sequence: ++sequence,
      sentAt: new Date().toISOString(),
      agentVersion: '0.1.0',
      uptimeSeconds: 100 + sequence,
      metrics: metrics(20 + ((sequence * 7) % 50)),
      ...extra,
    };
    const r = await api.request('POST', 'agent/heartbeats', { token: device!.credential, body });
    expect(r.status, r.text).toBe(200);
  }

  /**
   * A code for the admin's next unused time step: the API burns each step it accepts, and the
   * test uses several (sign-in, step-ups), sometimes within one 30 s step.
   */
  let adminLastStep = 0;
  async function adminCode(): Promise<string> {
    for (;;) {
      const code = await totpCode(adminSecret, 1);
      const step = Math.floor(Date.now() / 30_000) + 1;
      if (step > adminLastStep) {
        adminLastStep = step;
        return code;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async function signIn(p: Page, email: string, password: string): Promise<void> {
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  // Building the console (when a lone run finds no build) takes a minute or two on two cores.
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureConsoleBuilt();
    consolePort = await freePort();
    hub = await startLabHub();
    api = await TestApi.start({
      API_WG_INTERFACE: hub.interfaceName,
      API_WG_NETNS: hub.netns,
      API_AGENT_SOURCE_CHECK: 'false',
      API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      API_CONSOLE_ORIGINS: `http://127.0.0.1:${consolePort}`,
      API_STEP_UP_TTL_SECONDS: String(STEP_UP_SECONDS),
    });
    worker = await NestFactory.createApplicationContext(WorkerModule.register(api.config), {
      logger: new NestPinoLogger(createLogger('silent')),
    });
    web = await ConsoleServer.start(consolePort, api.baseUrl);
    const asRoot = process.getuid?.() === 0;
    // Root cannot use Chromium's sandbox; small /dev/shm in containers would crash the renderer.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
    });

    admin = await api.adminToken();
    // The session that enabled TOTP stays valid; the browser signs in with password and code.
    ({ secret: adminSecret, recoveryCodes: adminRecoveryCodes } = await api.enableTotp(admin));
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Acme Security GmbH', kind: 'customer' } });
    organizationId = org.body.id;
    const site = await api.request('POST', 'sites', {
      token: admin,
      body: { organizationId, name: 'Berlin HQ', timeZone: 'Europe/Berlin' },
    });
    siteId = site.body.id;
    await api.request('POST', 'organizations', { token: admin, body: { name: 'xSPECTRE Internal', kind: 'internal' } });
  }, 300_000);

  // What the operator saw when a test failed, for whoever reads the CI log.
  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !browser) return;
    const name = `failed-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
    const pages = browser.contexts().flatMap((c) => c.pages());
    await Promise.all(pages.map((p, i) => shot(`${name}-${i}`, p).catch(() => undefined)));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await worker?.close();
    await api?.stop();
    await hub?.stop();
  });

  it('serves pages with a nonce CSP and the security headers, and proxies the API', async () => {
    const r = await fetch(`${web.url}/sign-in`);
    const csp = r.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await r.text();
    // Every script Next.js emits carries this response's nonce.
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);

    const health = await fetch(`${web.url}/api/v1/health`);
    expect(health.status).toBe(200);
    const refused = await fetch(`${web.url}/api/v1/devices`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(((await refused.json()) as { code: string }).code).toBe('AUTH_REQUIRED');

    // A refused live upgrade reaches the client as the API's own answer, not a bare hang-up.
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${web.url.replace('http', 'ws')}/api/v1/live`, { origin: web.url });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => reject(new Error('the upgrade was accepted without a session')));
      socket.on('error', (error) => reject(error));
    });
    expect(status).toBe(401);

    // The console is the edge: a client's X-Forwarded-For claim does not reach the API's rate limits or audit.
    await fetch(`${web.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ email: 'nobody@test.local', password: 'wrong password' }),
    });
    const [row] = await api.auditRows(`action = 'auth.login' AND result = 'failure'`);
    expect(row.source_ip).toBe('127.0.0.1');
  });

  it('signs the admin in with password and TOTP, then returns to the page asked for', async () => {
    adminContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    adminContext.setDefaultTimeout(15_000);
    page = await adminContext.newPage();
    await page.goto(`${web.url}/devices`);
    await page.waitForURL(/\/sign-in\?next=%2Fdevices/);
    // A first visit is not an expired session.
    expect(await page.getByText('Your session ended').count()).toBe(0);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await shot('01-sign-in');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await eventually(() => page.getByTestId('problem').innerText()).toContain('AUTH_INVALID_CREDENTIALS');

    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByLabel('Authentication code').fill(await adminCode());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${web.url}/devices`);
    signedInAt = Date.now();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
  });

  it('creates a device and shows its claim code, expiry countdown and bootstrap command', async () => {
    await page.getByRole('link', { name: 'Enrollment' }).click();
    await page.waitForURL(`${web.url}/enroll`);
    await page.getByLabel('Device name').waitFor();
    await page.getByLabel('Organization').selectOption({ label: 'Acme Security GmbH' });
    await page.getByLabel('Site').selectOption({ label: 'Berlin HQ' });
    await page.getByLabel('Type').selectOption('scanner');
    await page.getByLabel('Device name').fill('acme-scanner-01');
    await page.getByRole('button', { name: 'Create device and claim code' }).click();
    const issued = page.getByTestId('issued-code');
    await issued.waitFor();
    const code = (await page.getByLabel('Claim code', { exact: true }).innerText()).trim();
    expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$|^[A-Z2-7]{20}$/);
    expect(await page.getByLabel('Bootstrap command').innerText()).toContain(code);
    expect(await page.getByTestId('code-expiry').innerText()).toMatch(/^2[34]:\d\d:\d\d$/);
    await eventually(() => page.getByTestId('pending-devices').innerText()).toContain('acme-scanner-01');
    await shot('05-enrollment');

    // A second tab shows the inventory of active devices when the device enrolls: it must appear
    // there by itself, and the enrollment tab must tell the operator it arrived.
    const enrollment = page;
    page = await adminContext.newPage();
    await page.goto(`${web.url}/devices?status=active`);
    await page.getByText('No device matches these filters.').waitFor();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(code, { hostname: 'acme-scan-01' }) });
    expect(enrolled.status, enrolled.text).toBe(201);
    device = { id: enrolled.body.deviceId, name: 'acme-scanner-01', credential: enrolled.body.deviceCredential };
    const row = page.locator(`tr[data-device-id="${device.id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.innerText()).toContain('acme-scanner-01');
    await enrollment.getByTestId('enrolled-notice').waitFor();
    await enrollment.close();
  });

  it('shows heartbeats live in the inventory: online, last seen, metrics, overlay address', async () => {
    const row = page.locator(`tr[data-device-id="${device!.id}"]`);
    await heartbeat({
      services: [
        {
          unit: 'ssh.service',
          activeState: 'active',
          subState: 'running',
          since: new Date(Date.now() - 3600_000).toISOString(),
          watched: true,
        },
        { unit: `${XSS}.service`, activeState: 'failed', subState: 'failed', since: null, watched: false },
      ],
      docker: {
        status: 'ok',
        containers: [
          {
            id: 'c1',
            name: 'gvmd',
            image: 'greenbone/gvmd:stable',
            state: 'running',
            health: 'healthy',
            restartCount: 0,
            cpuPercent: 3.5,
            memoryBytes: 512e6,
          },
          {
            id: 'c2',
            name: XSS,
            image: `evil/${XSS}`,
            state: 'exited',
            health: null,
            restartCount: 4,
            cpuPercent: null,
            memoryBytes: null,
          },
        ],
      },
      inventory: { ...enrollBody('X').hardware, vendor: XSS, model: `Model ${XSS}`, agentVersion: '0.1.0' },
    });
    await eventually(() => row.getByTestId('connectivity').innerText(), { timeout: 15_000 }).toBe('online');
    for (let i = 0; i < 5; i++) {
      await heartbeat();
      await new Promise((r) => setTimeout(r, 1200));
    }
    await eventually(() => row.innerText()).toMatch(/\d+(\.\d)? % · \d+(\.\d)? % · 41 %/);
    expect(await row.innerText()).toMatch(/just now|\d+ s ago/);
    expect(await row.innerText()).toMatch(/10\.10\.0\.\d+/);
    await shot('03-inventory');
  });

  it('shows the device page with charts from the API and device strings as text', async () => {
    await page.getByRole('link', { name: 'acme-scanner-01' }).click();
    await page.waitForURL(`${web.url}/devices/${device!.id}`);
    for (const metric of ['cpu', 'memory', 'disk', 'network']) {
      await eventually(() => page.getByTestId(`chart-${metric}`).getAttribute('data-has-values'), { timeout: 15_000 }).toBe('true');
    }
    const points = Number(await page.getByTestId('chart-cpu').getAttribute('data-points'));
    expect(points).toBeGreaterThanOrEqual(1);
    // uPlot drew on its canvas.
    expect(await page.locator('[data-testid="chart-cpu"] canvas').count()).toBe(1);
    // A live heartbeat extends the chart without a reload.
    await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1000));
    await heartbeat();
    await eventually(async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points'))).toBeGreaterThan(points);

    await page.getByTestId('services').waitFor();
    expect(await page.getByTestId('services').innerText()).toContain(`${XSS}.service`);
    expect(await page.getByTestId('containers').innerText()).toContain(XSS);
    await eventually(() => page.getByText(`${XSS} Model ${XSS}`).count()).toBe(1);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.getByTestId('device-audit').waitFor();
    expect(await page.getByTestId('device-audit').innerText()).toContain('device.create');
    await shot('04-device');
  });

  it('turns the device offline on screen when its heartbeats stop', async () => {
    // Offline after three missed intervals; the worker's detection job publishes the change.
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_SECONDS * 1000 + 1500));
    const result = await worker.get(MaintenanceProcessor).process({ name: MaintenanceJob.DetectOffline });
    expect(result).toMatchObject({ wentOffline: [device!.id] });
    await eventually(() => page.getByTestId('connectivity').first().innerText(), { timeout: 15_000 }).toBe('offline');
    // The transition is recorded and the history on the page follows (refetched on the live event).
    await eventually(() => page.getByTestId('connectivity-history').innerText()).toMatch(/offline[\s\S]*online/);
  });

  it('quarantines on changed hardware and lets a Super Admin accept it after a fresh TOTP check', async () => {
    // The sign-in's TOTP check no longer counts as a fresh one.
    const stale = signedInAt + (STEP_UP_SECONDS + 2) * 1000 - Date.now();
    if (stale > 0) await new Promise((r) => setTimeout(r, stale));
    const hardware = enrollBody('X').hardware;
    await heartbeat({ inventory: { ...hardware, serial: 'SWAPPED-BOARD', macs: ['52:54:00:aa:bb:cc'], agentVersion: '0.1.0' } });
    // The live patch says "quarantined"; the page fetches the reason.
    await page.getByText('Quarantined: the hardware fingerprint changed').waitFor();
    await page.getByRole('button', { name: 'Accept the new hardware…' }).click();
    await page.getByLabel('Why is the new hardware trusted?').fill('mainboard replaced under RMA 4711');
    await page.getByRole('button', { name: 'Accept and end the quarantine' }).click();
    // Critical: the API asks for a step-up, the console asks for a code and retries by itself.
    await page.getByRole('heading', { name: 'Confirm a critical action' }).waitFor();
    await page
      .getByRole('dialog', { name: 'Confirm a critical action' })
      .getByLabel('Authentication code')
      .fill(await adminCode());
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await eventually(() => page.getByText('Quarantined: the hardware fingerprint changed').count()).toBe(0);
    const audit = await api.auditRows(`action = 'device.fingerprint_accept'`);
    // First refused for want of a step-up, then done after it.
    expect(audit.map((row) => row.result)).toEqual(['failure', 'success']);
    expect(audit[0].error_message).toContain('AUTH_STEP_UP_REQUIRED');
  });

  it('shows the overview with numbers that link to the filtered list', async () => {
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
    await heartbeat();
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
      `/devices/${device!.id}`,
    );
    expect(await page.getByTestId('recent-enrollments').innerText()).toContain('acme-scanner-01');
    expect(await page.getByText('Counted over the').count()).toBe(0);
    await shot('02-overview');
    await page.getByTestId('count-offline').click();
    await page.waitForURL(/\/devices\?connectivity=offline/);
  });

  it('reconnects the live connection by itself and refetches what changed meanwhile', async () => {
    await page.goto(`${web.url}/devices`);
    await page.getByTestId('device-table').waitFor();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await web.stop();
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('reconnecting');
    // Created while the console was away: no live message about it reached this page.
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'acme-server-02', organizationId, siteId, type: 'server' },
    });
    expect(created.status).toBe(201);
    web = await ConsoleServer.start(consolePort, api.baseUrl);
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('live');
    await page.locator(`tr[data-device-id="${created.body.device.id}"]`).waitFor();
  });

  it('searches, filters and sorts the inventory through the URL', async () => {
    await page.getByLabel('Search').fill('server-02');
    await page.waitForURL(/[?&]q=server-02/);
    await eventually(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Search').fill('no-such-device');
    await page.getByText('No device matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await eventually(() => page.locator('tbody tr').count()).toBe(3);
    await page.getByRole('button', { name: /^Name/ }).click();
    await page.waitForURL(/sort=-name/);
    await eventually(async () => (await page.locator('tbody tr').first().innerText()).split('\n')[0]).toBe('acme-spare-01');
    await page.getByLabel('Connectivity').selectOption('never_seen');
    await page.waitForURL(/connectivity=never_seen/);
    await eventually(() => page.locator('tbody tr').count()).toBe(2);
    // The URL is the state: opening it again shows the same view.
    await page.goto(page.url());
    await eventually(() => page.locator('tbody tr').count()).toBe(2);
    expect(await page.getByLabel('Connectivity').inputValue()).toBe('never_seen');

    // Sorted by CPU from the URL: the same order as the API's, the device with metrics first, shown at once.
    await page.goto(`${web.url}/devices?sort=-cpu`);
    await page.getByTestId('device-table').waitFor();
    const byCpu = (await api.request('GET', 'devices?sort=-cpu', { token: admin })).body.items.map((d: { id: string }) => d.id);
    expect(byCpu[0]).toBe(device!.id);
    await eventually(() => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')))).toEqual(
      byCpu,
    );
    expect(await page.locator('tbody tr').first().getByTestId('metrics').innerText()).toMatch(/^\d+(\.\d)? % · \d+(\.\d)? % · 41 %$/);
    expect(await page.locator('tbody tr').last().getByTestId('metrics').innerText()).toBe('—');
    expect(await page.getByTestId('metrics-header').getAttribute('aria-sort')).toBe('descending');
    await page.getByText('sorted by CPU, descending').waitFor();
    // The header switches the direction; devices without metrics stay last.
    await shot('14-inventory-by-cpu');
    await page.getByTestId('metrics-header').getByRole('button', { name: /^CPU/ }).click();
    await page.waitForURL(/sort=cpu/);
    await eventually(() => page.getByTestId('metrics-header').getAttribute('aria-sort')).toBe('ascending');
    expect(await page.locator('tbody tr').first().getAttribute('data-device-id')).toBe(device!.id);
    await page.getByTestId('metrics-header').getByRole('button', { name: /^RAM/ }).click();
    await page.waitForURL(/sort=-memory/);
  });

  it('remembers the light theme', async () => {
    await page.getByRole('button', { name: 'Switch to the light theme' }).click();
    await page.goto(`${web.url}/`);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
    await page.getByTestId('count-total').waitFor();
    await shot('08-overview-light');
    // A phone on call: the same page, navigation above the content.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('11-overview-phone');
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
  });

  it('shows the audit log with the chain verification', async () => {
    await page.goto(`${web.url}/admin/audit`);
    await eventually(() => page.getByTestId('chain-status').innerText()).toMatch(/chain intact · \d+ entries checked/);
    expect(await page.getByTestId('audit-table').innerText()).toContain('device.create');
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toBe('/api/v1/audit/export');
    await shot('06-audit');
    await page.getByLabel('Action', { exact: true }).fill('device.create');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/action=device.create/);
    await expect
      .poll(async () =>
        (await page.getByTestId('audit-table').locator('tbody tr').allInnerTexts()).every((t) => t.includes('device.create')),
      )
      .toBe(true);
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(href).toBe('/api/v1/audit/export?action=device.create');
    // The export link works with the browser's own session cookie.
    const csv = await page.request.get(`${web.url}${href}`);
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

  it('revokes a device after a confirmation', async () => {
    const spare = (await api.request('GET', 'devices?q=acme-spare-01', { token: admin })).body.items[0];
    await page.goto(`${web.url}/enroll`);
    const row = page.getByTestId('pending-devices').locator('tr', { hasText: 'acme-spare-01' });
    await row.getByRole('button', { name: 'Revoke code' }).click();
    await page.getByRole('button', { name: 'Revoke code' }).last().click();
    await eventually(() => row.innerText()).toContain('no active code');
    const codes = await api.request('GET', `claim-codes?deviceId=${spare.id}`, { token: admin });
    expect(codes.body.items.map((c: { status: string }) => c.status)).toEqual(['revoked']);
    await page.goto(`${web.url}/devices/${spare.id}`);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke this device?' }).waitFor();
    await page.getByRole('button', { name: 'Revoke device' }).click();
    await eventually(() => page.getByTestId('device-status').innerText()).toBe('revoked');
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect((await api.request('GET', `devices/${spare.id}`, { token: admin })).body.status).toBe('revoked');
  });

  it("pages through a device's audit trail", async () => {
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'acme-paging-01', organizationId, siteId, type: 'server' },
    });
    expect(created.status).toBe(201);
    const id = created.body.device.id;
    // device.create and 24 claim codes: more audit entries than one page of 20.
    for (let i = 0; i < 24; i++) {
      const r = await api.request('POST', `devices/${id}/claim-codes`, { token: admin });
      expect(r.status, r.text).toBe(201);
    }
    const auditTotal = async (): Promise<number> =>
      (await api.request('GET', `audit?resourceId=${id}&limit=1`, { token: admin })).body.total;
    const total = await auditTotal();
    expect(total).toBeGreaterThanOrEqual(25);
    await page.goto(`${web.url}/devices/${id}`);
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
    await shot('12-device-audit-paged');
  });

  it('shows the administration pages', async () => {
    await page.getByRole('link', { name: 'Organizations & sites' }).click();
    await eventually(() => page.getByRole('table').first().innerText()).toContain('Acme Security GmbH');
    await shot('09-organizations');
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
      await stepUp.getByLabel('Authentication code').fill(await adminCode());
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
    await shot('13-site-edit');
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
    await shot('09-organizations');
    await page.getByRole('link', { name: 'Users & roles' }).click();
    await eventually(() => page.getByRole('table').first().innerText()).toContain(ADMIN_EMAIL);
    await page.getByLabel('Require two-factor authentication (TOTP) for every operator').waitFor();
    await shot('10-users');
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

  it('offers a Read-Only operator no management and explains a forbidden deep link', async () => {
    const reader = await api.createUser(admin, 'read_only');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    const p = await context.newPage();
    await p.goto(`${web.url}/devices/${device!.id}`);
    await p.waitForURL(/\/sign-in/);
    await signIn(p, reader.email, TEST_PASSWORD);
    await p.waitForURL(`${web.url}/devices/${device!.id}`);
    await p.getByTestId('device-name').waitFor();
    expect(await p.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Retire' }).count()).toBe(0);
    const nav = await p.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).not.toContain('Enrollment');
    expect(nav).not.toContain('Audit log');
    expect(nav).not.toContain('Users');
    await p.goto(`${web.url}/devices`);
    await p.getByTestId('device-table').waitFor();
    expect(await p.getByRole('link', { name: /Enroll a device/ }).count()).toBe(0);

    await p.goto(`${web.url}/enroll`);
    await eventually(() => p.getByTestId('problem').innerText()).toContain('needs the devices.manage permission');
    expect(await p.getByLabel('Device name').count()).toBe(0);
    await p.goto(`${web.url}/admin/audit`);
    await eventually(() => p.getByTestId('problem').innerText()).toContain('needs the audit.view permission');
    await shot('07-read-only-forbidden', p);

    // TOTP setup: QR code, the key, and recovery codes shown once.
    await p.goto(`${web.url}/account/security`);
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
    const operator = await api.createUser(admin, 'soc_operator');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    const p = await context.newPage();
    await p.goto(`${web.url}/enroll`);
    await signIn(p, operator.email, TEST_PASSWORD);
    await p.waitForURL(`${web.url}/enroll`);
    const options = p.getByLabel('Organization').locator('option');
    await eventually(() => options.allInnerTexts()).toContain('Acme Security GmbH');
    expect((await options.allInnerTexts()).join()).not.toContain('xSPECTRE Internal');
    await context.close();
  });

  it('sends an operator whose session ended to sign in, then back to the same page', async () => {
    await page.goto(`${web.url}/devices?type=scanner`);
    await page.getByTestId('device-table').waitFor();
    // The session ends (access and refresh tokens gone, as after expiry): the next API call cannot refresh.
    await adminContext.clearCookies({ name: 'xs_access' });
    await adminContext.clearCookies({ name: 'xs_refresh' });
    await page.getByLabel('Status').selectOption('active');
    await page.waitForURL(/\/sign-in\?next=.*expired=1/);
    await page.getByText('Your session ended').waitFor();
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    // The authenticator is "lost": one of the recovery codes shown at setup signs in once.
    await page.getByRole('button', { name: /Use a recovery code/ }).click();
    await page.getByLabel('Recovery code').fill(adminRecoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${web.url}/devices?type=scanner&status=active`);
    await page.getByTestId('device-table').waitFor();
  });

  it('keeps working after the access token expired: one refresh, no sign-in', async () => {
    const cookies = await adminContext.cookies();
    expect(cookies.some((c) => c.name === 'xs_refresh')).toBe(true);
    await adminContext.clearCookies({ name: 'xs_access' });
    await page.getByLabel('Type').selectOption('');
    await page.waitForURL(`${web.url}/devices?status=active`);
    await page.getByTestId('device-table').waitFor();
    expect(page.url()).not.toContain('sign-in');
    await eventually(async () => (await adminContext.cookies()).some((c) => c.name === 'xs_access')).toBe(true);
    await eventually(() => page.getByTestId('device-table').getAttribute('aria-busy')).toBe('false');
    expect(page.url()).not.toContain('sign-in');

    // A page that fires a dozen requests at once: all get 401, one shared refresh serves them all
    // (two would present the same single-use refresh token, and the API would end the session).
    const refreshes = async () => (await api.auditRows(`action = 'auth.refresh'`)).map((r) => `${r.result}:${r.error_message ?? ''}`);
    const before = await refreshes();
    await adminContext.clearCookies({ name: 'xs_access' });
    await page.getByRole('link', { name: 'acme-scanner-01' }).click();
    await page.getByTestId('device-name').waitFor();
    for (const metric of ['cpu', 'memory', 'disk', 'network']) {
      await eventually(() => page.getByTestId(`chart-${metric}`).getAttribute('data-has-values')).toBe('true');
    }
    await page.getByTestId('device-audit').waitFor();
    expect((await refreshes()).slice(before.length)).toEqual(['success:']);
    expect(page.url()).not.toContain('sign-in');
  });

  it('enforces the two-factor policy: a new operator sets up TOTP first, then continues', async () => {
    await page.goto(`${web.url}/admin/users`);
    const policy = page.getByLabel('Require two-factor authentication (TOTP) for every operator');
    await policy.click();
    // A critical setting: the step-up window from earlier has passed.
    await page.getByRole('heading', { name: 'Confirm a critical action' }).waitFor();
    await page
      .getByRole('dialog', { name: 'Confirm a critical action' })
      .getByLabel('Authentication code')
      .fill(await adminCode());
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await eventually(() => policy.isChecked()).toBe(true);
    expect((await api.request('GET', 'settings/security', { token: admin })).body.requireTotp).toBe(true);

    const operator = await api.createUser(admin, 'soc_operator');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    const p = await context.newPage();
    await p.goto(`${web.url}/devices`);
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
    await p.waitForURL(`${web.url}/devices`);
    await p.getByTestId('device-table').waitFor();
    await context.close();
  });
});
