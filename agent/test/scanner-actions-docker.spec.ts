// The scanner.* commands against a real Docker engine and the stand-in gvmd: a compose-labelled
// install of busybox containers (gvmd with the stand-in gvmd command line, ospd-openvas, two feed
// data services), discovered by discovery.ts' compose rules, restarted, provisioned, summarised,
// and its feeds updated (the registry failure for real; the recreate path with a newer local image).
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScannerReportSummarySchema } from '@xspectre/contracts';
import type { JournalEntry } from '../src/commands/command-journal.js';
import { dockerPost } from '../src/commands/docker-actions.js';
import { ScannerActions } from '../src/commands/scanner-actions.js';
import { recreateContainer } from '../src/scanner/action-feed-update.js';
import { composeInstall, parseListedContainers, type GreenboneInstall } from '../src/scanner/discovery.js';
import { readMonitorAccount } from '../src/scanner/monitor-account.js';
import { dockerGet } from '../src/collectors/docker.js';
import { collectScannerStats } from '../src/gmp/collect.js';
import {
  GVMD_IMAGE_FILES,
  OTHER_HOSTS,
  prepareGvmdCliFiles,
  ROLE_IDS,
  standinPermissions,
  SENSITIVE_STRINGS,
  startGvmdCliWatcher,
  startGvmdStandin,
  type GvmdCliWatcher,
  type GvmdStandin,
} from './gvmd-standin/index.js';
import { dockerCli, ensureLabDockerd, importBusyboxImage, LAB_DOCKER_SOCKET as SOCKET, stopDockerd } from './test-dockerd.js';

const PROJECT = `xspectre-h2-${process.pid}`;
const IMAGE = 'xspectre-test/busybox-h2:1';
/** A registry that refuses at once: the lab has none, and this one fails fast. */
const FEED_REF = (service: string) => `localhost:1/xspectre-h2-${process.pid}/${service}:latest`;
const NEWER_LOCAL = `xspectre-test/h2-vt-newer:${process.pid}`;

const docker = dockerCli(SOCKET);
const inspect = async (name: string) => JSON.parse(await docker(['inspect', name]))[0] as Record<string, any>;

/** busybox (sh, sleep) plus `files` as an image: nothing is downloaded. */
const importImage = (tag: string, files: Record<string, string> = {}, options: { bare?: boolean } = {}) =>
  importBusyboxImage(SOCKET, tag, { files, ...options });

const WAIT = 'trap "exit 0" TERM; sleep 2147483647 & wait $!';

