import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Heartbeat } from '@xspectre/contracts';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createLogger, NestPinoLogger } from '../../../api/src/common/logging/logger.js';
import { WorkerModule } from '../../../api/src/worker/worker.module.js';
import { enrollBody, startLabHub, type LabHub } from '../../../api/test/support/fleet.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TestApi, totpCode } from '../../../api/test/support/harness.js';
import { CONSOLE_DIR, ConsoleServer, ensureConsoleBuilt, freePort } from './console-server.js';

export const ARTIFACTS = join(CONSOLE_DIR, 'test-artifacts');
export const XSS = '<img src=x onerror="window.__xss=1">';
export const HEARTBEAT_SECONDS = 5;
/** The shortest step-up window the API allows: a sign-in with TOTP counts as a step-up for this long. */
export const STEP_UP_SECONDS = 30;

/** Polls until the assertion holds; generous, as two shared cores can be slow (vitest's default is 1 s). */
export function eventually<T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: 15_000, interval: 100, ...options });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function signIn(p: Page, email: string, password: string): Promise<void> {
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

export const metrics = (cpu: number) => ({
  cpuPercent: cpu,
  load: [0.4, 0.3, 0.2] as [number, number, number],
  memory: { totalBytes: 8e9, usedBytes: 3.2e9 + cpu * 1e7, swapTotalBytes: 0, swapUsedBytes: 0 },
  mounts: [{ mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 100e9, usedBytes: 41e9, inodesTotal: 1e6, inodesUsed: 1e5 }],
  network: [{ name: 'eth0', rxBytes: 1e6, txBytes: 2e6, rxBytesPerSecond: 120_000 + cpu * 1000, txBytesPerSecond: 40_000 }],
});

/** Services, containers and inventory naming themselves with markup: the console must show it as text. */
export function hostileHeartbeat(): Partial<Heartbeat> {
  return {
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
        { id: 'c2', name: XSS, image: `evil/${XSS}`, state: 'exited', health: null, restartCount: 4, cpuPercent: null, memoryBytes: null },
      ],
    },
    inventory: { ...enrollBody('X').hardware, vendor: XSS, model: `Model ${XSS}`, agentVersion: '0.1.0' },
  };
}

/** An enrolled device that sends heartbeats as its agent would. */
export class TestDevice {
  private sequence = 0;
  constructor(
    private readonly api: TestApi,
    readonly id: string,
    readonly name: string,
    readonly credential: string,
  ) {}

  async heartbeat(extra: Partial<Heartbeat> = {}): Promise<void> {
    const sequence = ++this.sequence;
    const body: Heartbeat = {
      protocolVersion: 1,
      deviceId: this.id,
      sequence,
      sentAt: new Date().toISOString(),
      agentVersion: '0.1.0',
      uptimeSeconds: 100 + sequence,
      metrics: metrics(20 + ((sequence * 7) % 50)),
      ...extra,
    };
    const r = await this.api.request('POST', 'agent/heartbeats', { token: this.credential, body });
    expect(r.status, r.text).toBe(200);
  }
}

export interface E2eOptions {
  /** A lab WireGuard hub for the API: needed to enroll devices. */
  hub?: boolean;
  /** The worker's processor in-process (offline detection). */
  worker?: boolean;
  /** Signs the admin in with the browser before the tests (`page`, `adminContext`). */
  signIn?: boolean;
  /** The API knows the console's address (API_CONSOLE_URL): single sign-on's callbacks land there. */
  consoleUrl?: boolean;
  /** Where `shot` writes (default the git-ignored artifacts directory). */
  shotsDir?: string;
  /** More API settings, read when the file starts (a beforeAll registered earlier may fill it: recovery.spec.ts). */
  apiEnv?: Record<string, string>;
}

/**
 * What every end-to-end file of the console starts: the real API (own database, 5 s heartbeats,
 * 30 s step-up window; a lab hub when asked), the built console behind its own server, Debian's
 * Chromium, and an admin with TOTP. Each file pays for its own, so only what it asks for is started.
 */
