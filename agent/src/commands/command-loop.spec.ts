// The loop's HTTP behaviour against a small local server that speaks the contract
// (AgentCommandsResponseSchema, CommandStatusReportSchema, the API's transition table). It
// stands in for the API only here; the real end to end runs in the fleet lab.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  COMMAND_TTL_MS,
  CommandStatusReportSchema,
  decideCommandTransition,
  type CommandEnvelope,
  type CommandStatus,
  type CommandStatusReport,
  type SignedCommand,
} from '@xspectre/contracts';
import { commandKeyId, signCommand } from '@xspectre/contracts/command-signature';
import type { Logger } from '../log.js';
import { httpCommandApi } from './command-api.js';
import { CommandJournal, type FinalResult, type JournalEntry } from './command-journal.js';
import { CommandLoop, type CommandLoopDeps } from './command-loop.js';
import { LocalPolicyFile } from './policy.js';
import { NONCES_FILE, ReplayGuard } from './replay-guard.js';
import { ServerClock } from './server-clock.js';

const key = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const pinnedKeys = [{ keyId: commandKeyId(key.publicKey), publicKeyPem: key.publicKey.export({ format: 'pem', type: 'spki' }).toString() }];
const deviceId = randomUUID();
const CREDENTIAL = 'xsd_test-credential';

function sign(overrides: Partial<CommandEnvelope> = {}, signer = key.privateKey): SignedCommand {
  const issuedAt = overrides.issuedAt ?? new Date(Date.now() - 1000).toISOString();
  return signCommand(signer, {
    v: 1,
    keyId: commandKeyId(signer),
    commandId: randomUUID(),
    deviceId,
    action: 'service.restart',
    params: { unit: 'nginx.service' },
    nonce: randomBytes(16).toString('hex'),
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + COMMAND_TTL_MS).toISOString(),
    ...overrides,
  });
}

const pick = ({ commandId, action, params, nonce, expiresAt }: SignedCommand) => ({ commandId, action, params, nonce, expiresAt });

interface FakeCommand {
  signed: unknown;
  id: string;
  status: CommandStatus;
}

class FakeCommandApi {
  url = '';
  server!: Server;
  commands: FakeCommand[] = [];
  reports: { id: string; report: CommandStatusReport }[] = [];
  polls = 0;
  /** Answer this many of the next reports with a 503 (a gateway: the API is down). */
  failReports = 0;
  /** Reports of these commands are answered 500 (a row the API cannot answer for). */
  failReportsFor = new Set<string>();
  /** Hold polls without ever answering (a broken long poll). */
  swallowPolls = false;
  pollStatus: number | undefined;
  /** A server time to answer with (the device's clock may be wrong, not the API's). */
  serverTime = () => new Date().toISOString();
  private waiters: (() => void)[] = [];

  async start() {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1`;
    return this;
  }

  queue(signed: unknown) {
    const id = (signed as { commandId?: string }).commandId ?? randomUUID();
    this.commands.push({ signed, id, status: 'queued' });
    for (const wake of this.waiters.splice(0)) wake();
    return id;
  }

  statusOf(id: string) {
    return this.commands.find((c) => c.id === id)?.status;
  }

  reportsOf(id: string) {
    return this.reports.filter((r) => r.id === id).map((r) => r.report.status);
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown, type = 'application/json') =>
      res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
    const problem = (status: number, code: string) =>
      send(status, { type: 'about:blank', title: code, status, detail: code, code }, 'application/problem+json');
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`) return problem(401, 'DEVICE_AUTH_REQUIRED');
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/api/v1/agent/commands') {
      this.polls++;
      if (this.pollStatus) return problem(this.pollStatus, 'BROKEN');
      if (this.swallowPolls) return;
      const wait = Number(url.searchParams.get('waitSeconds'));
      const open = () => this.commands.filter((c) => c.status === 'queued' || c.status === 'delivered');
      if (open().length === 0 && wait > 0) {
        await Promise.race([delay(wait * 1000), new Promise<void>((resolve) => this.waiters.push(resolve))]);
      }
      const handed = open();
      for (const c of handed) c.status = 'delivered';
      // Like the API: only commands it stored, and its own clock (AgentCommandsResponseSchema).
      return send(200, { commands: handed.map((c) => c.signed), serverTime: this.serverTime() });
    }
    const match = /^\/api\/v1\/agent\/commands\/([0-9a-f-]{36})\/status$/.exec(url.pathname);
    if (req.method === 'POST' && match) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const parsed = CommandStatusReportSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success) return problem(400, 'VALIDATION_FAILED');
      if (this.failReportsFor.has(match[1]!)) return problem(500, 'INTERNAL_ERROR');
      if (this.failReports > 0) {
        this.failReports--;
        return res.writeHead(503).end('<h1>503</h1>');
      }
      const command = this.commands.find((c) => c.id === match[1]);
      if (!command) return problem(404, 'COMMAND_NOT_FOUND');
      this.reports.push({ id: command.id, report: parsed.data });
      if (decideCommandTransition(command.status, parsed.data.status) === 'apply') command.status = parsed.data.status;
      else if (command.status !== parsed.data.status) return problem(409, 'COMMAND_TRANSITION_INVALID');
      return send(200, { id: command.id, status: command.status });
    }
    return problem(404, 'NOT_FOUND');
  }
}

