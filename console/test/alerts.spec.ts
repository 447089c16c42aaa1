import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertSeverity } from '@xspectre/contracts';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertChanges, AlertsService } from '../../api/src/alerts/alerts.service.js';
import { TEST_PASSWORD } from '../../api/test/support/harness.js';
import { eventually, signIn, useConsoleE2e } from './support/e2e.js';

/** Where the report's screenshots go (the alerts page and a device's alerts tab). */
const SHOTS = '/tmp/shots-alerts';

/** A local receiver for the delivery targets: answers like BetterStack's v3 incidents API (and any webhook). */
class FakeReceiver {
  readonly requests: Array<{ method: string; path: string; auth: string | undefined; body: string }> = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body });
        res.writeHead(req.url === '/api/v3/incidents' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { id: '4242', type: 'incident', attributes: {} } }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The alert pages in the console against the real API: the list with its filters (URL state),
 * acknowledge and resolve with notes, a live alert announced by the "new" bar without moving the
 * rows, the navigation badge and the overview, a device's alerts tab, rules (a bad threshold
 * named at its field), silences, delivery targets (the token never shown again, "Send test"),
 * dead letters with Retry, and a Read-Only operator who sees everything and can change nothing.
 * Alerts are opened through the engine's own AlertsService (as its evaluation would), so they
 * arrive live like real ones.
 */
