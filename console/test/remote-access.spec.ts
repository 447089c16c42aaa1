import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, totpCode } from '../../api/test/support/harness.js';
import { RemoteAccessLab, type RemoteAccessDevice } from '../../api/test/support/remote-access-lab.js';
import { ConsoleServer, ensureConsoleBuilt, freePort } from './support/console-server.js';
import { ARTIFACTS, eventually, sleep } from './support/e2e.js';

/**
 * The Terminal and Files tabs and the recording player against a real device: a lab container
 * enrolled by bootstrap.sh (sshd trusting the API's user CA), the API on the hub host, the built
 * console in front of it and Debian's Chromium. Needs root and the fleet lab (one at a time).
 */
describe('console: remote access (lab device with sshd)', () => {
  let ra: RemoteAccessLab | undefined;
  let device: RemoteAccessDevice;
  let web: ConsoleServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let terminalSessionId = '';

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** The text xterm shows, one string per row (the DOM renderer's rows). */
  const rows = async (testId: string) =>
    (await page.getByTestId(testId).locator('.xterm-rows').innerText()).split('\n').map((l) => l.replace(/\u00a0/g, ' ').trim());
  const lastSttySize = async () =>
    (await rows('terminal-screen'))
      .filter((l) => /^\d+ \d+$/.test(l))
      .at(-1)
      ?.split(' ')
      .map(Number);
  async function typeLine(line: string) {
    await page.getByTestId('terminal-screen').click();
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureConsoleBuilt();
    const port = await freePort();
    ra = await RemoteAccessLab.start({ API_CONSOLE_ORIGINS: `http://127.0.0.1:${port}` });
    device = await ra.addDevice('ra-console-1');
    // The browser signs in with password and TOTP, as every Super Admin does.
    const { secret } = await ra.api.enableTotp(ra.admin);
    [web, browser] = await Promise.all([
      ConsoleServer.start(port, ra.api.baseUrl),
      chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
    ]);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
    await page.goto(`${web.url}/devices`);
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // enableTotp used the previous step's code: this one is the next.
    await page.getByLabel('Authentication code').fill(await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${web.url}/devices`);
  }, 30 * 60_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    await page
      .screenshot({
        path: join(ARTIFACTS, `failed-remote-access-${context.task.name.slice(0, 30).replace(/\W+/g, '-')}.png`),
        fullPage: true,
      })
      .catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await ra?.stop();
  }, 180_000);

  it('opens a terminal, runs hostname, follows a resize and ends on exit', async () => {
    await page.goto(`${web!.url}/devices/${device.id}/terminal`);
    const status = page.getByTestId('terminal-status');
    await eventually(() => status.innerText(), { timeout: 30_000 }).toContain(`Connected to ${device.name} as xspectre-ops`);
    expect(await status.innerText()).toMatch(/host key SHA256:/);
    await typeLine('hostname');
    await eventually(() => rows('terminal-screen')).toContain(device.name);

    await typeLine('stty size');
    await eventually(lastSttySize).toBeDefined();
    const before = (await lastSttySize())!;
    await shot('remote-access-terminal');

    // A smaller window: the terminal fits again and tells the device (stty size follows).
    await page.setViewportSize({ width: 1000, height: 650 });
    // The resize travels browser → API → sshd while the operator types: ask again until the shell sees it.
    let changed = false;
    for (let i = 0; i < 10 && !changed; i++) {
      await typeLine('stty size');
      await sleep(1000);
      const now = await lastSttySize();
      changed = now !== undefined && (now[0] !== before[0] || now[1] !== before[1]);
    }
    expect(changed).toBe(true);
    const after = (await lastSttySize())!;
    expect(after[0]).toBeLessThan(before[0]!);
    expect(after[1]).toBeLessThan(before[1]!);
    await page.setViewportSize({ width: 1440, height: 900 });

    await typeLine('exit');
    await eventually(() => page.getByTestId('terminal-session').getAttribute('data-state')).toBe('ended');
    expect(await status.innerText()).toContain('Ended');
    await page.getByRole('button', { name: 'Reconnect' }).waitFor();

    const sessions = await ra!.api.request('GET', `remote-sessions?deviceId=${device.id}&kind=terminal`, { token: ra!.admin });
    expect(sessions.status, sessions.text).toBe(200);
    terminalSessionId = sessions.body.items[0].id;
  });

  it('uploads a file into /tmp, lists it and downloads it back byte for byte', async () => {
    await page.goto(`${web!.url}/devices/${device.id}/files`);
    const table = page.getByTestId('file-table');
    await table.locator('tr[data-name="tmp"]').getByRole('button', { name: /tmp/ }).click();
    await eventually(() => page.getByTestId('file-breadcrumbs').innerText()).toContain('tmp');

    const name = `console-e2e-${randomBytes(4).toString('hex')}.bin`;
    const content = randomBytes(200_000);
    await page.getByTestId('file-upload-input').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: content });
    await eventually(() => page.getByTestId('uploads').innerText(), { timeout: 30_000 }).toContain('uploaded');
    const row = table.locator(`tr[data-name="${name}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('195 KiB');
    await shot('remote-access-files');

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download' }).click()]);
    const saved = await download.path();
    expect(Buffer.compare(readFileSync(saved), content)).toBe(0);

    // chmod through its dialog: the row shows the new mode, the device has it.
    const path = `/tmp/${name}`;
    await row.getByRole('button', { name: 'Chmod' }).click();
    const chmod = page.getByRole('dialog', { name: 'Change mode' });
    await chmod.getByLabel(/Mode of/).fill('600');
    await chmod.getByRole('button', { name: 'Change mode' }).click();
    await eventually(() => row.innerText()).toContain('-rw------- 0600');
    expect((await device.container.exec('stat', ['-c', '%a', path])).stdout.trim()).toBe('600');

    // Delete asks for the path typed out: a wrong one sends nothing, the right one deletes.
    await row.getByRole('button', { name: 'Delete' }).click();
    const del = page.getByRole('dialog', { name: 'Delete' });
    await del.getByLabel('Type the full path to confirm').fill(name);
    await del.getByRole('button', { name: 'Delete for good' }).click();
    await del.getByText('Type the full path exactly as shown to confirm.').waitFor();
    expect((await device.container.exec('test', ['-e', path])).exitCode).toBe(0);
    await del.getByLabel('Type the full path to confirm').fill(path);
    await del.getByRole('button', { name: 'Delete for good' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await device.container.exec('test', ['-e', path])).exitCode).not.toBe(0);
  });

  it('replays the terminal recording in the player', async () => {
    expect(terminalSessionId).not.toBe('');
    await page.goto(`${web!.url}/sessions?deviceId=${device.id}`);
    const row = page.locator(`tr[data-id="${terminalSessionId}"]`);
    await eventually(() => row.innerText()).toContain('closed');
    await shot('remote-access-sessions');
    await row.getByRole('link', { name: 'Play' }).click();
    await page.waitForURL(`${web!.url}/sessions/${terminalSessionId}`);
    await page.getByLabel('Speed').selectOption('4');
    await page.getByTestId('player-play').click();
    await eventually(() => rows('player-screen'), { timeout: 60_000 }).toContain(device.name);
    await shot('remote-access-player');
  });
});
