import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveDeviceEventItem } from '@xspectre/contracts';
import { generatePrivateCa } from '../../infra/proxy/src/private-ca.mjs';
import { runMigrations } from '../src/db/migrate.js';
import { MAIN, freePort, startBuilt, waitForProcess, type BuiltProcess } from './support/built-process.js';
import { startTestCaddy, type TestCaddy } from './support/test-caddy.js';
import { enrollBody, hubPeers, startLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_PASSWORD, appRoleUrl, createTestDatabase, testEnv, uniqueEmail } from './support/harness.js';
import { compareSequences } from './support/heartbeat-ledger.js';
import { LiveClient } from './support/live-client.js';
import { sampleValue, scrape } from './support/metrics-text.js';

/** The operators' network (allow-listed at the proxy) and anyone else. */
const OPERATOR = '127.0.0.2';
const OUTSIDER = '127.0.0.1';

interface Answer {
  status: number;
  body: any;
}

/** One API process of the installation: its own port and metrics listener, everything else shared. */
interface Instance {
  name: 'A' | 'B';
  proc: BuiltProcess;
  baseUrl: string;
  metricsUrl: string;
}

/**
 * Two API instances of one installation (one database, one Redis prefix, one secret and key
 * store, one hub that only A drives: B enrolls and revokes by asking A over Redis, as an api
 * replica asks the hub pod), each a built process on its own loopback port, behind the real Caddy that
 * infra/proxy/render.mjs configures with both as upstreams. What ARCHITECTURE.md claims of
 * several instances, checked through the proxy over HTTPS and on each instance directly.
 */