export class ConsoleE2e {
  api!: TestApi;
  web!: ConsoleServer;
  port = 0;
  browser!: Browser;
  hub: LabHub | undefined;
  worker: INestApplicationContext | undefined;
  /** The admin's API token (its session enabled TOTP), its TOTP secret and recovery codes. */
  admin = '';
  adminSecret = '';
  adminRecoveryCodes: string[] = [];
  /** "Acme Security GmbH" (customer) with the site "Berlin HQ", and "xSPECTRE Internal" (internal). */
  organizationId = '';
  siteId = '';
  adminContext!: BrowserContext;
  page!: Page;
  /** When the browser's admin last passed a TOTP check (a sign-in counts as a step-up). */
  signedInAt = 0;
  private adminLastStep = 0;

  constructor(private readonly options: E2eOptions) {}

  // Building the console (when a lone run finds no build) takes a minute or two on two cores.
  async start(): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    if (this.options.shotsDir) mkdirSync(this.options.shotsDir, { recursive: true });
    await ensureConsoleBuilt();
    this.port = await freePort();
    if (this.options.hub) this.hub = await startLabHub();
    this.api = await TestApi.start({
      ...(this.hub ? { API_WG_INTERFACE: this.hub.interfaceName, API_WG_NETNS: this.hub.netns, API_AGENT_SOURCE_CHECK: 'false' } : {}),
      API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      API_CONSOLE_ORIGINS: `http://127.0.0.1:${this.port}`,
      ...(this.options.consoleUrl ? { API_CONSOLE_URL: `http://127.0.0.1:${this.port}` } : {}),
      API_STEP_UP_TTL_SECONDS: String(STEP_UP_SECONDS),
      ...this.options.apiEnv,
    });
    const asRoot = process.getuid?.() === 0;
    const admin = async () => {
      this.admin = await this.api.adminToken();
      // The session that enabled TOTP stays valid; the browser signs in with password and code.
      ({ secret: this.adminSecret, recoveryCodes: this.adminRecoveryCodes } = await this.api.enableTotp(this.admin));
      // enableTotp used the previous step's code.
      this.adminLastStep = Math.floor(Date.now() / 30_000) - 1;
      const org = await this.api.request('POST', 'organizations', {
        token: this.admin,
        body: { name: 'Acme Security GmbH', kind: 'customer' },
      });
      this.organizationId = org.body.id;
      const site = await this.api.request('POST', 'sites', {
        token: this.admin,
        body: { organizationId: this.organizationId, name: 'Berlin HQ', timeZone: 'Europe/Berlin' },
      });
      this.siteId = site.body.id;
      await this.api.request('POST', 'organizations', { token: this.admin, body: { name: 'xSPECTRE Internal', kind: 'internal' } });
    };
    // Independent parts start side by side.
    [this.web, this.browser, this.worker] = await Promise.all([
      ConsoleServer.start(this.port, this.api.baseUrl),
      // Root cannot use Chromium's sandbox; small /dev/shm in containers would crash the renderer.
      chromium.launch({ executablePath: '/usr/bin/chromium', args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'] }),
      this.options.worker
        ? NestFactory.createApplicationContext(WorkerModule.register(this.api.config), {
            logger: new NestPinoLogger(createLogger('silent')),
          })
        : undefined,
      admin(),
    ]);
    if (this.options.signIn) {
      ({ context: this.adminContext, page: this.page } = await this.newPage());
      await this.page.goto(`${this.web.url}/devices`);
      await this.page.waitForURL(/\/sign-in/);
      await this.signInAdmin(this.page);
      await this.page.waitForURL(`${this.web.url}/devices`);
    }
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.web?.stop();
    await this.worker?.close();
    await this.api?.stop();
    await this.hub?.stop();
  }

  /** A browser context of its own (a separate operator), desktop-sized. */
  async newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    return { context, page: await context.newPage() };
  }

