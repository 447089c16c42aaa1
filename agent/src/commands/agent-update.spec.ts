import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_SERVICE,
  commandDir,
  HASH_MISMATCH_REASON,
  healthReporter,
  httpDownload,
  parseOutcome,
  prepareUpdate,
  SWAP_SCRIPT,
  updateResult,
  type Download,
  type UpdateHost,
  type UpdateOptions,
} from './agent-update.js';
import type { JournalEntry } from './command-journal.js';
import { CommandExecutor, type ExecutorHost } from './executor.js';
import type { ProcessResult } from './run-process.js';

const run = promisify(execFile);
const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const never = new AbortController().signal;
const OLD_ID = 'a'.repeat(64);
const NEW_ID = 'b'.repeat(64);
const NEW_BYTES = Buffer.from('#!/bin/sh\necho new build\n');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xs-agent-update-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function entry(params: Record<string, unknown>, commandId = randomUUID()): JournalEntry {
  return {
    v: 1,
    commandId,
    action: 'agent.update',
    params,
    nonce: 'n'.repeat(32),
    expiresAt: '2026-06-01T12:05:00.000Z',
    startedAt: '2026-06-01T12:00:00.000Z',
    bootMarker: '',
    unit: `xspectre-cmd-${commandId}.service`,
    runningReported: true,
    result: null,
    finishedAt: null,
    reported: false,
  };
}

const signedParams = (bytes: Buffer = NEW_BYTES) => ({ version: '0.1.1', buildId: NEW_ID, sha256: sha(bytes), sizeBytes: bytes.length });

/** Stands in for the API's download route: writes `bytes` as the answer would. */
class FakeUpdates implements UpdateHost {
  bytes: Buffer = NEW_BYTES;
  answers: Download[] = [];
  downloads: Array<{ commandId: string; maxBytes: number }> = [];
  buildId: string | null = OLD_ID;
  execPath = '/usr/local/bin/xspectre-agent';
  download = async (commandId: string, path: string, maxBytes: number): Promise<Download> => {
    this.downloads.push({ commandId, maxBytes });
    const answer = this.answers.shift();
    if (answer) return answer;
    await writeFile(path, this.bytes, { mode: 0o600 });
    return { ok: true, sha256: sha(this.bytes), size: this.bytes.length };
  };
  running = () => ({ buildId: this.buildId, execPath: this.execPath });
  sleep = async () => undefined;
}

