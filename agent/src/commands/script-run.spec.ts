import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from './command-journal.js';
import { CommandExecutor, type ExecutorHost } from './executor.js';
import type { ProcessResult } from './run-process.js';
import {
  HASH_MISMATCH_REASON,
  httpScriptFetch,
  prepareScript,
  SCRIPT_FETCH_ATTEMPTS,
  SCRIPT_STOP_MARGIN_MS,
  scriptFile,
  type ScriptFetch,
  type ScriptHost,
} from './script-run.js';
import { escapeExecArgument, systemdRunArgs } from './transient-unit.js';

const SCRIPT = '#!/bin/sh\necho "hello $1"\n';
const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const never = new AbortController().signal;

/** Stands in for the API's script route and the host's interpreters (no network, no /usr/bin here). */
class FakeScripts implements ScriptHost {
  answers: ScriptFetch[] = [];
  fetches: string[] = [];
  sleeps: number[] = [];
  missing = new Set<string>();
  fetch = async (commandId: string): Promise<ScriptFetch> => {
    this.fetches.push(commandId);
    return this.answers.shift() ?? { ok: true, content: Buffer.from(SCRIPT) };
  };
  executable = async (path: string) => !this.missing.has(path);
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
  };
}

/** Stands in for PID 1 (systemd-run never runs in a unit test): a unit that exits at once, or runs until stopped. */
class FakeSystemd {
  calls: string[][] = [];
  units = new Map<string, Record<string, string>>();
  hang = false;
  /** What the unit saw of its script file when it started. */
  scriptSeen: { path: string; content: string; mode: number } | undefined;

