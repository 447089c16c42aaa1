import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TestApi, totpCode } from '../../../api/test/support/harness.js';
import { ConsoleServer, ensureConsoleBuilt, freePort } from './console-server.js';
import { ARTIFACTS, signIn, sleep, STEP_UP_SECONDS } from './e2e.js';

/** Where the screenshots of single sign-on go. */
export const SSO_SHOTS = '/tmp/shots-sso';

/**
 * The console end to end with single sign-on: as ConsoleE2e (support/e2e.ts), but the API knows
 * the console's public URL (API_CONSOLE_URL: every SP URL and the redirect after an IdP's answer),
 * which needs the console's port before the API starts. No lab hub, no worker, no devices.
 */
export class SsoE2e {
  api!: TestApi;
  web!: ConsoleServer;
  browser!: Browser;
  /** The bootstrap admin's API token (its session enabled TOTP) and TOTP secret. */
  admin = '';
  adminSecret = '';
  private lastStep = 0;

  async start(): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(SSO_SHOTS, { recursive: true });
    await ensureConsoleBuilt();
    const port = await freePort();
    const consoleUrl = `http://127.0.0.1:${port}`;
    this.api = await TestApi.start({
      API_CONSOLE_ORIGINS: consoleUrl,
      API_CONSOLE_URL: consoleUrl,
      API_STEP_UP_TTL_SECONDS: String(STEP_UP_SECONDS),
    });
    const asRoot = process.getuid?.() === 0;
    [this.web, this.browser] = await Promise.all([
      ConsoleServer.start(port, this.api.baseUrl),
      chromium.launch({ executablePath: '/usr/bin/chromium', args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'] }),
      (async () => {
        this.admin = await this.api.adminToken();
        ({ secret: this.adminSecret } = await this.api.enableTotp(this.admin));
        // enableTotp used the previous step's code.
        this.lastStep = Math.floor(Date.now() / 30_000) - 1;
      })(),
    ]);
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.web?.stop();
    await this.api?.stop();
  }

  async newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    return { context, page: await context.newPage() };
  }

  /** A TOTP code of a time step the API has not burnt yet (it accepts one step either side of now). */
  async adminCode(): Promise<string> {
    for (;;) {
      if ((Date.now() / 1000) % 30 > 28) await sleep(2500);
      const now = Math.floor(Date.now() / 30_000);
      const step = Math.max(this.lastStep + 1, now);
      if (step <= now + 1) {
        this.lastStep = step;
        return totpCode(this.adminSecret, step - now);
      }
      await sleep(1000);
    }
  }

  /** Signs the bootstrap admin in with password and TOTP on the sign-in page `p` shows (the password form may be folded). */
  async signInAdmin(p: Page): Promise<void> {
    const breakGlass = p.getByText('Break-glass sign-in');
    if (await breakGlass.isVisible()) await breakGlass.click();
    await signIn(p, ADMIN_EMAIL, ADMIN_PASSWORD);
    await p.getByLabel('Authentication code').fill(await this.adminCode());
    await p.getByRole('button', { name: 'Verify' }).click();
    await p.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  }

  shot(name: string, p: Page): Promise<Buffer> {
    return p.screenshot({ path: join(SSO_SHOTS, `${name}.png`), fullPage: true });
  }
}

/** Starts an SsoE2e for the enclosing describe; a failing test leaves `failed-*.png` of every open page. */
export function useSsoE2e(): SsoE2e {
  const e = new SsoE2e();
  beforeAll(() => e.start(), 300_000);
  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !e.browser) return;
    const name = `failed-sso-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
    const pages = e.browser.contexts().flatMap((c) => c.pages());
    await Promise.all(
      pages.map((p, i) => p.screenshot({ path: join(ARTIFACTS, `${name}-${i}.png`), fullPage: true }).catch(() => undefined)),
    );
  });
  afterAll(() => e.stop());
  return e;
}
