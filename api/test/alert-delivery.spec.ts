import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertSeverity } from '@xspectre/contracts';
import { AlertDeliveryProcessor } from '../src/alert-delivery/alert-delivery.processor.js';
import { AlertDeliveryWorker } from '../src/alert-delivery/alert-delivery.worker.js';
import { AlertChanges, AlertsService } from '../src/alerts/alerts.service.js';
import { createLogger, NestPinoLogger } from '../src/common/logging/logger.js';
import { loadConfig } from '../src/config/config.js';
import { Database } from '../src/db/database.js';
import { WorkerModule } from '../src/worker/worker.module.js';
import { FakeBetterStack } from './support/fake-betterstack.js';
import { createOrganizationSite } from './support/fleet.js';
import { TestApi, testEnv } from './support/harness.js';

const TOKEN = `bs-token-${randomUUID()}`;
const WEBHOOK_SECRET = `whsec-${randomUUID()}`;
/** The shipped `disk-high` rule (api/src/db/migrations/1795550000000-Alerts.ts). */
const DISK_HIGH_RULE = '69023d04-48c7-52b8-83e3-52904638355d';
type Place = { organizationId: string; siteId: string };
const ALL_SEVERITIES: AlertSeverity[] = ['critical', 'warning', 'info'];
const POLICY = {
  critical: { call: true, sms: true, email: true, push: true },
  warning: { call: false, sms: false, email: true, push: true },
  info: { call: false, sms: false, email: true, push: false },
};

/** Polls until `check` holds (bounded, so a stuck queue fails the test instead of hanging it). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The delivery worker as the worker process runs it (api/src/worker.ts), on the test API's database and Redis. */
async function startDeliveryWorker(api: TestApi, overrides: Record<string, string>, logLines: string[]) {
  const config = loadConfig(
    testEnv(api.config.DB_URL, {
      REDIS_KEY_PREFIX: api.config.REDIS_KEY_PREFIX,
      API_SECRET_KEY: api.config.API_SECRET_KEY,
      API_CONSOLE_URL: 'https://console.example.test',
      ...overrides,
    }),
  );
  const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
  const context: INestApplicationContext = await NestFactory.createApplicationContext(WorkerModule.register(config), {
    logger: new NestPinoLogger(logger),
  });
  const worker = await AlertDeliveryWorker.start(config, context.get(AlertDeliveryProcessor), { sweepEveryMs: 500 });
  return {
    context,
    stop: async () => {
      await worker.close();
      await context.close();
    },
  };
}

