import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type ContainerDevice, type GreenboneInstall, type GreenboneService, type Lab } from '@xspectre/lab';
import { FINAL_COMMAND_STATUSES, type Alert, type Command, type Heartbeat } from '@xspectre/contracts';
import { AlertEvaluator } from '../src/alerts/alert-evaluator.js';
import { HeartbeatsService } from '../src/ingest/heartbeats.service.js';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;

/**
 * The stand-in gvmd (agent/test/gvmd-standin) runs in this process, on the install's socket. It
 * lives in the agent's test folder, outside this package's rootDir, so it is imported by path
 * (vitest compiles it) and typed here by the little this spec uses.
 */
interface StandinFeed {
  type: string;
  version: string;
}
interface StandinTask {
  id: string;
  name: string;
  status: string;
}
interface GvmdStandin {
  socketPath: string;
  fixture: { tasks: StandinTask[]; feeds: StandinFeed[] };
  commands: string[];
  answers: string[];
  faults: { scannerDown?: boolean; closeOn?: string };
  close(): Promise<void>;
}
interface StandinModule {
  startGvmdStandin(options: {
    socketPath: string;
    profile?: string;
    users?: Array<{ username: string; password: string }>;
  }): Promise<GvmdStandin>;
  SENSITIVE_STRINGS: string[];
}
/** The stand-in's `gvmd` command line (a shell script in the gvmd container) and the watcher that answers it. */
interface StandinCliModule {
  prepareGvmdCliFiles(dir: string): Promise<string[]>;
  startGvmdCliWatcher(
    standin: GvmdStandin,
    dir: string,
  ): Promise<{ calls: Array<{ args: string[]; exitCode: number }>; roles: Map<string, string>; stop(): Promise<void> }>;
}
const STANDIN_MODULE = new URL('../../agent/test/gvmd-standin/index.ts', import.meta.url).pathname;
const STANDIN_CLI_MODULE = new URL('../../agent/test/gvmd-standin/cli.ts', import.meta.url).pathname;

/** gvmd says its scanner is down: verify_scanner failed, or the NVT feed's sync is not available. */
const scannerDownIn = (stats: any): boolean =>
  stats.scanners.some((s: any) => s.reachable === false) || stats.feeds.some((f: any) => f.type === 'NVT' && f.syncError);

