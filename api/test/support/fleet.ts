import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { createWireGuardInterface, generateKeyPair } from '@xspectre/wireguard';
import type { EnrollRequest, Heartbeat } from '@xspectre/contracts';
import { commandKeyId, parsePinnedPublicKey, type PinnedCommandKey } from '@xspectre/contracts/command-signature';
import { TestApi } from './harness.js';

/** A real wireguard-go hub interface in a network namespace of its own, for the API to drive. */
export async function startLabHub(): Promise<{ netns: string; interfaceName: string; publicKey: string; stop: () => Promise<void> }> {
  const id = randomBytes(3).toString('hex');
  const netns = `xsa-hub-${id}`;
  await execa('ip', ['netns', 'add', netns]);
  const keys = generateKeyPair();
  try {
    const hub = await createWireGuardInterface({
      name: `xsah${id}`,
      netns,
      privateKey: keys.privateKey,
      address: '10.10.0.1',
      prefixLength: 24,
      listenPort: 51820,
    });
    return {
      netns,
      interfaceName: hub.name,
      publicKey: hub.publicKey,
      stop: async () => {
        try {
          await hub.destroy();
        } finally {
          // Idempotent: a second stop (after a test already stopped the hub) finds nothing to delete.
          await execa('ip', ['netns', 'delete', netns]).catch(() => undefined);
        }
      },
    };
  } catch (error) {
    await execa('ip', ['netns', 'delete', netns]).catch(() => undefined);
    throw error;
  }
}

export type LabHub = Awaited<ReturnType<typeof startLabHub>>;

/**
 * A lab hub and an API driving it. The agent source check is off: tests send as devices from
 * loopback, not through a tunnel. `overrides` add or replace settings.
 */
export async function startApiWithLabHub(overrides: Record<string, string> = {}): Promise<{ api: TestApi; hub: LabHub }> {
  const hub = await startLabHub();
  try {
    const api = await TestApi.start({
      API_WG_INTERFACE: hub.interfaceName,
      API_WG_NETNS: hub.netns,
      API_AGENT_SOURCE_CHECK: 'false',
      ...overrides,
    });
    return { api, hub };
  } catch (error) {
    await hub.stop();
    throw error;
  }
}

export async function hubPeers(hub: { netns: string; interfaceName: string }): Promise<Array<{ publicKey: string; allowedIps: string }>> {
  const { stdout } = await execa('ip', ['netns', 'exec', hub.netns, 'wg', 'show', hub.interfaceName, 'allowed-ips']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [publicKey, allowedIps] = line.split('\t');
      return { publicKey: publicKey!, allowedIps: allowedIps! };
    });
}

/** A plausible enrollment body for a device that does not exist anywhere but in this test. */
export function enrollBody(claimCode: string, overrides: Partial<EnrollRequest> = {}): EnrollRequest {
  const n = randomBytes(2).readUInt16BE();
  return {
    protocolVersion: 1,
    claimCode,
    hostname: `scanner-${n}`,
    localIps: ['192.0.2.10'],
    macs: [`52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`],
    hardware: {
      vendor: 'Lab',
      model: 'Virtual',
      serial: `SN-${n}`,
      cpu: { model: 'Lab CPU', cores: 2, id: null },
      ramBytes: 4 * 1024 ** 3,
      disks: [{ name: 'vda', model: null, serial: null, sizeBytes: 20 * 1024 ** 3 }],
      os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
    },
    installationSalt: randomBytes(16).toString('base64url'),
    wgPublicKey: generateKeyPair().publicKey,
    sshHostKey: `ssh-ed25519 ${randomBytes(32).toString('base64')} root@lab`,
    agentVersion: '0.1.0',
    ...overrides,
  };
}

/** A customer organization with one site and one device, enrolled through the real routes. */
export async function enrollTestDevice(
  api: TestApi,
  admin: string,
  names: { organization: string; device: string },
): Promise<{ deviceId: string; credential: string }> {
  const org = await api.request('POST', 'organizations', { token: admin, body: { name: names.organization, kind: 'customer' } });
  const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
  const device = await api.request('POST', 'devices', {
    token: admin,
    body: { name: names.device, organizationId: org.body.id, siteId: site.body.id, type: 'scanner' },
  });
  const enrolled = await api.request('POST', 'enroll', { body: enrollBody(device.body.claimCode.code) });
  if (enrolled.status !== 201) throw new Error(`enrollment failed: ${enrolled.status} ${enrolled.text}`);
  return { deviceId: enrolled.body.deviceId, credential: enrolled.body.deviceCredential };
}

/** An organization with one site, HQ: where a spec's devices go. */
export async function createOrganizationSite(
  api: TestApi,
  admin: string,
  name: string,
  kind: 'customer' | 'internal' = 'customer',
): Promise<{ organizationId: string; siteId: string }> {
  const org = await api.request('POST', 'organizations', { token: admin, body: { name, kind } });
  if (org.status !== 201) throw new Error(`create organization: ${org.status} ${org.text}`);
  const site = await api.request('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
  if (site.status !== 201) throw new Error(`create site: ${site.status} ${site.text}`);
  return { organizationId: org.body.id, siteId: site.body.id };
}

export interface EnrolledDevice {
  id: string;
  credential: string;
  /** The command key it pinned at enrollment (the current one), as an agent holds it. */
  pinned: PinnedCommandKey[];
}

/** A server created in `where` and enrolled through the real routes (a fresh WireGuard key). */
export async function enrollDeviceAt(
  api: TestApi,
  admin: string,
  where: { organizationId: string; siteId: string },
  name: string,
): Promise<EnrolledDevice & { enrolled: Record<string, any> }> {
  const created = await api.request('POST', 'devices', { token: admin, body: { name, ...where, type: 'server' } });
  if (created.status !== 201) throw new Error(`create device: ${created.status} ${created.text}`);
  const enrolled = await api.request('POST', 'enroll', { body: enrollBody(created.body.claimCode.code) });
  if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${enrolled.text}`);
  const pem = enrolled.body.commandSigningPublicKey as string;
  return {
    id: enrolled.body.deviceId,
    credential: enrolled.body.deviceCredential,
    pinned: [{ keyId: commandKeyId(parsePinnedPublicKey(pem)), publicKeyPem: pem }],
    enrolled: enrolled.body,
  };
}

/** A protocol-1 heartbeat sent now, with whatever telemetry `extra` adds. */
export function testHeartbeat(deviceId: string, sequence: number, extra: Partial<Heartbeat> = {}): Heartbeat {
  return { protocolVersion: 1, deviceId, sequence, sentAt: new Date().toISOString(), agentVersion: '0.1.0', uptimeSeconds: 60, ...extra };
}