describe('alert delivery', () => {
  let api: TestApi;
  let admin: string;
  let soc: string;
  let readOnly: string;
  let organizationId: string;
  let home: Place;
  let elsewhere: Place;
  const responses: string[] = [];
  const logLines: string[] = [];

  const call = async (method: string, path: string, body?: unknown, token = admin) => {
    const reply = await api.request(method, path, { token, body });
    responses.push(reply.text);
    return reply;
  };
  const betterStackBody = (baseUrl: string, overrides: Record<string, unknown> = {}) => ({
    kind: 'betterstack',
    name: `BetterStack ${randomUUID().slice(0, 8)}`,
    routing: { severities: ALL_SEVERITIES, organizationIds: null, includeFleet: true },
    allowPrivateAddress: true,
    config: { baseUrl, requesterEmail: 'soc@example.test', policy: POLICY, teamName: 'SOC' },
    token: TOKEN,
    ...overrides,
  });
  const webhookBody = (url: string, overrides: Record<string, unknown> = {}) => ({
    kind: 'webhook',
    name: `Webhook ${randomUUID().slice(0, 8)}`,
    routing: { severities: ['critical'], organizationIds: [organizationId], includeFleet: false },
    allowPrivateAddress: true,
    config: { url },
    secret: WEBHOOK_SECRET,
    ...overrides,
  });

  /**
   * Opens an alert through the engine's own service (api/src/alerts/alerts.service.ts: rows and
   * their create deliveries in one transaction, the kick after it), on a device of its own.
   */
  async function openAlert(i: number, severity: AlertSeverity = 'warning', where: Place | null = home): Promise<Alert> {
    let deviceId: string | null = null;
    if (where) {
      const device = await call('POST', 'devices', { name: `device-${i}-${randomUUID().slice(0, 6)}`, ...where, type: 'server' });
      if (device.status !== 201) throw new Error(`create device: ${device.text}`);
      deviceId = device.body.device.id as string;
    }
    const alerts = api.app.get(AlertsService);
    const changes = new AlertChanges();
    const [id] = await api.app.get(Database).transaction(() =>
      alerts.open(
        [
          {
            ruleId: DISK_HIGH_RULE,
            ruleKey: 'disk-high',
            kind: 'metric',
            severity,
            deviceId,
            organizationId: where?.organizationId ?? null,
            siteId: where?.siteId ?? null,
            subject: '/data',
            title: `Disk filling (${i})`,
            details: { value: 91.5, threshold: 85 },
          },
        ],
        new Date(),
        changes,
      ),
    );
    await alerts.publish(changes);
    return alerts.get(id!);
  }

  /** An operator acknowledges through the API. */
  async function acknowledge(alert: Alert): Promise<Alert> {
    const reply = await call('POST', `alerts/${alert.id}/ack`, { note: 'looking' });
    if (reply.status !== 200) throw new Error(`ack: ${reply.text}`);
    return reply.body as Alert;
  }

  /** Resolved by an operator through the API, or by the engine when the condition cleared. */
  async function resolve(alert: Alert, how: 'operator' | 'auto'): Promise<Alert> {
    if (how === 'operator') {
      const reply = await call('POST', `alerts/${alert.id}/resolve`, { note: 'fixed' });
      if (reply.status !== 200) throw new Error(`resolve: ${reply.text}`);
      return reply.body as Alert;
    }
    const alerts = api.app.get(AlertsService);
    const changes = new AlertChanges();
    await api.app.get(Database).transaction(() => alerts.resolveAuto([alert.id], new Date(), changes));
    await alerts.publish(changes);
    return alerts.get(alert.id);
  }

  const deliveryStates = async (targetId: string) =>
    (
      await api.sql.query<{ state: string; n: string }>(
        `SELECT state, count(*) AS n FROM alert_deliveries WHERE target_id = $1 GROUP BY state`,
        [targetId],
      )
    ).rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.state]: Number(r.n) }), {});

  beforeAll(async () => {
    api = await TestApi.start();
    admin = await api.adminToken();
    soc = await api.tokenFor((await api.createUser(admin, 'soc_operator')).email);
    readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    home = await createOrganizationSite(api, admin, 'Delivery Co');
    organizationId = home.organizationId;
    elsewhere = await createOrganizationSite(api, admin, 'Other Co');
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('BetterStack: 30 alerts through 500s, refused connections and lost answers get exactly one incident each; every acknowledge and resolve follows its create', async () => {
    const fake = await FakeBetterStack.start(TOKEN, { pageSize: 7 });
    const worker = await startDeliveryWorker(
      api,
      { API_ALERT_DELIVERY_BACKOFF_MS: '20', API_ALERT_DELIVERY_BACKOFF_MAX_MS: '300', API_ALERT_DELIVERY_MAX_ATTEMPTS: '10000' },
      logLines,
    );
    try {
      const created = await call('POST', 'alert-targets', betterStackBody(fake.baseUrl));
      expect(created.status, created.text).toBe(201);
      const targetId = created.body.id as string;
      expect(created.body.secretHint).toBe(TOKEN.slice(-4));
      const attemptsSoFar = async () =>
        Number(
          (await api.sql.query(`SELECT COALESCE(SUM(attempts), 0) AS n FROM alert_deliveries WHERE target_id = $1`, [targetId])).rows[0].n,
        );

      // 0. Healthy: the first alerts get their incidents.
      const alerts: Alert[] = [];
      for (let i = 0; i < 3; i++) alerts.push(await openAlert(i, 'critical'));
      await until('3 incidents', () => fake.incidents.size === 3);

      // 1. BetterStack answers 500.
      fake.mode = 'error500';
      for (let i = 3; i < 12; i++) alerts.push(await openAlert(i, ALL_SEVERITIES[i % 3]));
      await until('25 answers of 500', () => fake.count('500') >= 25);

      // 2. Connections refused.
      await fake.refuse();
      const beforeRefused = await attemptsSoFar();
      for (let i = 12; i < 18; i++) alerts.push(await openAlert(i));
      await until('20 refused attempts', async () => (await attemptsSoFar()) - beforeRefused >= 20);
      const refusedAttempts = (await attemptsSoFar()) - beforeRefused;
      await fake.reopen();

      // 3. Creates and acknowledges are done but their answers are lost (lookups too): the first
      // three alerts' acknowledges arrive, and their retries get 409 (already acknowledged) later.
      fake.mode = 'drop';
      for (let i = 18; i < 30; i++) alerts.push(await openAlert(i, 'critical'));
      for (let i = 0; i < 10; i++) alerts[i] = await acknowledge(alerts[i]!);
      await until('15 dropped answers', () => fake.count('dropped') >= 15);

      // 4. Healthy until the acknowledgements are through (an acknowledge whose turn comes after
      // the resolve is not sent: the next test), then 500s while half the alerts resolve
      // (automatically), then lost answers while the rest resolve (by an operator): their
      // retries get 409 (already resolved).
      fake.mode = 'ok';
      const ackRows = async () =>
        Number(
          (
            await api.sql.query(
              `SELECT count(*) AS n FROM alert_deliveries WHERE target_id = $1 AND kind = 'acknowledge' AND state = 'done'`,
              [targetId],
            )
          ).rows[0].n,
        );
      await until('the acknowledgements', async () => (await ackRows()) === 10);
      fake.mode = 'error500';
      for (let i = 0; i < 15; i++) alerts[i] = await resolve(alerts[i]!, 'auto');
      const fivehundreds = fake.count('500');
      await until('10 more answers of 500', () => fake.count('500') >= fivehundreds + 10);
      fake.mode = 'drop';
      const dropped = fake.count('dropped');
      for (let i = 15; i < 30; i++) alerts[i] = await resolve(alerts[i]!, 'operator');
      await until('10 more dropped answers', () => fake.count('dropped') >= dropped + 10);
      fake.mode = 'ok';

      await until('the queue to drain', async () => {
        const states = await deliveryStates(targetId);
        return (states.pending ?? 0) === 0;
      });

      const states = await deliveryStates(targetId);
      expect(states).toEqual({ done: 30 + 10 + 30 });
      expect(fake.problems).toEqual([]);
      let duplicates = 0;
      let lost = 0;
      let acknowledged = 0;
      let resolved = 0;
      for (const [i, alert] of alerts.entries()) {
        const incidents = fake.incidentsWithMarker(`[xs-${alert.id}]`);
        if (incidents.length === 0) lost++;
        duplicates += Math.max(0, incidents.length - 1);
        const incident = incidents[0]!;
        const events = fake.events.filter((e) => e.incidentId === incident.id);
        const seqOf = (type: string) => events.find((e) => e.type === type)?.seq;
        expect(events.filter((e) => e.type === 'create')).toHaveLength(1);
        if (i < 10) {
          expect(incident.acknowledgedBy).toBe('admin@test.local');
          expect(seqOf('acknowledge')!).toBeGreaterThan(seqOf('create')!);
          expect(seqOf('resolve')!).toBeGreaterThan(seqOf('acknowledge')!);
          acknowledged++;
        } else expect(incident.acknowledgedBy).toBeNull();
        expect(incident.resolvedBy).toBe(i < 15 ? 'xSPECTRE (auto)' : 'admin@test.local');
        expect(seqOf('resolve')!).toBeGreaterThan(seqOf('create')!);
        resolved++;
        // The incident's content: device, organization, site, value, the console link and the severity's policy.
        expect(incident.description).toContain(`Device: ${alert.deviceName} (${alert.deviceId})`);
        expect(incident.description).toContain('Organization: Delivery Co');
        expect(incident.description).toContain('Site: HQ');
        expect(incident.description).toContain('value: 91.5');
        expect(incident.description).toContain(`https://console.example.test/alerts/${alert.id}`);
        expect(incident.notify).toEqual(POLICY[alert.severity]);
        expect(incident.requesterEmail).toBe('soc@example.test');
        expect(incident.teamName).toBe('SOC');
      }
      // Every incident at the fake belongs to one of these alerts: nothing was created twice.
      expect(fake.incidents.size).toBe(alerts.length);
      expect(duplicates).toBe(0);
      expect(lost).toBe(0);
      // The create rows carry the incident id; some adopted an incident created by an attempt whose answer was lost.
      const creates = await api.sql.query(`SELECT remote_id, last_error FROM alert_deliveries WHERE target_id = $1 AND kind = 'create'`, [
        targetId,
      ]);
      expect(creates.rows.every((r) => r.remote_id !== null)).toBe(true);
      const adopted = creates.rows.filter((r) => String(r.last_error).startsWith('adopted incident')).length;
      expect(adopted).toBeGreaterThan(0);
      expect(fake.count('409')).toBeGreaterThan(0);
      console.log(
        `alert delivery counts: alerts opened ${alerts.length}, incidents created ${fake.incidents.size}, acknowledged ${acknowledged}, ` +
          `resolved ${resolved}, duplicates ${duplicates}, lost ${lost} ` +
          `(answers of 500: ${fake.count('500')}, refused attempts: ${refusedAttempts}, dropped answers: ${fake.count('dropped')}, ` +
          `409 answers: ${fake.count('409')}, incidents adopted after a lost answer: ${adopted})`,
      );

      // The dead-letter view is empty, the list shows the rows with names.
      const dead = await call('GET', `alert-deliveries?state=dead&targetId=${targetId}`);
      expect(dead.status).toBe(200);
      expect(dead.body.total).toBe(0);
      const listed = await call('GET', `alert-deliveries?alertId=${alerts[0]!.id}`);
      expect(listed.body.items.map((d: { kind: string }) => d.kind).sort()).toEqual(['acknowledge', 'create', 'resolve']);
      expect(listed.body.items[0]).toMatchObject({ targetName: created.body.name, alertTitle: 'Disk filling (0)', state: 'done' });

      // "Send test": an incident named as a test, resolved at once.
      const tested = await call('POST', `alert-targets/${targetId}/test`);
      expect(tested.status, tested.text).toBe(200);
      expect(tested.body).toMatchObject({ ok: true, status: 201 });
      const testIncident = fake.incidents.get(tested.body.remoteId as string)!;
      expect(testIncident.name).toContain('xSPECTRE test message');
      expect(testIncident.resolvedBy).toBe('xSPECTRE (test)');
      // A failing target says what it answered.
      fake.mode = 'error500';
      const failing = await call('POST', `alert-targets/${targetId}/test`);
      expect(failing.body).toMatchObject({ ok: false, status: 500 });
      expect(failing.body.message).toContain('create answered 500');
      fake.mode = 'ok';

      // Disabled: new alerts are not routed to it.
      expect((await call('PATCH', `alert-targets/${targetId}`, { enabled: false })).status).toBe(200);
      const unrouted = await openAlert(99);
      expect((await api.sql.query(`SELECT 1 FROM alert_deliveries WHERE alert_id = $1`, [unrouted.id])).rowCount).toBe(0);
    } finally {
      await worker.stop();
      await fake.stop();
    }
  });

  it('BetterStack: an acknowledgement whose turn comes after the alert was resolved is not sent; the resolve is', async () => {
    const fake = await FakeBetterStack.start(TOKEN);
    const worker = await startDeliveryWorker(
      api,
      { API_ALERT_DELIVERY_BACKOFF_MS: '20', API_ALERT_DELIVERY_BACKOFF_MAX_MS: '100', API_ALERT_DELIVERY_MAX_ATTEMPTS: '10000' },
      logLines,
    );
    try {
      const created = await call('POST', 'alert-targets', betterStackBody(fake.baseUrl));
      const targetId = created.body.id as string;
      let alert = await openAlert(40, 'critical');
      await until('the incident', () => fake.incidentsWithMarker(`[xs-${alert.id}]`).length === 1);
      fake.mode = 'error500';
      alert = await acknowledge(alert);
      alert = await resolve(alert, 'operator');
      const before = fake.count('500');
      await until('the acknowledgement to fail', () => fake.count('500') >= before + 3);
      fake.mode = 'ok';
      await until('create, acknowledge and resolve done', async () => (await deliveryStates(targetId)).done === 3);
      const [incident] = fake.incidentsWithMarker(`[xs-${alert.id}]`);
      expect(incident!.acknowledgedBy).toBeNull();
      expect(incident!.resolvedBy).toBe('admin@test.local');
      expect(fake.problems).toEqual([]);
      const rows = await call('GET', `alert-deliveries?alertId=${alert.id}`);
      const ack = rows.body.items.find((d: { kind: string }) => d.kind === 'acknowledge');
      expect(ack).toMatchObject({ state: 'done', sequence: 2 });
      expect(ack.lastError).toContain('not sent: the alert was resolved');
      expect((await call('DELETE', `alert-targets/${targetId}`)).status).toBe(200);
    } finally {
      await worker.stop();
      await fake.stop();
    }
  });

  it('webhooks: signed, routed by severity and organization, a 500 is retried, dead after the last attempt, and the retry route revives it', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    let answer = 500;
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const worker = await startDeliveryWorker(
      api,
      { API_ALERT_DELIVERY_BACKOFF_MS: '20', API_ALERT_DELIVERY_BACKOFF_MAX_MS: '50', API_ALERT_DELIVERY_MAX_ATTEMPTS: '3' },
      logLines,
    );
    try {
      const created = await call('POST', 'alert-targets', webhookBody(url));
      expect(created.status, created.text).toBe(201);
      const targetId = created.body.id as string;

      // Routing: critical alerts of this organization only.
      const routed = await openAlert(1, 'critical');
      await openAlert(2, 'warning');
      await openAlert(3, 'critical', elsewhere);
      await openAlert(4, 'critical', null);
      const rows = await api.sql.query(`SELECT id, alert_id FROM alert_deliveries WHERE target_id = $1`, [targetId]);
      expect(rows.rows.map((r) => r.alert_id)).toEqual([routed.id]);
      const deliveryId = String(rows.rows[0].id);

      // 500, retried, dead after the third attempt.
      await until('the delivery to die', async () => (await deliveryStates(targetId)).dead === 1);
      expect(received).toHaveLength(3);
      const dead = await call('GET', `alert-deliveries?state=dead&targetId=${targetId}`);
      expect(dead.body.items).toHaveLength(1);
      expect(dead.body.items[0]).toMatchObject({ id: deliveryId, state: 'dead', attempts: 3, kind: 'create', alertId: routed.id });
      expect(dead.body.items[0].lastError).toContain('webhook answered 500');

      // Every attempt is signed over its timestamp and body, and carries the same delivery id (receivers dedupe by it).
      for (const r of received) {
        const timestamp = r.headers['x-xspectre-timestamp'] as string;
        const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${r.body}`).digest('hex')}`;
        expect(r.headers['x-xspectre-signature']).toBe(expected);
        expect(r.headers['x-xspectre-delivery']).toBe(deliveryId);
        const payload = JSON.parse(r.body);
        expect(payload).toMatchObject({
          deliveryId,
          kind: 'create',
          sequence: 1,
          consoleUrl: `https://console.example.test/alerts/${routed.id}`,
        });
        expect(payload.alert.id).toBe(routed.id);
      }
      // A signature made with another secret does not verify.
      const forged = `sha256=${createHmac('sha256', 'another-secret').update(`${received[0]!.headers['x-xspectre-timestamp']}.${received[0]!.body}`).digest('hex')}`;
      expect(forged).not.toBe(received[0]!.headers['x-xspectre-signature']);

      // Retry: back to pending, delivered once the receiver answers 200.
      answer = 204;
      const retried = await call('POST', `alert-deliveries/${deliveryId}/retry`);
      expect(retried.status, retried.text).toBe(200);
      expect(retried.body).toMatchObject({ id: deliveryId, state: 'pending', attempts: 0 });
      await until('the retried delivery', async () => (await deliveryStates(targetId)).done === 1);
      expect(received).toHaveLength(4);
      const audit = await api.auditRows(`action = 'alert_delivery.retry'`);
      expect(audit.at(-1)).toMatchObject({ resource_id: deliveryId, result: 'success' });
      // Only dead rows are retried.
      const again = await call('POST', `alert-deliveries/${deliveryId}/retry`);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('ALERT_DELIVERY_NOT_DEAD');
      expect((await call('POST', 'alert-deliveries/999999999/retry')).status).toBe(404);

      // Acknowledge and resolve follow the create, in sequence.
      await acknowledge(routed);
      await resolve(routed, 'auto');
      await until('acknowledge and resolve', async () => (await deliveryStates(targetId)).done === 3);
      expect(received.slice(4).map((r) => JSON.parse(r.body).kind)).toEqual(['acknowledge', 'resolve']);
      expect(received.slice(4).map((r) => JSON.parse(r.body).sequence)).toEqual([2, 3]);

      // "Send test": a signed POST of kind test.
      const tested = await call('POST', `alert-targets/${targetId}/test`);
      expect(tested.body).toMatchObject({ ok: true, status: 204 });
      expect(JSON.parse(received.at(-1)!.body).kind).toBe('test');

      // The address is checked again at send time (DNS may change): without the permission, loopback is refused.
      await api.sql.query(`UPDATE alert_targets SET allow_private_address = false WHERE id = $1`, [targetId]);
      const refused = await call('POST', `alert-targets/${targetId}/test`);
      expect(refused.body.ok).toBe(false);
      expect(refused.body.message).toContain('127.0.0.1 is loopback');

      const deleted = await call('DELETE', `alert-targets/${targetId}`);
      expect(deleted.status).toBe(200);
      expect((await api.sql.query(`SELECT 1 FROM alert_deliveries WHERE target_id = $1`, [targetId])).rowCount).toBe(0);
      expect((await call('DELETE', `alert-targets/${targetId}`)).status).toBe(404);
    } finally {
      await worker.stop();
      await new Promise((r) => receiver.close(r));
    }
  });

  it('refuses targets on loopback, link-local, private and overlay addresses unless allowed, naming the address', async () => {
    const refusedUrls: Array<[string, string]> = [
      ['http://127.0.0.1:8080', '127.0.0.1 is loopback'],
      ['http://169.254.169.254/latest', '169.254.169.254 is link-local'],
      ['http://10.10.0.5/hook', '10.10.0.5 is in the overlay network 10.10.0.0/24'],
      ['http://192.168.1.10/hook', '192.168.1.10 is private (RFC 1918)'],
      ['http://[::1]:9000/', '::1 is loopback'],
      ['http://[fd00::1]/', 'fd00::1 is private (ULA)'],
      ['http://0.0.0.0/', '0.0.0.0 is unspecified'],
      ['http://localhost:3000/', 'localhost resolves to'],
    ];
    for (const [url, message] of refusedUrls) {
      const reply = await call('POST', 'alert-targets', webhookBody(url, { allowPrivateAddress: false }));
      expect(reply.status, url).toBe(400);
      expect(reply.body.code).toBe('ALERT_TARGET_ADDRESS_REFUSED');
      expect(reply.body.detail).toContain(message);
      expect(reply.body.errors[0].path).toBe('body.config.url');
    }
    const bs = await call('POST', 'alert-targets', betterStackBody('http://127.0.0.1:1', { allowPrivateAddress: false }));
    expect(bs.status).toBe(400);
    expect(bs.body.detail).toContain('config.baseUrl: 127.0.0.1 is loopback');

    // Allowed explicitly; then taking the permission away is refused while the URL is loopback.
    const allowed = await call('POST', 'alert-targets', webhookBody('http://127.0.0.1:9/x', { enabled: false }));
    expect(allowed.status).toBe(201);
    const revoke = await call('PATCH', `alert-targets/${allowed.body.id}`, { allowPrivateAddress: false });
    expect(revoke.status).toBe(400);
    expect(revoke.body.detail).toContain('127.0.0.1 is loopback');
    const moved = await call('PATCH', `alert-targets/${allowed.body.id}`, {
      config: { url: 'http://10.0.0.1/x' },
      allowPrivateAddress: false,
    });
    expect(moved.status).toBe(400);
    expect(moved.body.detail).toContain('10.0.0.1 is private (RFC 1918)');
    const badConfig = await call('PATCH', `alert-targets/${allowed.body.id}`, { config: { url: 'ftp://example.test/' } });
    expect(badConfig.status).toBe(400);
    expect(badConfig.body.errors[0].path).toBe('body.config.url');
    const wrongKindConfig = await call('PATCH', `alert-targets/${allowed.body.id}`, { config: { baseUrl: 'https://uptime.example.test' } });
    expect(wrongKindConfig.status).toBe(400);
    // A secret replaced shows its new hint only.
    const rotated = await call('PATCH', `alert-targets/${allowed.body.id}`, { secret: 'new-secret-value-9876' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secretHint).toBe('9876');
    expect((await call('PATCH', `alert-targets/${randomUUID()}`, { enabled: true })).status).toBe(404);
    expect((await call('POST', `alert-targets/${randomUUID()}/test`)).status).toBe(404);
    await call('DELETE', `alert-targets/${allowed.body.id}`);
  });

  it('refuses bad target input with the field named', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        'bad email',
        betterStackBody('http://127.0.0.1:1', {
          config: { baseUrl: 'http://127.0.0.1:1', requesterEmail: 'not-an-email', policy: POLICY },
        }),
        'body.config.requesterEmail',
      ],
      ['unknown kind', { ...webhookBody('http://127.0.0.1:1'), kind: 'pagerduty' }, 'body.kind'],
      ['secret too short', webhookBody('http://127.0.0.1:1', { secret: 'short' }), 'body.secret'],
      ['token too short', betterStackBody('http://127.0.0.1:1', { token: 'abc' }), 'body.token'],
      [
        'no severities',
        webhookBody('http://127.0.0.1:1', { routing: { severities: [], organizationIds: null } }),
        'body.routing.severities',
      ],
      [
        'unknown severity',
        webhookBody('http://127.0.0.1:1', { routing: { severities: ['fatal'], organizationIds: null } }),
        'body.routing.severities.0',
      ],
      ['not a URL', webhookBody('not a url'), 'body.config.url'],
      [
        'policy missing a severity',
        betterStackBody('http://127.0.0.1:1', {
          config: { baseUrl: 'http://127.0.0.1:1', requesterEmail: 'a@b.test', policy: { critical: POLICY.critical } },
        }),
        'body.config.policy.warning',
      ],
    ];
    for (const [what, body, path] of cases) {
      const reply = await call('POST', 'alert-targets', body);
      expect(reply.status, what).toBe(400);
      expect(reply.body.code, what).toBe('VALIDATION_FAILED');
      expect(
        reply.body.errors.map((e: { path: string }) => e.path),
        what,
      ).toContain(path);
    }
    const badQuery = await call('GET', 'alert-deliveries?state=lost');
    expect(badQuery.status).toBe(400);
    expect((await call('POST', 'alert-deliveries/abc/retry')).status).toBe(400);
  });

  it('SOC operators and read-only users may not touch targets or deliveries', async () => {
    const target = await call('POST', 'alert-targets', webhookBody('http://127.0.0.1:9/x', { enabled: false }));
    const id = target.body.id as string;
    for (const token of [soc, readOnly]) {
      const attempts = [
        await call('GET', 'alert-targets', undefined, token),
        await call('POST', 'alert-targets', webhookBody('http://127.0.0.1:9/y'), token),
        await call('PATCH', `alert-targets/${id}`, { enabled: true }, token),
        await call('DELETE', `alert-targets/${id}`, undefined, token),
        await call('POST', `alert-targets/${id}/test`, undefined, token),
        await call('GET', 'alert-deliveries', undefined, token),
        await call('POST', 'alert-deliveries/1/retry', undefined, token),
      ];
      expect(attempts.map((a) => a.status)).toEqual(Array(7).fill(403));
    }
    await call('DELETE', `alert-targets/${id}`);
  });

  it('the token and the webhook secret appear in no answer, audit row or log line', async () => {
    const list = await call('GET', 'alert-targets');
    expect(list.status).toBe(200);
    const audit = JSON.stringify(await api.auditRows(`action LIKE 'alert_target.%' OR action LIKE 'alert_delivery.%'`));
    expect(audit).toContain('alert_target.create');
    expect(audit).toContain('[redacted]');
    // Something was captured: the deliveries' failures were logged.
    expect(logLines.some((l) => l.includes('alert delivery failed'))).toBe(true);
    for (const secret of [TOKEN, WEBHOOK_SECRET, 'new-secret-value-9876']) {
      expect(responses.filter((r) => r.includes(secret))).toEqual([]);
      expect(audit).not.toContain(secret);
      expect(logLines.filter((l) => l.includes(secret))).toEqual([]);
    }
    // Sealed at rest, too.
    const stored = JSON.stringify((await api.sql.query(`SELECT * FROM alert_targets`)).rows);
    expect(stored).not.toContain(WEBHOOK_SECRET);
    expect(stored).not.toContain(TOKEN);
  });

  it('the delivery history of alerts resolved over 30 days ago is pruned; dead letters and recent history stay', async () => {
    const target = await call('POST', 'alert-targets', webhookBody('http://127.0.0.1:9/history'));
    expect(target.status).toBe(201);
    const old = await openAlert(900, 'critical');
    const oldDead = await openAlert(901, 'critical');
    const recent = await openAlert(902, 'critical');
    const rows = async (alertId: string) =>
      Number((await api.sql.query(`SELECT count(*) AS n FROM alert_deliveries WHERE alert_id = $1`, [alertId])).rows[0].n);
    for (const [alert, resolvedDaysAgo, state] of [
      [old, 31, 'done'],
      [oldDead, 31, 'dead'],
      [recent, 1, 'done'],
    ] as const) {
      expect(await rows(alert.id)).toBeGreaterThan(0);
      await api.sql.query(`UPDATE alerts SET state = 'resolved', resolved_at = now() - make_interval(days => $2) WHERE id = $1`, [
        alert.id,
        resolvedDaysAgo,
      ]);
      await api.sql.query(`UPDATE alert_deliveries SET state = $2, done_at = now() - make_interval(days => $3) WHERE alert_id = $1`, [
        alert.id,
        state,
        resolvedDaysAgo,
      ]);
    }
    const result = await api.app.get(AlertDeliveryProcessor).sweep();
    expect(result.pruned).toBeGreaterThanOrEqual(1);
    expect(await rows(old.id)).toBe(0);
    expect(await rows(oldDead.id)).toBeGreaterThan(0);
    expect(await rows(recent.id)).toBeGreaterThan(0);
    // The alerts themselves are history and stay.
    expect((await api.request('GET', `alerts/${old.id}`, { token: admin })).body.state).toBe('resolved');
    await call('DELETE', `alert-targets/${target.body.id}`);
  });
});
