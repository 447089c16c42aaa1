// Real tunnels: wireguard-go in network namespaces, nothing mocked. Needs root, /dev/net/tun,
// iproute2, wireguard-tools, wireguard-go and ping; without them every test here FAILS.
//
//   xsw-dev-R  u0 198.18.1.2 ── u1 198.18.1.1  xsw-hub-R  u2 198.18.2.1 ── u0 198.18.2.2  xsw-dev2-R
//   xd1-R 10.10.0.21/24          xh-R 10.10.0.1/24 :51820 (ip_forward=0)      xd2-R 10.10.0.22/24
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWireGuardInterface,
  generateKeyPair,
  WgCliHubDriver,
  WgCommandError,
  type DeviceConfigInput,
  type WireGuardInterface,
} from '../src/index.js';
import {
  addNetns,
  configureDevice,
  isAlive,
  listNetns,
  must,
  ping,
  requireLabSupport,
  run,
  setIpForward,
  veth,
  waitFor,
} from './netns-lab.js';

const rand = randomBytes(3).toString('hex');
const ns = { hub: `xsw-hub-${rand}`, dev1: `xsw-dev-${rand}`, dev2: `xsw-dev2-${rand}` };
const ifName = { hub: `xh-${rand}`, dev1: `xd1-${rand}`, dev2: `xd2-${rand}` };
const keys = { hub: generateKeyPair(), dev1: generateKeyPair(), dev2: generateKeyPair() };
const HUB = '10.10.0.1';

const created: { namespaces: string[]; interfaces: WireGuardInterface[] } = { namespaces: [], interfaces: [] };
let driver: WgCliHubDriver;

const dev1Peer = { publicKey: keys.dev1.publicKey, allowedIps: ['10.10.0.21/32'] };
const dev2Peer = { publicKey: keys.dev2.publicKey, allowedIps: ['10.10.0.22/32'] };

function deviceConfig(device: 'dev1' | 'dev2', address: string, hubUnderlay: string, allowedIps: string[]): DeviceConfigInput {
  const hubEndpoint = `${hubUnderlay}:51820`;
  return {
    privateKey: keys[device].privateKey,
    address,
    prefixLength: 24,
    hubPublicKey: keys.hub.publicKey,
    hubEndpoint,
    allowedIps,
    persistentKeepaliveSeconds: 1,
  };
}

async function wgInterface(name: string, netns: string, privateKey: string, address: string, listenPort?: number) {
  const iface = await createWireGuardInterface({
    name,
    netns,
    privateKey,
    address,
    prefixLength: 24,
    ...(listenPort ? { listenPort } : {}),
  });
  created.interfaces.push(iface);
  return iface;
}

beforeAll(async () => {
  await requireLabSupport();
  for (const name of Object.values(ns)) {
    created.namespaces.push(name);
    await addNetns(name);
  }
  expect(await setIpForward(ns.hub, false)).toBe('0');
  await veth(ns.hub, 'u1', '198.18.1.1/24', ns.dev1, 'u0', '198.18.1.2/24');
  await veth(ns.hub, 'u2', '198.18.2.1/24', ns.dev2, 'u0', '198.18.2.2/24');
  await wgInterface(ifName.hub, ns.hub, keys.hub.privateKey, HUB, 51820);
  await wgInterface(ifName.dev1, ns.dev1, keys.dev1.privateKey, '10.10.0.21');
  await wgInterface(ifName.dev2, ns.dev2, keys.dev2.privateKey, '10.10.0.22');
  driver = new WgCliHubDriver({ interfaceName: ifName.hub, netns: ns.hub });
});

afterAll(async () => {
  const problems: string[] = [];
  for (const iface of created.interfaces.reverse()) {
    await iface.destroy().catch((error: Error) => problems.push(`destroy ${iface.name}: ${error.message}`));
    if (isAlive(iface.pid)) process.kill(iface.pid, 'SIGKILL');
  }
  for (const name of created.namespaces) {
    await must('ip', ['netns', 'del', name]).catch((error: Error) => problems.push(error.message));
  }
  for (const iface of created.interfaces) {
    if (isAlive(iface.pid)) problems.push(`wireguard-go ${iface.name} (pid ${iface.pid}) still runs`);
    if (
      await access(`/var/run/wireguard/${iface.name}.sock`).then(
        () => true,
        () => false,
      )
    )
      problems.push(`socket of ${iface.name} left behind`);
  }
  const leftover = (await listNetns()).filter((name) => name.startsWith('xsw-'));
  if (leftover.length > 0) problems.push(`xsw- network namespaces remain: ${leftover.join(', ')} (remove with ip netns del NAME)`);
  expect(problems).toEqual([]);
});

