import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  LIVE_MAX_CLIENT_MESSAGE_BYTES,
  LIVE_MAX_PATCHES_PER_MESSAGE,
  type DeviceLivePatch,
  type LiveDeviceEventItem,
  type LiveServerMessage,
} from '@xspectre/contracts';
import { HubService } from '../src/hub/hub.service.js';
import { HeartbeatWriter } from '../src/ingest/heartbeat-writer.js';
import { LiveConnections } from '../src/live/live-connections.js';
import { LivePublisher } from '../src/live/live-publisher.js';
import { MaintenanceJob } from '../src/worker/maintenance.jobs.js';
import { enrollBody, startLabHub } from './support/fleet.js';
import { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { LiveClient, type LiveRefusal } from './support/live-client.js';
import { stepUp } from './support/step-up.js';
import { discoverRoutes } from './support/routes.js';

const CONSOLE = 'http://console.test:3001';

/**
 * Live updates end to end: two API instances of one installation (same database, same Redis
 * prefix), real `ws` clients, real Redis pub/sub between them, the real worker processor.
 */
describe('live updates', () => {
  let hub: Awaited<ReturnType<typeof startLabHub>>;
  let a: TestApi;
  let b: TestApi;
  let admin: string;
  let organizationId: string;
  let siteId: string;
  const open: LiveClient[] = [];

  const connect = async (api: TestApi, options: Parameters<typeof LiveClient.connect>[1] = { origin: CONSOLE }) => {
    const client = await LiveClient.connect(api, options);
    open.push(client);
    return client;
  };
  const refusal = async (api: TestApi, options: Parameters<typeof LiveClient.open>[1]): Promise<LiveRefusal> => {
    const result = await LiveClient.open(api, options);
    if (result instanceof LiveClient) {
      result.close();
      throw new Error('the connection was accepted');
    }
    return result;
  };
  const createDevice = async (name: string, api: TestApi = a) => {
    const r = await api.request('POST', 'devices', { token: admin, body: { name, organizationId, siteId, type: 'server' } });
    expect(r.status).toBe(201);
    return r.body as { device: { id: string }; claimCode: { code: string } };
  };
  const patchesOf = (messages: LiveServerMessage[], id: string): DeviceLivePatch[] =>
    messages.flatMap((m) => (m.type === 'devices.changed' ? m.devices.filter((d) => d.id === id) : []));
  const hasEvent = (m: { events: LiveDeviceEventItem[] }, id: string, type: string) =>
    m.events.some((e) => e.deviceId === id && e.event.type === type);
  /** Waits until everything `a` published before this point reached the client (one Redis connection keeps the order). */
  const drain = async (client: LiveClient) => {
    const marker = randomUUID();
    await a.app.get(LivePublisher).devicesChanged([{ id: marker, status: 'retired' }], 'fleet');
    await client.next('devices.changed', (m) => m.devices[0]!.id === marker);
  };
  const insertDevices = async (prefix: string, count: number, lastHeartbeat: string | null): Promise<string[]> => {
    const { rows } = await a.sql.query(
      `INSERT INTO devices (name, organization_id, site_id, type, status, last_heartbeat_at)
       SELECT $3 || g, $1, $2, 'server', 'active', now() - $5::interval FROM generate_series(1, $4::int) g RETURNING id`,
      [organizationId, siteId, prefix, count, lastHeartbeat],
    );
    return rows.map((r) => r.id as string);
  };

  beforeAll(async () => {
    hub = await startLabHub();
    const shared = { API_CONSOLE_ORIGINS: CONSOLE, API_LIVE_SESSION_RECHECK_SECONDS: '1' };
    // A drives the hub and pings every second (dead peers go fast); B has a small send buffer (slow readers go fast).
    // Its periodic hub reconcile is pushed out of the way: the test feeds tunnel stats itself.
    a = await TestApi.start({
      ...shared,
      API_WG_INTERFACE: hub.interfaceName,
      API_WG_NETNS: hub.netns,
      API_WG_RECONCILE_SECONDS: '3600',
      API_LIVE_PING_SECONDS: '1',
    });
    b = await TestApi.startSibling(a, { ...shared, API_LIVE_MAX_BUFFERED_BYTES: String(64 * 1024) });
    admin = await a.adminToken();
    const org = await a.request('POST', 'organizations', { token: admin, body: { name: 'Live Co', kind: 'customer' } });
    organizationId = org.body.id;
    const site = await a.request('POST', 'sites', { token: admin, body: { organizationId, name: 'HQ', timeZone: 'UTC' } });
    siteId = site.body.id;
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.socket.terminate();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await hub?.stop();
  });

  it('says hello with a connection id and the heartbeat interval', async () => {
    const client = await connect(b, { origin: CONSOLE, cookie: admin });
    expect(client.messages[0]).toMatchObject({ type: 'hello', heartbeatIntervalSeconds: 30 });
    const hello = client.messages[0] as Extract<LiveServerMessage, { type: 'hello' }>;
    expect(Math.abs(Date.parse(hello.serverTime) - Date.now())).toBeLessThan(60_000);
    await client.ping();
  });

  it('a console on instance B hears of devices created and revoked through instance A (Redis fan-out)', async () => {
    const onB = await connect(b, { origin: CONSOLE, cookie: admin });
    const onA = await connect(a, { origin: CONSOLE, cookie: admin });
    const created = await createDevice('fan-out-1');
    const id = created.device.id;
    for (const client of [onB, onA]) {
      expect((await client.next('devices.changed', (m) => patchesOf([m], id).length > 0)).devices).toEqual([{ id, status: 'pending' }]);
      const event = await client.next('device.event', (m) => m.deviceId === id);
      expect(event.event).toMatchObject({
        type: 'device.created',
        severity: 'info',
        details: { name: 'fan-out-1', organizationId, siteId },
      });
    }

    expect((await a.request('POST', `devices/${id}/revoke`, { token: admin })).status).toBe(201);
    const patch = await onB.next('devices.changed', (m) => patchesOf([m], id).length > 0);
    expect(patch.devices).toEqual([{ id, status: 'revoked' }]);
    const event = await onB.next('device.event', (m) => m.deviceId === id);
    expect(event.event).toMatchObject({ type: 'device.revoked', severity: 'warning', details: { previousStatus: 'pending' } });

    // A refused change (already revoked) rolls back and announces nothing.
    const before = onB.messages.length;
    expect((await a.request('POST', `devices/${id}/retire`, { token: admin })).status).toBe(409);
    const marker = randomUUID();
    await a.app.get(LivePublisher).devicesChanged([{ id: marker, status: 'active' }], 'fleet');
    await onB.next('devices.changed', (m) => m.devices[0]!.id === marker);
    expect(patchesOf(onB.messages.slice(before), id)).toEqual([]);
  });

  it('enrollment announces the active device; tunnel handshakes are announced only when they change', async () => {
    const client = await connect(b, { origin: CONSOLE, bearer: admin });
    const created = await createDevice('enrolls-1');
    const body = enrollBody(created.claimCode.code);
    const enrolled = await a.request('POST', 'enroll', { body });
    expect(enrolled.status).toBe(201);
    const id = created.device.id;
    const patch = await client.next('devices.changed', (m) => patchesOf([m], id).some((p) => p.status === 'active'));
    expect(patch.devices[0]).toMatchObject({
      id,
      status: 'active',
      hostname: body.hostname,
      agentVersion: '0.1.0',
      overlayAddress: enrolled.body.tunnel.address,
    });
    expect((await client.next('device.event', (m) => m.deviceId === id && m.event.type === 'device.enrolled')).event.severity).toBe('info');

    // What `wg show` reports, fed to the hub service as its periodic reconcile would.
    const stats = (handshake: Date | null) => [
      { publicKey: body.wgPublicKey, lastHandshakeAt: handshake, rxBytes: 100, txBytes: 200, endpoint: null },
    ];
    const first = new Date(Date.now() - 5_000);
    const service = a.app.get(HubService);
    const before = client.messages.length;
    await service.recordTunnelStats(stats(first));
    await service.recordTunnelStats(stats(first));
    const second = new Date();
    await service.recordTunnelStats(stats(second));
    await client.next('devices.changed', (m) => patchesOf([m], id).some((p) => p.lastHandshakeAt === second.toISOString()));
    expect(patchesOf(client.messages.slice(before), id)).toEqual([
      { id, lastHandshakeAt: first.toISOString() },
      { id, lastHandshakeAt: second.toISOString() },
    ]);
  });

  it('telemetry patches reach only the connections subscribed to the device; fleet patches reach all', async () => {
    // The heartbeat path publishes through this same LivePublisher call.
    const [x, y] = [randomUUID(), randomUUID()];
    const followsX = await connect(b, { origin: CONSOLE, cookie: admin });
    const followsY = await connect(a, { origin: CONSOLE, cookie: admin });
    const followsNothing = await connect(b, { origin: CONSOLE, cookie: admin });
    followsX.sendJson({ type: 'subscribe', deviceIds: [x] });
    expect(await followsX.next('subscribed')).toEqual({ type: 'subscribed', deviceCount: 1 });
    followsY.sendJson({ type: 'subscribe', deviceIds: [y, y] });
    expect(await followsY.next('subscribed')).toEqual({ type: 'subscribed', deviceCount: 1 });

    const metrics = { cpuPercent: 12.5, memUsedPercent: 40, diskUsedPercentMax: null, netRxBps: 1000, netTxBps: 20 };
    const at = new Date().toISOString();
    const publisher = a.app.get(LivePublisher);
    const starts = [followsX, followsY, followsNothing].map((c) => c.messages.length);
    await publisher.devicesChanged(
      [
        { id: x, lastHeartbeatAt: at, lastSequence: 7, metrics },
        { id: y, lastHeartbeatAt: at, lastSequence: 3 },
      ],
      'telemetry',
    );
    const marker = randomUUID();
    await publisher.devicesChanged([{ id: marker, connectivity: 'online' }], 'fleet');
    for (const client of [followsX, followsY, followsNothing]) await client.next('devices.changed', (m) => m.devices[0]!.id === marker);

    const received = (client: LiveClient, i: number) => client.messages.slice(starts[i]).filter((m) => m.type === 'devices.changed');
    expect(received(followsX, 0)).toEqual([
      { type: 'devices.changed', devices: [{ id: x, lastHeartbeatAt: at, lastSequence: 7, metrics }] },
      { type: 'devices.changed', devices: [{ id: marker, connectivity: 'online' }] },
    ]);
    expect(received(followsY, 1)).toEqual([
      { type: 'devices.changed', devices: [{ id: y, lastHeartbeatAt: at, lastSequence: 3 }] },
      { type: 'devices.changed', devices: [{ id: marker, connectivity: 'online' }] },
    ]);
    expect(received(followsNothing, 2)).toEqual([{ type: 'devices.changed', devices: [{ id: marker, connectivity: 'online' }] }]);

    // A subscribe replaces the set: X is no longer followed.
    followsX.sendJson({ type: 'subscribe', deviceIds: [y] });
    await followsX.next('subscribed');
    const from = followsX.messages.length;
    await publisher.devicesChanged([{ id: x, lastSequence: 8 }], 'telemetry');
    await publisher.devicesChanged([{ id: y, lastSequence: 4 }], 'telemetry');
    await followsX.next('devices.changed', (m) => m.devices[0]!.id === y);
    expect(patchesOf(followsX.messages.slice(from), x)).toEqual([]);
  });

  it('real heartbeats through another instance reach subscribed consoles: telemetry, back online, fingerprint quarantine and its end', async () => {
    // Heartbeats come from 127.0.0.1 here, so this instance skips the overlay source check.
    const agentApi = await TestApi.startSibling(a, { API_AGENT_SOURCE_CHECK: 'false' });
    try {
      const created = await createDevice('live-hb');
      const enroll = enrollBody(created.claimCode.code);
      const enrolled = await a.request('POST', 'enroll', { body: enroll });
      expect(enrolled.status).toBe(201);
      const id = enrolled.body.deviceId as string;
      const console_ = await connect(b, { origin: CONSOLE, cookie: admin });
      console_.sendJson({ type: 'subscribe', deviceIds: [id] });
      await console_.next('subscribed');
      const heartbeat = (sequence: number, inventory?: object) => ({
        protocolVersion: 1,
        deviceId: id,
        sequence,
        sentAt: new Date().toISOString(),
        agentVersion: '0.1.0',
        uptimeSeconds: 5,
        metrics: {
          cpuPercent: 37,
          load: [0.1, 0.1, 0.1],
          memory: { totalBytes: 1000, usedBytes: 250, swapTotalBytes: 0, swapUsedBytes: 0 },
          mounts: [
            { mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 100, usedBytes: 60, inodesTotal: 10, inodesUsed: 1 },
          ],
          network: [{ name: 'eth0', rxBytes: 1, txBytes: 1, rxBytesPerSecond: 10, txBytesPerSecond: 5 }],
        },
        ...(inventory ? { inventory } : {}),
      });
      const send = async (body: unknown) => {
        const r = await agentApi.request('POST', 'agent/heartbeats', { token: enrolled.body.deviceCredential, body });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      };

      await send(heartbeat(1));
      // Published in this order: telemetry patches, fleet patches, events.
      const telemetry = await console_.next('devices.changed', (m) => m.devices.some((d) => d.id === id && d.lastSequence === 1));
      expect(telemetry.devices.find((d) => d.id === id && d.metrics)).toMatchObject({
        metrics: { cpuPercent: 37, memUsedPercent: 25, diskUsedPercentMax: 60, netRxBps: 10, netTxBps: 5 },
      });
      await console_.next('devices.changed', (m) => m.devices.some((d) => d.id === id && d.connectivity === 'online'));
      // The group commit's events travel as one device.events; request-path ones (below) as device.event.
      const online = await console_.next('device.events', (m) => hasEvent(m, id, 'connectivity.online'));
      expect(online.events.find((e) => e.deviceId === id)!.event.severity).toBe('info');

      // An inventory whose serial differs from enrollment's: quarantined, announced to every console.
      const other = await connect(a, { origin: CONSOLE, cookie: admin });
      await send(heartbeat(2, { ...enroll.hardware, serial: 'SN-SWAPPED', macs: enroll.macs, nics: [] }));
      for (const c of [console_, other]) {
        await c.next('devices.changed', (m) => m.devices.some((d) => d.id === id && d.quarantined === true));
        const events = await c.next('device.events', (m) => hasEvent(m, id, 'fingerprint.changed'));
        expect(events.events.find((e) => e.event.type === 'fingerprint.changed')!.event.severity).toBe('critical');
      }
      // The unsubscribed console got no per-heartbeat telemetry of the device.
      expect(patchesOf(other.messages, id).filter((p) => p.lastSequence !== undefined)).toEqual([]);

      // Accepting the hardware is written and announced by the same path: every console sees the quarantine end.
      await stepUp(a, admin);
      const accepted = await a.request('POST', `devices/${id}/fingerprint/accept`, { token: admin, body: { reason: 'board swapped' } });
      expect(accepted.status).toBe(200);
      for (const c of [console_, other]) {
        await c.next('devices.changed', (m) => m.devices.some((d) => d.id === id && d.quarantined === false));
        const event = await c.next('device.event', (m) => m.deviceId === id && m.event.type === 'fingerprint.accepted');
        expect(event.event.details).toMatchObject({ reason: 'board swapped', acceptedBy: expect.any(String) });
      }
    } finally {
      await agentApi.stop();
    }
  });

  it('a patch that breaks the contract is dropped by the publisher, never sent', async () => {
    const client = await connect(b, { origin: CONSOLE, cookie: admin });
    const publisher = a.app.get(LivePublisher);
    await publisher.devicesChanged([{ id: 'not-a-uuid' } as DeviceLivePatch], 'fleet');
    await publisher.deviceEvent(randomUUID(), { type: 'Bad Type', severity: 'info', at: new Date().toISOString() });
    const marker = randomUUID();
    await publisher.devicesChanged([{ id: marker, status: 'retired' }], 'fleet');
    await client.next('devices.changed', (m) => m.devices[0]!.id === marker);
    expect(client.messages.filter((m) => m.type === 'devices.changed' || m.type === 'device.event')).toHaveLength(1);
  });

  it('one group commit in which many devices come online is one devices.changed and one device.events message', async () => {
    const client = await connect(b, { origin: CONSOLE, cookie: admin });
    const ids = await insertDevices('group-online-', 40, null);
    const sentAt = new Date().toISOString();
    const writer = a.app.get(HeartbeatWriter);
    // Submitted in one turn: the writer takes them all into one group commit (heartbeat-writer.ts, setImmediate).
    const outcomes = await Promise.all(
      ids.map((deviceId) =>
        writer.submit({
          deviceId,
          heartbeats: [{ protocolVersion: 1, deviceId, sequence: 1, sentAt, agentVersion: '0.1.0', uptimeSeconds: 5 }],
        }),
      ),
    );
    expect(outcomes.every((o) => o !== null)).toBe(true);
    await client.next('device.events', (m) => hasEvent(m, ids[0]!, 'connectivity.online'));
    await drain(client);

    const mine = new Set(ids);
    const events = client.messages.filter((m) => m.type === 'device.events' && m.events.some((e) => mine.has(e.deviceId)));
    expect(events).toHaveLength(1);
    const [message] = events as Array<Extract<LiveServerMessage, { type: 'device.events' }>>;
    expect(message!.events.map((e) => e.deviceId).sort()).toEqual([...ids].sort());
    expect(new Set(message!.events.map((e) => `${e.event.type}/${e.event.severity}`))).toEqual(new Set(['connectivity.online/info']));
    expect(client.messages.filter((m) => m.type === 'device.event' && mine.has(m.deviceId))).toEqual([]);
    const patches = client.messages.filter((m) => m.type === 'devices.changed' && m.devices.some((d) => mine.has(d.id)));
    expect(patches).toHaveLength(1);
  });

  it("the worker's offline detection announces a run's transitions together, chunked at the message maximum", async () => {
    const client = await connect(b, { origin: CONSOLE, cookie: admin });
    const { rows } = await a.sql.query(
      `INSERT INTO devices (name, organization_id, site_id, type, status, last_heartbeat_at)
       VALUES ('silent-1', $1, $2, 'server', 'active', now() - interval '10 minutes') RETURNING id, last_heartbeat_at`,
      [organizationId, siteId],
    );
    const id = rows[0].id as string;
    // More than one message holds: the rest of a fleet dropping at once.
    const others = await insertDevices('silent-many-', LIVE_MAX_PATCHES_PER_MESSAGE + 20, '10 minutes');
    const ids = [id, ...others];
    await a.sql.query(
      `INSERT INTO device_connectivity_events (device_id, state, at) SELECT unnest($1::uuid[]), 'online', now() - interval '1 hour'`,
      [ids],
    );

    const from = client.messages.length;
    const result = await runMaintenanceJob<{ wentOffline: string[] }>(a, MaintenanceJob.DetectOffline);
    expect(result.wentOffline).toEqual(expect.arrayContaining(ids));
    await drain(client);
    const received = client.messages.slice(from);
    expect(patchesOf(received, id)).toEqual([{ id, connectivity: 'offline' }]);

    // One run: ceil(transitions / max) device.events messages, no device.event, every device exactly once.
    const batches = received
      .filter((m) => m.type === 'device.events')
      .filter((m) => m.events.some((e) => e.event.type === 'connectivity.offline'));
    expect(batches).toHaveLength(Math.ceil(result.wentOffline.length / LIVE_MAX_PATCHES_PER_MESSAGE));
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(received.filter((m) => m.type === 'device.event' && m.event.type === 'connectivity.offline')).toEqual([]);
    const events = batches.flatMap((m) => m.events);
    expect(events.map((e) => e.deviceId).sort()).toEqual([...result.wentOffline].sort());
    // Offline since three missed 30 s intervals after the last heartbeat, as recorded.
    expect(events.find((e) => e.deviceId === id)!.event).toEqual({
      type: 'connectivity.offline',
      severity: 'warning',
      at: new Date((rows[0].last_heartbeat_at as Date).getTime() + 90_000).toISOString(),
    });
  });

  describe('who may connect', () => {
    it('refuses a request without a session (401) and a foreign Origin (403), before the upgrade', async () => {
      const none = await refusal(b, { origin: CONSOLE });
      expect(none).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED', status: 401 } });
      const foreign = await refusal(b, { origin: 'https://evil.example', cookie: admin });
      expect(foreign).toMatchObject({ status: 403, body: { code: 'LIVE_ORIGIN_FORBIDDEN' } });
      // Even with a Bearer token: a browser page elsewhere must not get a feed.
      expect(await refusal(b, { origin: 'http://console.test:3002', bearer: admin })).toMatchObject({ status: 403 });
      // A cookie without Origin is not a console's browser: only Bearer clients may omit it.
      expect(await refusal(b, { cookie: admin })).toMatchObject({ status: 403, body: { code: 'LIVE_ORIGIN_FORBIDDEN' } });
      expect(await refusal(b, { bearer: 'not-a-token' })).toMatchObject({ status: 401, body: { code: 'AUTH_TOKEN_INVALID' } });
      expect(await refusal(b, { origin: CONSOLE, path: '/api/v1/elsewhere', cookie: admin })).toMatchObject({
        status: 404,
        body: { code: 'ROUTE_NOT_FOUND' },
      });
      await connect(b, { bearer: admin });
    });

    it('refuses a session whose user must still set up TOTP', async () => {
      const user = await a.createUser(admin, 'read_only');
      const token = await a.tokenFor(user.email);
      await a.sql.query(
        `INSERT INTO security_settings (id, require_totp) VALUES (1, true) ON CONFLICT (id) DO UPDATE SET require_totp = true`,
      );
      try {
        expect(await refusal(b, { origin: CONSOLE, cookie: token })).toMatchObject({
          status: 403,
          body: { code: 'AUTH_TOTP_SETUP_REQUIRED' },
        });
      } finally {
        await a.sql.query(`UPDATE security_settings SET require_totp = false WHERE id = 1`);
      }
      await connect(b, { origin: CONSOLE, cookie: token });
    });

    it("refuses a disabled user's session", async () => {
      const user = await a.createUser(admin, 'soc_operator');
      const token = await a.tokenFor(user.email);
      // Disabling through the API also revokes the sessions.
      expect((await a.request('PATCH', `users/${user.id}`, { token: admin, body: { status: 'disabled' } })).status).toBe(200);
      expect(await refusal(b, { origin: CONSOLE, cookie: token })).toMatchObject({ status: 401, body: { code: 'AUTH_SESSION_REVOKED' } });
      // And a session left open while the account is disabled by other means is refused on its own account.
      const other = await a.createUser(admin, 'read_only');
      const otherToken = await a.tokenFor(other.email);
      await a.sql.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [other.id]);
      expect(await refusal(b, { origin: CONSOLE, cookie: otherToken })).toMatchObject({
        status: 401,
        body: { code: 'AUTH_USER_DISABLED' },
      });
    });

    it('closes an open connection with 4401 once its session is revoked or its user disabled', async () => {
      const user = await a.createUser(admin, 'read_only');
      const token = await a.tokenFor(user.email);
      const client = await connect(b, { origin: CONSOLE, cookie: token });
      await client.ping();
      expect((await a.request('POST', 'auth/logout', { token })).status).toBeLessThan(300);
      expect(await client.closed).toEqual({ code: 4401, reason: 'AUTH_SESSION_REVOKED' });
      expect(await refusal(b, { origin: CONSOLE, cookie: token })).toMatchObject({ status: 401 });

      const second = await a.createUser(admin, 'soc_operator');
      const secondToken = await a.tokenFor(second.email);
      const kept = await connect(a, { origin: CONSOLE, cookie: admin });
      const dropped = await connect(a, { origin: CONSOLE, cookie: secondToken });
      await a.sql.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [second.id]);
      expect(await dropped.closed).toEqual({ code: 4401, reason: 'AUTH_USER_DISABLED' });
      // Other sessions keep their connection.
      await kept.ping();
    });

    it('is a route like the others: devices.view, discovered by the RBAC test, 426 to plain HTTP', async () => {
      const route = discoverRoutes(a.app).find((r) => r.method === 'GET' && r.path === 'live');
      expect(route?.access).toEqual({ kind: 'permission', permission: 'devices.view' });
      const plain = await a.request('GET', 'live', { token: admin });
      expect(plain.status).toBe(426);
      expect(plain.body.code).toBe('LIVE_UPGRADE_REQUIRED');
      expect((await a.request('GET', 'live')).body.code).toBe('AUTH_REQUIRED');
      const doc = (await a.app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/api/docs-json' })).json();
      expect(doc.paths['/api/v1/live'].get['x-permission']).toBe('devices.view');
      expect(Object.keys(doc.paths['/api/v1/live'].get.responses)).toContain('101');
    });
  });

  describe('client messages', () => {
    it('answers bad messages with an error and keeps the connection usable', async () => {
      const client = await connect(b, { origin: CONSOLE, cookie: admin });
      const errorFor = async (send: () => void) => {
        send();
        const error = await client.next('error');
        await client.ping();
        return error;
      };
      expect(await errorFor(() => client.socket.send('{not json'))).toMatchObject({ code: 'MALFORMED_JSON' });
      expect(await errorFor(() => client.sendJson([1, 2]))).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorFor(() => client.sendJson({ type: 'unsubscribe-everything' }))).toMatchObject({ code: 'LIVE_MESSAGE_UNSUPPORTED' });
      expect(await errorFor(() => client.sendJson({ deviceIds: [] }))).toMatchObject({ code: 'LIVE_MESSAGE_UNSUPPORTED' });
      const tooMany = Array.from({ length: 501 }, () => randomUUID());
      const error = await errorFor(() => client.sendJson({ type: 'subscribe', deviceIds: tooMany }));
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(error.message).toMatch(/deviceIds/);
      expect(await errorFor(() => client.sendJson({ type: 'subscribe', deviceIds: ['x'] }))).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await errorFor(() => client.sendJson({ type: 'subscribe', deviceIds: [], extra: 1 }))).toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect(await errorFor(() => client.socket.send(Buffer.from([1, 2, 3]), { binary: true }))).toMatchObject({
        code: 'VALIDATION_FAILED',
      });

      // 500 ids is the limit, not an error.
      client.sendJson({ type: 'subscribe', deviceIds: tooMany.slice(0, 500) });
      expect(await client.next('subscribed')).toEqual({ type: 'subscribed', deviceCount: 500 });
    });

    it('closes the socket with 1009 on a message over 64 KiB', async () => {
      const client = await connect(b, { origin: CONSOLE, cookie: admin });
      client.socket.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(LIVE_MAX_CLIENT_MESSAGE_BYTES) }));
      expect((await client.closed).code).toBe(1009);
    });
  });

  describe('connection health', () => {
    it('drops a peer that stops answering pings', async () => {
      const deaf = await connect(a, { origin: CONSOLE, cookie: admin, autoPong: false });
      // Terminated by the server: no close frame, so the client sees 1006.
      expect((await deaf.closed).code).toBe(1006);
    });

    it('drops a reader too slow for its send buffer with 1013 instead of buffering without bound', async () => {
      const slow = await connect(b, { origin: CONSOLE, cookie: admin });
      (slow.socket as unknown as { _socket: Socket })._socket.pause();
      const { connectionId } = slow.messages[0] as Extract<LiveServerMessage, { type: 'hello' }>;
      const server = () =>
        b.app
          .get(LiveConnections)
          .all()
          .find((c) => c.id === connectionId);
      expect(server()).toBeDefined();
      const publisher = a.app.get(LivePublisher);
      const at = new Date().toISOString();
      const batch = Array.from({ length: 500 }, () => ({ id: randomUUID(), lastHandshakeAt: at }));
      // Each message is ~40 KB; the kernel's socket buffers take some megabytes before the server's own buffer grows.
      for (let i = 0; i < 2000 && server()?.socket.readyState === 1; i++) {
        await publisher.devicesChanged(batch, 'fleet');
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
      }
      expect(server()?.socket.readyState).toBe(2); // CLOSING: the server gave up on this reader
      (slow.socket as unknown as { _socket: Socket })._socket.resume();
      expect((await slow.closed).code).toBe(1013);
    });
  });
});