describe('prepareUpdate: download and check before anything is swapped', () => {
  const options = (host: UpdateHost): UpdateOptions => ({ host, dir: join(dir, 'update') });

  it('downloads the signed bytes and runs the shipped swap script with /bin/sh and its arguments', async () => {
    const host = new FakeUpdates();
    const e = entry(signedParams());
    const prepared = await prepareUpdate(e, options(host), never);
    expect(prepared.kind).toBe('run');
    if (prepared.kind !== 'run') return;
    const cmdDir = commandDir(join(dir, 'update'), e.commandId);
    expect(prepared.command).toEqual([
      '/bin/sh',
      join(cmdDir, 'swap.sh'),
      '/usr/local/bin/xspectre-agent',
      join(cmdDir, 'xspectre-agent'),
      join(dir, 'update', 'health'),
      NEW_ID,
      join(cmdDir, 'outcome'),
      '90',
      AGENT_SERVICE,
      OLD_ID,
    ]);
    expect(await readFile(join(cmdDir, 'swap.sh'), 'utf8')).toBe(SWAP_SCRIPT);
    expect((await stat(join(cmdDir, 'swap.sh'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(cmdDir, 'xspectre-agent'))).toEqual(NEW_BYTES);
    expect(host.downloads).toEqual([{ commandId: e.commandId, maxBytes: NEW_BYTES.length }]);
  });

  it('fails on a SHA-256 mismatch and removes the download: nothing is swapped', async () => {
    const host = new FakeUpdates();
    host.bytes = Buffer.from('#!/bin/sh\necho something else\n');
    const e = entry(signedParams());
    expect(await prepareUpdate(e, options(host), never)).toEqual({
      kind: 'done',
      result: { status: 'failed', reason: HASH_MISMATCH_REASON },
    });
    await expect(stat(commandDir(join(dir, 'update'), e.commandId))).rejects.toThrow(/ENOENT/);
  });

  it('fails when the size differs from the signed size, or the download fails; retries only what is worth retrying', async () => {
    const host = new FakeUpdates();
    host.bytes = Buffer.concat([NEW_BYTES, Buffer.from('x')]);
    const sameHash = { ...signedParams(host.bytes), sizeBytes: host.bytes.length - 1 };
    const sized = await prepareUpdate(entry(sameHash), options(host), never);
    expect(sized).toMatchObject({ kind: 'done', result: { status: 'failed', reason: expect.stringMatching(/bytes, not the signed/) } });

    const retried = new FakeUpdates();
    retried.answers = [
      { ok: false, reason: 'HTTP 503', retry: true },
      { ok: false, reason: 'HTTP 503', retry: true },
      { ok: false, reason: 'HTTP 503', retry: true },
    ];
    expect(await prepareUpdate(entry(signedParams()), options(retried), never)).toEqual({
      kind: 'done',
      result: { status: 'failed', reason: 'cannot download the executable: HTTP 503' },
    });
    expect(retried.downloads).toHaveLength(3);
    const once = new FakeUpdates();
    once.answers = [{ ok: false, reason: 'HTTP 404', retry: false }];
    await prepareUpdate(entry(signedParams()), options(once), never);
    expect(once.downloads).toHaveLength(1);
  });

  it('does nothing for the build it already runs, and refuses outside the installed executable', async () => {
    const same = new FakeUpdates();
    same.buildId = NEW_ID;
    const done = await prepareUpdate(entry(signedParams()), options(same), never);
    expect(done).toMatchObject({ kind: 'done', result: { status: 'succeeded', stdout: expect.stringContaining('already running build') } });
    expect(same.downloads).toHaveLength(0);

    const elsewhere = new FakeUpdates();
    elsewhere.execPath = '/usr/bin/node';
    expect(await prepareUpdate(entry(signedParams()), options(elsewhere), never)).toMatchObject({
      kind: 'done',
      result: { status: 'failed', reason: expect.stringContaining('not from /usr/local/bin/xspectre-agent') },
    });
    const unbuilt = new FakeUpdates();
    unbuilt.buildId = null;
    expect(await prepareUpdate(entry(signedParams()), options(unbuilt), never)).toMatchObject({
      result: { status: 'failed', reason: expect.stringContaining('no build id') },
    });
    expect([...elsewhere.downloads, ...unbuilt.downloads]).toHaveLength(0);
  });

  it('fails on parameters that are not the signed schema (an extra URL, a bad hash)', async () => {
    for (const params of [
      { ...signedParams(), url: 'http://elsewhere/agent' },
      { ...signedParams(), sha256: 'nope' },
    ]) {
      expect(await prepareUpdate(entry(params), options(new FakeUpdates()), never)).toEqual({
        kind: 'done',
        result: { status: 'failed', reason: 'the agent update parameters are not valid' },
      });
    }
  });
});

describe('httpDownload (node:http)', () => {
  let server: Server;
  let url: string;
  let handler: (headers: IncomingHttpHeaders, res: import('node:http').ServerResponse) => void;
  beforeEach(async () => {
    server = createServer((req, res) => handler(req.headers, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const download = (maxBytes: number) =>
    httpDownload({ apiUrl: url, deviceCredential: 'secret-credential' })(randomUUID(), join(dir, 'download'), maxBytes, never);

  it('streams the answer to the file with its SHA-256, sending the device credential', async () => {
    const body = Buffer.alloc(300_000, 7);
    let auth: string | undefined;
    handler = (headers, res) => {
      auth = headers.authorization;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    };
    expect(await download(body.length)).toEqual({ ok: true, sha256: sha(body), size: body.length });
    expect(auth).toBe('Bearer secret-credential');
    expect(await readFile(join(dir, 'download'))).toEqual(body);
    expect((await stat(join(dir, 'download'))).mode & 0o777).toBe(0o600);
  });

  it('stops at the signed size: by content-length, and without one', async () => {
    handler = (_headers, res) => res.end(Buffer.alloc(1000));
    expect(await download(999)).toEqual({ ok: false, reason: 'the executable is 1000 bytes, more than the signed 999', retry: false });
    handler = (_headers, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
      res.end();
    };
    expect(await download(5000)).toEqual({ ok: false, reason: 'the executable is larger than the signed 5000 bytes', retry: false });
  });

  it('says whether an error answer is worth retrying', async () => {
    handler = (_headers, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end('{}');
    };
    expect(await download(10)).toEqual({ ok: false, reason: 'HTTP 404', retry: false });
    handler = (_headers, res) => {
      res.writeHead(503);
      res.end();
    };
    expect(await download(10)).toEqual({ ok: false, reason: 'HTTP 503', retry: true });
  });
});

/**
 * The swap script run for real in a temporary directory: the "installed executable" is a shell
 * script standing in for a build (the good one writes its build id to the health file as an agent
 * does after its first acknowledged heartbeat; the broken one exits at once), and a stand-in
 * `systemctl` first on PATH "restarts the unit" by starting whatever is installed at the target.
 */
describe('the swap script', () => {
  async function setUp(newBuild: string) {
    const bin = join(dir, 'bin');
    const stub = join(dir, 'stub');
    await mkdir(bin);
    await mkdir(stub);
    const target = join(bin, 'xspectre-agent');
    const health = join(dir, 'health');
    await writeFile(target, `#!/bin/sh\nprintf ${OLD_ID} > "$FAKE_HEALTH"\n`, { mode: 0o755 });
    await writeFile(join(dir, 'new'), newBuild, { mode: 0o600 });
    await writeFile(join(stub, 'systemctl'), `#!/bin/sh\necho "$*" >> "$FAKE_LOG"\n[ "$1" = restart ] && "$FAKE_TARGET"\nexit 0\n`);
    await chmod(join(stub, 'systemctl'), 0o755);
    await writeFile(join(dir, 'swap.sh'), SWAP_SCRIPT, { mode: 0o700 });
    return { target, health, stub, old: await readFile(target) };
  }

  async function swap(files: Awaited<ReturnType<typeof setUp>>, seconds: number) {
    const args = [
      join(dir, 'swap.sh'),
      files.target,
      join(dir, 'new'),
      files.health,
      NEW_ID,
      join(dir, 'outcome'),
      String(seconds),
      AGENT_SERVICE,
      OLD_ID,
    ];
    const env = {
      PATH: `${files.stub}:/usr/bin:/bin`,
      FAKE_LOG: join(dir, 'systemctl.log'),
      FAKE_TARGET: files.target,
      FAKE_HEALTH: files.health,
    };
    try {
      const { stdout } = await run('/bin/sh', args, { env });
      return { code: 0, stdout };
    } catch (err) {
      const failed = err as { code: number; stdout: string };
      return { code: failed.code, stdout: failed.stdout };
    }
  }

  it('keeps the previous executable, renames the new one into place, restarts once and succeeds when the new build reports', async () => {
    const newBuild = `#!/bin/sh\nprintf ${NEW_ID} > "$FAKE_HEALTH"\n`;
    const files = await setUp(newBuild);
    const swapped = await swap(files, 30);
    expect(swapped.code, swapped.stdout).toBe(0);
    expect(await readFile(files.target, 'utf8')).toBe(newBuild);
    expect((await stat(files.target)).mode & 0o777).toBe(0o755);
    expect(await readFile(`${files.target}.previous`)).toEqual(files.old);
    expect(await readFile(join(dir, 'systemctl.log'), 'utf8')).toBe(`restart -- ${AGENT_SERVICE}\n`);
    const outcome = parseOutcome(await readFile(join(dir, 'outcome'), 'utf8'));
    expect(outcome).toEqual({ result: 'succeeded', old: OLD_ID, new: NEW_ID, reason: '' });
    await expect(stat(join(dir, 'bin', '.xspectre-agent.new'))).rejects.toThrow(/ENOENT/);

    const e = entry(signedParams());
    await mkdir(commandDir(dir, e.commandId));
    await writeFile(join(commandDir(dir, e.commandId), 'outcome'), await readFile(join(dir, 'outcome')));
    expect(await updateResult(e, { status: 'succeeded', exitCode: 0, stdout: swapped.stdout }, dir)).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: `${swapped.stdout}updated the agent to version 0.1.1: build ${OLD_ID} → ${NEW_ID}\n`,
    });
  });

  it('restores the previous executable and restarts again when the new build does not report in time', async () => {
    const files = await setUp('#!/bin/sh\nexit 1\n');
    const swapped = await swap(files, 2);
    expect(swapped.code, swapped.stdout).toBe(1);
    expect(swapped.stdout).toContain('did not report within 2 s: restoring the previous executable');
    expect(await readFile(files.target)).toEqual(files.old);
    expect(await readFile(`${files.target}.previous`)).toEqual(files.old);
    expect(await readFile(join(dir, 'systemctl.log'), 'utf8')).toBe(`restart -- ${AGENT_SERVICE}\nrestart -- ${AGENT_SERVICE}\n`);
    // The previous build came back and reported itself.
    expect(await readFile(files.health, 'utf8')).toBe(OLD_ID);
    expect(parseOutcome(await readFile(join(dir, 'outcome'), 'utf8'))).toMatchObject({ result: 'rolled-back', reason: '2' });

    const e = entry(signedParams());
    await mkdir(commandDir(dir, e.commandId));
    await writeFile(join(commandDir(dir, e.commandId), 'outcome'), await readFile(join(dir, 'outcome')));
    expect(
      await updateResult(e, { status: 'failed', exitCode: 1, reason: 'the transient unit ended: result exit-code, exit status 1' }, dir),
    ).toEqual({
      status: 'failed',
      exitCode: 1,
      reason: 'rolled back: the new build did not report within 2 s',
    });
  });

  it('a health file of another build does not count, and an update without an outcome is failed', async () => {
    const files = await setUp(`#!/bin/sh\nprintf ${'c'.repeat(64)} > "$FAKE_HEALTH"\n`);
    expect((await swap(files, 2)).code).toBe(1);
    expect(await readFile(files.target)).toEqual(files.old);
    const e = entry(signedParams());
    expect(
      await updateResult(e, { status: 'failed', exitCode: 143, reason: 'the transient unit ended: result signal, signal 15' }, dir),
    ).toEqual({
      status: 'failed',
      exitCode: 143,
      reason: 'the update ended without an outcome (the transient unit ended: result signal, signal 15)',
    });
  });
});

describe('healthReporter', () => {
  it('writes the build id once, after the first acknowledged heartbeat; a build without an id writes nothing', async () => {
    const warn = () => undefined;
    const reporter = healthReporter(join(dir, 'update'), NEW_ID, { warn });
    reporter.acknowledged();
    reporter.acknowledged();
    for (let i = 0; i < 100 && !(await stat(join(dir, 'update', 'health')).catch(() => null)); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await readFile(join(dir, 'update', 'health'), 'utf8')).toBe(NEW_ID);
    healthReporter(join(dir, 'none'), null, { warn }).acknowledged();
    await new Promise((r) => setTimeout(r, 50));
    await expect(stat(join(dir, 'none'))).rejects.toThrow(/ENOENT/);
  });
});

/**
 * The executor's path for agent.update, with a stand-in for PID 1 that runs the transient unit's
 * command for real (the swap script, with the stand-in systemctl on PATH) and, like the restart
 * it causes, stops the agent that started it: a second executor (the agent after the restart)
 * resumes the command and reports the outcome.
 */
describe('CommandExecutor: agent.update across the restart', () => {
  class Pid1 {
    units = new Map<string, Record<string, string>>();
    exits = new Map<string, number>();
    calls: string[][] = [];
    onStart: () => void = () => undefined;
    constructor(private readonly env: NodeJS.ProcessEnv) {}

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
        const ran = await run(command[0]!, command.slice(1), { env: this.env }).then(
          (done) => ({ code: 0, stdout: done.stdout }),
          (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
        );
        const { code, stdout } = ran;
        await writeFile(args.find((a) => a.startsWith('--property=StandardOutput=file:'))!.split('file:')[1]!, stdout);
        await writeFile(args.find((a) => a.startsWith('--property=StandardError=file:'))!.split('file:')[1]!, '');
        // The restart stops the agent before it sees the unit end.
        this.units.set(unit, { LoadState: 'loaded', ActiveState: 'active', SubState: 'running', ExecMainCode: '0', ExecMainStatus: '0' });
        this.exits.set(unit, code);
        this.onStart();
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
        this.units.delete(args.at(-1)!);
        return ok();
      }
      throw new Error(`unexpected ${file} ${args.join(' ')}`);
    };

    /** The script has ended: the unit shows its exit status (RemainAfterExit). */
    finish(unit: string) {
      const code = this.exits.get(unit)!;
      this.units.set(unit, {
        LoadState: 'loaded',
        ActiveState: code === 0 ? 'active' : 'failed',
        SubState: code === 0 ? 'exited' : 'failed',
        Result: code === 0 ? 'success' : 'exit-code',
        ExecMainCode: '1',
        ExecMainStatus: String(code),
      });
    }
  }

  async function scenario(newBuild: string, healthSeconds: number) {
    const bin = join(dir, 'bin');
    const stub = join(dir, 'stub');
    await mkdir(bin);
    await mkdir(stub);
    const installPath = join(bin, 'xspectre-agent');
    const updateDir = join(dir, 'update');
    const oldBuild = `#!/bin/sh\nmkdir -p "$(dirname "$FAKE_HEALTH")"; printf ${OLD_ID} > "$FAKE_HEALTH"\n`;
    await writeFile(installPath, oldBuild, { mode: 0o755 });
    await writeFile(join(stub, 'systemctl'), `#!/bin/sh\n[ "$1" = restart ] && "$FAKE_TARGET"\nexit 0\n`);
    await chmod(join(stub, 'systemctl'), 0o755);
    const pid1 = new Pid1({ PATH: `${stub}:/usr/bin:/bin`, FAKE_TARGET: installPath, FAKE_HEALTH: join(updateDir, 'health') });
    const updates = new FakeUpdates();
    updates.bytes = Buffer.from(newBuild);
    updates.execPath = installPath;
    const executorHost: ExecutorHost = {
      run: pid1.run,
      systemdRunning: () => Promise.resolve(true),
      dockerSocketExists: () => Promise.resolve(false),
      dockerPost: () => Promise.reject(new Error('no docker here')),
      bootMarker: () => Promise.resolve('boot-a:1'),
      sleep: (_ms, signal) => (signal.aborted ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, 5))),
      now: () => new Date(Date.parse('2026-06-01T12:00:01.000Z')),
    };
    const executor = () =>
      new CommandExecutor(executorHost, {
        outputDir: join(dir, 'output'),
        dockerSocket: '/run/docker.sock',
        update: { host: updates, dir: updateDir, installPath, healthSeconds },
        pollMs: 5,
      });
    const e = entry({ ...signedParams(updates.bytes), buildId: NEW_ID });
    return { pid1, executor, e, installPath, oldBuild, updateDir };
  }

  it('the agent stopped by the restart reports nothing; the new build resumes the command and reports old → new once', async () => {
    const newBuild = `#!/bin/sh\nprintf ${NEW_ID} > "$FAKE_HEALTH"\n`;
    const { pid1, executor, e, installPath, oldBuild, updateDir } = await scenario(newBuild, 10);
    const before = executor();
    expect(await before.unsupported('agent.update')).toBeNull();
    expect(before.unitFor(e.commandId, 'agent.update')).toBe(e.unit);
    const stopped = new AbortController();
    pid1.onStart = () => stopped.abort();
    expect(await before.run(e, stopped.signal)).toBeUndefined();
    const started = pid1.calls.find((c) => c[0] === 'systemd-run')!;
    expect(started).toContain('--property=RuntimeMaxSec=600');
    expect(started.slice(started.indexOf('--') + 1, started.indexOf('--') + 3)).toEqual([
      '/bin/sh',
      join(updateDir, e.commandId, 'swap.sh'),
    ]);
    expect(await readFile(installPath, 'utf8')).toBe(newBuild);

    pid1.finish(e.unit!);
    const after = executor();
    const result = await after.resume(e, never);
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(result!.stdout).toContain(`updated the agent to version 0.1.1: build ${OLD_ID} → ${NEW_ID}`);
    expect(await readFile(`${installPath}.previous`, 'utf8')).toBe(oldBuild);
    await after.cleanup(e);
    await expect(stat(join(updateDir, e.commandId))).rejects.toThrow(/ENOENT/);
    expect(pid1.units.has(e.unit!)).toBe(false);
  });

  it('after a roll back the previous build resumes the command and reports it failed with the reason', async () => {
    const { pid1, executor, e, installPath, oldBuild } = await scenario('#!/bin/sh\nexit 1\n', 2);
    const stopped = new AbortController();
    pid1.onStart = () => stopped.abort();
    expect(await executor().run(e, stopped.signal)).toBeUndefined();
    expect(await readFile(installPath, 'utf8')).toBe(oldBuild);
    pid1.finish(e.unit!);
    expect(await executor().resume(e, never)).toMatchObject({
      status: 'failed',
      exitCode: 1,
      reason: 'rolled back: the new build did not report within 2 s',
    });
  });

  it('an agent without update support, or not running as the installed executable, rejects agent.update as unsupported', async () => {
    const host = { systemdRunning: () => Promise.resolve(true) } as unknown as ExecutorHost;
    expect(await new CommandExecutor(host, { outputDir: dir, dockerSocket: '/x' }).unsupported('agent.update')).toBe(
      'agent updates are not set up in this agent',
    );
    const updates = new FakeUpdates();
    updates.buildId = null;
    expect(
      await new CommandExecutor(host, { outputDir: dir, dockerSocket: '/x', update: { host: updates, dir } }).unsupported('agent.update'),
    ).toBe('this agent does not run from a built executable (it has no build id)');
  });
});
