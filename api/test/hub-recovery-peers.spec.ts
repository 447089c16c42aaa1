import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWireGuardInterface, type WireGuardInterface } from '@xspectre/wireguard';
import { HubService } from '../src/hub/hub.service.js';
import { ApiMetricsService } from '../src/metrics/api-metrics.service.js';
import { readRecoveryConf } from '../src/recovery/recovery-image.js';
import { stepUp } from './support/step-up.js';
import { createOrganizationSite, enrollBody, enrollDeviceAt, hubPeers, startApiWithLabHub, type LabHub } from './support/fleet.js';
import type { TestApi } from './support/harness.js';
import { sampleValue, scrape } from './support/metrics-text.js';
import { buildRecoveryImageFixture } from './support/recovery-image.js';

/**
 * A recovery stick is a hub peer with its own key (api/src/recovery). The hub's bookkeeping must
 * not take it for a device: its handshake is not copied onto the device's row, the metrics count
 * it under kind="recovery", and a key claimed by a device and a stick at once is nobody's peer.
 * Real API, PostgreSQL, Redis and wireguard-go: the stick's tunnel is a wireguard-go interface
 * in a namespace of its own, with the private key read out of the personalised image.
 */
describe('hub: recovery peers are not devices', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let fixture: Awaited<ReturnType<typeof buildRecoveryImageFixture>>;
  let workDir: string;
  let metricsUrl: string;
  let where: { organizationId: string; siteId: string };
  const id = randomBytes(3).toString('hex');
  const stickNetns = `xsa-stk-${id}`;
  let stickTunnel: WireGuardInterface | undefined;

  beforeAll(async () => {
    fixture = await buildRecoveryImageFixture();
    workDir = await mkdtemp(join(tmpdir(), 'xs-hub-recovery-'));
    ({ api, hub } = await startApiWithLabHub({
      API_METRICS_LISTEN: '127.0.0.1:0',
      API_RECOVERY_IMAGE: fixture.image,
      API_RECOVERY_MEDIA_DIR: join(workDir, 'media'),
    }));
    metricsUrl = `http://127.0.0.1:${api.app.get(ApiMetricsService).port}/metrics`;
    admin = await api.adminToken();
    await stepUp(api, admin);
    where = await createOrganizationSite(api, admin, 'Hub Recovery Co');
  });
  afterAll(async () => {
    await stickTunnel?.destroy().catch(() => undefined);
    await execa('ip', ['netns', 'delete', stickNetns]).catch(() => undefined);
    await api?.stop();
    await hub?.stop();
    await fixture?.remove();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** The personalised image's recovery.conf (the stick's secrets), downloaded as a technician would. */
  async function stickConf(deviceId: string, mediumId: string): Promise<Record<string, string>> {
    const response = await fetch(`${api.baseUrl}/api/v1/devices/${deviceId}/recovery-media/${mediumId}/image`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(200);
    const path = join(workDir, `${mediumId}.img`);
    await (await import('node:fs/promises')).writeFile(path, Buffer.from(await response.arrayBuffer()));
    const text = await readRecoveryConf(path);
    return Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  const keyOf = async (deviceId: string) =>
    (await api.sql.query('SELECT wg_public_key FROM devices WHERE id = $1', [deviceId])).rows[0].wg_public_key as string;

  it('a stick that shook hands is counted as a recovery peer, never copied onto its device, and left out of the oldest device handshake', async () => {
    const device = await enrollDeviceAt(api, admin, where, 'hub-rec-1');
    const created = await api.request('POST', `devices/${device.id}/recovery-media`, { token: admin, body: {} });
    expect(created.status, created.text).toBe(201);
    const medium = created.body.medium as { id: string; wgPublicKey: string; overlayAddress: string };
    const conf = await stickConf(device.id, medium.id);

    // The stick's tunnel: its own namespace, a veth to the hub's, wireguard-go with the stick's key.
    await execa('ip', ['netns', 'add', stickNetns]);
    const [hubSide, stickSide] = [`xsv${id}h`, `xsv${id}s`];
    await execa('ip', ['link', 'add', hubSide, 'netns', hub.netns, 'type', 'veth', 'peer', 'name', stickSide, 'netns', stickNetns]);
    await execa('ip', ['-n', hub.netns, 'addr', 'add', '198.18.91.1/30', 'dev', hubSide]);
    await execa('ip', ['-n', hub.netns, 'link', 'set', hubSide, 'up']);
    await execa('ip', ['-n', stickNetns, 'addr', 'add', '198.18.91.2/30', 'dev', stickSide]);
    await execa('ip', ['-n', stickNetns, 'link', 'set', stickSide, 'up']);
    stickTunnel = await createWireGuardInterface({
      name: `xsas${id}`,
      netns: stickNetns,
      privateKey: conf.XS_WG_PRIVATE_KEY!,
      address: medium.overlayAddress,
      prefixLength: 32,
    });
    expect(stickTunnel.publicKey).toBe(medium.wgPublicKey);
    await execa('ip', [
      'netns', 'exec', stickNetns, 'wg', 'set', stickTunnel.name,
      'peer', conf.XS_WG_HUB_PUBLIC_KEY!, 'endpoint', '198.18.91.1:51820', 'allowed-ips', '10.10.0.1/32',
    ]); // prettier-ignore
    await execa('ip', ['-n', stickNetns, 'route', 'add', '10.10.0.1/32', 'dev', stickTunnel.name]);
    await execa('ip', ['netns', 'exec', stickNetns, 'ping', '-c', '1', '-W', '5', '10.10.0.1']);

    const service = api.app.get(HubService);
    expect((await service.reconcile()).ok).toBe(true);
    const snapshot = service.tunnelSnapshot!;
    expect(snapshot.peers.filter((p) => p.kind === 'recovery').map((p) => p.latestHandshakeAt !== null)).toEqual([true]);
    expect(snapshot.peers.filter((p) => p.kind === 'device')).toHaveLength(1);

    // The device's row keeps its own tunnel's figures: none (no agent behind it).
    const { rows } = await api.sql.query('SELECT last_handshake_at, rx_bytes, tx_bytes, tunnel_endpoint FROM devices WHERE id = $1', [
      device.id,
    ]);
    expect(rows[0]).toEqual({ last_handshake_at: null, rx_bytes: '0', tx_bytes: '0', tunnel_endpoint: null });

    const s = (await scrape(metricsUrl)).samples;
    expect(sampleValue(s, 'xspectre_hub_peers', { kind: 'device' })).toBe(1);
    expect(sampleValue(s, 'xspectre_hub_peers', { kind: 'recovery' })).toBe(1);
    expect(sampleValue(s, 'xspectre_hub_peers', { kind: 'unknown' })).toBe(0);
    expect(sampleValue(s, 'xspectre_hub_peers_by_handshake_age', { kind: 'recovery', age: 'lt_3m' })).toBe(1);
    expect(sampleValue(s, 'xspectre_hub_peers_by_handshake_age', { kind: 'device', age: 'never' })).toBe(1);
    expect(sampleValue(s, 'xspectre_hub_peers_by_handshake_age', { kind: 'device', age: 'lt_3m' })).toBe(0);
    // The only handshake is the stick's: no device ever shook hands, so the gauge is never set (prom-client's 0).
    expect(sampleValue(s, 'xspectre_hub_oldest_handshake_age_seconds')).toBe(0);
  });

  it('enrolling a device with a stick’s public key is refused (409 ENROLL_KEY_IN_USE); nothing is stored and the code stays usable', async () => {
    const owner = await enrollDeviceAt(api, admin, where, 'hub-rec-key-owner');
    const created = await api.request('POST', `devices/${owner.id}/recovery-media`, { token: admin, body: {} });
    expect(created.status, created.text).toBe(201);
    const stickKey = created.body.medium.wgPublicKey as string;
    const device = await api.request('POST', 'devices', { token: admin, body: { name: 'hub-rec-key-thief', ...where, type: 'server' } });
    expect(device.status, device.text).toBe(201);
    const code = device.body.claimCode.code as string;
    const refused = await api.request('POST', 'enroll', { body: enrollBody(code, { wgPublicKey: stickKey }) });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.code).toBe('ENROLL_KEY_IN_USE');
    const row = await api.sql.query('SELECT status, wg_public_key FROM devices WHERE id = $1', [device.body.device.id]);
    expect(row.rows[0]).toMatchObject({ status: 'pending', wg_public_key: null });
    expect((await hubPeers(hub)).map((p) => p.publicKey)).toContain(stickKey);
    // The same code with the device's own key still enrolls.
    const enrolled = await api.request('POST', 'enroll', { body: enrollBody(code) });
    expect(enrolled.status, enrolled.text).toBe(201);
  });

  it('a device enrolled with a stick’s public key: neither is a peer (reported), the rest of the hub keeps working', async () => {
    const owner = await enrollDeviceAt(api, admin, where, 'hub-rec-owner');
    const created = await api.request('POST', `devices/${owner.id}/recovery-media`, { token: admin, body: {} });
    expect(created.status, created.text).toBe(201);
    const stickKey = created.body.medium.wgPublicKey as string;
    // A device holding the stick's public key (enrollment refuses that now, test above; planted
    // directly, as wireguard-keys.spec does for keys from before a check existed).
    const copycat = await enrollDeviceAt(api, admin, where, 'hub-rec-copycat');
    await api.sql.query('UPDATE devices SET wg_public_key = $2 WHERE id = $1', [copycat.id, stickKey]);
    const service = api.app.get(HubService);
    const result = await service.reconcile();
    expect(result.ok).toBe(true);
    expect(result.refused.filter((r) => r.publicKey === stickKey).map((r) => [r.kind, r.deviceId, r.reason])).toEqual(
      expect.arrayContaining([
        ['recovery', owner.id, 'key claimed by two peers'],
        ['device', copycat.id, 'key claimed by two peers'],
      ]),
    );
    const peers = await hubPeers(hub);
    expect(peers.map((p) => p.publicKey)).not.toContain(stickKey);
    expect(peers.map((p) => p.publicKey)).toContain(await keyOf(owner.id));
    // A later enrollment still reaches the hub.
    const after = await enrollDeviceAt(api, admin, where, 'hub-rec-after');
    expect((await hubPeers(hub)).map((p) => p.publicKey)).toContain(await keyOf(after.id));
  });
});