describe('two API instances behind the proxy', () => {
  let dir: string;
  let hub: LabHub;
  let db: { url: string; drop: () => Promise<void> };
  let sql: pg.Pool;
  let a: Instance;
  let b: Instance;
  let consoleStandIn: Server;
  let caddy: TestCaddy | undefined;
  let httpsPort: number;
  let ca: Buffer;
  let admin: string;
  let where: { organizationId: string; siteId: string };
  const live: LiveClient[] = [];

  /** One HTTPS request through the proxy, trusting only the private CA. */
  const viaProxy = (method: string, path: string, options: { token?: string; body?: unknown; from?: string } = {}) =>
    new Promise<Answer>((done, fail) => {
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      const req = https.request(
        {
          host: '127.0.0.1',
          port: httpsPort,
          servername: 'ops.test',
          localAddress: options.from ?? OPERATOR,
          ca,
          method,
          path: `/api/v1/${path}`,
          headers: {
            host: 'ops.test',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* Caddy's own plain-text error */
            }
            done({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(body);
    });

  /** One request to an instance directly (what the proxy would pick, chosen by the test). */
  const direct = async (instance: Instance, method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${instance.baseUrl}/api/v1/${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined } as Answer;
  };

  /** This instance's own count of answers on a route (its /metrics, never the proxy's word). */
  const served = async (instance: Instance, method: string, route: string, statusClass = '2xx') =>
    sampleValue((await scrape(instance.metricsUrl)).samples, 'xspectre_http_requests_total', {
      method,
      route,
      status_class: statusClass,
    }) ?? 0;
  const metric = async (instance: Instance, name: string, labels: Record<string, string> = {}) =>
    sampleValue((await scrape(instance.metricsUrl)).samples, name, labels) ?? 0;

  const createDevice = async (name: string, via: (m: string, p: string, o: { token?: string; body?: unknown }) => Promise<Answer>) => {
    const r = await via('POST', 'devices', { token: admin, body: { name, ...where, type: 'server' } });
    if (r.status !== 201) throw new Error(`create device: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.device.id as string, code: r.body.claimCode.code as string };
  };
  const enrolledDevice = async (name: string) => {
    const { code } = await createDevice(name, (m, p, o) => direct(a, m, p, o));
    const r = await direct(b, 'POST', 'enroll', { body: enrollBody(code) });
    if (r.status !== 201) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.deviceId as string, credential: r.body.deviceCredential as string };
  };
  const openLive = async () => {
    const client = await LiveClient.connect(
      { baseUrl: `https://127.0.0.1:${httpsPort}` },
      { bearer: admin, tls: { ca, servername: 'ops.test', localAddress: OPERATOR } },
    );
    live.push(client);
    return client;
  };
  const hasEvent = (m: { events: LiveDeviceEventItem[] }, id: string, type: string) =>
    m.events.some((e) => e.deviceId === id && e.event.type === type);

  const startInstance = async (name: 'A' | 'B', env: Record<string, string>): Promise<Instance> => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = startBuilt(MAIN, { ...env, API_PORT: String(port), API_METRICS_LISTEN: `127.0.0.1:${metricsPort}` });
    const instance = { name, proc, baseUrl: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
    await waitForProcess(
      proc,
      `instance ${name} ready`,
      async () => (await fetch(`${instance.baseUrl}/api/v1/health/ready`).catch(() => null))?.status === 200,
      60_000,
    );
    return instance;
  };

  const handshake = () =>
    new Promise<void>((done, fail) => {
      const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'ops.test', ca });
      socket.once('secureConnect', () => {
        socket.end();
        done();
      });
      socket.once('error', fail);
    });

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b\` first`);
    dir = await mkdtemp(join(tmpdir(), 'xs-two-instances-'));
    const certs = await generatePrivateCa({ dir: join(dir, 'tls'), names: ['ops.test', '127.0.0.1'] });
    ca = await readFile(certs.files.caCert);
    httpsPort = await freePort();

    hub = await startLabHub();
    db = await createTestDatabase();
    await runMigrations(db.url);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    // Dropping the database (WITH FORCE) ends idle clients: expected, not a failure.
    sql.on('error', () => undefined);

    // One environment for both (testEnv draws the Redis prefix and the secret once): ports differ,
    // and only A drives the hub interface.
    const env = testEnv(appRoleUrl(db.url), {
      API_LOG_LEVEL: 'warn',
      // Devices here are the test on loopback, not peers behind the hub.
      API_AGENT_SOURCE_CHECK: 'false',
      API_ENROLL_RATE_LIMIT_PER_IP: '100000',
      API_TRUST_PROXY: '127.0.0.1',
      API_PUBLIC_URL: `https://127.0.0.1:${httpsPort}`,
    });
    // One after the other: the first creates the key store the second then reads.
    a = await startInstance('A', { ...env, API_WG_INTERFACE: hub.interfaceName, API_WG_NETNS: hub.netns });
    b = await startInstance('B', env);

    consoleStandIn = createServer((_req, res) => res.end('console'));
    await new Promise<void>((done) => consoleStandIn.listen(0, '127.0.0.1', done));
    const settings = {
      hostname: 'ops.test',
      tls: { mode: 'private-ca', certFile: certs.files.serverCert, keyFile: certs.files.serverKey },
      httpsPort,
      httpPort: await freePort(),
      http: 'refuse',
      bind: ['127.0.0.1'],
      allowList: [`${OPERATOR}/32`],
      upstreams: {
        api: [new URL(a.baseUrl).host, new URL(b.baseUrl).host],
        console: `127.0.0.1:${(consoleStandIn.address() as AddressInfo).port}`,
      },
    };
    caddy = await startTestCaddy(dir, settings, handshake);

    const login = await viaProxy('POST', 'auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    expect(login.status).toBe(200);
    admin = login.body.accessToken;
    const org = await viaProxy('POST', 'organizations', { token: admin, body: { name: 'Two Instances Co', kind: 'customer' } });
    const site = await viaProxy('POST', 'sites', { token: admin, body: { organizationId: org.body.id, name: 'HQ', timeZone: 'UTC' } });
    expect([org.status, site.status]).toEqual([201, 201]);
    where = { organizationId: org.body.id, siteId: site.body.id };
  });

  afterAll(async () => {
    for (const client of live) client.socket.terminate();
    await caddy?.stop();
    await new Promise<void>((done) => (consoleStandIn ? consoleStandIn.close(() => done()) : done()));
    for (const instance of [b, a]) {
      if (!instance || instance.proc.child.exitCode !== null || instance.proc.child.signalCode !== null) continue;
      instance.proc.child.kill('SIGTERM');
      await instance.proc.exited;
    }
    await sql?.end();
    await db?.drop();
    await hub?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the proxy alternates between the instances: each counts half of the requests itself', async () => {
    const before = [await served(a, 'GET', '/api/v1/auth/me'), await served(b, 'GET', '/api/v1/auth/me')];
    for (let i = 0; i < 10; i++) expect((await viaProxy('GET', 'auth/me', { token: admin })).status).toBe(200);
    const after = [await served(a, 'GET', '/api/v1/auth/me'), await served(b, 'GET', '/api/v1/auth/me')];
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([5, 5]);
  });

  it('a claim code made on one instance enrolls on the other, once: the replay is refused on either', async () => {
    const { id, code } = await createDevice('cross-1', (m, p, o) => direct(a, m, p, o));
    const body = enrollBody(code);
    const enrolled = await direct(b, 'POST', 'enroll', { body });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.deviceId).toBe(id);
    expect(await hubPeers(hub)).toContainEqual({ publicKey: body.wgPublicKey, allowedIps: `${enrolled.body.tunnel.address}/32` });
    // The same code again: on the instance that made it, on the one that spent it, and through
    // the proxy from the Internet (enrollment is public), each with a fresh key.
    for (const replay of [
      () => direct(a, 'POST', 'enroll', { body: enrollBody(code) }),
      () => direct(b, 'POST', 'enroll', { body: enrollBody(code) }),
      () => viaProxy('POST', 'enroll', { body: enrollBody(code), from: OUTSIDER }),
      () => viaProxy('POST', 'enroll', { body: enrollBody(code), from: OUTSIDER }),
    ]) {
      const again = await replay();
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('CLAIM_CODE_USED');
    }
  });

  it('two concurrent enrollments with one code, one on each instance: exactly one wins', async () => {
    for (let round = 0; round < 6; round++) {
      const { id, code } = await createDevice(`race-${round}`, (m, p, o) => (round % 2 ? direct(a, m, p, o) : direct(b, m, p, o)));
      const attempts = [enrollBody(code), enrollBody(code)];
      const [onA, onB] = await Promise.all([
        direct(a, 'POST', 'enroll', { body: attempts[0] }),
        direct(b, 'POST', 'enroll', { body: attempts[1] }),
      ]);
      const results = [onA, onB];
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body.code).toBe('CLAIM_CODE_USED');
      const winner = results.findIndex((r) => r.status === 201);
      // The device carries the winner's key, and the hub has exactly its peer, not the loser's.
      const { rows } = await sql.query('SELECT wg_public_key FROM devices WHERE id = $1', [id]);
      expect(rows[0].wg_public_key).toBe(attempts[winner]!.wgPublicKey);
      const peers = await hubPeers(hub);
      expect(peers.map((p) => p.publicKey)).toContain(attempts[winner]!.wgPublicKey);
      expect(peers.map((p) => p.publicKey)).not.toContain(attempts[1 - winner]!.wgPublicKey);
    }
  });

  it('devices enrolled concurrently through both instances get distinct overlay addresses, all on the hub', async () => {
    const before = [await served(a, 'POST', '/api/v1/enroll'), await served(b, 'POST', '/api/v1/enroll')];
    const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => createDevice(`many-${i}`, viaProxy)));
    const bodies = devices.map((d) => enrollBody(d.code));
    // Half through the proxy (it alternates), half straight to each instance: all at once.
    const replies = await Promise.all(
      bodies.map((body, i) =>
        i % 3 === 0 ? viaProxy('POST', 'enroll', { body, from: OUTSIDER }) : direct(i % 3 === 1 ? a : b, 'POST', 'enroll', { body }),
      ),
    );
    // No `wg` run happens while an enrollment holds the allocation lock (the hub applies the
    // committed peers afterwards, asked by B over Redis), so the whole burst succeeds at once.
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(201);
    const addresses = replies.map((r) => r.body.tunnel.address as string);
    expect(new Set(addresses).size).toBe(addresses.length);
    const peers = await hubPeers(hub);
    for (const [i, body] of bodies.entries())
      expect(peers).toContainEqual({ publicKey: body.wgPublicKey, allowedIps: `${addresses[i]}/32` });
    // Every address of the installation is distinct, not only this batch's.
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n, count(DISTINCT overlay_address)::int AS d FROM devices WHERE overlay_address IS NOT NULL`,
    );
    expect(rows[0].n).toBe(rows[0].d);
    const after = [await served(a, 'POST', '/api/v1/enroll'), await served(b, 'POST', '/api/v1/enroll')];
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  });

  it("a console's live connection on one instance hears what the other instance handled", async () => {
    const [first, second] = [await openLive(), await openLive()];
    // The proxy put one connection on each instance (each counts its own).
    expect([await metric(a, 'xspectre_live_connections'), await metric(b, 'xspectre_live_connections')]).toEqual([1, 1]);
    const device = await enrolledDevice('live-1');
    for (const client of [first, second]) {
      client.sendJson({ type: 'subscribe', deviceIds: [device.id] });
      expect(await client.next('subscribed')).toEqual({ type: 'subscribed', deviceCount: 1 });
    }

    // A heartbeat handled by B, then one by A: both connections hear both.
    expect((await direct(b, 'POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 1) })).status).toBe(200);
    // Telemetry patch first, then the group commit's events (heartbeat-live-listener.ts announces in that order).
    for (const client of [first, second]) {
      await client.next('devices.changed', (m) => m.devices.some((d) => d.id === device.id && d.lastSequence === 1));
      await client.next('device.events', (m) => hasEvent(m, device.id, 'connectivity.online'));
    }
    expect((await direct(a, 'POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 2) })).status).toBe(200);
    for (const client of [first, second])
      await client.next('devices.changed', (m) => m.devices.some((d) => d.id === device.id && d.lastSequence === 2));

    // Operator actions: a device created on A, revoked on B.
    const created = await createDevice('live-2', (m, p, o) => direct(a, m, p, o));
    for (const client of [first, second])
      await client.next('device.event', (m) => m.deviceId === created.id && m.event.type === 'device.created');
    expect((await direct(b, 'POST', `devices/${created.id}/revoke`, { token: admin })).status).toBe(201);
    for (const client of [first, second])
      await client.next('device.event', (m) => m.deviceId === created.id && m.event.type === 'device.revoked');
  });

  it('heartbeats of many devices through both instances, each retried on the other: stored once each, newest state wins', async () => {
    const DEVICES = 8;
    const SEQUENCES = 6;
    const devices = [];
    for (let i = 0; i < DEVICES; i++) devices.push(await enrolledDevice(`hb-${i}`));
    const accepted = (instance: Instance) => metric(instance, 'xspectre_heartbeats_total', { outcome: 'accepted' });
    const acceptedBefore = [await accepted(a), await accepted(b)];
    const metrics = (cpuPercent: number) => ({
      cpuPercent,
      load: [0.1, 0.1, 0.1] as [number, number, number],
      memory: { totalBytes: 100, usedBytes: 40, swapTotalBytes: 0, swapUsedBytes: 0 },
      mounts: [],
      network: [],
    });
    // Every heartbeat goes to one instance and, at the same time, the same heartbeat to the other
    // (an agent that timed out and retried through the balancer); a third of them also through the proxy.
    const sends = devices.flatMap((d, i) =>
      Array.from({ length: SEQUENCES }, (_, s) => {
        const body = testHeartbeat(d.id, s + 1, { metrics: metrics(s + 1) });
        const [first, other] = (i + s) % 2 ? [a, b] : [b, a];
        const copies = [
          direct(first, 'POST', 'agent/heartbeats', { token: d.credential, body }),
          direct(other, 'POST', 'agent/heartbeats', { token: d.credential, body }),
        ];
        if (s % 3 === 0) copies.push(viaProxy('POST', 'agent/heartbeats', { token: d.credential, body }));
        return Promise.all(copies).then((replies) => ({ device: d.id, sequence: s + 1, replies }));
      }),
    );
    const results = await Promise.all(sends);
    for (const { device, sequence, replies } of results) {
      expect(
        replies.map((r) => r.status),
        `${device} #${sequence}`,
      ).toEqual(replies.map(() => 200));
      // Acknowledged on every copy, credited once.
      expect(
        replies.reduce((n, r) => n + r.body.accepted, 0),
        `${device} #${sequence}`,
      ).toBe(1);
      expect(replies.reduce((n, r) => n + r.body.duplicates, 0)).toBe(replies.length - 1);
    }
    for (const d of devices) {
      const { rows } = await sql.query(
        'SELECT sequence::int AS s, count(*)::int AS n FROM device_heartbeats WHERE device_id = $1 GROUP BY 1',
        [d.id],
      );
      const comparison = compareSequences(SEQUENCES, new Map(rows.map((r) => [r.s as number, r.n as number])));
      expect(comparison, d.id).toEqual({ lost: [], duplicated: 0, unexpected: [] });
      const latest = await sql.query('SELECT sequence::int, metrics FROM device_telemetry WHERE device_id = $1', [d.id]);
      expect(latest.rows[0]).toMatchObject({ sequence: SEQUENCES, metrics: { cpuPercent: SEQUENCES } });
      const samples = await sql.query('SELECT count(*)::int AS n FROM metric_samples WHERE device_id = $1', [d.id]);
      expect(samples.rows[0].n).toBe(SEQUENCES);
    }
    // Both instances committed some of them, and together exactly one per heartbeat.
    const acceptedAfter = [await accepted(a), await accepted(b)];
    const gained = [acceptedAfter[0]! - acceptedBefore[0]!, acceptedAfter[1]! - acceptedBefore[1]!];
    expect(gained[0]).toBeGreaterThan(0);
    expect(gained[1]).toBeGreaterThan(0);
    expect(gained[0]! + gained[1]!).toBe(DEVICES * SEQUENCES);

    // An old sequence on the other instance is a duplicate and changes nothing.
    const d = devices[0]!;
    for (const instance of [a, b]) {
      const stale = await direct(instance, 'POST', 'agent/heartbeats', {
        token: d.credential,
        body: testHeartbeat(d.id, 2, { metrics: metrics(99) }),
      });
      expect(stale.status).toBe(200);
      expect(stale.body).toMatchObject({ accepted: 0, duplicates: 1, lastSequence: SEQUENCES });
    }
    const latest = await sql.query('SELECT sequence::int, metrics FROM device_telemetry WHERE device_id = $1', [d.id]);
    expect(latest.rows[0]).toMatchObject({ sequence: SEQUENCES, metrics: { cpuPercent: SEQUENCES } });
  });

  it('a session from A works on B; logout on A is refused on B at once', async () => {
    const email = uniqueEmail('two');
    const created = await direct(a, 'POST', 'users', {
      token: admin,
      body: { email, displayName: 'Two', role: 'soc_operator', password: TEST_PASSWORD },
    });
    expect(created.status).toBe(201);
    const login = await direct(a, 'POST', 'auth/login', { body: { email, password: TEST_PASSWORD } });
    expect(login.status).toBe(200);
    const token = login.body.accessToken as string;
    expect((await direct(b, 'GET', 'auth/me', { token })).status).toBe(200);
    expect((await viaProxy('GET', 'auth/me', { token })).status).toBe(200);
    expect((await direct(a, 'POST', 'auth/logout', { token })).status).toBe(200);
    const onB = await direct(b, 'GET', 'auth/me', { token });
    expect(onB.status).toBe(401);
    expect(onB.body.code).toBe('AUTH_SESSION_REVOKED');
    for (let i = 0; i < 2; i++) expect((await viaProxy('GET', 'auth/me', { token })).body.code).toBe('AUTH_SESSION_REVOKED');
  });

  it('a device revoked through A is refused on B at once, though B had its credential cached', async () => {
    const device = await enrolledDevice('revoked-1');
    const setup = (instance: Instance) => direct(instance, 'GET', 'agent/ssh-setup', { token: device.credential });
    // B verifies the credential and keeps it (API_DEVICE_AUTH_CACHE_SECONDS).
    expect((await direct(b, 'POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 1) })).status).toBe(200);
    expect((await setup(b)).status).toBe(200);
    expect((await direct(a, 'POST', `devices/${device.id}/revoke`, { token: admin })).status).toBe(201);
    // A route that does not re-check the device itself: only the forgotten cache refuses it.
    const refused = await setup(b);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('DEVICE_AUTH_INVALID');
    const heartbeat = await direct(b, 'POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, 2) });
    expect(heartbeat.body.code).toBe('DEVICE_AUTH_INVALID');
    const { rows } = await sql.query('SELECT sequence::int FROM device_heartbeats WHERE device_id = $1', [device.id]);
    expect(rows.map((r) => r.sequence)).toEqual([1]);
  });

  it('a device revoked through B, which drives no hub, loses its hub peer before the answer', async () => {
    const { code } = await createDevice('revoked-via-b', (m, p, o) => direct(a, m, p, o));
    const body = enrollBody(code);
    expect((await direct(b, 'POST', 'enroll', { body })).status).toBe(201);
    const enrolled = await hubPeers(hub);
    expect(enrolled.map((p) => p.publicKey)).toContain(body.wgPublicKey);
    const { rows } = await sql.query('SELECT id FROM devices WHERE wg_public_key = $1', [body.wgPublicKey]);
    expect((await direct(b, 'POST', `devices/${rows[0].id}/revoke`, { token: admin })).status).toBe(201);
    expect((await hubPeers(hub)).map((p) => p.publicKey)).not.toContain(body.wgPublicKey);
  });

  it('with one instance killed, requests through the proxy keep succeeding on the other', async () => {
    b.proc.child.kill('SIGKILL');
    await b.proc.exited;
    const before = await served(a, 'GET', '/api/v1/auth/me');
    for (let i = 0; i < 10; i++) {
      const me = await viaProxy('GET', 'auth/me', { token: admin });
      expect(me.status, JSON.stringify(me.body)).toBe(200);
    }
    expect((await served(a, 'GET', '/api/v1/auth/me')) - before).toBe(10);
    // Enrollment (public) and a device's heartbeats too.
    const { code } = await createDevice('after-kill', viaProxy);
    const enrolled = await viaProxy('POST', 'enroll', { body: enrollBody(code), from: OUTSIDER });
    expect(enrolled.status).toBe(201);
    const heartbeat = await viaProxy('POST', 'agent/heartbeats', {
      token: enrolled.body.deviceCredential,
      body: testHeartbeat(enrolled.body.deviceId, 1),
    });
    expect(heartbeat.status).toBe(200);
    expect(heartbeat.body.accepted).toBe(1);
  });
});