/** Counts every execution; what it returns is set per test. */
class FakeExecutor {
  runs: JournalEntry[] = [];
  resumes: JournalEntry[] = [];
  cleanups: string[] = [];
  result: FinalResult = { status: 'succeeded', exitCode: 0, stdout: 'done\n', stderr: '' };
  resumeResult: FinalResult = { status: 'interrupted', reason: 'the agent stopped before the action finished' };
  hang = false;
  /** Runs of these actions wait until `release(action)` (or shutdown). */
  holdActions = new Set<string>();
  private held = new Map<string, () => void>();
  release(action: string) {
    this.held.get(action)?.();
  }
  unsupported = (action: string) => Promise.resolve(action === 'reboot' ? 'systemd is not running (PID 1 is not systemd)' : null);
  unitFor = (commandId: string, action: string) => (action.startsWith('service.') ? `xspectre-cmd-${commandId}.service` : null);
  bootMarker = () => Promise.resolve('boot:1');
  run = async (entry: JournalEntry, signal: AbortSignal) => {
    this.runs.push(entry);
    if (this.holdActions.has(entry.action)) {
      const released = new Promise<boolean>((resolve) => {
        this.held.set(entry.action, () => resolve(true));
        // Shutdown may have come before the run began.
        if (signal.aborted) resolve(false);
        signal.addEventListener('abort', () => resolve(false), { once: true });
      });
      if (!(await released)) return undefined;
    }
    if (this.hang) {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return undefined;
    }
    return this.result;
  };
  resume = (entry: JournalEntry) => {
    this.resumes.push(entry);
    return Promise.resolve(this.resumeResult);
  };
  cleanup = (entry: JournalEntry) => {
    this.cleanups.push(entry.commandId);
    return Promise.resolve();
  };
}

const logLines: { level: string; msg: string; fields?: object }[] = [];
const log: Logger = {
  info: (msg, fields) => logLines.push({ level: 'info', msg, fields }),
  warn: (msg, fields) => logLines.push({ level: 'warn', msg, fields }),
  error: (msg, fields) => logLines.push({ level: 'error', msg, fields }),
};

let dir: string;
let api: FakeCommandApi;
let executor: FakeExecutor;
const running: { shutdown: AbortController; done: Promise<void> }[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-cmd-loop-'));
  api = await new FakeCommandApi().start();
  executor = new FakeExecutor();
  logLines.length = 0;
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.shutdown.abort();
    await r.done;
  }
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

interface StartOptions {
  localNow?: () => Date;
  sleeps?: number[];
  startDelayMs?: number;
}

/** A loop as `run` wires it: real journal, nonce file and policy file in a temp state dir, real HTTP. */
async function startLoop(options: StartOptions = {}) {
  const localNow = options.localNow ?? (() => new Date());
  const clock = new ServerClock(localNow);
  const stateDir = join(dir, 'commands');
  const { guard } = await ReplayGuard.open(stateDir, clock.now(), { maxClockSkewMs: 30_000 });
  const { journal } = await CommandJournal.open(join(stateDir, 'journal'), localNow());
  const shutdown = new AbortController();
  const deps: CommandLoopDeps = {
    deviceId,
    pinnedKeys,
    api: httpCommandApi({ apiUrl: api.url, deviceCredential: CREDENTIAL }),
    journal,
    guard,
    executor,
    policy: new LocalPolicyFile(join(dir, 'policy.json'), log),
    clock,
    log,
    shutdown: shutdown.signal,
    now: localNow,
    waitSeconds: 1,
    startDelayMs: options.startDelayMs ?? 0,
    rejectionReportWindowMs: 200,
    sleep: (ms, signal) => {
      options.sleeps?.push(ms);
      return delay(ms === options.startDelayMs ? ms : Math.min(ms, 20), undefined, { signal }).catch(() => undefined);
    },
  };
  const loop = new CommandLoop(deps);
  const done = loop.run();
  const handle = { shutdown, done, loop, journal, guard };
  running.push(handle);
  return handle;
}