  /** Signs the admin in on the sign-in page `p` shows: password (folded under break-glass when SSO is mandatory), then a TOTP code. */
  async signInAdmin(p: Page): Promise<void> {
    const breakGlass = p.getByText('Break-glass sign-in');
    if (await breakGlass.isVisible()) await breakGlass.click();
    await signIn(p, ADMIN_EMAIL, ADMIN_PASSWORD);
    await p.getByLabel('Authentication code').fill(await this.adminCode());
    await p.getByRole('button', { name: 'Verify' }).click();
    await p.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
    this.signedInAt = Date.now();
  }

  /**
   * A code for the admin's next unused time step: the API burns each step it accepts (and takes
   * one either side of now), and a file uses several (sign-in, step-ups), sometimes within one step.
   */
  async adminCode(): Promise<string> {
    for (;;) {
      // Not in the last seconds of a step: the step must not roll over between choosing and checking.
      if ((Date.now() / 1000) % 30 > 28) await sleep(2500);
      const now = Math.floor(Date.now() / 30_000);
      const step = Math.max(this.adminLastStep + 1, now);
      if (step <= now + 1) {
        this.adminLastStep = step;
        return totpCode(this.adminSecret, step - now);
      }
      await sleep(1000);
    }
  }

  /** Waits until the browser's sign-in no longer counts as a fresh TOTP check. */
  async stepUpExpired(): Promise<void> {
    const stale = this.signedInAt + (STEP_UP_SECONDS + 2) * 1000 - Date.now();
    if (stale > 0) await sleep(stale);
  }

  /** Answers the console's "Confirm a critical action" dialog on `p` with a fresh admin code. */
  async confirmStepUp(p: Page = this.page): Promise<void> {
    await p.getByRole('heading', { name: 'Confirm a critical action' }).waitFor();
    await p
      .getByRole('dialog', { name: 'Confirm a critical action' })
      .getByLabel('Authentication code')
      .fill(await this.adminCode());
    await p.getByRole('button', { name: 'Verify and continue' }).click();
  }

  shot(name: string, p: Page = this.page): Promise<Buffer> {
    return p.screenshot({ path: join(this.options.shotsDir ?? ARTIFACTS, `${name}.png`), fullPage: true });
  }

  /** A device created through the API in Acme's Berlin HQ (pending, never seen); returns its id. */
  async createDevice(name: string, type = 'server', siteId = this.siteId): Promise<string> {
    const r = await this.api.request('POST', 'devices', {
      token: this.admin,
      body: { name, organizationId: this.organizationId, siteId, type },
    });
    expect(r.status, r.text).toBe(201);
    return r.body.device.id as string;
  }

  /** A scanner created and enrolled through the API (needs the hub). */
  async enrollDevice(name: string, hostname = name): Promise<TestDevice> {
    const r = await this.api.request('POST', 'devices', {
      token: this.admin,
      body: { name, organizationId: this.organizationId, siteId: this.siteId, type: 'scanner' },
    });
    expect(r.status, r.text).toBe(201);
    return this.enroll(r.body.claimCode.code, name, hostname);
  }

  async enroll(code: string, name: string, hostname: string): Promise<TestDevice> {
    const enrolled = await this.api.request('POST', 'enroll', { body: enrollBody(code, { hostname }) });
    expect(enrolled.status, enrolled.text).toBe(201);
    return new TestDevice(this.api, enrolled.body.deviceId, name, enrolled.body.deviceCredential);
  }
}

/** Starts a ConsoleE2e for the enclosing describe; a failing test adds `failed-*.png` of every open page. */
export function useConsoleE2e(options: E2eOptions = {}): ConsoleE2e {
  const e = new ConsoleE2e(options);
  beforeAll(() => e.start(), 300_000);
  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !e.browser) return;
    const name = `failed-${context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
    const pages = e.browser.contexts().flatMap((c) => c.pages());
    await Promise.all(
      pages.map((p, i) => p.screenshot({ path: join(ARTIFACTS, `${name}-${i}.png`), fullPage: true }).catch(() => undefined)),
    );
  });
  afterAll(() => e.stop());
  return e;
}