  run = async (file: string, args: readonly string[]): Promise<ProcessResult> => {
    this.calls.push([file, ...args]);
    const ok = (stdout = ''): ProcessResult => ({
      code: 0,
      signal: null,
      stdout: Buffer.from(stdout),
      stderr: Buffer.alloc(0),
      stdoutCut: false,
      stderrCut: false,
    });
    if (file === 'systemd-run') {
      const unit = args.find((a) => a.startsWith('--unit='))!.slice('--unit='.length);
      const command = args.slice(args.indexOf('--') + 1);
      const path = command[1]!;
      this.scriptSeen = { path, content: await readFile(path, 'utf8'), mode: (await stat(path)).mode & 0o777 };
      await writeFile(
        args.find((a) => a.startsWith('--property=StandardOutput=file:'))!.split('file:')[1]!,
        `ran ${command.slice(2).join('|')}\n`,
      );
      await writeFile(args.find((a) => a.startsWith('--property=StandardError=file:'))!.split('file:')[1]!, '');
      this.units.set(
        unit,
        this.hang
          ? { LoadState: 'loaded', ActiveState: 'active', SubState: 'running', ExecMainCode: '0', ExecMainStatus: '0' }
          : { LoadState: 'loaded', ActiveState: 'active', SubState: 'exited', Result: 'success', ExecMainCode: '1', ExecMainStatus: '0' },
      );
      return ok();
    }
    if (file === 'systemctl' && args[0] === 'show') {
      const fields = this.units.get(args.at(-1)!) ?? { LoadState: 'not-found' };
      return ok(
        Object.entries(fields)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
    }
    if (file === 'systemctl' && (args[0] === 'stop' || args[0] === 'reset-failed')) {
      const unit = this.units.get(args.at(-1)!);
      if (args[0] === 'stop' && unit?.SubState === 'running')
        Object.assign(unit, { ActiveState: 'failed', SubState: 'failed', Result: 'signal', ExecMainCode: '2', ExecMainStatus: '15' });
      else this.units.delete(args.at(-1)!);
      return ok();
    }
    throw new Error(`unexpected ${file} ${args.join(' ')}`);
  };
}

let dir: string;
let scriptsDir: string;
let scripts: FakeScripts;
let systemd: FakeSystemd;
let host: ExecutorHost;
let executor: CommandExecutor;
let clock: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-script-run-'));
  scriptsDir = join(dir, 'scripts');
  scripts = new FakeScripts();
  systemd = new FakeSystemd();
  clock = T0;
  host = {
    run: systemd.run,
    systemdRunning: () => Promise.resolve(true),
    dockerSocketExists: () => Promise.resolve(false),
    dockerPost: () => Promise.reject(new Error('no docker here')),
    bootMarker: () => Promise.resolve('boot-a:1'),
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    now: () => new Date(clock),
  };
  executor = new CommandExecutor(host, {
    outputDir: join(dir, 'output'),
    dockerSocket: '/run/docker.sock',
    scripts: { host: scripts, dir: scriptsDir },
  });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function entry(params: Record<string, unknown> = {}): JournalEntry {
  const commandId = randomUUID();
  return {
    v: 1,
    commandId,
    action: 'script.run',
    params: {
      scriptId: randomUUID(),
      sha256: sha(SCRIPT),
      interpreter: 'sh',
      timeoutSeconds: 42,
      args: ['world', '$HOME', '${PATH}', 'two words', '--flag'],
      ...params,
    },
    nonce: 'ab'.repeat(16),
    expiresAt: new Date(T0 + 300_000).toISOString(),
    startedAt: new Date(T0).toISOString(),
    bootMarker: 'boot-a:1',
    unit: executor.unitFor(commandId, 'script.run'),
    runningReported: true,
    result: null,
    finishedAt: null,
    reported: false,
  };
}

describe('script.run: fetch, check, write', () => {
  it('writes the content whose SHA-256 the command signed, 0700, and runs it with the absolute interpreter and the arguments as given', async () => {
    const e = entry();
    const prepared = await prepareScript(e, scripts, scriptsDir, never);
    const path = scriptFile(scriptsDir, e.commandId);
    expect(prepared).toEqual({
      kind: 'run',
      command: ['/bin/sh', path, 'world', '$HOME', '${PATH}', 'two words', '--flag'],
      runtimeMaxSec: 42,
    });
    expect(scripts.fetches).toEqual([e.commandId]);
    expect(await readFile(path, 'utf8')).toBe(SCRIPT);
    expect((await stat(path)).mode & 0o777).toBe(0o700);
    expect((await stat(scriptsDir)).mode & 0o777).toBe(0o700);
  });

  it('content that is not what was signed fails the command and nothing is written', async () => {
    scripts.answers = [{ ok: true, content: Buffer.from(SCRIPT.replace('hello', 'rm -rf')) }];
    const e = entry();
    expect(await prepareScript(e, scripts, scriptsDir, never)).toEqual({
      kind: 'done',
      result: { status: 'failed', reason: HASH_MISMATCH_REASON },
    });
    await expect(readdir(scriptsDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an interpreter missing on the device fails before anything is fetched', async () => {
    scripts.missing.add('/usr/bin/python3');
    expect(await prepareScript(entry({ interpreter: 'python3' }), scripts, scriptsDir, never)).toEqual({
      kind: 'done',
      result: { status: 'failed', reason: 'the interpreter /usr/bin/python3 is not installed on this device' },
    });
    expect(scripts.fetches).toEqual([]);
  });

  it('retries an unreachable API a few times with backoff, takes a refusal at once, and stops at shutdown', async () => {
    scripts.answers = Array(SCRIPT_FETCH_ATTEMPTS).fill({ ok: false, reason: 'ECONNREFUSED', retry: true });
    expect(await prepareScript(entry(), scripts, scriptsDir, never)).toEqual({
      kind: 'done',
      result: { status: 'failed', reason: 'cannot fetch the script: ECONNREFUSED' },
    });
    expect(scripts.fetches).toHaveLength(SCRIPT_FETCH_ATTEMPTS);
    expect(scripts.sleeps).toEqual([2000, 4000]);

    scripts = new FakeScripts();
    scripts.answers = [
      { ok: false, reason: 'ECONNRESET', retry: true },
      { ok: false, reason: 'HTTP 409 SCRIPT_ARCHIVED: archived', retry: false },
    ];
    expect(await prepareScript(entry(), scripts, scriptsDir, never)).toMatchObject({
      result: { status: 'failed', reason: 'cannot fetch the script: HTTP 409 SCRIPT_ARCHIVED: archived' },
    });
    expect(scripts.fetches).toHaveLength(2);

    const stop = new AbortController();
    stop.abort();
    expect(await prepareScript(entry(), new FakeScripts(), scriptsDir, stop.signal)).toEqual({ kind: 'aborted' });
  });

  it('refuses params that are not a script run (the journal is read back from disk)', async () => {
    expect(await prepareScript(entry({ interpreter: '/bin/zsh' }), scripts, scriptsDir, never)).toMatchObject({
      result: { status: 'failed', reason: 'the script run parameters are not valid' },
    });
  });
});

describe('script.run in a transient unit', () => {
  it('runs the checked script through systemd-run with RuntimeMaxSec, escapes $ for PID 1, returns the output and removes the file', async () => {
    const e = entry();
    expect(e.unit).toBe(`xspectre-cmd-${e.commandId}.service`);
    const result = await executor.run(e, never);
    const path = scriptFile(scriptsDir, e.commandId);
    expect(result).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: 'ran world|$$HOME|$${PATH}|two words|--flag\n',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
    });
    const start = systemd.calls.find((c) => c[0] === 'systemd-run')!;
    expect(start).toContain('--property=RuntimeMaxSec=42');
    expect(start).toContain('--property=RemainAfterExit=yes');
    expect(start.slice(start.indexOf('--') + 1)).toEqual(['/bin/sh', path, 'world', '$$HOME', '$${PATH}', 'two words', '--flag']);
    expect(systemd.scriptSeen).toEqual({ path, content: SCRIPT, mode: 0o700 });

    await executor.cleanup(e);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(systemd.calls.filter((c) => c[0] === 'systemctl' && c[1] !== 'show').map((c) => c[1])).toEqual(['stop', 'reset-failed']);
  });

  it('a hash mismatch starts no unit at all', async () => {
    scripts.answers = [{ ok: true, content: Buffer.from('echo something else\n') }];
    expect(await executor.run(entry(), never)).toEqual({ status: 'failed', reason: HASH_MISMATCH_REASON });
    expect(systemd.calls).toEqual([]);
  });

  it('waits for a script past its own timeout (not the 15 minutes of other units), then stops it', async () => {
    systemd.hang = true;
    const e = entry({ timeoutSeconds: 3600 });
    const result = await executor.run(e, never);
    expect(result).toMatchObject({ status: 'failed', exitCode: 143, reason: 'still running after 63 minutes: stopped' });
    expect(clock - T0).toBeGreaterThanOrEqual(3600_000 + SCRIPT_STOP_MARGIN_MS);
  });

  it('is unsupported where the agent has no script source', async () => {
    const bare = new CommandExecutor(host, { outputDir: join(dir, 'output'), dockerSocket: '/run/docker.sock' });
    expect(await bare.unsupported('script.run')).toBe('script runs are not set up in this agent');
    expect(await executor.unsupported('script.run')).toBeNull();
  });
});

describe('transient unit arguments', () => {
  it('escapes every $ so PID 1 passes it through literally', () => {
    expect(escapeExecArgument('$HOME ${X} $$ a$')).toBe('$$HOME $${X} $$$$ a$$');
    expect(escapeExecArgument('no dollars')).toBe('no dollars');
  });

  it('adds RuntimeMaxSec only when asked', () => {
    const spec = {
      commandId: 'c',
      action: 'service.restart',
      stdoutPath: '/o',
      stderrPath: '/e',
      command: ['systemctl', 'restart', '--', 'x.service'],
    };
    expect(systemdRunArgs(spec).some((a) => a.includes('RuntimeMaxSec'))).toBe(false);
    expect(systemdRunArgs({ ...spec, runtimeMaxSec: 5 })).toContain('--property=RuntimeMaxSec=5');
  });
});

describe('GET agent/commands/:id/script over node:http', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: unknown };
  let seen: { url?: string; authorization?: string };