async function stop(handle: { shutdown: AbortController; done: Promise<void> }) {
  handle.shutdown.abort();
  await handle.done;
  running.splice(running.indexOf(handle as never), 1);
}

async function until(check: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Valid `backup.run` params (BackupRunParamsSchema): verify() checks them like any command's. */
const backupParams = () => ({
  runId: randomUUID(),
  repositoryUrl: 'http://10.10.0.1:8420/',
  paths: ['/etc'],
  excludes: [],
  keepDaily: 7,
  keepWeekly: 4,
  check: false,
  escrowRecipient: null,
});

describe('CommandLoop', () => {
  it('runs a backup beside the queue: a command queued after it runs and reports while the backup goes on', async () => {
    executor.holdActions.add('backup.run');
    const { journal } = await startLoop();
    const backup = api.queue(sign({ action: 'backup.run', params: backupParams() }));
    await until(() => executor.runs.some((r) => r.action === 'backup.run'), 'the backup to start');
    const restart = api.queue(sign());
    await until(() => api.statusOf(restart) === 'succeeded', 'the restart to finish while the backup runs');
    expect(api.statusOf(backup)).toBe('running');
    expect(journal.get(backup)?.result).toBeNull();

    executor.release('backup.run');
    await until(() => api.statusOf(backup) === 'succeeded', 'the backup to finish');
    expect(api.reportsOf(backup)).toEqual(['running', 'succeeded']);
    // The journal marks the report after the API's answer arrives: wait for it, not for the API alone.
    await until(() => journal.get(backup)?.reported === true, 'the report to be journaled');
  });

  it('a backup beside the queue still waiting at shutdown is left to the next start (no result recorded)', async () => {
    executor.holdActions.add('backup.run');
    const handle = await startLoop();
    const backup = api.queue(sign({ action: 'backup.run', params: backupParams() }));
    await until(() => api.statusOf(backup) === 'running', 'the backup to run');
    await stop(handle);
    expect(handle.journal.get(backup)?.result).toBeNull();
    expect(handle.journal.unfinished().map((e) => e.commandId)).toEqual([backup]);
  });

  it('runs a valid command once: running, then the result, with its output', async () => {
    const { journal } = await startLoop();
    const id = api.queue(sign());
    await until(() => journal.get(id)?.reported === true, 'reported');
    expect(api.reportsOf(id)).toEqual(['running', 'succeeded']);
    expect(api.reports.at(-1)!.report).toEqual({ status: 'succeeded', exitCode: 0, stdout: 'done\n', stderr: '' });
    expect(executor.runs.map((e) => e.commandId)).toEqual([id]);
    expect(executor.runs[0]).toMatchObject({ runningReported: true, unit: `xspectre-cmd-${id}.service`, bootMarker: 'boot:1' });
    expect(executor.cleanups).toEqual([id]);
    expect((await readdir(join(dir, 'commands', 'journal'))).sort()).toEqual([`${id}.json`]);
  });

  it('rejects with the reason and runs nothing, records nothing', async () => {
    await startLoop();
    await writeFile(join(dir, 'policy.json'), JSON.stringify({ deny: ['service.stop'] }));
    const good = sign();
    const cases = [
      { signed: { ...good, params: { unit: 'sshd.service' } }, reason: 'bad signature' },
      { signed: sign({}, stranger.privateKey), reason: 'unknown key id: not among the keys this device pinned' },
      { signed: sign({ deviceId: randomUUID() }), reason: "another device's id" },
      { signed: sign({ issuedAt: new Date(Date.now() - COMMAND_TTL_MS - 60_000).toISOString() }), reason: /^expired at / },
      { signed: sign({ action: 'firmware.flash', params: {} }), reason: 'unknown action firmware.flash' },
      { signed: sign({ action: 'service.stop' }), reason: `denied by local policy (${join(dir, 'policy.json')}: the deny list names it)` },
      { signed: sign({ action: 'reboot', params: {} }), reason: 'unsupported on this host: systemd is not running (PID 1 is not systemd)' },
      { signed: { commandId: randomUUID(), action: 'reboot' }, reason: 'malformed: not a signed command envelope' },
    ];
    const ids = cases.map((c) => api.queue(c.signed));
    await until(() => ids.every((id) => api.statusOf(id) === 'rejected'), 'all rejected');
    cases.forEach((c, i) => {
      const report = api.reports.find((r) => r.id === ids[i])!.report;
      expect(report.status).toBe('rejected');
      expect(report.reason).toMatch(c.reason);
    });
    expect(executor.runs).toEqual([]);
    expect(await readdir(join(dir, 'commands', 'journal'))).toEqual([]);
    expect(await readdir(join(dir, 'commands'))).not.toContain(NONCES_FILE);
  });

  it('refuses a replayed nonce, also after a restart', async () => {
    const first = await startLoop();
    const original = sign();
    const id = api.queue(original);
    await until(() => api.statusOf(id) === 'succeeded', 'first run');
    await stop(first);

    await startLoop();
    const replay = api.queue(sign({ nonce: original.nonce }));
    await until(() => api.statusOf(replay) === 'rejected', 'replay rejected');
    expect(api.reports.find((r) => r.id === replay)!.report.reason).toBe('replayed nonce');
    expect(executor.runs.map((e) => e.commandId)).toEqual([id]);
  });

  it('a redelivered command is never run again: its known status is reported again', async () => {
    await startLoop();
    const command = sign();
    const id = api.queue(command);
    await until(() => api.statusOf(id) === 'succeeded', 'succeeded');
    // The API hands it out again (say its answer to the result was lost).
    api.commands.find((c) => c.id === id)!.status = 'delivered';
    await until(() => api.reportsOf(id).length === 3, 'reported again');
    expect(api.reportsOf(id)).toEqual(['running', 'succeeded', 'succeeded']);
    expect(executor.runs).toHaveLength(1);
  });

  it('after a crash right after `started` was written, the next run reports and never executes', async () => {
    // What a crash leaves: the nonce and the journal's started entry, nothing reported.
    const command = sign({ action: 'container.restart', params: { container: 'web' } });
    const stateDir = join(dir, 'commands');
    const { guard } = await ReplayGuard.open(stateDir, new Date(), { maxClockSkewMs: 30_000 });
    await guard.record(command.commandId, command.nonce, command.expiresAt, new Date());
    const { journal } = await CommandJournal.open(join(stateDir, 'journal'), new Date());
    await journal.begin({ ...pick(command), bootMarker: 'boot:1', unit: null }, new Date());
    const id = api.queue(command);
    api.commands[0]!.status = 'delivered';

    await startLoop();
    await until(() => api.statusOf(id) === 'interrupted', 'interrupted');
    expect(api.reportsOf(id)).toEqual(['running', 'interrupted']); // interrupted needs running first
    expect(api.reports.at(-1)!.report.reason).toBe('not run: the agent stopped before it started');
    expect(executor.runs).toEqual([]);
    // The API delivers it again: still never run.
    api.commands[0]!.status = 'delivered';
    await until(() => api.reportsOf(id).length >= 3, 'reported again');
    expect(executor.runs).toEqual([]);
  });

  it('a crash while a Docker call was in flight: interrupted, never called again', async () => {
    const command = sign({ action: 'container.restart', params: { container: 'web' } });
    const { journal } = await CommandJournal.open(join(dir, 'commands', 'journal'), new Date());
    await journal.begin({ ...pick(command), bootMarker: 'boot:1', unit: null }, new Date());
    await journal.markRunningReported(command.commandId);
    const id = api.queue(command);
    api.commands[0]!.status = 'running';
    await startLoop();
    await until(() => api.statusOf(id) === 'interrupted', 'interrupted');
    expect(api.reportsOf(id)).toEqual(['interrupted']);
    expect(executor.resumes.map((e) => e.commandId)).toEqual([id]);
    expect(executor.runs).toEqual([]);
  });

  it('a unit that finished while the agent was down: resumed, its result reported', async () => {
    const command = sign();
    const stateDir = join(dir, 'commands');
    const { journal } = await CommandJournal.open(join(stateDir, 'journal'), new Date());
    await journal.begin({ ...pick(command), bootMarker: 'boot:1', unit: `xspectre-cmd-${command.commandId}.service` }, new Date());
    await journal.markRunningReported(command.commandId);
    const id = api.queue(command);
    api.commands[0]!.status = 'running';
    executor.resumeResult = { status: 'succeeded', exitCode: 0, stdout: 'restarted\n' };
    await startLoop();
    await until(() => api.statusOf(id) === 'succeeded', 'succeeded');
    expect(api.reportsOf(id)).toEqual(['succeeded']);
    expect(executor.runs).toEqual([]);
  });

  it('retries reports until the API has them', async () => {
    const sleeps: number[] = [];
    await startLoop({ sleeps });
    api.failReports = 3;
    const id = api.queue(sign());
    await until(() => api.statusOf(id) === 'succeeded', 'succeeded');
    expect(api.reportsOf(id)).toEqual(['running', 'succeeded']);
    expect(sleeps.length).toBeGreaterThanOrEqual(3);
    expect(logLines.some((l) => l.msg === 'command status not delivered; retrying')).toBe(true);
  });

  it('a rejection the API cannot take holds up neither the next command nor the loop: the batch is asked again after a pause', async () => {
    const sleeps: number[] = [];
    await startLoop({ sleeps });
    const bad = api.queue({ ...sign(), params: { unit: 'sshd.service' } });
    api.failReportsFor.add(bad);
    const good = api.queue(sign());
    await until(() => api.statusOf(good) === 'succeeded', 'the next command ran');
    expect(executor.runs.map((e) => e.commandId)).toEqual([good]);
    // Only the unanswerable one is left: it comes back with every poll, so the loop pauses between batches.
    const paused = () => logLines.filter((l) => l.msg === 'no command of this batch could be reported; polling again after pauses');
    await until(() => paused().length === 1, 'a pause');
    const polls = api.polls;
    await until(() => api.polls >= polls + 3, 'more batches');
    expect(paused()).toHaveLength(1); // logged once per streak
    expect(logLines.some((l) => l.msg === 'the rejection was not reported; the API hands the command out again')).toBe(true);
    api.failReportsFor.clear();
    await until(() => api.statusOf(bad) === 'rejected', 'rejected once the API answers');
    expect(executor.runs).toHaveLength(1);
  });

  it('judges expiry by the API clock: a device clock a year off still runs a fresh command', async () => {
    const yearAgo = () => new Date(Date.now() - 365 * 24 * 3600_000);
    await startLoop({ localNow: yearAgo });
    const id = api.queue(sign());
    await until(() => api.statusOf(id) === 'succeeded', 'succeeded');
    // And a command expired by the API's clock is refused even though the device's clock says it is young.
    const old = api.queue(sign({ issuedAt: new Date(Date.now() - COMMAND_TTL_MS - 60_000).toISOString() }));
    await until(() => api.statusOf(old) === 'rejected', 'rejected');
  });

  it('polls again at once when an ack says commands wait and the poll is stuck', async () => {
    api.swallowPolls = true;
    const handle = await startLoop();
    await until(() => api.polls === 1, 'first poll');
    await delay(2100);
    api.swallowPolls = false;
    const id = api.queue(sign());
    handle.loop.onAck({ serverTime: new Date().toISOString(), pendingCommands: 1 });
    await until(() => api.statusOf(id) === 'succeeded', 'succeeded', 5000);
    expect(api.polls).toBeGreaterThanOrEqual(2);
  });

  it('starts polling after the first heartbeat ack (or its start delay)', async () => {
    const handle = await startLoop({ startDelayMs: 60_000 });
    await delay(300);
    expect(api.polls).toBe(0);
    handle.loop.onAck({ serverTime: new Date().toISOString(), pendingCommands: 0 });
    await until(() => api.polls === 1, 'first poll');
  });

  it('backs off on poll errors, and logs the streak once', async () => {
    const sleeps: number[] = [];
    api.pollStatus = 500;
    await startLoop({ sleeps });
    await until(() => sleeps.length >= 4, 'four backoffs');
    expect(sleeps[3]!).toBeGreaterThan(sleeps[0]!);
    expect(sleeps.every((ms) => ms <= 60_000)).toBe(true);
    expect(logLines.filter((l) => l.msg === 'command poll failed')).toHaveLength(1);
    api.pollStatus = undefined;
    await until(() => logLines.some((l) => l.msg === 'command poll works again'), 'recovered');
  });

  it('stops cleanly on shutdown, during a held poll and during a command', async () => {
    const idle = await startLoop();
    await until(() => api.polls >= 1, 'poll');
    const started = Date.now();
    await stop(idle);
    expect(Date.now() - started).toBeLessThan(1000);

    executor.hang = true;
    const busy = await startLoop();
    const id = api.queue(sign());
    await until(() => executor.runs.length === 1, 'running');
    await stop(busy);
    expect(api.reportsOf(id)).toEqual(['running']); // the result comes after the restart (resume)
  });
});
