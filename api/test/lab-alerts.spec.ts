import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, DEVICE_ENGINE_IMAGE, type ContainerDevice, type Lab, type LabApi } from '@xspectre/lab';
import type { Alert } from '@xspectre/contracts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;
/** The worker evaluates every 30 s; a heartbeat every 5 s; rules are re-read within 5 s. */
const RAISE_WITHIN_MS = 150_000;

/**
 * Alerts on a real device: the lab API and its worker as processes (the evaluation job on its
 * 30 s schedule), a device container with systemd enrolled by bootstrap.sh, the devices' Docker
 * engine. The agent stopping, a watched unit stopping and a container stopping each raise their
 * alert, and clear it when they come back.
 */
describe('fleet lab: alerts from a real device', () => {
  let lab: Lab;
  let labApi: LabApi;
  let token = '';
  let deviceId: string;
  let device: ContainerDevice;

  async function request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    for (let attempt = 0; ; attempt++) {
      if (!token) token = (await labApi.admin()).accessToken;
      const response = await fetch(`${labApi.url}/${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      // Access tokens live 10 minutes; this test may run longer.
      if (response.status === 401 && attempt === 0) {
        token = '';
        continue;
      }
      return { status: response.status, body: text ? JSON.parse(text) : null };
    }
  }

  const alerts = async (): Promise<Alert[]> => (await request('GET', `alerts?deviceId=${deviceId}&limit=100`)).body.items;

  /** Waits for the alert of `ruleKey` (and subject) to reach `state`; returns it and how long it took. */
  async function waitForAlert(ruleKey: string, subject: string, state: 'open' | 'resolved', since: number) {
    const deadline = Date.now() + RAISE_WITHIN_MS;
    for (;;) {
      const match = (await alerts()).find(
        (a) => a.ruleKey === ruleKey && a.subject === subject && (state === 'open' ? a.state !== 'resolved' : a.state === 'resolved'),
      );
      if (match) return { alert: match, seconds: (Date.now() - since) / 1000 };
      if (Date.now() > deadline) throw new Error(`no ${state} ${ruleKey} alert for "${subject}" after ${RAISE_WITHIN_MS / 1000} s`);
      await sleep(1000);
    }
  }

  async function mustExec(file: string, args: string[]) {
    const r = await device.exec(file, args, { timeoutMs: 60_000 });
    expect(r.exitCode, `${file} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  }

  async function override(key: string, kind: string, params: object, severity = 'critical') {
    const r = await request('POST', 'alert-rules', {
      key,
      name: `${key} (lab device)`,
      kind,
      params,
      severity,
      scope: { kind: 'device', id: deviceId },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  beforeAll(async () => {
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    labApi = await lab.startApi({ env: { API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) } });
    const admin = await labApi.admin();
    const site = await admin.createSite('Lab Alerts');
    const created = await admin.createDevice('alerts-c1', site);
    deviceId = created.id;
    device = await lab.addContainerDevice({ hostname: 'alerts-c1' });
    const result = await device.bootstrap(created.claimCode);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    // Faster rules for this one device (a device-scoped override of each key).
    await override('device-offline', 'offline', { afterSeconds: 30 });
    await override('unit-not-active', 'unit', { condition: 'not_active', units: ['*'], forSeconds: 0 });
    await override('container-not-running', 'container', { condition: 'not_running', containers: ['lab-web'], forSeconds: 0 });
    const run = await lab.deviceDocker([
      'run',
      '--detach',
      '--name',
      'lab-web',
      '--network',
      'none',
      DEVICE_ENGINE_IMAGE,
      '/bin/sleep',
      '100000',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    // The first heartbeats arrive and the API and the worker have re-read the rules.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const telemetry = (await request('GET', `devices/${deviceId}/telemetry`)).body;
      if (telemetry.docker?.containers?.some((c: { name: string }) => c.name === 'lab-web') || Date.now() > deadline) break;
      await sleep(1000);
    }
    await sleep(6_000);
  }, 25 * 60_000);

  afterAll(async () => {
    await lab?.deviceDocker(['rm', '--force', 'lab-web']).catch(() => undefined);
    await lab?.teardown();
  }, 180_000);

  it(
    'a stopped container raises "container not running" and clears when it runs again',
    async () => {
      const stopped = Date.now();
      expect((await lab.deviceDocker(['stop', '--time', '1', 'lab-web'])).exitCode).toBe(0);
      const raised = await waitForAlert('container-not-running', 'lab-web', 'open', stopped);
      expect(raised.alert).toMatchObject({ severity: 'critical', deviceName: 'alerts-c1' });
      console.log(`lab: container stopped → alert in ${raised.seconds.toFixed(1)} s: ${raised.alert.title}`);
      const started = Date.now();
      expect((await lab.deviceDocker(['start', 'lab-web'])).exitCode).toBe(0);
      const cleared = await waitForAlert('container-not-running', 'lab-web', 'resolved', started);
      expect(cleared.alert.resolution).toBe('auto');
      console.log(`lab: container started → resolved in ${cleared.seconds.toFixed(1)} s`);
    },
    6 * 60_000,
  );

  it(
    'a stopped watched unit raises "unit not active" and clears when it is started',
    async () => {
      const stopped = Date.now();
      await mustExec('systemctl', ['stop', 'ssh.service']);
      const raised = await waitForAlert('unit-not-active', 'ssh.service', 'open', stopped);
      expect(raised.alert.details).toMatchObject({ unit: 'ssh.service', activeState: 'inactive' });
      console.log(`lab: ssh.service stopped → alert in ${raised.seconds.toFixed(1)} s: ${raised.alert.title}`);
      const started = Date.now();
      await mustExec('systemctl', ['start', 'ssh.service']);
      const cleared = await waitForAlert('unit-not-active', 'ssh.service', 'resolved', started);
      console.log(`lab: ssh.service started → resolved in ${cleared.seconds.toFixed(1)} s`);
    },
    6 * 60_000,
  );

  it(
    'a device whose agent stops raises "offline" within the configured time and resolves when it returns',
    async () => {
      const stopped = Date.now();
      await mustExec('systemctl', ['stop', 'xspectre-agent.service']);
      const raised = await waitForAlert('device-offline', '', 'open', stopped);
      // 30 s of silence plus at most one evaluation interval (30 s) and one heartbeat interval.
      expect(raised.seconds).toBeGreaterThanOrEqual(30 - HEARTBEAT_SECONDS);
      expect(raised.alert.severity).toBe('critical');
      console.log(`lab: agent stopped → offline alert in ${raised.seconds.toFixed(1)} s: ${raised.alert.title}`);
      const started = Date.now();
      await mustExec('systemctl', ['start', 'xspectre-agent.service']);
      const cleared = await waitForAlert('device-offline', '', 'resolved', started);
      expect(cleared.alert.resolution).toBe('auto');
      console.log(`lab: agent started → offline alert resolved in ${cleared.seconds.toFixed(1)} s`);
    },
    6 * 60_000,
  );
});
