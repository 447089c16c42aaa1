import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../../api/test/support/harness.js';
import { eventually, signIn, useConsoleE2e } from './support/e2e.js';

/** The console's edge (headers, the /api proxy) and an operator's session: sign-in, expiry, refresh. */
describe('console: sign-in and session', () => {
  const e = useConsoleE2e({ hub: true, signIn: true });

  it('serves pages with a nonce CSP and the security headers, and proxies the API', async () => {
    const { web, api } = e;
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
    const [row] = await api.auditRows(`action = 'auth.login' AND result = 'failure' AND user_email = 'nobody@test.local'`);
    expect(row.source_ip).toBe('127.0.0.1');
  });

  it('signs the admin in with password and TOTP, then returns to the page asked for', async () => {
    const { context, page } = await e.newPage();
    await page.goto(`${e.web.url}/devices`);
    await page.waitForURL(/\/sign-in\?next=%2Fdevices/);
    // A first visit is not an expired session.
    expect(await page.getByText('Your session ended').count()).toBe(0);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await e.shot('01-sign-in', page);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await eventually(() => page.getByTestId('problem').innerText()).toContain('AUTH_INVALID_CREDENTIALS');

    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByLabel('Authentication code').fill(await e.adminCode());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${e.web.url}/devices`);
    await eventually(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    await context.close();
  });

  it('sends an operator whose session ended to sign in, then back to the same page', async () => {
    const { page, adminContext } = e;
    // An active scanner: the page it comes back to lists it.
    await (await e.enrollDevice('acme-session-01')).heartbeat();
    await page.goto(`${e.web.url}/devices?type=scanner`);
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
    await page.getByLabel('Recovery code').fill(e.adminRecoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${e.web.url}/devices?type=scanner&status=active`);
    await page.getByTestId('device-table').waitFor();
  });

  it('keeps working after the access token expired: one refresh, no sign-in', async () => {
    const { page, adminContext, api } = e;
    // A device with metrics: its page fires a dozen requests at once (charts, events, audit).
    const device = await e.enrollDevice('acme-refresh-01');
    await device.heartbeat();
    await device.heartbeat();
    await page.goto(`${e.web.url}/devices?type=scanner&status=active`);
    await page.getByTestId('device-table').waitFor();

    const cookies = await adminContext.cookies();
    expect(cookies.some((c) => c.name === 'xs_refresh')).toBe(true);
    await adminContext.clearCookies({ name: 'xs_access' });
    await page.getByLabel('Type').selectOption('');
    await page.waitForURL(`${e.web.url}/devices?status=active`);
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
    await page.getByRole('link', { name: 'acme-refresh-01' }).click();
    await page.getByTestId('device-name').waitFor();
    for (const metric of ['cpu', 'memory', 'disk', 'network']) {
      await eventually(() => page.getByTestId(`chart-${metric}`).getAttribute('data-has-values')).toBe('true');
    }
    await page.getByTestId('device-audit').waitFor();
    expect((await refreshes()).slice(before.length)).toEqual(['success:']);
    expect(page.url()).not.toContain('sign-in');
  });
});
