import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { findLeftovers, startLab, type Lab, type LightDevice } from '@xspectre/lab';
import { TestApi } from './support/harness.js';

const DEVICES = 5;

/**
 * The fleet lab's light flavour against the real API: devices enroll over the underlay, then
 * reach the API only through their own WireGuard tunnel (source-address check on).
 */
describe('fleet lab: light devices', () => {
  let lab: Lab | undefined;
  let api: TestApi | undefined;
  let admin: string;
  let site: { organizationId: string; siteId: string };

  beforeAll(async () => {
    lab = await startLab({ log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      { ...lab.apiEnv(), API_AGENT_HEARTBEAT_SECONDS: '5', API_WG_RECONCILE_SECONDS: '2' },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Light', kind: 'customer' } });
    const s = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    site = { organizationId: org.body.id, siteId: s.body.id };
  }, 15 * 60_000);

  afterAll(async () => {
    await api?.stop();
    await lab?.teardown();
  }, 120_000);

  it(
    `${DEVICES} light devices enroll from claim codes and heartbeat through their tunnels`,
    async () => {
      const created = await Promise.all(
        Array.from({ length: DEVICES }, async (_, i) => {
          const r = await api!.request('POST', 'devices', { token: admin, body: { name: `light-${i + 1}`, ...site, type: 'server' } });
          expect(r.status).toBe(201);
          return { id: r.body.device.id as string, code: r.body.claimCode.code as string };
        }),
      );
      const devices = await Promise.all(created.map(() => lab!.addLightDevice()));
      const results = await Promise.all(devices.map((device, i) => device.bootstrap(created[i]!.code)));
      for (const [i, result] of results.entries()) {
        expect(result.exitCode, `${devices[i]!.name}: ${result.stdout}${result.stderr}`).toBe(0);
        expect(result.overlayAddress).toMatch(/^10\.10\.0\.(2\d|[3-9]\d)$/);
        console.log(
          `lab: ${devices[i]!.name} enroll→first ack ${((result.finishedAt.getTime() - result.startedAt.getTime()) / 1000).toFixed(1)} s`,
        );
      }
      expect(new Set(results.map((r) => r.overlayAddress)).size).toBe(DEVICES);

      // The API shows each device active, with its overlay address, a handshake and a heartbeat.
      const deadline = Date.now() + 60_000;
      let listed: any[];
      for (;;) {
        listed = (await api!.request('GET', `devices?siteId=${site.siteId}&limit=100`, { token: admin })).body.items;
        if (listed.every((d) => d.lastHeartbeatAt && d.tunnel.lastHandshakeAt) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const [i, { id }] of created.entries()) {
        const view = listed.find((d) => d.id === id);
        expect(view).toMatchObject({ status: 'active', tunnel: { overlayAddress: results[i]!.overlayAddress } });
        expect(view.lastHeartbeatAt).not.toBeNull();
        expect(view.tunnel.lastHandshakeAt).not.toBeNull();
        console.log(
          `lab: ${devices[i]!.name} ${view.tunnel.overlayAddress} handshake ${view.tunnel.lastHandshakeAt} heartbeat ${view.lastHeartbeatAt}`,
        );
      }

      // The hub has exactly one /32 per device and sees traffic from each.
      const hub = await lab!.hubStatus();
      expect(hub.peers).toHaveLength(DEVICES);
      for (const result of results) {
        const peer = hub.peers.find((p) => p.allowedIps.join() === `${result.overlayAddress}/32`);
        expect(peer?.rxBytes).toBeGreaterThan(0);
        expect(peer?.endpoint).toMatch(/^198\.18\.\d+\.\d+:\d+$/);
      }

      // Heartbeats come only through the tunnel: the same credential over the underlay is refused.
      const device = devices[0] as LightDevice;
      const config = JSON.parse(await readFile(join(device.configDir, 'agent.conf'), 'utf8'));
      const body = JSON.stringify({
        protocolVersion: 1,
        deviceId: config.deviceId,
        sequence: 1_000_000,
        sentAt: new Date().toISOString(),
        agentVersion: '0.1.0',
        uptimeSeconds: 1,
      });
      const curl = (url: string) =>
        device.exec('curl', [
          '-sS',
          '--max-time',
          '5',
          '-H',
          'content-type: application/json',
          '-H',
          `authorization: Bearer ${config.deviceCredential}`,
          '--data',
          body,
          url,
        ]);
      const underlay = await curl(`${lab!.underlayApiUrl}/agent/heartbeats`);
      expect(JSON.parse(underlay.stdout).code).toBe('DEVICE_SOURCE_MISMATCH');
      const overlay = await curl(`${lab!.overlayApiUrl}/agent/heartbeats`);
      expect(JSON.parse(overlay.stdout)).toMatchObject({ accepted: 1 });
    },
    5 * 60_000,
  );

  it('teardown leaves no namespace, interface, socket, process or state behind', async () => {
    const pids = (await Promise.all(lab!.devices.map((d) => d.pids()))).flatMap((p) => Object.values(p));
    expect(pids.length).toBe(DEVICES * 2);
    await api!.stop();
    api = undefined;
    const id = lab!.id;
    await lab!.teardown();
    expect(await lab!.leftovers()).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(`xsl-${id}-`);
    expect(execFileSync('ip', ['link', 'show']).toString()).not.toContain(`xsl-${id}-`);
    lab = undefined;
  }, 120_000);

  it('the next lab sweeps what a crashed lab left behind', async () => {
    // A lab whose process is killed (SIGKILL: no teardown) with two devices and its hub up.
    const script = `
      import { startLab } from '@xspectre/lab';
      const lab = await startLab();
      await lab.addLightDevice();
      await lab.addLightDevice();
      process.stdout.write(lab.id + '\\n');
      process.kill(process.pid, 'SIGKILL');`;
    let crashed = '';
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 60_000 });
    } catch (error: any) {
      crashed = String(error.stdout).trim();
    }
    expect(crashed).toMatch(/^[0-9a-f]{6}$/);
    expect(await findLeftovers(crashed)).toEqual(
      expect.arrayContaining([
        `netns xsl-${crashed}-d1`,
        `link xsl-${crashed}-hub`,
        expect.stringMatching(/^process \d+ \(wireguard-go -f xsl-/),
      ]),
    );
    const next = await startLab();
    try {
      expect(await findLeftovers(crashed)).toEqual([]);
    } finally {
      await next.teardown();
    }
  }, 120_000);
});