describe('WgCliHubDriver against wireguard-go', () => {
  it('adds the device peer once; a second apply is a no-op', async () => {
    expect(await driver.apply([dev1Peer])).toEqual({ add: [dev1Peer], remove: [], update: [], refused: [] });
    expect(await driver.apply([dev1Peer])).toEqual({ add: [], remove: [], update: [], refused: [] });
    const status = await driver.status();
    expect(status.publicKey).toBe(keys.hub.publicKey);
    expect(status.listenPort).toBe(51820);
    expect(status.peers.map((p) => [p.publicKey, p.allowedIps, p.latestHandshakeAt])).toEqual([
      [keys.dev1.publicKey, ['10.10.0.21/32'], null],
    ]);
  });

  it('carries traffic from the device to the hub and reports the handshake', async () => {
    await configureDevice(ns.dev1, ifName.dev1, deviceConfig('dev1', '10.10.0.21', '198.18.1.1', [`${HUB}/32`]));
    expect(await waitFor(() => ping(ns.dev1, HUB), 20_000)).toBe(true);
    const peer = (await driver.status()).peers.find((p) => p.publicKey === keys.dev1.publicKey);
    expect(peer?.endpoint).toMatch(/^198\.18\.1\.2:\d+$/);
    expect(peer?.latestHandshakeAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(peer?.rxBytes).toBeGreaterThan(0);
    expect(peer?.txBytes).toBeGreaterThan(0);
  });

  it('does not route one device to another', async () => {
    // Device 2 misbehaves: it sends the whole overlay into its tunnel.
    expect(await driver.apply([dev1Peer, dev2Peer])).toEqual({ add: [dev2Peer], remove: [], update: [], refused: [] });
    await configureDevice(ns.dev2, ifName.dev2, deviceConfig('dev2', '10.10.0.22', '198.18.2.1', ['10.10.0.0/24']));
    expect(await waitFor(() => ping(ns.dev2, HUB), 20_000)).toBe(true);
    expect(await ping(ns.hub, '10.10.0.21')).toBe(true); // device 1 is up and reachable from the hub
    const crossing = await run('ip', ['netns', 'exec', ns.dev2, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.10.0.21']);
    expect(crossing.stdout).toMatch(/3 packets transmitted, 0 received/);
    expect(crossing.exitCode).toBe(1);
  });

  it('updates allowed IPs: the hub then drops the old source address', async () => {
    const moved = { ...dev1Peer, allowedIps: ['10.10.0.23/32'] };
    expect(await driver.apply([moved, dev2Peer])).toEqual({ add: [], remove: [], update: [moved], refused: [] });
    expect(await ping(ns.dev1, HUB)).toBe(false);
    expect(await driver.apply([dev2Peer, dev1Peer])).toEqual({ add: [], remove: [], update: [dev1Peer], refused: [] });
    expect(await waitFor(() => ping(ns.dev1, HUB), 20_000)).toBe(true);
  });

  it('removes every peer with apply([]); the device is cut off', async () => {
    expect(await driver.apply([])).toEqual({
      add: [],
      remove: expect.arrayContaining([keys.dev1.publicKey, keys.dev2.publicKey]),
      update: [],
      refused: [],
    });
    expect((await driver.status()).peers).toEqual([]);
    expect(await ping(ns.dev1, HUB)).toBe(false);
    expect(await driver.apply([])).toEqual({ add: [], remove: [], update: [], refused: [] });
  });

  it("reports a desired peer the interface silently did not keep (the hub's own key) as refused", async () => {
    const own = { publicKey: keys.hub.publicKey, allowedIps: ['10.10.0.23/32'] };
    const result = await driver.apply([dev1Peer, own]);
    expect(result.refused).toEqual([own]);
    expect((await driver.status()).peers.map((p) => p.publicKey)).toEqual([keys.dev1.publicKey]);
    expect((await driver.apply([])).refused).toEqual([]);
  });

  it('reports wg failures as WgCommandError and refuses unsafe peer sets before running anything', async () => {
    const missing = new WgCliHubDriver({ interfaceName: `xn-${rand}`, netns: ns.hub });
    await expect(missing.status()).rejects.toBeInstanceOf(WgCommandError);
    await expect(driver.apply([{ publicKey: keys.dev1.publicKey, allowedIps: ['10.10.0.0/24'] }])).rejects.toThrow(/not a \/32/);
    await expect(
      createWireGuardInterface({ name: ifName.hub, netns: ns.dev2, privateKey: keys.hub.privateKey, address: HUB, prefixLength: 24 }),
    ).rejects.toThrow(/in use/);
  });
});