/** A feed version (`YYYYMMDDhhmm`, as gvmd reports it) `hours` before now. */
function feedVersionHoursAgo(hours: number): string {
  const at = new Date(Date.now() - hours * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}`;
}

/**
 * Scanner operations end to end in the fleet lab (issue 19): a scanner device container enrolled
 * by bootstrap.sh, a Greenbone install in the devices' Docker engine (containers named and
 * labelled like the community compose services, gvmd's /run/gvmd a host directory the device
 * sees at the same path), the stand-in gvmd answering GMP there. The agent discovers the install,
 * provisioning creates the monitor account through the critical command route, and each scanner
 * check raises exactly one alert and clears it, with the real API, its alert engine (run in this
 * process with the real clock) and the real Docker engine; suppression holds; nothing of the
 * scanned hosts, ports or NVTs leaves the device. The scanner checks hold for a while after the
 * install's containers start (API_SCANNER_RESTART_GRACE_SECONDS, 10 minutes by default; GRACE_SECONDS
 * here), so this file waits that out once; the OOM case, whose check no restart holds, runs within it.
 */
/** The restart grace this API runs with: long enough for the setup before the grace test, short enough not to idle. */
const GRACE_SECONDS = 90;
/** The core services each check under test depends on (api/src/scanners/scanner-checks.ts: GVMD, SCANNING; no openvasd here). */
const GVMD_SERVICES = ['gvmd', 'pg-gvm'] as const;
const SCANNING_SERVICES = ['gvmd', 'pg-gvm', 'ospd-openvas', 'redis-server'] as const;

describe('fleet lab: scanner operations', () => {
  let lab: Lab;
  let api: TestApi;
  let admin: string;
  /** Set up when the first critical command is sent. */
  let totpSecret: string | undefined;
  let siteId: string;
  let deviceId: string;
  let device: ContainerDevice;
  let install: GreenboneInstall;
  let standinModule: StandinModule;
  let standin: GvmdStandin;
  let cliDir: string | undefined;
  let cliWatcher: Awaited<ReturnType<StandinCliModule['startGvmdCliWatcher']>> | undefined;
  /** When the install's containers started: scanner checks hold for GRACE_SECONDS after. */
  let installedAt = 0;
  /** Every heartbeat the API took in from the device, as it took it in. */
  const received: Heartbeat[] = [];
  const started = Date.now();

  const request = async (method: string, path: string, body?: unknown) => {
    const r = await api.request(method, path, { token: admin, ...(body === undefined ? {} : { body }) });
    return r;
  };

  async function waitCommand(id: string, timeoutMs = 120_000): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const command = (await request('GET', `commands/${id}`)).body as Command;
      if (FINAL_COMMAND_STATUSES.includes(command.status)) return command;
      if (Date.now() > deadline) throw new Error(`command ${id} is still ${command.status} after ${timeoutMs / 1000} s`);
      await sleep(250);
    }
  }

  async function command(action: string, params: object, route: 'commands' | 'critical-commands' = 'commands'): Promise<Command> {
    if (route === 'critical-commands') totpSecret = await stepUp(api, admin, totpSecret);
    const r = await request('POST', `devices/${deviceId}/${route}`, { action, params });
    if (r.status !== 201) throw new Error(`queue ${action}: ${r.status} ${r.text}`);
    return waitCommand(r.body.id);
  }

  const snapshot = async (): Promise<any> => {
    const r = await request('GET', `devices/${deviceId}/scanner`);
    return r.status === 200 ? r.body : null;
  };

  /** Waits for a scanner report that satisfies `accept`; returns it. */
  async function waitForSnapshot(what: string, accept: (s: any) => boolean, timeoutMs = 90_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await snapshot();
      if (last && accept(last)) return last;
      if (Date.now() > deadline)
        throw new Error(
          `no scanner report with ${what} after ${timeoutMs / 1000} s; last: ${JSON.stringify(last?.stats ?? null).slice(0, 3000)}`,
        );
      await sleep(500);
    }
  }

  /** "Refresh now" (scanner.refresh), then the first report collected after it that satisfies `accept`. */
  async function refreshUntil(what: string, accept: (s: any) => boolean, timeoutMs = 90_000): Promise<any> {
    const asked = Date.now();
    const done = await command('scanner.refresh', {});
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    return waitForSnapshot(what, (s) => Date.parse(s.stats.collectedAt) >= asked - 1000 && accept(s), timeoutMs);
  }

  const evaluate = () => api.app.get(AlertEvaluator).run();

  let checkByRuleKey = new Map<string, string>();
  async function loadRuleChecks(): Promise<void> {
    const rules = (await request('GET', 'alert-rules')).body.items as Array<{ key: string; kind: string; params: { check?: string } }>;
    checkByRuleKey = new Map(rules.filter((r) => r.kind === 'scanner').map((r) => [r.key, r.params.check ?? '']));
  }
  const deviceAlerts = async (): Promise<Alert[]> => (await request('GET', `alerts?deviceId=${deviceId}&limit=200`)).body.items;
  const scannerAlertsSince = async (since: number) =>
    (await deviceAlerts()).filter((a) => a.kind === 'scanner' && Date.parse(a.openedAt) >= since - 1000);
  const checkOf = (a: Alert) => checkByRuleKey.get(a.ruleKey);

  /** Runs the engine until an alert of `check` is open (opened after `since`); then once more, and returns the scanner alerts opened since. */
  async function raised(check: string, since: number, timeoutMs = 90_000): Promise<Alert[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await evaluate();
      const open = (await scannerAlertsSince(since)).filter((a) => checkOf(a) === check && a.state !== 'resolved');
      if (open.length > 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `no ${check} alert after ${timeoutMs / 1000} s; scanner alerts since: ${JSON.stringify(await scannerAlertsSince(since))}`,
        );
      await sleep(1000);
    }
    await sleep(1000);
    await evaluate();
    return scannerAlertsSince(since);
  }

  async function resolved(alert: Alert, timeoutMs = 90_000): Promise<Alert> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await evaluate();
      const now = (await deviceAlerts()).find((a) => a.id === alert.id);
      if (now?.state === 'resolved') return now;
      if (Date.now() > deadline) throw new Error(`alert ${alert.ruleKey} still ${now?.state} after ${timeoutMs / 1000} s`);
      await sleep(1000);
    }
  }

  /** A cause raises exactly one scanner alert, of `check`; the undo clears it (auto). */
  async function scenario(name: string, check: string, cause: () => Promise<unknown>, undo: () => Promise<unknown>, since = Date.now()) {
    await cause();
    const alerts = await raised(check, since);
    expect(
      alerts.map((a) => `${checkOf(a)}:${a.subject}:${a.state}`),
      `${name}: ${JSON.stringify(alerts.map((a) => a.title))}`,
    ).toHaveLength(1);
    const [alert] = alerts as [Alert];
    expect(checkOf(alert)).toBe(check);
    console.log(`lab: ${name} → ${alert.severity} "${alert.title}" in ${((Date.now() - since) / 1000).toFixed(1)} s`);
    const undone = Date.now();
    await undo();
    const cleared = await resolved(alert);
    expect(cleared.resolution).toBe('auto');
    console.log(`lab: ${name} undone → resolved in ${((Date.now() - undone) / 1000).toFixed(1)} s`);
    return alert;
  }

  /**
   * Scanner checks hold for the grace period after a core container they depend on started
   * (api/src/scanners/scanner-checks.ts, DEPENDS_ON): after the install, and after a restart (the
   * OOM kill's). Waits until the latest start of `services`, as Docker reports it, is that long ago.
   */
  async function afterGrace(services: readonly GreenboneService[]): Promise<void> {
    const starts = await Promise.all(services.map(async (s) => Date.parse((await install.state(s)).startedAt)));
    const wait = Math.max(installedAt, ...starts) + GRACE_SECONDS * 1000 + 5_000 - Date.now();
    if (wait > 0) {
      console.log(`lab: waiting ${(wait / 1000).toFixed(0)} s for the restart grace after ${services.join(', ')} started`);
      await sleep(wait);
    }
  }

  beforeAll(async () => {
    standinModule = (await import(/* @vite-ignore */ STANDIN_MODULE)) as StandinModule;
    const cli = (await import(/* @vite-ignore */ STANDIN_CLI_MODULE)) as StandinCliModule;
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        API_WG_RECONCILE_SECONDS: '2',
        API_SCANNER_RESTART_GRACE_SECONDS: String(GRACE_SECONDS),
        // The file runs longer than the default 10 minutes of an access token.
        API_ACCESS_TOKEN_TTL_SECONDS: '3600',
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    // Records what the API takes in from agents and hands it on unchanged.
    const heartbeats = api.app.get(HeartbeatsService);
    const ingest = heartbeats.ingest.bind(heartbeats);
    heartbeats.ingest = async (from, batch) => {
      if (from.id === deviceId) received.push(...structuredClone(batch));
      return ingest(from, batch);
    };
    admin = await api.adminToken();
    const org = await request('POST', 'organizations', { name: 'Lab Scanners', kind: 'customer' });
    const site = await request('POST', 'sites', { organizationId: org.body.id, name: 'Branch', timeZone: 'UTC' });
    siteId = site.body.id;
    const created = await request('POST', 'devices', { name: 'gb-scanner-1', organizationId: org.body.id, siteId, type: 'scanner' });
    if (created.status !== 201) throw new Error(`create device: ${created.status} ${created.text}`);
    deviceId = created.body.device.id;

    // gvmd's command line in the gvmd container (for provisioning): the stand-in's script, and the
    // passwd/group files `docker exec -u gvmd` needs in a busybox container.
    cliDir = await mkdtemp(join(tmpdir(), 'xs-lab-gvmd-cli-'));
    const gvmdMounts = await cli.prepareGvmdCliFiles(cliDir);
    device = await lab.addContainerDevice({ hostname: 'gb-scanner-1', greenbone: { gvmdMounts } });
    install = device.greenbone!;
    installedAt = Date.now();
    // An install whose admin password was changed (admin/admin refused).
    standin = await standinModule.startGvmdStandin({
      socketPath: install.socketPath,
      profile: 'current',
      users: [{ username: 'admin', password: 'lab admin password, changed after install' }],
    });
    cliWatcher = await cli.startGvmdCliWatcher(standin, install.paths.runDir);
    const result = await device.bootstrap(created.body.claimCode.code);
    if (result.exitCode !== 0) throw new Error(`bootstrap: ${result.stdout}\n${result.stderr}`);
    await loadRuleChecks();
    console.log(`lab: set up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 25 * 60_000);

  afterAll(async () => {
    await cliWatcher?.stop().catch(() => undefined);
    await standin?.close().catch(() => undefined);
    if (cliDir) await rm(cliDir, { recursive: true, force: true });
    await install?.remove().catch((e: Error) => console.log(`lab: removing the install: ${e.message}`));
    await api?.stop();
    await lab?.teardown();
    console.log(`lab: lab-scanners ran ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 180_000);

  it(
    'the agent discovers the compose install and reports its core containers',
    async () => {
      const s = await waitForSnapshot('compose discovery and the core containers', (x) => x.stats.discovery?.method === 'compose');
      expect(s.stats.discovery).toEqual({
        method: 'compose',
        composeProject: 'greenbone-community-edition',
        gvmd: install.containerName('gvmd'),
      });
      const core = new Map<string, any>(s.stats.coreContainers.map((c: any) => [c.service, c]));
      for (const service of ['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm'] as const)
        expect(core.get(service), service).toMatchObject({ container: install.containerName(service), state: 'running' });
      expect(core.has('openvasd')).toBe(false); // absent from this compose file: left out, not missing
      expect(s.stats.gmp.version).toBe('22.7'); // get_version needs no account
      expect(s.stats.account).toBe('none');
      console.log(`lab: discovered ${JSON.stringify(s.stats.discovery)}; core ${[...core.keys()].join(', ')}`);
    },
    6 * 60_000,
  );

  it(
    'provisioning the monitor account (critical, step-up) lets the agent log in over GMP',
    async () => {
      // Without a verified TOTP code the critical route refuses.
      const refused = await request('POST', `devices/${deviceId}/critical-commands`, { action: 'scanner.provision-monitor', params: {} });
      expect(refused.status, refused.text).toBe(403);
      const done = await command('scanner.provision-monitor', {}, 'critical-commands');
      expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded' });
      // gvmd's own command line ran in the gvmd container: the user created with its role, its password set.
      const calls = cliWatcher!.calls;
      expect(calls[0]?.args).toEqual(['--create-user=xspectre-monitor', '--role=Observer']);
      expect(calls.some((c) => c.args[0] === '--user=xspectre-monitor' && c.args[1]?.startsWith('--new-password='))).toBe(true);
      expect(calls.filter((c) => c.exitCode !== 0)).toEqual([]);
      console.log(`lab: gvmd command line calls: ${calls.map((c) => c.args.map((a) => a.split('=')[0]).join(' ')).join('; ')}`);
      expect(cliWatcher!.roles.get('xspectre-monitor')).toBe('Observer');
      console.log(`lab: provisioned: ${done.stdout?.trim().split('\n').at(-1)}`);
      const s = await refreshUntil('the monitor account logged in', (x) => x.stats.account === 'monitor' && x.stats.gmp.reachable);
      expect(s.stats.feeds.map((f: any) => f.type).sort()).toEqual(['CERT', 'GVMD_DATA', 'NVT', 'SCAP']);
      expect(s.stats.tasks.length).toBe(standin.fixture.tasks.length);
      expect(s.stats.defaultAdminPassword).toBe(false);
      expect(standin.commands).toContain('authenticate');
      // The secret stays on the device, root-only.
      const file = await device.exec('stat', ['-c', '%a %U', '/var/lib/xspectre/gmp-monitor.json']);
      expect(file.stdout.trim()).toBe('600 root');
    },
    6 * 60_000,
  );

  it(
    "a fresh install's scanner checks hold for the restart grace: a stale feed raises nothing yet",
    async () => {
      const nvt = standin.fixture.feeds.find((f) => f.type === 'NVT')!;
      const current = nvt.version;
      const since = Date.now();
      nvt.version = feedVersionHoursAgo(200); // past the critical threshold (7 days)
      const s = await refreshUntil('the stale NVT feed', (x) =>
        x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === nvt.version),
      );
      expect(Date.parse(s.stats.collectedAt)).toBeLessThan(installedAt + GRACE_SECONDS * 1000);
      await evaluate();
      expect((await scannerAlertsSince(since)).map((a) => a.title)).toEqual([]);
      nvt.version = current;
      await refreshUntil('the current NVT feed', (x) => x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === current));
      console.log('lab: NVT feed 200 h old within the restart grace after install: no alert');
    },
    3 * 60_000,
  );

  it(
    'an OOM-killed redis-server raises one alert (a device override of 1 minute) and clears',
    async () => {
      // Default: OOM-killed within the last 60 minutes. Here 1 minute, so that it clears in the test.
      // This check holds for no restart (DEPENDS_ON: none), so it runs inside the install's grace,
      // while the other checks hold; those that depend on redis-server wait for its restart's grace
      // (the feed checks, which do not, come first).
      const r = await request('POST', 'alert-rules', {
        key: 'scanner-core-container-oom',
        name: 'OOM within a minute (lab device)',
        kind: 'scanner',
        params: { check: 'core_container_oom', threshold: 1 },
        severity: 'warning',
        scope: { kind: 'device', id: deviceId },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await loadRuleChecks();
      const since = new Date(Date.now() - 1000);
      const after = await install.oomKillRedisOnce();
      const events = await install.events('redis-server', since);
      console.log(`lab: redis-server after the kill: ${JSON.stringify(after)}; Docker's events: ${JSON.stringify(events)}`);
      // The kernel killed it at its cgroup's limit (SIGKILL, 137) and Docker's restart policy started it again.
      expect(events.some((e) => e.action === 'die' && e.exitCode === '137')).toBe(true);
      expect(after).toMatchObject({ running: true, restartCount: 1 });
      // Docker saw it as an OOM kill: that is all the agent learns of it. (Not so on cgroup v1 when a device's
      // systemd created hierarchies the host has not mounted: infra/lab/src/cgroups.ts mounts them.)
      expect(
        events.map((e) => e.action),
        'the engine reported no `oom` event',
      ).toContain('oom');
      await scenario(
        'redis-server OOM-killed',
        'core_container_oom',
        async () => {
          const s = await refreshUntil('the OOM kill', (x) =>
            x.stats.coreContainers?.some((c: any) => c.service === 'redis-server' && c.lastOomKillAt !== null),
          );
          const redis = s.stats.coreContainers.find((c: any) => c.service === 'redis-server');
          expect(redis).toMatchObject({ state: 'running', restartCount: 1 });
        },
        // The kill ages past the 1-minute threshold; nothing else changes.
        () => sleep(30_000),
        since.getTime(),
      );
    },
    6 * 60_000,
  );

  it(
    'a stale NVT feed raises one alert and clears when the feed is current',
    async () => {
      await afterGrace(GVMD_SERVICES);
      const nvt = standin.fixture.feeds.find((f) => f.type === 'NVT')!;
      const current = nvt.version;
      await scenario(
        'NVT feed 4 days old',
        'nvt_feed_age',
        async () => {
          nvt.version = feedVersionHoursAgo(96);
          await refreshUntil('the stale NVT feed', (x) => x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === nvt.version));
        },
        async () => {
          nvt.version = current;
          await refreshUntil('the current NVT feed', (x) => x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === current));
        },
      );
    },
    15 * 60_000,
  );

  it(
    'suppression: an offline device raises no scanner alert; GMP unreachable hides the feed alert',
    async () => {
      await afterGrace(GVMD_SERVICES);
      const nvt = standin.fixture.feeds.find((f) => f.type === 'NVT')!;
      const current = nvt.version;
      const since = Date.now();
      nvt.version = feedVersionHoursAgo(96);
      await refreshUntil('the stale NVT feed', (x) => x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === nvt.version));
      // Offline: the agent stops; three heartbeat intervals later the device is offline.
      await device.stopAgent();
      await sleep((3 * HEARTBEAT_SECONDS + 3) * 1000);
      for (let i = 0; i < 3; i++) {
        await evaluate();
        await sleep(1000);
      }
      expect((await scannerAlertsSince(since)).map((a) => a.title)).toEqual([]);
      console.log('lab: offline device with a stale feed in its last report: no scanner alert');

      // GMP unreachable: gvmd closes every session at once; the stale feed raises nothing.
      standin.faults.closeOn = 'get_version';
      const back = await device.exec('systemctl', ['start', 'xspectre-agent.service'], { timeoutMs: 60_000 });
      expect(back.exitCode, back.stderr).toBe(0);
      await refreshUntil('GMP unreachable', (x) => x.stats.gmp.reachable === false);
      for (let i = 0; i < 3; i++) {
        await evaluate();
        await sleep(1000);
      }
      const hidden = (await scannerAlertsSince(since)).filter((a) => checkOf(a) === 'nvt_feed_age');
      expect(hidden.map((a) => a.title)).toEqual([]);
      console.log(
        `lab: GMP unreachable with a stale feed: no feed alert (scanner alerts: ${JSON.stringify((await scannerAlertsSince(since)).map((a) => a.title))})`,
      );

      // Once GMP answers, the same stale feed raises its alert: it was hidden, not absent.
      delete standin.faults.closeOn;
      await scenario(
        'stale feed once GMP answers',
        'nvt_feed_age',
        () => refreshUntil('GMP reachable again', (x) => x.stats.gmp.reachable === true),
        async () => {
          nvt.version = current;
          await refreshUntil('the current NVT feed', (x) => x.stats.feeds.some((f: any) => f.type === 'NVT' && f.version === current));
        },
      );
    },
    6 * 60_000,
  );

  it(
    'the scanner down raises one alert and clears when it answers again',
    async () => {
      await afterGrace(SCANNING_SERVICES);
      await scenario(
        'scanner down',
        'scanner_down',
        async () => {
          standin.faults.scannerDown = true;
          await refreshUntil('the scanner unreachable', (x) => scannerDownIn(x.stats));
        },
        async () => {
          standin.faults.scannerDown = false;
          await refreshUntil('the scanner reachable', (x) => !scannerDownIn(x.stats));
        },
      );
    },
    6 * 60_000,
  );

  it(
    'a task stuck Requested raises one alert (a site override of 1 minute) and clears when it runs',
    async () => {
      await afterGrace(SCANNING_SERVICES);
      for (const [key, severity] of [
        ['scanner-task-requested-warning', 'warning'],
        ['scanner-task-requested-critical', 'critical'],
      ] as const) {
        const r = await request('POST', 'alert-rules', {
          key,
          name: `${key} (lab site)`,
          kind: 'scanner',
          params: { check: 'task_requested', threshold: severity === 'warning' ? 1 : 1000 },
          severity,
          scope: { kind: 'site', id: siteId },
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      await loadRuleChecks();
      const task = standin.fixture.tasks.find((t) => t.status === 'New')!;
      await scenario(
        `task '${task.name}' Requested`,
        'task_requested',
        async () => {
          task.status = 'Requested';
          await refreshUntil('the task Requested', (x) => x.stats.tasks.some((t: any) => t.id === task.id && t.status === 'Requested'));
          // The engine counts from the first report that showed it Requested; a later report keeps that time.
          await sleep(35_000);
          await refreshUntil('the task still Requested', (x) =>
            x.stats.tasks.some((t: any) => t.id === task.id && t.status === 'Requested'),
          );
        },
        async () => {
          task.status = 'Queued';
          await refreshUntil('the task Queued', (x) => x.stats.tasks.some((t: any) => t.id === task.id && t.status === 'Queued'));
        },
      );
      task.status = 'New';
    },
    6 * 60_000,
  );

  it(
    'scanner.restart of ospd-openvas restarts that container',
    async () => {
      const before = await install.state('ospd-openvas');
      const gvmdBefore = await install.state('gvmd');
      const done = await command('scanner.restart', { service: 'ospd-openvas' });
      expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded' });
      const after = await install.state('ospd-openvas');
      expect(after.running).toBe(true);
      expect(after.startedAt).not.toBe(before.startedAt);
      expect((await install.state('gvmd')).startedAt).toBe(gvmdBefore.startedAt);
      await refreshUntil('the new start of ospd-openvas', (x) =>
        x.stats.coreContainers.some((c: any) => c.service === 'ospd-openvas' && Date.parse(c.startedAt) === Date.parse(after.startedAt)),
      );
      console.log(`lab: ospd-openvas StartedAt ${before.startedAt} → ${after.startedAt}`);
    },
    6 * 60_000,
  );

  it(
    "no heartbeat and nothing stored carries the stand-in's hosts, ports, NVT names or the monitor secret",
    async () => {
      const account = await device.exec('cat', ['/var/lib/xspectre/gmp-monitor.json']);
      expect(account.exitCode, `the monitor account file: ${account.stderr}`).toBe(0);
      const secret = (JSON.parse(account.stdout) as { password: string }).password;
      const forbidden = [...standinModule.SENSITIVE_STRINGS, secret];
      // A port number alone matches inside other numbers; as a value of its own only.
      const found = (text: string) =>
        forbidden.filter((s) => (/^\d+$/.test(s) ? new RegExp(`(^|[^0-9])${s}([^0-9]|$)`).test(text) : text.includes(s)));

      // The strings were there to be found: the stand-in gave them to the agent.
      const given = standin.answers.join('');
      expect(standinModule.SENSITIVE_STRINGS.filter((s) => !given.includes(s))).toEqual([]);
      const withStats = received.filter((h) => h.scannerStats);
      expect(withStats.length).toBeGreaterThan(0);
      const bodies = JSON.stringify(received);
      expect(found(bodies), 'heartbeats').toEqual([]);

      const stored: Record<string, unknown[]> = {};
      for (const table of [
        'device_telemetry',
        'scanner_snapshots',
        'scanner_task_states',
        'scanner_report_counts',
        'scanner_feed_versions',
        'scanner_docker_samples',
        'scanner_feed_runs',
        'alerts',
        'commands',
      ])
        stored[table] = (await api.sql.query(`SELECT * FROM ${table} WHERE device_id = $1`, [deviceId])).rows;
      stored.audit = await api.auditRows(`resource_id = $1 OR details::text LIKE $2`, [deviceId, `%${deviceId}%`]);
      for (const [table, rows] of Object.entries(stored)) expect(found(JSON.stringify(rows)), table).toEqual([]);
      console.log(
        `lab: ${received.length} heartbeats (${withStats.length} with scannerStats, ${bodies.length} bytes) and ` +
          `${Object.values(stored).reduce((n, rows) => n + rows.length, 0)} stored rows: none of ${forbidden.length} strings`,
      );
    },
    6 * 60_000,
  );
});