describe('scanner.* commands against a real engine and the stand-in gvmd', () => {
  let started: ChildProcess | null = null;
  let dir = '';
  let runDir = '';
  let stateDir = '';
  let standin: GvmdStandin;
  let watcher: GvmdCliWatcher;
  const names = (service: string) => `${PROJECT}-${service}-1`;
  const created: string[] = [];
  let seq = 0;

  /** discovery.ts' compose rules over this project's containers only (other specs may run installs in the same engine). */
  const discover = async (): Promise<GreenboneInstall | null> => {
    const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`] }));
    return composeInstall(parseListedContainers(await dockerGet(SOCKET, `/containers/json?all=1&filters=${filters}`)));
  };
  const actions = (overrides: Partial<ConstructorParameters<typeof ScannerActions>[0]> = {}) =>
    new ScannerActions({
      dockerSocket: SOCKET,
      stateDir,
      discover,
      dockerPost: (path) => dockerPost(SOCKET, path),
      log: { info: () => undefined, warn: () => undefined },
      ...overrides,
    });
  const entry = (action: string, params: Record<string, unknown> = {}): JournalEntry =>
    ({
      v: 1,
      commandId: `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
      action,
      params,
      nonce: `n${seq}`,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      startedAt: new Date().toISOString(),
      bootMarker: '',
      unit: null,
      result: null,
      finishedAt: null,
      reported: false,
      running: false,
    }) as unknown as JournalEntry;
  const signal = new AbortController().signal;
  const exec = async (action: string, params: Record<string, unknown> = {}, a = actions()) => (await a.run(entry(action, params), signal))!;

  async function runContainer(service: string, image: string, extra: string[] = [], script = WAIT) {
    await docker([
      'run',
      '--detach',
      '--name',
      names(service),
      '--network',
      'none',
      '--label',
      `com.docker.compose.project=${PROJECT}`,
      '--label',
      `com.docker.compose.service=${service}`,
      ...extra,
      image,
      '/bin/sh',
      '-c',
      script,
    ]);
    created.push(names(service));
  }

  beforeAll(async () => {
    started = await ensureLabDockerd();
    dir = await mkdtemp(join(tmpdir(), 'xspectre-h2-'));
    await chmod(dir, 0o755);
    runDir = join(dir, 'run-gvmd');
    stateDir = join(dir, 'state');
    await mkdir(runDir, { recursive: true });
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const mounts = await prepareGvmdCliFiles(join(dir, 'cli'));
    standin = await startGvmdStandin({ socketPath: join(runDir, 'gvmd.sock') });
    watcher = await startGvmdCliWatcher(standin, runDir);

    await importImage(IMAGE, GVMD_IMAGE_FILES);
    await importImage(FEED_REF('vulnerability-tests'), { '/feed/version': '1\n' });
    await importImage(FEED_REF('notus-data'), { '/feed/version': '1\n' });
    await importImage(FEED_REF('scap-data'), { '/feed/version': '1\n' });
    await runContainer('gvmd', IMAGE, ['--volume', `${runDir}:/run/gvmd`, ...mounts.flatMap((m) => ['--volume', m])]);
    await runContainer('ospd-openvas', IMAGE);
    await runContainer('vulnerability-tests', FEED_REF('vulnerability-tests'), [
      '--volume',
      `${PROJECT}-vt-data:/mnt/feed`,
      '--label',
      'com.docker.compose.container-number=1',
      '--restart',
      'on-failure',
    ]);
    await runContainer('notus-data', FEED_REF('notus-data'), ['--volume', `${PROJECT}-notus-data:/mnt/notus`]);
    // like the community compose file's data services: copies its data into a volume and exits
    await runContainer('scap-data', FEED_REF('scap-data'), ['--volume', `${PROJECT}-scap-data:/mnt/scap`], 'sleep 0.2; exit 0');
  }, 180_000);

  afterAll(async () => {
    await watcher?.stop();
    await standin?.close();
    const all = (await docker(['ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${PROJECT}`]).catch(() => ''))
      .split('\n')
      .filter(Boolean);
    if (all.length) await docker(['rm', '--force', '--volumes', ...all]).catch(() => undefined);
    await docker(['volume', 'rm', `${PROJECT}-vt-data`, `${PROJECT}-notus-data`, `${PROJECT}-scap-data`]).catch(() => undefined);
    await docker([
      'rmi',
      '--force',
      FEED_REF('vulnerability-tests'),
      FEED_REF('notus-data'),
      FEED_REF('scap-data'),
      NEWER_LOCAL,
      `${NEWER_LOCAL}-scap`,
      IMAGE,
    ]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
    await stopDockerd(started);
  }, 120_000);

  it('discovers the labelled install with its core containers', async () => {
    const install = await discover();
    expect(install).toMatchObject({ method: 'compose', composeProject: PROJECT, gvmd: names('gvmd') });
    expect([...install!.coreContainers.keys()].sort()).toEqual(['gvmd', 'ospd-openvas']);
    expect(install!.socketPath).toBe(join(runDir, 'gvmd.sock'));
  });

  it('scanner.restart restarts that core container only; a service without a container fails clearly', async () => {
    const before = { ospd: (await inspect(names('ospd-openvas'))).State.StartedAt, gvmd: (await inspect(names('gvmd'))).State.StartedAt };
    const result = await exec('scanner.restart', { service: 'ospd-openvas' });
    expect(result).toEqual({ status: 'succeeded', exitCode: 0, stdout: `container ${names('ospd-openvas')} restarted\n` });
    expect((await inspect(names('ospd-openvas'))).State.StartedAt).not.toBe(before.ospd);
    expect((await inspect(names('gvmd'))).State.StartedAt).toBe(before.gvmd);

    // ospd-openvas not discovered (not in this install)
    const withoutOspd = actions({
      discover: async () => {
        const install = (await discover())!;
        install.coreContainers.delete('ospd-openvas');
        return install;
      },
    });
    expect(await exec('scanner.restart', { service: 'ospd-openvas' }, withoutOspd)).toMatchObject({
      status: 'failed',
      reason: `no ospd-openvas container in the compose project ${PROJECT}`,
    });
    expect(await exec('scanner.restart', { service: 'redis-server' })).toMatchObject({
      status: 'failed',
      reason: 'params do not match scanner.restart',
    });
    expect(await exec('scanner.restart', { service: 'gvmd' }, actions({ discover: async () => null }))).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^no Greenbone install found/),
    });
  });

  it('scanner.provision-monitor creates the Observer account with gvmd’s command line, keeps its secret 0600 and reports admin/admin', async () => {
    const result = await exec('scanner.provision-monitor');
    expect(result.status, JSON.stringify(result)).toBe('succeeded');
    const report = JSON.parse(result.stdout!.trim());
    expect(report).toMatchObject({
      username: 'xspectre-monitor',
      account: 'created',
      role: 'Observer',
      defaultAdminPassword: true,
      readsEveryTask: true,
      grant: 'Super on the roles Admin, User; reads only (Observer)',
    });

    const account = (await readMonitorAccount(stateDir))!;
    expect(account).toMatchObject({ username: 'xspectre-monitor', defaultAdminPassword: true });
    expect(account.password.length).toBeGreaterThanOrEqual(40);
    expect((await stat(join(stateDir, 'gmp-monitor.json'))).mode & 0o777).toBe(0o600);
    // gvmd knows it with that password, created as an Observer through `gvmd --create-user`, then `--new-password`.
    expect(standin.users.find((u) => u.username === 'xspectre-monitor')?.password).toBe(account.password);
    expect(watcher.roles.get('xspectre-monitor')).toBe('Observer');
    expect(watcher.calls.map((c) => c.args.map((a) => a.split('=')[0]))).toEqual([
      ['--create-user', '--role'],
      ['--user', '--new-password'],
      // a temporary Super Admin grants Super on the owners' roles over GMP, then goes, the monitor inheriting its grants
      ['--create-user', '--role', '--password'],
      ['--delete-user', '--inheritor'],
    ]);
    expect(watcher.calls[2]!.args[1]).toBe('--role=Super Admin');
    expect(standin.users.map((u) => u.username).filter((n) => n.startsWith('xspectre-grant-'))).toEqual([]);
    const monitorId = standin.users.find((u) => u.username === 'xspectre-monitor')!.id;
    expect(
      standinPermissions(standin)
        .filter((p) => p.subjectId === monitorId)
        .map((p) => [p.name, p.resourceType, p.resourceId, p.owner === monitorId]),
    ).toEqual([
      ['Super', 'role', ROLE_IDS.Admin, true],
      ['Super', 'role', ROLE_IDS.User, true],
    ]);
    // and so the poll, as the monitor, sees every task (an Observer alone sees none of admin's)
    const stats = await collectScannerStats({ socketPath: standin.socketPath, username: account.username, password: account.password });
    expect(stats.gmp.reachable).toBe(true);
    expect(stats.tasks).toHaveLength(standin.fixture.tasks.length);
    // The secret is nowhere in what the command reports (nor the one gvmd generated and printed).
    expect(JSON.stringify(result)).not.toContain(account.password);

    // Again: the user exists, so its password is reset; the admin password was changed meanwhile.
    standin.users.find((u) => u.username === 'admin')!.password = 'changed-by-the-operator';
    const again = await exec('scanner.provision-monitor');
    expect(again.status, JSON.stringify(again)).toBe('succeeded');
    expect(JSON.parse(again.stdout!.trim())).toMatchObject({
      account: 'reset',
      defaultAdminPassword: false,
      readsEveryTask: true,
      grant: 'Super on the roles Admin, User (granted before); reads only (Observer)',
    });
    expect(standinPermissions(standin)).toHaveLength(2);
    const second = (await readMonitorAccount(stateDir))!;
    expect(second.password).not.toBe(account.password);
    expect(second.defaultAdminPassword).toBe(false);
    expect(JSON.stringify(again)).not.toContain(second.password);
  });

  it('scanner.report-summary prints one summary line without hosts, ports or result text; bad ids and refused logins fail clearly', async () => {
    const reportId = standin.fixture.tasks[0]!.lastReport!.id;
    const result = await exec('scanner.report-summary', { reportId, maxFindings: 3 });
    expect(result.status, JSON.stringify(result)).toBe('succeeded');
    const lines = result.stdout!.trimEnd().split('\n');
    const summary = ScannerReportSummarySchema.parse(JSON.parse(lines.at(-1)!));
    expect(summary).toMatchObject({ reportId, taskName: standin.fixture.tasks[0]!.name, hostCount: 3 });
    expect(summary.topFindings.map((f) => [f.severity, f.hosts])).toEqual([
      [9.8, 2],
      [5.8, 3],
      [5.3, 1],
    ]);
    for (const s of [...SENSITIVE_STRINGS, ...OTHER_HOSTS, '443/tcp', '22/tcp']) expect(result.stdout).not.toContain(s);
    expect(standin.commands.slice(-3)).toEqual(['authenticate', 'get_reports', 'get_results']);

    expect(await exec('scanner.report-summary', { reportId: '11111111-2222-4333-8444-555555555555' })).toMatchObject({
      status: 'failed',
      reason: 'gvmd has no report 11111111-2222-4333-8444-555555555555',
    });
    expect(await exec('scanner.report-summary', { reportId: '../../etc/passwd' })).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^params do not match/),
    });
    // gvmd no longer takes the stored password
    const monitor = standin.users.find((u) => u.username === 'xspectre-monitor')!;
    const kept = monitor.password;
    monitor.password = 'someone-else-reset-it';
    const refused = await exec('scanner.report-summary', { reportId });
    expect(refused).toMatchObject({ status: 'failed', reason: expect.stringMatching(/refused the monitor account/) });
    expect(JSON.stringify(refused)).not.toContain(kept);
    monitor.password = kept;
  });

  it('no gvmd found: provisioning and summaries say so', async () => {
    const none = actions({ discover: async () => null });
    expect(await exec('scanner.provision-monitor', {}, none)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^no Greenbone install/),
    });
    expect(await exec('scanner.report-summary', { reportId: standin.fixture.tasks[0]!.lastReport!.id }, none)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^no Greenbone install/),
    });
    // gvmd's container is there but its command line fails: the exit code and gvmd's words, never a password
    const broken = actions({
      discover: async () => {
        const install = (await discover())!;
        install.gvmdContainerId = (await inspect(names('ospd-openvas'))).Id; // no gvmd user, no gvmd there
        return install;
      },
    });
    const failed = await exec('scanner.provision-monitor', {}, broken);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^provisioning the monitor account: /);
  });

  it('scanner.feed-update: an unreachable registry fails each feed service with the engine’s reason and changes nothing', async () => {
    const before = (await inspect(names('vulnerability-tests'))).Id;
    const ospdStarted = (await inspect(names('ospd-openvas'))).State.StartedAt;
    const result = await exec('scanner.feed-update', { pruneOldImages: true });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/^feed update incomplete \(3 of 3 services failed\): vulnerability-tests: pull: /);
    const summary = JSON.parse(result.stdout!.trim());
    expect(summary.services.map((s: any) => [s.service, s.outcome])).toEqual([
      ['vulnerability-tests', 'failed'],
      ['notus-data', 'failed'],
      ['scap-data', 'failed'],
    ]);
    expect(summary.restarted).toEqual([]);
    expect((await inspect(names('vulnerability-tests'))).Id).toBe(before);
    expect((await inspect(names('ospd-openvas'))).State.StartedAt).toBe(ospdStarted);
  }, 120_000);

  it('scanner.feed-update: a newer image recreates its container with the same config, restarts gvmd and ospd-openvas, prunes the old image', async () => {
    const old = await inspect(names('vulnerability-tests'));
    const notusBefore = (await inspect(names('notus-data'))).Id;
    const gvmdStarted = (await inspect(names('gvmd'))).State.StartedAt;
    const newer = await importImage(NEWER_LOCAL, { '/feed/version': '2\n' });
    await importImage(`${NEWER_LOCAL}-scap`, { '/feed/version': '2\n' });
    // The "pull": the registry is out of reach, so the newer image is tagged locally as the pull would leave it.
    const pull = async (reference: string) => {
      if (reference === FEED_REF('vulnerability-tests')) await docker(['tag', NEWER_LOCAL, reference]);
      if (reference === FEED_REF('scap-data')) await docker(['tag', `${NEWER_LOCAL}-scap`, reference]);
      return { ok: true as const };
    };
    const result = await exec('scanner.feed-update', { pruneOldImages: true }, actions({ feedUpdate: { pull } }));
    expect(result.status, JSON.stringify(result)).toBe('succeeded');
    expect(JSON.parse(result.stdout!.trim())).toEqual({
      project: PROJECT,
      services: [
        { service: 'vulnerability-tests', outcome: 'recreated', image: FEED_REF('vulnerability-tests'), pruned: 'removed' },
        { service: 'notus-data', outcome: 'unchanged', image: FEED_REF('notus-data') },
        { service: 'scap-data', outcome: 'recreated', image: FEED_REF('scap-data'), pruned: 'removed' },
      ],
      restarted: [
        { service: 'gvmd', outcome: 'restarted' },
        { service: 'ospd-openvas', outcome: 'restarted' },
      ],
    });
    const now = await inspect(names('vulnerability-tests'));
    expect(now.Id).not.toBe(old.Id);
    expect(now.Image).toBe(newer);
    expect(now.State.Running).toBe(true);
    expect(now.Config.Labels).toEqual(old.Config.Labels);
    expect(now.Config.Cmd).toEqual(old.Config.Cmd);
    expect(now.HostConfig.RestartPolicy).toEqual(old.HostConfig.RestartPolicy);
    expect(now.Mounts.map((m: any) => [m.Name, m.Destination])).toEqual([[`${PROJECT}-vt-data`, '/mnt/feed']]);
    expect((await inspect(names('notus-data'))).Id).toBe(notusBefore);
    // the run-once data service ran its copy to the end before gvmd and ospd-openvas were restarted
    const scap = await inspect(names('scap-data'));
    expect([scap.State.Status, scap.State.ExitCode]).toEqual(['exited', 0]);
    expect(Date.parse(scap.State.FinishedAt)).toBeLessThanOrEqual(Date.parse((await inspect(names('gvmd'))).State.StartedAt));
    expect((await inspect(names('gvmd'))).State.StartedAt).not.toBe(gvmdStarted);
    // the old image is gone, the old container too (no leftovers under temporary names)
    await expect(docker(['image', 'inspect', old.Image])).rejects.toThrow();
    const leftovers = await docker(['ps', '--all', '--format', '{{.Names}}', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
    expect(leftovers.split('\n').filter((n) => /-xspectre-(new|old)-/.test(n))).toEqual([]);
  }, 120_000);

  it('recreateContainer: a failed create or start leaves the old container in place under its name', async () => {
    const old = await inspect(names('notus-data'));
    await expect(recreateContainer(SOCKET, old.Id, `xspectre-test/h2-nonexistent:${process.pid}`)).rejects.toThrow(
      /^create the new container: Docker engine answered HTTP 404/,
    );
    // An image without /bin/sh: the create works, the start fails; the old one gets its name back and runs again.
    const bare = `xspectre-test/h2-bare:${process.pid}`;
    await importImage(bare, { '/feed/version': 'bare\n' }, { bare: true });
    try {
      await expect(recreateContainer(SOCKET, old.Id, bare)).rejects.toThrow(/^start the new container: /);
    } finally {
      await docker(['rmi', '--force', bare]).catch(() => undefined);
    }
    const after = await inspect(names('notus-data'));
    expect(after.Id).toBe(old.Id);
    expect(after.State.Running).toBe(true);
    const leftovers = await docker(['ps', '--all', '--format', '{{.Names}}', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
    expect(leftovers.split('\n').filter((n) => /-xspectre-(new|old)-/.test(n))).toEqual([]);
  });
});
