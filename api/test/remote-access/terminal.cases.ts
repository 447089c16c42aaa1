import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { expect, it } from 'vitest';
import { TERMINAL_WINDOW_BYTES, TerminalCloseCode } from '@xspectre/contracts';
import { createLogger, NestPinoLogger } from '../../src/common/logging/logger.js';
import { loadConfig } from '../../src/config/config.js';
import { MaintenanceJob } from '../../src/worker/maintenance.jobs.js';
import { MaintenanceProcessor } from '../../src/worker/maintenance.processor.js';
import { WorkerModule } from '../../src/worker/worker.module.js';
import { TEST_PASSWORD, testEnv } from '../support/harness.js';
import type { ContextGetter } from '../support/remote-access-context.js';
import { TerminalClient, type TerminalRefusal } from '../support/terminal-client.js';

/** The largest output frame is one SSH data packet (ssh2 reads at most this per channel message). */
const ONE_CHUNK = 64 * 1024;

/**
 * The browser terminal's server side, end to end: a real WebSocket client, the API opening SSH over
 * WireGuard to the device container's sshd with a session certificate, the recording on disk.
 */
export function terminalCases(get: ContextGetter): void {
  let recordedSessionId: string | undefined;

  it('opens a shell on the device: hostname, then exit, recorded and sealed into the audit row', async () => {
    const { ra, device } = get();
    const { client, ticket, ready } = await TerminalClient.connect(ra.api, ra.admin, device.id);
    expect(ready).toMatchObject({ sessionId: ticket.sessionId, deviceId: device.id, deviceName: device.name, recordingInput: true });
    expect(ready.hostKeyFingerprint).toMatch(/^SHA256:/);
    client.type('hostname\r');
    await client.waitForOutput(outputLine(device.name));
    client.type('exit\r');
    const ended = await client.next('ended');
    expect(ended).toMatchObject({ reason: 'closed', exitCode: 0 });
    expect((await client.closed).code).toBe(TerminalCloseCode.Ended);

    const session = await waitForSeal(get, ticket.sessionId);
    expect(session.body).toMatchObject({ kind: 'terminal', deviceId: device.id, endReason: 'closed', recording: { inputRecorded: true } });
    const sha256 = session.body.recording.sha256 as string;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);

    const download = await fetch(`${ra.api.baseUrl}/api/v1/remote-sessions/${ticket.sessionId}/recording`, {
      headers: { authorization: `Bearer ${ra.admin}` },
    });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-asciicast');
    expect(download.headers.get('content-disposition')).toContain('attachment');
    expect(download.headers.get('x-recording-sha256')).toBe(sha256);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
    expect(session.body.recording.bytes).toBe(bytes.length);

    const [header, ...events] = bytes
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(header).toMatchObject({ version: 2, width: 80, height: 24, env: { TERM: 'xterm-256color' } });
    expect(header.title).toContain(device.name);
    const input = events
      .filter((e: unknown[]) => e[1] === 'i')
      .map((e: unknown[]) => e[2])
      .join('');
    const output = events
      .filter((e: unknown[]) => e[1] === 'o')
      .map((e: unknown[]) => e[2])
      .join('');
    expect(input).toContain('hostname\r');
    expect(output).toMatch(outputLine(device.name));

    const [end] = await ra.api.auditRows(`action = 'remote_session.end' AND details->>'sessionId' = $1`, [ticket.sessionId]);
    expect(end.details).toMatchObject({ reason: 'closed', recordingSha256: sha256, recordingBytes: bytes.length });
    expect(await ra.api.auditRows(`action = 'terminal.ticket' AND resource_id = $1`, [device.id])).not.toHaveLength(0);
    recordedSessionId = ticket.sessionId;
  });

  it('resizes the PTY (stty size) and passes UTF-8 through whole', async () => {
    const { ra, device } = get();
    const { client, ticket } = await TerminalClient.connect(ra.api, ra.admin, device.id, { cols: 100, rows: 30 });
    client.type('stty size\r');
    await client.waitForOutput(outputLine('30 100'));
    client.resize(132, 43);
    const from = client.text().length;
    client.type('stty size\r');
    await client.waitForOutput(outputLine('43 132'), 15_000, from);
    // printf's own octal escapes, so the echo of the command line does not contain the text itself.
    client.type("printf '\\303\\244\\303\\266\\303\\274 \\342\\234\\223\\n'\r");
    await client.waitForOutput(outputLine('äöü ✓'));
    expect(client.text()).not.toContain('\ufffd');
    // The browser closing ends the session too.
    client.close();
    expect((await waitForSeal(get, ticket.sessionId)).body.endReason).toBe('closed');
  });

  it('runs two terminals of one operator at once, each its own shell', async () => {
    const { ra, device } = get();
    const one = await TerminalClient.connect(ra.api, ra.admin, device.id);
    const two = await TerminalClient.connect(ra.api, ra.admin, device.id);
    expect(one.ticket.sessionId).not.toBe(two.ticket.sessionId);
    one.client.type('echo first-$((20+1))\r');
    two.client.type('echo second-$((20+2))\r');
    await one.client.waitForOutput(outputLine('first-21'));
    await two.client.waitForOutput(outputLine('second-22'));
    expect(one.client.text()).not.toContain('second-22');
    expect(two.client.text()).not.toContain('first-21');
    one.client.type('exit\r');
    expect((await one.client.next('ended')).reason).toBe('closed');
    // The other one is still alive.
    two.client.type('echo still-$((1+1))\r');
    await two.client.waitForOutput(outputLine('still-2'));
    two.client.close();
  });

  it('refuses a WebSocket without a ticket, a reused ticket, a ticket of another login session, and another Origin', async () => {
    const { ra, device } = get();
    const api = ra.api;
    const refused = (r: TerminalClient | TerminalRefusal) => {
      if (r instanceof TerminalClient) {
        r.close();
        throw new Error('the terminal was opened');
      }
      return r;
    };
    expect(refused(await TerminalClient.open(api, null, { bearer: ra.admin }))).toMatchObject({
      status: 401,
      body: { code: 'TERMINAL_TICKET_INVALID' },
    });

    const used = await TerminalClient.connect(api, ra.admin, device.id);
    expect(refused(await TerminalClient.open(api, used.ticket.ticket, { bearer: ra.admin }))).toMatchObject({
      status: 401,
      body: { code: 'TERMINAL_TICKET_INVALID' },
    });
    used.client.close();

    const otherLogin = await api.adminToken();
    const ticket = await TerminalClient.ticket(api, ra.admin, device.id);
    expect(refused(await TerminalClient.open(api, ticket.ticket, { bearer: otherLogin }))).toMatchObject({
      status: 401,
      body: { code: 'TERMINAL_TICKET_INVALID' },
    });
    // That attempt consumed it: not even its own session may use it now.
    expect(refused(await TerminalClient.open(api, ticket.ticket, { bearer: ra.admin }))).toMatchObject({ status: 401 });

    const foreign = await TerminalClient.ticket(api, ra.admin, device.id);
    expect(refused(await TerminalClient.open(api, foreign.ticket, { cookie: ra.admin, origin: 'https://evil.example' }))).toMatchObject({
      status: 403,
      body: { code: 'LIVE_ORIGIN_FORBIDDEN' },
    });

    const readOnly = await api.createUser(ra.admin, 'read_only');
    const roToken = await api.tokenFor(readOnly.email);
    const post = await api.request('POST', `devices/${device.id}/terminal-sessions`, { token: roToken, body: {} });
    expect(post.status).toBe(403);
    // Neither do they get in with an administrator's ticket.
    const adminTicket = await TerminalClient.ticket(api, ra.admin, device.id);
    expect(refused(await TerminalClient.open(api, adminTicket.ticket, { bearer: roToken }))).toMatchObject({ status: 403 });
  });

  it("ends a SOC operator's live terminal with access_revoked when an administrator disables the account", async () => {
    const { ra, device } = get();
    const soc = await ra.api.createUser(ra.admin, 'soc_operator');
    const token = await ra.api.tokenFor(soc.email, TEST_PASSWORD);
    const { client, ticket } = await TerminalClient.connect(ra.api, token, device.id);
    client.type('echo soc-$((2*3))\r');
    await client.waitForOutput(outputLine('soc-6'));

    const disabledAt = Date.now();
    const patch = await ra.api.request('PATCH', `users/${soc.id}`, { token: ra.admin, body: { status: 'disabled' } });
    expect(patch.status).toBe(200);
    const ended = await client.next('ended', 90_000);
    const seconds = (Date.now() - disabledAt) / 1000;
    console.log(`terminal cut off ${seconds.toFixed(2)} s after the user was disabled`);
    expect(ended.reason).toBe('access_revoked');
    expect((await client.closed).code).toBe(TerminalCloseCode.AccessRevoked);
    expect((await waitForSeal(get, ticket.sessionId)).body.endReason).toBe('access_revoked');
  }, 120_000);

  it('pauses the device when the browser never acknowledges: `yes` cannot grow the API memory', async () => {
    const { ra, device } = get();
    const { client } = await TerminalClient.connect(ra.api, ra.admin, device.id, { autoAck: false });
    // The API runs in this process (TestApi): its RSS is ours.
    const before = process.memoryUsage().rss;
    client.type('yes xspectre-flow-control-check\r');
    await client.waitForOutput(/xspectre-flow-control-check\r\nxspectre-flow-control-check/);
    let peak = before;
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const grewMb = (peak - before) / 1024 / 1024;
    console.log(
      `flow control: ${client.receivedBytes} bytes received without acks (window ${TERMINAL_WINDOW_BYTES}), largest frame ${client.largestFrame}, RSS +${grewMb.toFixed(1)} MiB over 15 s`,
    );
    expect(client.receivedBytes).toBeLessThanOrEqual(TERMINAL_WINDOW_BYTES + ONE_CHUNK);
    expect(client.largestFrame).toBeLessThanOrEqual(ONE_CHUNK);
    expect(grewMb).toBeLessThan(150);
    // Credit back: the stream goes on, then Ctrl-C stops it.
    const received = client.receivedBytes;
    client.sendJson({ type: 'ack', bytes: TERMINAL_WINDOW_BYTES });
    await waitFor(() => client.receivedBytes > received, 'output after the ack');
    client.type('\x03');
    client.close();
  }, 120_000);

  it('refuses a SOC operator a terminal on internal infrastructure (AUTH_INTERNAL_READ_ONLY)', async () => {
    const { ra } = get();
    const internal = await ra.addDevice('ra-internal-1', { internal: true });
    const soc = await ra.api.createUser(ra.admin, 'soc_operator');
    const token = await ra.api.tokenFor(soc.email, TEST_PASSWORD);
    const r = await ra.api.request('POST', `devices/${internal.id}/terminal-sessions`, { token, body: {} });
    expect(r).toMatchObject({ status: 403, body: { code: 'AUTH_INTERNAL_READ_ONLY' } });
  }, 300_000);

  it('prunes recordings past the retention period in the worker; the session and its hash stay', async () => {
    const { ra } = get();
    expect(recordedSessionId).toBeDefined();
    const id = recordedSessionId!;
    const path = join(ra.recordingsDir, 'recordings', `${id}.cast`);
    expect(existsSync(path)).toBe(true);
    const sealed = (await ra.api.request('GET', `remote-sessions/${id}`, { token: ra.admin })).body.recording.sha256;
    await ra.api.sql.query(`UPDATE remote_sessions SET opened_at = now() - interval '400 days' WHERE id = $1`, [id]);

    const config = loadConfig(
      testEnv(ra.api.config.DB_URL, {
        REDIS_KEY_PREFIX: ra.api.config.REDIS_KEY_PREFIX,
        API_SECRET_KEY: ra.api.config.API_SECRET_KEY,
        API_TERMINAL_RECORDINGS_DIR: ra.api.config.API_TERMINAL_RECORDINGS_DIR,
      }),
    );
    const worker = await NestFactory.createApplicationContext(WorkerModule.register(config), {
      logger: new NestPinoLogger(createLogger('silent')),
    });
    let result: { pruned: string[] };
    try {
      result = (await worker.get(MaintenanceProcessor).process({ name: MaintenanceJob.PruneTerminalRecordings })) as { pruned: string[] };
    } finally {
      await worker.close();
    }
    expect(result.pruned).toContain(id);
    expect(existsSync(path)).toBe(false);
    const after = await ra.api.request('GET', `remote-sessions/${id}`, { token: ra.admin });
    expect(after.body.recording.sha256).toBe(sealed);
    const download = await ra.api.request('GET', `remote-sessions/${id}/recording`, { token: ra.admin });
    expect(download).toMatchObject({ status: 404, body: { code: 'RECORDING_NOT_FOUND' } });
    // Recent recordings are kept.
    const list = await ra.api.request('GET', 'remote-sessions?kind=terminal&limit=100', { token: ra.admin });
    const kept = list.body.items.filter((s: { id: string }) => s.id !== id && !result.pruned.includes(s.id));
    expect(kept.length).toBeGreaterThan(0);
    await readFile(join(ra.recordingsDir, 'recordings', `${kept[0].id}.cast`));
  });
}

/**
 * A line the shell printed: after a newline, or after the carriage return bash writes when it
 * leaves bracketed-paste mode (`\e[?2004l\r`) before a command's output.
 */
function outputLine(text: string): RegExp {
  return new RegExp(`[\\r\\n]${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r\\n`);
}

/** The session row once its end (reason and, for terminals, the recording's hash) is recorded. */
async function waitForSeal(get: ContextGetter, sessionId: string) {
  const { ra } = get();
  let last: { status: number; body: any } | undefined;
  await waitFor(async () => {
    last = await ra.api.request('GET', `remote-sessions/${sessionId}`, { token: ra.admin });
    return last.status === 200 && last.body.closedAt !== null;
  }, `session ${sessionId} closed`);
  return last!;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