  beforeEach(async () => {
    seen = {};
    server = createServer((req, res) => {
      seen = { url: req.url, authorization: req.headers.authorization };
      res.writeHead(answer.status, { 'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('decodes the content, with the device credential', async () => {
    const id = randomUUID();
    answer = { status: 200, body: { commandId: id, sha256: sha(SCRIPT), contentBase64: Buffer.from(SCRIPT).toString('base64') } };
    const fetched = await httpScriptFetch({ apiUrl: url, deviceCredential: 'dc_secret' })(id, never);
    expect(fetched).toEqual({ ok: true, content: Buffer.from(SCRIPT) });
    expect(seen).toEqual({ url: `/api/v1/agent/commands/${id}/script`, authorization: 'Bearer dc_secret' });
  });

  it('a refusal is final, a server error worth retrying, another command or a bad answer refused', async () => {
    const id = randomUUID();
    const fetch = httpScriptFetch({ apiUrl: url, deviceCredential: 'dc_secret' });
    const problem = (status: number, code: string) => ({ type: 'about:blank', title: 'x', status, detail: `detail of ${code}`, code });
    answer = { status: 404, body: problem(404, 'COMMAND_NOT_FOUND') };
    expect(await fetch(id, never)).toEqual({ ok: false, reason: 'HTTP 404 COMMAND_NOT_FOUND: detail of COMMAND_NOT_FOUND', retry: false });
    answer = { status: 500, body: problem(500, 'INTERNAL_ERROR') };
    expect(await fetch(id, never)).toMatchObject({ ok: false, retry: true });
    answer = { status: 200, body: { commandId: randomUUID(), sha256: sha(SCRIPT), contentBase64: '' } };
    expect(await fetch(id, never)).toEqual({ ok: false, reason: 'the answer does not follow the contract', retry: false });
    answer = { status: 200, body: { commandId: id } };
    expect(await fetch(id, never)).toMatchObject({ ok: false, retry: false });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.listen(0); // closed again by afterEach
    expect(await fetch(id, never)).toMatchObject({ ok: false, retry: true });
  });
});
