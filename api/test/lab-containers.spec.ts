import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, DEVICE_ENGINE_IMAGE, type BootstrapResult, type ContainerDevice, type Lab } from '@xspectre/lab';
import { TestApi } from './support/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_SECONDS = 5;

/**
 * End to end in the fleet lab: Debian containers with systemd and sshd run the real bootstrap.sh
 * against the real API (PostgreSQL, Redis, the WireGuard hub), from claim codes to heartbeats
 * over their tunnels; then isolation between devices, revocation and rejected claim codes.
 */
describe('fleet lab: device containers end to end', () => {
  let lab: Lab | undefined;
  let api: TestApi | undefined;
  let admin: string;
  let site: { organizationId: string; siteId: string };
  const fleet: Array<{ id: string; code: string; device: ContainerDevice; result: BootstrapResult }> = [];

  async function newDevice(name: string) {
    const r = await api!.request('POST', 'devices', { token: admin, body: { name, ...site, type: 'scanner' } });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${r.text}`);
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string, codeId: r.body.claimCode.id as string };
  }

  const view = async (id: string) => (await api!.request('GET', `devices/${id}`, { token: admin })).body;
  const heartbeatCount = async (id: string) =>
    Number((await api!.sql.query('SELECT count(*)::int AS n FROM device_heartbeats WHERE device_id = $1', [id])).rows[0].n);
  const ping = async (device: ContainerDevice, address: string) =>
    (await device.exec('ping', ['-n', '-c', '1', '-W', '2', address], { timeoutMs: 10_000 })).exitCode === 0;

  beforeAll(async () => {
    // First run on a machine: builds the device image (debootstrap, ~2 min) and the agent executable.
    lab = await startLab({ containers: true, log: (line) => console.log(`lab: ${line}`) });
    api = await TestApi.start(
      { ...lab.apiEnv(), API_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), API_WG_RECONCILE_SECONDS: '2' },
      { host: '0.0.0.0', port: lab.apiPort },
    );
    admin = await api.adminToken();
    const org = await api.request('POST', 'organizations', { token: admin, body: { name: 'Lab Containers', kind: 'customer' } });
    const s = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'Main', timeZone: 'UTC' } });
    site = { organizationId: org.body.id, siteId: s.body.id };
  }, 25 * 60_000);

  afterAll(async () => {
    await api?.stop();
    await lab?.teardown();
  }, 180_000);

  it(
    'three device containers bootstrap from claim codes and appear with overlay address, handshake and heartbeat',
    async () => {
      for (let i = 1; i <= 3; i++) {
        const { id, code } = await newDevice(`scanner-c${i}`);
        const device = await lab!.addContainerDevice({ hostname: `scanner-c${i}` });
        const result = await device.bootstrap(code);
        expect(result.exitCode, `${device.name}:\n${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stdout).toContain('bootstrap: done');
        const { rows } = await api!.sql.query('SELECT min(received_at) AS first FROM device_heartbeats WHERE device_id = $1', [id]);
        const seconds = (new Date(rows[0].first).getTime() - result.startedAt.getTime()) / 1000;
        console.log(
          `lab: device ${device.name} bootstrap→first heartbeat ${seconds.toFixed(1)} s ` +
            `(bootstrap.sh ran ${((result.finishedAt.getTime() - result.startedAt.getTime()) / 1000).toFixed(1)} s)`,
        );
        if (i === 1) console.log(`lab: bootstrap.sh output on ${device.name}:\n${result.stdout.trim()}`);
        fleet.push({ id, code, device, result });
      }

      // Real systemd units inside each container: the agent service, the wg-quick tunnel, sshd.
      for (const { device } of fleet) {
        const units = await device.exec('systemctl', ['is-active', 'xspectre-agent.service', 'wg-quick@wg0.service', 'ssh.service']);
        expect(units.stdout.trim().split('\n'), device.name).toEqual(['active', 'active', 'active']);
        const enabled = await device.exec('systemctl', ['is-enabled', 'xspectre-agent.service', 'wg-quick@wg0.service']);
        expect(enabled.stdout.trim().split('\n')).toEqual(['enabled', 'enabled']);
      }

      let listed: any[];
      const deadline = Date.now() + 30_000;
      for (;;) {
        listed = (await api!.request('GET', `devices?siteId=${site.siteId}`, { token: admin })).body.items;
        if (listed.filter((d) => d.tunnel.lastHandshakeAt && d.lastHeartbeatAt).length === 3 || Date.now() > deadline) break;
        await sleep(500);
      }
      const addresses = new Set<string>();
      for (const { id, device } of fleet) {
        const d = listed.find((x) => x.id === id);
        expect(d).toMatchObject({ status: 'active', tunnel: { overlayAddress: device.overlayAddress } });
        expect(device.overlayAddress).toMatch(/^10\.10\.0\.(2\d|[3-9]\d)$/);
        expect(Date.now() - new Date(d.tunnel.lastHandshakeAt).getTime()).toBeLessThan(180_000);
        expect(Date.now() - new Date(d.lastHeartbeatAt).getTime()).toBeLessThan(3 * HEARTBEAT_SECONDS * 1000);
        expect(d.tunnel.endpoint).toBe(`${device.underlayAddress}:${d.tunnel.endpoint.split(':')[1]}`);
        addresses.add(device.overlayAddress!);
        console.log(
          `lab: device ${device.name} (${d.hostname}) overlay ${d.tunnel.overlayAddress} handshake ${d.tunnel.lastHandshakeAt} ` +
            `heartbeat ${d.lastHeartbeatAt} endpoint ${d.tunnel.endpoint} rx ${d.tunnel.rxBytes} tx ${d.tunnel.txBytes}`,
        );
      }
      expect(addresses.size).toBe(3);
    },
    10 * 60_000,
  );

  it("reports the container's real systemd units (a failed one too), metrics, the devices' Docker engine, and its inventory", async () => {
    const { id, device } = fleet[0]!;
    const broken = await device.exec('systemd-run', ['--unit=lab-broken', '--', '/bin/sh', '-c', 'exit 3']);
    expect(broken.exitCode, broken.stderr).toBe(0);
    // The devices' own engine (its socket is /run/docker.sock in every device container).
    const probe = await lab!.deviceDocker([
      'run',
      '--detach',
      '--name',
      'probe',
      '--network',
      'none',
      DEVICE_ENGINE_IMAGE,
      '/bin/sleep',
      '100000',
    ]);
    expect(probe.exitCode, probe.stderr).toBe(0);
    const hasProbe = (t: any) => t.docker?.containers?.some((c: any) => c.name === 'probe');
    let telemetry: any;
    const deadline = Date.now() + 6 * HEARTBEAT_SECONDS * 1000;
    for (;;) {
      telemetry = (await api!.request('GET', `devices/${id}/telemetry`, { token: admin })).body;
      if ((telemetry.services?.some((s: any) => s.unit === 'lab-broken.service') && hasProbe(telemetry)) || Date.now() > deadline) break;
      await sleep(1000);
    }
    const byUnit = new Map(telemetry.services.map((s: any) => [s.unit, s]));
    expect(byUnit.get('xspectre-agent.service')).toMatchObject({ activeState: 'active', subState: 'running', watched: true });
    expect(byUnit.get('wg-quick@wg0.service')).toMatchObject({ activeState: 'active', watched: true });
    expect(byUnit.get('ssh.service')).toMatchObject({ activeState: 'active', subState: 'running', watched: true });
    expect(byUnit.get('lab-broken.service')).toMatchObject({ activeState: 'failed', watched: false });
    expect(byUnit.has('gvmd.service')).toBe(false); // watched by default on scanners, but not installed here
    expect(telemetry.docker.status).toBe('ok');
    expect(hasProbe(telemetry)).toBe(true);
    expect(telemetry.metrics.memory.totalBytes).toBeGreaterThan(0);
    expect(telemetry.metrics.network.map((n: any) => n.name)).toContain('eth0');

    const inventory = (await api!.request('GET', `devices/${id}/inventory`, { token: admin })).body;
    expect(inventory.current).toMatchObject({ version: 1, fingerprintMatches: true, inventory: { agentVersion: expect.any(String) } });
    const eth0 = inventory.current.inventory.nics.find((n: any) => n.name === 'eth0');
    expect(eth0.addresses).toContain(device.underlayAddress);
    expect((await api!.request('GET', `devices/${id}`, { token: admin })).body.quarantine).toBeNull();
    await device.exec('systemctl', ['reset-failed', 'lab-broken.service']);
  });

  it('a device cannot reach another device: not over the overlay, not over the underlay', async () => {
    const [a, b] = [fleet[0]!.device, fleet[1]!.device];
    expect(await b.exec('mkdir', ['-p', '/srv/lab'])).toMatchObject({ exitCode: 0 });
    expect(await b.exec('tee', ['/srv/lab/index.html'], { input: `hello from ${b.name}\n` })).toMatchObject({ exitCode: 0 });
    const httpd = await b.exec('systemd-run', ['--unit=lab-httpd', '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/srv/lab']);
    expect(httpd.exitCode, httpd.stderr).toBe(0);
    const url = `http://${b.overlayAddress}:8080/`;
    let own = await b.exec('curl', ['-fsS', '--max-time', '5', url]);
    for (let i = 0; i < 20 && own.exitCode !== 0; i++) {
      await sleep(250);
      own = await b.exec('curl', ['-fsS', '--max-time', '5', url]);
    }
    expect(own.stdout).toBe(`hello from ${b.name}\n`); // the listener works

    const fromA = await a.exec('curl', ['-sS', '--max-time', '5', url], { timeoutMs: 15_000 });
    expect(fromA.exitCode, fromA.stdout).not.toBe(0);
    console.log(`lab: ${a.name} → ${url}: curl exit ${fromA.exitCode} (${fromA.stderr.trim()})`);
    expect(await ping(a, b.overlayAddress!)).toBe(false);
    const viaUnderlay = await a.exec('curl', ['-sS', '--max-time', '5', `http://${b.underlayAddress}:8080/`], { timeoutMs: 15_000 });
    expect(viaUnderlay.exitCode).not.toBe(0);
    // Both still reach the hub, and the hub's interface forwards nothing.
    expect(await ping(a, '10.10.0.1')).toBe(true);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(`/proc/sys/net/ipv4/conf/${lab!.hub.interfaceName}/forwarding`, 'utf8')).trim()).toBe('0');
    expect((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim()).toBe('0');
  }, 120_000);

  it('revoking one device stops its heartbeats and tunnel traffic while the others continue', async () => {
    const [keep1, keep2, revoked] = fleet as [(typeof fleet)[0], (typeof fleet)[0], (typeof fleet)[0]];
    expect(await ping(revoked.device, '10.10.0.1')).toBe(true);
    const revokedKey = (await view(revoked.id)).tunnel.publicKey;

    const r = await api!.request('POST', `devices/${revoked.id}/revoke`, { token: admin });
    expect([r.status, r.body.status]).toEqual([201, 'revoked']);
    const revokedAt = Date.now();
    const before = {
      keep1: await heartbeatCount(keep1.id),
      keep2: await heartbeatCount(keep2.id),
      revoked: await heartbeatCount(revoked.id),
    };
    expect((await lab!.hubStatus()).peers.map((p) => p.publicKey)).not.toContain(revokedKey);

    // Three heartbeat intervals: the others report, the revoked device does not.
    await sleep(3 * HEARTBEAT_SECONDS * 1000 + 1000);
    const after = {
      keep1: await heartbeatCount(keep1.id),
      keep2: await heartbeatCount(keep2.id),
      revoked: await heartbeatCount(revoked.id),
    };
    const revokedView = await view(revoked.id);
    console.log(
      `lab: revoked ${revoked.device.name}: heartbeats ${before.revoked}→${after.revoked}, last ${revokedView.lastHeartbeatAt}; ` +
        `others ${keep1.device.name} ${before.keep1}→${after.keep1}, ${keep2.device.name} ${before.keep2}→${after.keep2}`,
    );
    expect(after.revoked).toBe(before.revoked);
    expect(new Date(revokedView.lastHeartbeatAt).getTime()).toBeLessThanOrEqual(revokedAt);
    expect(after.keep1).toBeGreaterThanOrEqual(before.keep1 + 2);
    expect(after.keep2).toBeGreaterThanOrEqual(before.keep2 + 2);
    for (const k of [keep1, keep2]) expect(new Date((await view(k.id)).lastHeartbeatAt).getTime()).toBeGreaterThan(revokedAt);

    // Tunnel traffic: the revoked device no longer reaches the hub, the others do.
    expect(await ping(revoked.device, '10.10.0.1')).toBe(false);
    expect(await ping(keep1.device, '10.10.0.1')).toBe(true);
    expect(await ping(keep2.device, '10.10.0.1')).toBe(true);
    const failing = await revoked.device.exec('journalctl', ['-u', 'xspectre-agent', '--no-pager', '-n', '3', '-o', 'cat']);
    console.log(`lab: revoked device's agent log (last lines):\n${failing.stdout.trim()}`);
  }, 120_000);

  it(
    'a used, an expired and a revoked claim code each make bootstrap.sh fail with exit 3 and the API code',
    async () => {
      const fresh = await lab!.addContainerDevice({ hostname: 'scanner-fresh' });

      const used = await fresh.bootstrap(fleet[0]!.code);
      const expired = await newDevice('scanner-expired');
      await api!.sql.query(`UPDATE claim_codes SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.codeId]);
      const expiredRun = await fresh.bootstrap(expired.code);
      const revoked = await newDevice('scanner-revoked-code');
      expect((await api!.request('POST', `claim-codes/${revoked.codeId}/revoke`, { token: admin })).body.status).toBe('revoked');
      const revokedRun = await fresh.bootstrap(revoked.code);

      for (const [run, code] of [
        [used, 'CLAIM_CODE_USED'],
        [expiredRun, 'CLAIM_CODE_EXPIRED'],
        [revokedRun, 'CLAIM_CODE_REVOKED'],
      ] as const) {
        expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(3);
        expect(run.stderr).toContain(code);
        console.log(
          `lab: ${code}: bootstrap.sh exit ${run.exitCode}: ${run.stderr
            .trim()
            .split('\n')
            .find((l) => l.includes(code))}`,
        );
      }
      // Nothing was set up on the device, and the devices still wait for enrollment.
      expect((await fresh.exec('ip', ['link', 'show', 'wg0'])).exitCode).not.toBe(0);
      expect((await fresh.exec('test', ['-e', '/etc/xspectre/agent.conf'])).exitCode).not.toBe(0);
      expect((await view(expired.id)).status).toBe('pending');
      expect((await view(revoked.id)).status).toBe('pending');
    },
    5 * 60_000,
  );

  it('teardown removes every container, namespace, interface and process', async () => {
    await api!.stop();
    api = undefined;
    await lab!.teardown();
    expect(await lab!.leftovers()).toEqual([]);
    lab = undefined;
  }, 180_000);
});
