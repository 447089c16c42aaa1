import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type ContainerDevice, type Lab } from '@xspectre/lab';
import { FINAL_COMMAND_STATUSES, type Command } from '@xspectre/contracts';
import { TestApi } from './support/harness.js';
import { stepUp } from './support/step-up.js';
import { brokenBuild, derivedBuild, serveBuiltAgent, type BuildInfo } from './support/agent-builds.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;
const INSTALLED = '/usr/local/bin/xspectre-agent';

/**
 * agent.update on a real device container: bootstrap.sh installed the built executable as the
 * sandboxed xspectre-agent service; the API serves it plus two more builds (API_AGENT_BUILDS_DIR):
 * a second real build of the agent (api/test/support/agent-builds.ts: same code, another version
 * and so another build id) and one that never comes up (a script that exits at once). The swap
 * runs as a transient unit outside the sandbox; the result is reported by the agent that runs
 * after the restart.
 */
describe('fleet lab: agent update with roll back', () => {
  let lab: Lab;
  let api: TestApi;
  let root: string;
  let admin: string;
  let device: ContainerDevice;
  let deviceId: string;
  const builds = {} as Record<'current' | 'next' | 'broken', BuildInfo>;

  const getCommand = async (id: string) => (await api.request('GET', `commands/${id}`, { token: admin })).body as Command;
  async function waitFinal(id: string, timeoutMs: number): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const command = await getCommand(id);
      if (FINAL_COMMAND_STATUSES.includes(command.status)) return command;
      if (Date.now() > deadline) throw new Error(`command ${id} is still ${command.status} after ${timeoutMs / 1000} s`);
      await sleep(1000);
    }
  }
  const installedBuildId = async (path = INSTALLED) => {
    const r = await device.exec(path, ['build-id'], { timeoutMs: 30_000 });
    return r.exitCode === 0 ? r.stdout.trim() : `exit ${r.exitCode}: ${r.stderr.trim()}`;
  };
  const reportedBuildId = async () =>
    (await api.request('GET', `devices/${deviceId}/inventory`, { token: admin })).body.current?.inventory?.agentBuildId as
      string | undefined;
  const heartbeatCount = async () =>
    Number((await api.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1', [deviceId])).rows[0].n);
  /** The statuses the agent reported for a command, in order (one audit row each). */
  const reports = async (commandId: string) =>
    (await api.auditRows(`action = 'command.status' AND resource_id = $1 AND result = 'success'`, [commandId])).map(
      (row) => row.details.status as string,
    );
  async function queueUpdate(buildId: string): Promise<Command> {
    const r = await api.request('POST', `devices/${deviceId}/critical-commands`, {
      token: admin,
      body: { action: 'agent.update', params: { buildId } },
    });
    if (r.status !== 201) throw new Error(`queue agent.update: ${r.status} ${r.text}`);
    return r.body as Command;
  }
  async function heartbeatsContinue() {
    const before = await heartbeatCount();
    const deadline = Date.now() + 6 * HEARTBEAT_SECONDS * 1000;
    while ((await heartbeatCount()) < before + 2 && Date.now() < deadline) await sleep(1000);
    expect(await heartbeatCount()).toBeGreaterThanOrEqual(before + 2);
  }

  beforeAll(async () => {
    // Builds the agent executable when agent/dist is newer (the lab's own ensureAgentExecutable).
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    root = await mkdtemp(join(tmpdir(), 'xs-lab-agent-builds-'));
    builds.current = await serveBuiltAgent(join(root, 'dist'));
    builds.next = await derivedBuild(join(root, 'builds', 'next'));
    builds.broken = await brokenBuild(join(root, 'builds', 'broken'));
    console.log(`lab: builds current ${builds.current.buildId}, next ${builds.next.version} ${builds.next.buildId}`);
    api = await TestApi.start(
      {
        ...lab.apiEnv(),
        API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        API_WG_RECONCILE_SECONDS: '2',
        API_AGENT_DIST_DIR: join(root, 'dist'),
        API_AGENT_BUILDS_DIR: join(root, 'builds'),
      },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    await stepUp(api, admin);
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Updates', kind: 'customer' } });
    const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    const created = await api.request('POST', 'devices', {
      token: admin,
      body: { name: 'update-c1', organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
    });
    deviceId = created.body.device.id;
    device = await lab.addContainerDevice({ hostname: 'update-c1' });
    const result = await device.bootstrap(created.body.claimCode.code);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    // Agent updates need an explicit allow in the technician's local policy.
    const policy = await device.exec('sh', ['-c', 'cat > /etc/xspectre/policy.json'], {
      input: JSON.stringify({ allow: ['*', 'agent.update'] }),
    });
    expect(policy.exitCode, policy.stderr).toBe(0);
    expect(await installedBuildId()).toBe(builds.current.buildId);
  }, 25 * 60_000);

  afterAll(async () => {
    await api?.stop();
    await lab?.teardown();
    if (root) await rm(root, { recursive: true, force: true });
  }, 180_000);

  it(
    'updates to another build: swapped in place, the previous kept, the new build id reported, heartbeats go on; the result once',
    async () => {
      const before = await installedBuildId();
      const target = before === builds.next.buildId ? builds.current : builds.next;
      const queued = await queueUpdate(target.buildId);
      expect(queued.params).toEqual({
        version: target.version,
        buildId: target.buildId,
        sha256: target.sha256,
        sizeBytes: expect.any(Number),
      });

      const done = await waitFinal(queued.id, 5 * 60_000);
      console.log(`lab: agent.update ${done.status}: ${done.stdout?.trim()} ${done.reason ?? ''}`);
      expect(done.status, `${done.reason}\n${done.stdout}\n${done.stderr}`).toBe('succeeded');
      expect(done.stdout).toContain(`build ${before} → ${target.buildId}`);

      expect(await installedBuildId()).toBe(target.buildId);
      expect(await installedBuildId(`${INSTALLED}.previous`)).toBe(before);
      const sum = await device.exec('sha256sum', [INSTALLED]);
      expect(sum.stdout.split(' ')[0]).toBe(target.sha256);
      const active = await device.exec('systemctl', ['is-active', 'xspectre-agent.service']);
      expect(active.stdout.trim()).toBe('active');

      // The API sees the new build id in the inventory the new agent sends, and heartbeats go on.
      const deadline = Date.now() + 60_000;
      while ((await reportedBuildId()) !== target.buildId && Date.now() < deadline) await sleep(1000);
      expect(await reportedBuildId()).toBe(target.buildId);
      await heartbeatsContinue();
      expect(await reports(queued.id)).toEqual(['running', 'succeeded']);
      // The download, the script and the outcome are gone; the transient unit is unloaded.
      const left = await device.exec('sh', [
        '-c',
        `ls /var/lib/xspectre/commands/update/${queued.id} 2>&1; systemctl is-active xspectre-cmd-${queued.id}.service`,
      ]);
      expect(left.stdout).toContain('No such file');
      expect(left.stdout.trim().split('\n').at(-1)).toBe('inactive');
    },
    8 * 60_000,
  );

  it(
    'rolls back a build that does not report within 90 s: the previous executable runs again, the command failed with the reason',
    async () => {
      const before = await installedBuildId();
      const queued = await queueUpdate(builds.broken.buildId);
      const done = await waitFinal(queued.id, 6 * 60_000);
      console.log(`lab: agent.update to a broken build ${done.status}: ${done.reason}\n${done.stdout}`);
      expect(done.status).toBe('failed');
      expect(done.reason).toBe('rolled back: the new build did not report within 90 s');
      expect(done.stdout).toContain('restoring the previous executable');

      expect(await installedBuildId()).toBe(before);
      const active = await device.exec('systemctl', ['is-active', 'xspectre-agent.service']);
      expect(active.stdout.trim()).toBe('active');
      expect(await reportedBuildId()).toBe(before);
      await heartbeatsContinue();
      expect(await reports(queued.id)).toEqual(['running', 'failed']);
    },
    10 * 60_000,
  );
});