describe('console: alerts', () => {
  const e = useConsoleE2e({ signIn: true });
  const receiver = new FakeReceiver();
  let hamburgId = '';
  const devices: Record<string, string> = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await receiver.start();
    const site = await e.api.request('POST', 'sites', {
      token: e.admin,
      body: { organizationId: e.organizationId, name: 'Hamburg Port', timeZone: 'Europe/Berlin' },
    });
    expect(site.status, site.text).toBe(201);
    hamburgId = site.body.id;
    devices.berlin = await e.createDevice('acme-berlin-01');
    devices.hamburg = await e.createDevice('acme-hamburg-01', 'scanner', hamburgId);
  }, 60_000);
  afterAll(() => receiver.stop());

  /** Opens an alert as the engine would (one per rule key, device and subject) and announces it live. */
  async function openAlert(
    deviceId: string,
    ruleKey: string,
    severity: AlertSeverity,
    title: string,
    subject = '',
    details: Record<string, unknown> = {},
  ): Promise<string> {
    const { rows } = await e.api.sql.query<{ id: string; kind: string; site_id: string }>(
      `SELECT r.id, r.kind, d.site_id FROM alert_rules r, devices d WHERE r.key = $1 AND r.scope_kind = 'global' AND d.id = $2`,
      [ruleKey, deviceId],
    );
    const rule = rows[0]!;
    const service = e.api.app.get(AlertsService);
    const changes = new AlertChanges();
    const [id] = await service.open(
      [
        {
          ruleId: rule.id,
          ruleKey,
          kind: rule.kind as never,
          severity,
          deviceId,
          organizationId: e.organizationId,
          siteId: rule.site_id,
          subject,
          title,
          details,
        },
      ],
      new Date(),
      changes,
    );
    await service.publish(changes);
    expect(id).toBeTruthy();
    return id!;
  }

  const rows = (p: Page) => p.locator('[data-testid="alerts-table"] tbody tr');
  const row = (p: Page, id: string) => p.locator(`tr[data-alert-id="${id}"]`);
  const stateOf = (p: Page, id: string) => row(p, id).getByTestId('alert-state').innerText();
  const badge = (p: Page) => p.getByTestId('nav-alerts-count');

  it('lists alerts newest first with filters in the URL, the navigation badge and the overview', async () => {
    const { page } = e;
    await openAlert(devices.berlin!, 'device-offline', 'critical', 'Device offline', '', { offlineSeconds: 320 });
    await openAlert(devices.berlin!, 'disk-high', 'warning', 'Disk filling', '/var', { value: 87.5, threshold: 85, unit: ' %' });
    const info = await openAlert(devices.hamburg!, 'hardware-changed', 'info', 'Hardware changed');

    await page.goto(`${e.web.url}/alerts`);
    await eventually(() => rows(page).count()).toBe(3);
    // Newest first: the info alert opened last.
    expect(await rows(page).first().getAttribute('data-alert-id')).toBe(info);
    expect(await rows(page).allInnerTexts()).toEqual([
      expect.stringContaining('acme-hamburg-01'),
      expect.stringContaining('/var'),
      expect.stringContaining('Device offline'),
    ]);
    expect(await rows(page).nth(1).innerText()).toContain('value 87.5 %');
    expect(await rows(page).nth(1).innerText()).toContain('Acme Security GmbH / Berlin HQ');

    // The navigation counts unresolved alerts, red while one is critical.
    await eventually(() => badge(page).innerText()).toContain('3');
    expect(await badge(page).getAttribute('data-critical')).toBe('true');

    await page.getByLabel('Filter by severity').selectOption('critical');
    await page.waitForURL(/severity=critical/);
    await eventually(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().innerText()).toContain('Device offline');
    await page.reload();
    await eventually(() => rows(page).count()).toBe(1);
    expect(await page.getByLabel('Filter by severity').inputValue()).toBe('critical');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await eventually(() => rows(page).count()).toBe(3);
    await page.getByLabel('Filter by site').selectOption({ label: 'Hamburg Port' });
    await page.waitForURL(new RegExp(`siteId=${hamburgId}`));
    // The previous page (3 rows) stays on screen until the new one is read.
    await eventually(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-alert-id')).toBe(info);

    // The device filter: a name search.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Filter by device').fill('acme-berlin');
    await page.getByRole('button', { name: /acme-berlin-01/ }).click();
    await page.waitForURL(new RegExp(`deviceId=${devices.berlin}`));
    await eventually(() => rows(page).count()).toBe(2);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Filter by state').selectOption('resolved');
    await page.getByText('No alerts match these filters.').waitFor();

    // The overview: open alerts by severity, each a link to the filtered list.
    await page.goto(`${e.web.url}/`);
    await eventually(() => page.getByTestId('alerts-critical').innerText()).toContain('1');
    expect(await page.getByTestId('alerts-warning').innerText()).toContain('1');
    expect(await page.getByTestId('alerts-info').innerText()).toContain('1');
    await page.getByTestId('alerts-warning').click();
    await page.waitForURL(/\/alerts\?severity=warning/);
    await eventually(() => rows(page).count()).toBe(1);
  });

  it('acknowledges with a note and resolves only with one, in place', async () => {
    const { page } = e;
    const id = await openAlert(devices.berlin!, 'unit-failed', 'warning', 'systemd unit failed', 'nginx.service');
    await page.goto(`${e.web.url}/alerts`);
    await eventually(() => stateOf(page, id)).toBe('open');
    const before = Number(await badge(page).innerText());

    await row(page, id).getByRole('button', { name: 'Acknowledge' }).click();
    const ack = page.getByRole('dialog', { name: 'Acknowledge the alert' });
    await ack.getByLabel('Note (optional)').fill('looking at nginx <b>now</b>');
    await ack.getByRole('button', { name: 'Acknowledge' }).click();
    await eventually(() => stateOf(page, id)).toBe('acknowledged');
    expect(await row(page, id).getByTestId('alert-handled').innerText()).toContain('looking at nginx <b>now</b>');
    const [stored] = (await e.api.sql.query('SELECT state, acknowledge_note, acknowledged_by FROM alerts WHERE id = $1', [id])).rows;
    expect(stored).toMatchObject({ state: 'acknowledged', acknowledge_note: 'looking at nginx <b>now</b>' });
    expect(await row(page, id).getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    // Resolving needs a note: refused before sending.
    await row(page, id).getByRole('button', { name: 'Resolve' }).click();
    const resolve = page.getByRole('dialog', { name: 'Resolve the alert' });
    await resolve.getByRole('button', { name: 'Resolve' }).click();
    await eventually(() => resolve.innerText()).toContain('say why it is resolved');
    expect((await e.api.sql.query('SELECT state FROM alerts WHERE id = $1', [id])).rows[0].state).toBe('acknowledged');
    await resolve.getByLabel('Why is it resolved?').fill('restarted nginx, config fixed');
    await resolve.getByRole('button', { name: 'Resolve' }).click();
    await eventually(() => stateOf(page, id)).toBe('resolved');
    // It stays where it was (dimmed) under the unresolved filter; nothing jumps.
    expect(await row(page, id).getByTestId('alert-handled').innerText()).toContain('restarted nginx, config fixed');
    expect(await row(page, id).getByRole('button').count()).toBe(0);
    await eventually(() => badge(page).innerText()).toBe(String(before - 1));
    const [resolved] = (await e.api.sql.query('SELECT state, resolution, resolve_note FROM alerts WHERE id = $1', [id])).rows;
    expect(resolved).toMatchObject({ state: 'resolved', resolution: 'manual', resolve_note: 'restarted nginx, config fixed' });
  });

  it('announces a live alert with a "new" bar without moving the rows, and shows it on request', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/alerts`);
    await eventually(() => rows(page).count()).toBeGreaterThan(1);
    const firstId = await rows(page).first().getAttribute('data-alert-id');
    const firstTop = (await rows(page).first().boundingBox())!.y;
    const shownBefore = await rows(page).count();
    const before = Number(await badge(page).innerText());

    const fresh = await openAlert(devices.hamburg!, 'container-not-running', 'critical', 'Container not running', 'gvmd');
    await eventually(() => page.getByTestId('new-alerts').innerText()).toBe('1 new alert — show');
    await eventually(() => badge(page).innerText()).toBe(String(before + 1));
    // Nothing moved: the same rows in the same place.
    expect(await rows(page).count()).toBe(shownBefore);
    expect(await rows(page).first().getAttribute('data-alert-id')).toBe(firstId);
    expect((await rows(page).first().boundingBox())!.y).toBe(firstTop);
    expect(await row(page, fresh).count()).toBe(0);
    await e.shot('40-alerts-new-bar');

    await page.getByTestId('new-alerts').click();
    await eventually(() => rows(page).first().getAttribute('data-alert-id')).toBe(fresh);
    expect(await page.getByTestId('new-alerts').count()).toBe(0);
  });

  it('shows a device’s alerts in its tab with the same actions', async () => {
    const { page } = e;
    await page.goto(`${e.web.url}/devices/${devices.hamburg}`);
    const tabs = page.getByTestId('device-tabs');
    await tabs.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${e.web.url}/devices/${devices.hamburg}/alerts`);
    expect(await tabs.getByRole('link', { name: 'Alerts' }).getAttribute('aria-current')).toBe('page');
    await eventually(() => rows(page).count()).toBe(2);
    for (const text of await rows(page).allInnerTexts()) expect(text).not.toContain('acme-berlin-01');
    expect(await page.locator('[data-testid="alerts-table"] th', { hasText: 'Device' }).count()).toBe(0);
    expect(await rows(page).first().getByRole('button', { name: 'Acknowledge' }).count()).toBe(1);
  });

  it('names a bad threshold at its field before sending and adds a good rule', async () => {
    const { page } = e;
    const count = async () => (await e.api.request('GET', 'alert-rules', { token: e.admin })).body.items.length as number;
    const rulesBefore = await count();
    await page.goto(`${e.web.url}/alerts/rules`);
    await page.locator('[data-rule-key="cpu-high"]').waitFor();
    expect(await page.locator('[data-rule-key="cpu-high"]').innerText()).toContain('cpu ≥ 90 % for 5 min');
    await page.getByRole('button', { name: 'New rule' }).click();
    const editor = page.getByTestId('rule-editor');
    await editor.getByLabel(/^Key/).fill('cpu-lab');
    await editor.getByLabel(/^Name/).fill('Lab CPU busy');
    await editor.getByLabel(/^Metric/).selectOption('cpu');
    await editor.getByLabel('Threshold (at or above)').fill('150');
    await editor.getByLabel('Held for (seconds)').fill('60');
    await editor.getByLabel(/^Applies to/).selectOption('site');
    await editor.getByLabel(/^Site/).selectOption({ label: 'Acme Security GmbH / Hamburg Port' });
    await editor.getByRole('button', { name: 'Add rule' }).click();
    await eventually(() => editor.innerText()).toContain('must be at most 100 (percent) for cpu');
    expect(await count()).toBe(rulesBefore);

    await editor.getByLabel('Threshold (at or above)').fill('95');
    await editor.getByRole('button', { name: 'Add rule' }).click();
    await eventually(() => page.getByTestId('rules-notice').innerText()).toContain('“Lab CPU busy” was added.');
    expect(await count()).toBe(rulesBefore + 1);
    const group = page.locator('[data-rule-key="cpu-lab"]');
    expect(await group.getByTestId('rule-scope').innerText()).toBe('site Hamburg Port');
    await e.shot('41-alert-rules');
  });

  it('silences a device from an alert and ends the silence from the silences page', async () => {
    const { page } = e;
    const id = await openAlert(devices.berlin!, 'tunnel-stale', 'warning', 'Tunnel handshake stale');
    await page.goto(`${e.web.url}/alerts`);
    await row(page, id).getByRole('button', { name: 'Silence…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Silence alerts' });
    await dialog.getByLabel('Silence').selectOption({ label: 'the device acme-berlin-01' });
    await dialog.getByLabel('For').selectOption('1h');
    await dialog.getByRole('button', { name: 'Silence' }).click();
    await eventually(() => dialog.innerText()).toContain('say why');
    await dialog.getByLabel('Reason').fill('switch replacement');
    await dialog.getByRole('button', { name: 'Silence' }).click();
    await eventually(() => page.getByTestId('alert-notice').innerText()).toContain('Silenced the device acme-berlin-01 until');
    const [silence] = (await e.api.sql.query(`SELECT scope_kind, scope_id, reason, ends_at - starts_at AS length FROM alert_silences`))
      .rows;
    expect(silence).toMatchObject({ scope_kind: 'device', scope_id: devices.berlin, reason: 'switch replacement' });

    await page.getByTestId('alerts-tabs').getByRole('link', { name: 'Silences' }).click();
    await page.waitForURL(`${e.web.url}/alerts/silences`);
    const silenceRow = page.locator('[data-testid="silences-table"] tbody tr').first();
    await eventually(() => silenceRow.innerText()).toContain('acme-berlin-01');
    expect(await silenceRow.getByTestId('silence-state').innerText()).toBe('active');
    await silenceRow.getByRole('button', { name: 'End now' }).click();
    await page.getByRole('dialog', { name: 'End this silence now?' }).getByRole('button', { name: 'End now' }).click();
    await page.getByText('No silence is active or planned.').waitFor();
    await page.getByLabel('Filter silences').selectOption('ended');
    await eventually(() => page.locator('[data-testid="silences-table"] tbody tr').first().innerText()).toContain('switch replacement');
  });

  it('keeps a target’s token write-only and shows what a test delivery answered', async () => {
    const { page } = e;
    const token = 'bs-token-e2e-9f3a7c';
    await page.goto(`${e.web.url}/admin/alert-targets`);
    await page.getByText('No target yet').waitFor();
    await page.getByRole('button', { name: 'Add BetterStack' }).click();
    const editor = page.getByTestId('target-editor');
    await editor.getByLabel('Uptime API base URL').fill(receiver.url);
    await editor.getByLabel('Requester e-mail').fill('soc@example.com');
    await editor.getByTestId('target-secret').fill(token);
    // The receiver is on loopback: refused unless allowed, and allowing it says what that means.
    await editor.getByRole('button', { name: 'Add target' }).click();
    await eventually(() => editor.getByTestId('problem').innerText()).toContain('ALERT_TARGET_ADDRESS_REFUSED');
    await editor.getByLabel('Allow a private address').check();
    expect(await editor.getByTestId('private-warning').innerText()).toContain('loopback');
    await e.shot('43-alert-target-editor');
    await editor.getByRole('button', { name: 'Add target' }).click();
    await eventually(() => page.getByTestId('targets-notice').innerText()).toContain('“BetterStack” was added.');

    const target = page.locator('[data-target-id]').first();
    expect(await target.getByTestId('secret-hint').innerText()).toBe('set, ends in …3a7c');
    expect(await page.content()).not.toContain(token);
    await target.getByRole('button', { name: 'Edit BetterStack' }).click();
    expect(await page.getByTestId('target-secret').inputValue()).toBe('');
    expect(await page.getByTestId('target-editor').innerText()).toContain('leave empty to keep');
    await page.getByTestId('target-editor').getByRole('button', { name: 'Cancel' }).click();
    const listed = await e.api.request('GET', 'alert-targets', { token: e.admin });
    expect(listed.text).not.toContain(token);

    await target.getByRole('button', { name: 'Send test' }).click();
    const result = target.getByTestId('target-test-result');
    await eventually(() => result.innerText()).toContain('Delivered');
    expect(await result.innerText()).toContain('HTTP 201');
    expect(await result.getByTestId('test-incident').innerText()).toBe('4242');
    const create = receiver.requests.find((r) => r.method === 'POST' && r.path === '/api/v3/incidents');
    expect(create?.auth).toBe(`Bearer ${token}`);
    await e.shot('42-alert-targets');
  });

  it('lists dead letters with their last error and queues one again with Retry', async () => {
    const { page } = e;
    const alertId = await openAlert(devices.hamburg!, 'journal-gap', 'warning', 'Heartbeats lost (journal gap)');
    // The row carries the alert as it was queued (its payload), as the engine writes it.
    const alert = await e.api.request('GET', `alerts/${alertId}`, { token: e.admin });
    const target = await e.api.request('POST', 'alert-targets', {
      token: e.admin,
      body: {
        kind: 'webhook',
        name: 'SIEM hook',
        routing: { severities: ['critical'], organizationIds: null },
        allowPrivateAddress: true,
        config: { url: `${receiver.url}/hook` },
        secret: 'whsec-e2e-123456',
      },
    });
    expect(target.status, target.text).toBe(201);
    const [dead] = (
      await e.api.sql.query(
        `INSERT INTO alert_deliveries (alert_id, target_id, kind, sequence, state, attempts, last_error, payload, created_at)
         VALUES ($1, $2, 'create', 99, 'dead', 8, 'HTTP 500 from uptime.betterstack.com: internal error', $3, now()) RETURNING id`,
        [alertId, target.body.id, JSON.stringify(alert.body)],
      )
    ).rows;
    await page.goto(`${e.web.url}/admin/alert-deliveries`);
    const deadRow = page.locator(`tr[data-delivery-id="${dead.id}"]`);
    await eventually(() => deadRow.getByTestId('delivery-error').innerText()).toBe('HTTP 500 from uptime.betterstack.com: internal error');
    expect(await deadRow.innerText()).toContain('Heartbeats lost (journal gap)');
    await deadRow.getByRole('button', { name: 'Retry' }).click();
    await eventually(() => deadRow.getByTestId('delivery-state').innerText()).toBe('queued again');
    const [after] = (await e.api.sql.query('SELECT state FROM alert_deliveries WHERE id = $1', [dead.id])).rows;
    expect(after.state).not.toBe('dead');
  });

  it('shows a Read-Only operator every list and no action', async () => {
    const user = await e.api.createUser(e.admin, 'read_only');
    const { context, page: p } = await e.newPage();
    await p.goto(`${e.web.url}/alerts`);
    await signIn(p, user.email, TEST_PASSWORD);
    await p.waitForURL(`${e.web.url}/alerts`);
    await eventually(() => rows(p).count()).toBeGreaterThan(2);
    await eventually(() => badge(p).innerText()).toMatch(/^\d+$/);
    expect(await p.locator('[data-testid="alerts-table"] tbody button').count()).toBe(0);
    const nav = p.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Alert delivery' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Dead letters' }).count()).toBe(0);

    await p.getByTestId('alerts-tabs').getByRole('link', { name: 'Rules' }).click();
    await p.locator('[data-rule-key="cpu-high"]').waitFor();
    expect(await p.getByRole('button', { name: 'New rule' }).count()).toBe(0);
    expect(await p.locator('[data-testid="rules-table"] button, [data-testid="rules-table"] input').count()).toBe(0);

    await p.getByTestId('alerts-tabs').getByRole('link', { name: 'Silences' }).click();
    await p.getByText('No silence is active or planned.').waitFor();
    expect(await p.getByRole('button', { name: 'New silence' }).count()).toBe(0);

    await p.goto(`${e.web.url}/devices/${devices.hamburg}/alerts`);
    await eventually(() => rows(p).count()).toBeGreaterThan(0);
    expect(await p.locator('[data-testid="alerts-table"] tbody button').count()).toBe(0);
    await p.goto(`${e.web.url}/admin/alert-targets`);
    await p.getByText('Not allowed for your role').waitFor();
    await context.close();
  });

  it('takes the screenshots: the alerts page with every severity and a device’s alerts tab', async () => {
    const { page } = e;
    await openAlert(devices.berlin!, 'memory-high', 'warning', 'Memory nearly full', '', { value: 93.1, threshold: 90, unit: ' %' });
    await openAlert(devices.hamburg!, 'disk-critical', 'critical', 'Disk almost full', '/srv/openvas', {
      value: 96.4,
      threshold: 95,
      unit: ' %',
    });
    await openAlert(devices.berlin!, 'agent-outdated', 'info', 'Agent behind the served build', '', { running: '0.1.0', served: '0.2.0' });
    await page.goto(`${e.web.url}/alerts?state=all`);
    await eventually(() => rows(page).count()).toBeGreaterThan(8);
    for (const severity of ['critical', 'warning', 'info'])
      expect(await page.locator(`[data-testid="alerts-table"] tr[data-severity="${severity}"]`).count()).toBeGreaterThan(1);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: `${SHOTS}/alerts.png`, fullPage: true });
    await page.goto(`${e.web.url}/devices/${devices.berlin}/alerts?state=all`);
    await eventually(() => rows(page).count()).toBeGreaterThan(3);
    await page.screenshot({ path: `${SHOTS}/device-alerts.png`, fullPage: true });
  });
});
