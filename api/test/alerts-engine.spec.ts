import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '@xspectre/contracts';
import { AlertEvaluator } from '../src/alerts/alert-evaluator.js';
import { HeartbeatAlerts } from '../src/alerts/heartbeat-alerts.js';
import { writeServedBuild } from './support/agent-builds.js';
import { createOrganizationSite, enrollDeviceAt, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';
import type { TestApi } from './support/harness.js';
import { runMaintenanceJob } from './support/worker-job.js';
import { evaluateThroughEvents } from './support/alert-outbox.js';

/**
 * The alert engine through its real parts: heartbeats over the agent route, the per-heartbeat
 * tracker, the evaluation job (run with a clock moved forward where a rule's duration must
 * pass), device events through the outbox, and the alert routes.
 */
describe('alert engine', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let buildDir: string;
  let seq = 0;

  const metrics = (cpu: number, mounts: Array<[string, number]> = [['/', 25]], swapPercent = 0) => ({
    cpuPercent: cpu,
    load: [0.5, 0.4, 0.3] as [number, number, number],
    memory: { totalBytes: 4e9, usedBytes: 1e9, swapTotalBytes: 1e9, swapUsedBytes: swapPercent * 1e7 },
    mounts: mounts.map(([mountpoint, pct]) => ({
      mountpoint,
      device: '/dev/vda1',
      fsType: 'ext4',
      totalBytes: 1000,
      usedBytes: pct * 10,
      inodesTotal: 100,
      inodesUsed: 5,
    })),
    network: [],
  });
  const beat = async (device: { id: string; credential: string }, extra: Partial<Heartbeat> = {}) => {
    const r = await api.request('POST', 'agent/heartbeats', { token: device.credential, body: testHeartbeat(device.id, ++seq, extra) });
    expect(r.status).toBe(200);
    await api.app.get(HeartbeatAlerts).idle();
  };
  /** One evaluation, `ahead` seconds in the future (a rule's duration passing without waiting for it). */
  const evaluate = (ahead = 0) => api.app.get(AlertEvaluator).run(new Date(Date.now() + ahead * 1000));
  const alertsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT id, rule_key, kind, severity, state, subject, title, details, silenced, resolution, resolve_note FROM alerts WHERE device_id = $1 ORDER BY opened_at, rule_key, subject`,
        [deviceId],
      )
    ).rows;
  /** Device state rules fire in every test that moves the clock past their durations: left out unless asked for. */
  const COLLATERAL = ['device-offline', 'tunnel-stale', 'agent-outdated'];
  const unresolved = async (deviceId: string, keys?: string[]) =>
    (await alertsOf(deviceId)).filter(
      (a) => a.state !== 'resolved' && (keys ? keys.includes(a.rule_key) : !COLLATERAL.includes(a.rule_key)),
    );
  const conditionsOf = async (deviceId: string) =>
    (
      await api.sql.query(
        `SELECT c.subject FROM alert_conditions c JOIN alert_rules r ON r.id = c.rule_id WHERE c.device_id = $1 AND r.kind IN ('metric', 'unit', 'container') ORDER BY c.subject`,
        [deviceId],
      )
    ).rows;
  const place = async (name: string, kind: 'customer' | 'internal' = 'customer') => createOrganizationSite(api, admin, name, kind);
  const device = async (where: { organizationId: string; siteId: string }, name: string) => {
    const d = await enrollDeviceAt(api, admin, where, name);
    await beat(d, { metrics: metrics(5) });
    return d;
  };

  beforeAll(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'alerts-build-'));
    // The served agent build: devices enrolled as 0.1.0 are behind it.
    await writeServedBuild(buildDir, Buffer.from('#!/bin/sh\necho agent\n'), {
      version: '0.2.0',
      buildId: createHash('sha256').update('alerts-build').digest('hex'),
    });
    ({ api, hub } = await startApiWithLabHub({ API_AGENT_DIST_DIR: buildDir }));
    admin = await api.adminToken();
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  it('ships the default rules, fifty-six of them (twenty-six scanner rules), enabled where they make sense', async () => {
    const r = await api.request('GET', 'alert-rules', { token: admin });
    expect(r.status).toBe(200);
    const keys = r.body.items.map((x: { key: string }) => x.key);
    expect(keys).toHaveLength(56);
    expect(keys).toEqual(
      expect.arrayContaining([
        'cpu-high',
        'device-offline',
        'fingerprint-changed',
        'fleet-offline-critical',
        'backup-failed',
        'backup-overdue',
        'backup-check-failed',
        'backup-quota',
        'backup-pool',
        'backup-scrub-errors',
        'ssh-host-key-changed',
        'disk-image-failed',
        'disk-image-overdue',
        'disk-smart-failed',
      ]),
    );
    expect(r.body.items.find((x: { key: string }) => x.key === 'load-high').enabled).toBe(false);
  });

  it('a metric threshold opens after its duration, once, holds through the hysteresis band and resolves itself', async () => {
    const d = await device(await place('Metric Co'), 'metric-1');
    await beat(d, { metrics: metrics(97) });
    expect(await conditionsOf(d.id)).toEqual([{ subject: '' }]);
    await evaluate(60);
    expect(await unresolved(d.id)).toEqual([]); // cpu-high holds for 300 s
    await evaluate(301);
    await evaluate(320);
    const open = await unresolved(d.id);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ rule_key: 'cpu-high', severity: 'warning', state: 'open', subject: '' });
    expect(open[0].title).toContain('cpu 97');
    // 85 % is below the threshold but above the clear level (80): still breaching, nothing changes.
    await beat(d, { metrics: metrics(85) });
    await evaluate(330);
    expect(await unresolved(d.id)).toHaveLength(1);
    await beat(d, { metrics: metrics(40) });
    expect(await conditionsOf(d.id)).toEqual([]);
    await evaluate();
    const all = (await alertsOf(d.id)).filter((a) => a.kind === 'metric');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ state: 'resolved', resolution: 'auto' });
  });

  it('disk rules judge each mount; a mount that disappears clears', async () => {
    const d = await device(await place('Disk Co'), 'disk-1');
    await beat(d, {
      metrics: metrics(5, [
        ['/', 30],
        ['/data', 96],
      ]),
    });
    await evaluate(301);
    const open = await unresolved(d.id);
    expect(open.map((a) => [a.rule_key, a.subject, a.severity])).toEqual(
      expect.arrayContaining([
        ['disk-high', '/data', 'warning'],
        ['disk-critical', '/data', 'critical'],
      ]),
    );
    expect(open).toHaveLength(2);
    await beat(d, { metrics: metrics(5, [['/', 30]]) });
    await evaluate();
    expect(await unresolved(d.id)).toEqual([]);
  });

  it('failed units, watched units not active, stopped, unhealthy and restarting containers raise and clear', async () => {
    const d = await device(await place('Units Co'), 'units-1');
    const unit = (name: string, activeState: string, watched: boolean) => ({
      unit: name,
      activeState,
      subState: activeState === 'active' ? 'running' : 'dead',
      since: null,
      watched,
    });
    const container = (name: string, state: string, health: string | null, restartCount: number) => ({
      id: name,
      name,
      image: `${name}:1`,
      state,
      health,
      restartCount,
      cpuPercent: null,
      memoryBytes: null,
    });
    await beat(d, {
      services: [unit('ospd.service', 'failed', false), unit('gvmd.service', 'inactive', true), unit('ssh.service', 'active', true)],
      docker: {
        status: 'ok',
        containers: [
          container('redis', 'exited', null, 0),
          container('gsa', 'running', 'unhealthy', 0),
          container('pg', 'running', null, 1),
        ],
      },
    });
    await beat(d, {
      services: [unit('ospd.service', 'failed', false), unit('gvmd.service', 'inactive', true), unit('ssh.service', 'active', true)],
      docker: {
        status: 'ok',
        containers: [
          container('redis', 'exited', null, 0),
          container('gsa', 'running', 'unhealthy', 0),
          container('pg', 'running', null, 5),
        ],
      },
    });
    await evaluate(121);
    expect((await unresolved(d.id)).map((a) => `${a.rule_key} ${a.subject}`).sort()).toEqual([
      'container-not-running redis',
      'container-restarting pg',
      'container-unhealthy gsa',
      'unit-failed ospd.service',
      'unit-not-active gvmd.service',
    ]);
    // All well again; the failed unit is no longer reported at all (the agent reports unwatched units only when failed).
    await beat(d, {
      services: [unit('gvmd.service', 'active', true), unit('ssh.service', 'active', true)],
      docker: {
        status: 'ok',
        containers: [
          container('redis', 'running', null, 0),
          container('gsa', 'running', 'healthy', 0),
          container('pg', 'running', null, 5),
        ],
      },
    });
    await evaluate(121);
    // Five restarts within the last 15 minutes still count as restarting repeatedly until the window has passed.
    expect((await unresolved(d.id)).map((a) => `${a.rule_key} ${a.subject}`)).toEqual(['container-restarting pg']);
    expect((await alertsOf(d.id)).filter((a) => a.state === 'resolved').every((a) => a.resolution === 'auto')).toBe(true);
  });

  it('a device silent past the offline rule raises "offline" and its next heartbeat resolves it', async () => {
    const d = await device(await place('Offline Co'), 'off-1');
    await evaluate(200);
    expect(await unresolved(d.id, ['device-offline'])).toEqual([]);
    await evaluate(301);
    const off = await unresolved(d.id, ['device-offline']);
    expect(off).toHaveLength(1);
    expect(off[0].severity).toBe('critical');
    await beat(d, { metrics: metrics(5) });
    await evaluate();
    expect((await alertsOf(d.id)).find((a) => a.rule_key === 'device-offline')).toMatchObject({ state: 'resolved', resolution: 'auto' });
  });

  it('a stale tunnel handshake and an agent behind the served build raise their alerts', async () => {
    const d = await device(await place('Tunnel Co'), 'tun-1');
    await evaluate(601);
    expect(await unresolved(d.id, ['tunnel-stale'])).toHaveLength(1);
    await api.sql.query(`UPDATE devices SET last_handshake_at = now() + interval '700 seconds' WHERE id = $1`, [d.id]);
    await evaluate(601);
    expect(await unresolved(d.id, ['tunnel-stale'])).toEqual([]);
    // Agent 0.1.0, served 0.2.0: a condition from the first evaluation that saw it, an alert a day later.
    expect(await unresolved(d.id, ['agent-outdated'])).toEqual([]);
    await evaluate(601 + 86_401);
    const outdated = (await unresolved(d.id, ['agent-outdated']))[0];
    expect(outdated).toMatchObject({ severity: 'info' });
    expect(outdated.title).toContain('0.2.0');
  });

  it('device events alert once; fingerprint.accepted resolves the fingerprint alert', async () => {
    const d = await device(await place('Events Co'), 'ev-1');
    const gap = { fromSequence: 1, toSequence: 9, droppedCount: 9 };
    await beat(d, { journalGap: gap });
    await beat(d, { journalGap: { fromSequence: 10, toSequence: 12, droppedCount: 3 } });
    await api.sql.query(
      `INSERT INTO device_events (device_id, type, severity, at, details) VALUES ($1, 'fingerprint.changed', 'critical', now(), '{}')`,
      [d.id],
    );
    await evaluateThroughEvents(api);
    const open = await unresolved(d.id);
    expect(open.map((a) => [a.rule_key, a.severity])).toEqual(
      expect.arrayContaining([
        ['journal-gap', 'warning'],
        ['fingerprint-changed', 'critical'],
      ]),
    );
    // Two gaps, one open alert: a condition never opens a second alert while one is open.
    expect(open.filter((a) => a.rule_key === 'journal-gap')).toHaveLength(1);
    await api.sql.query(
      `INSERT INTO device_events (device_id, type, severity, at, details) VALUES ($1, 'fingerprint.accepted', 'info', now(), '{}')`,
      [d.id],
    );
    await evaluateThroughEvents(api);
    expect((await alertsOf(d.id)).find((a) => a.rule_key === 'fingerprint-changed')).toMatchObject({
      state: 'resolved',
      resolution: 'auto',
    });
  });

  it('an event whose transaction commits after a later one still alerts (the outbox cursor skips nothing)', async () => {
    const where = await place('Outbox Co');
    const early = await device(where, 'ob-early');
    const late = await device(where, 'ob-late');
    const held = new pg.Client({ connectionString: api.config.DB_URL });
    held.on('error', () => undefined);
    await held.connect();
    try {
      await held.query('BEGIN');
      // Takes its id first, commits last.
      await held.query(
        `INSERT INTO device_events (device_id, type, severity, at, details) VALUES ($1, 'hardware.changed', 'info', now(), '{}')`,
        [early.id],
      );
      await api.sql.query(
        `INSERT INTO device_events (device_id, type, severity, at, details) VALUES ($1, 'hardware.changed', 'info', now(), '{}')`,
        [late.id],
      );
      await evaluate();
      // The later row is held back too while the earlier transaction is open: reading it would move the cursor past the earlier one.
      expect((await unresolved(early.id)).map((a) => a.rule_key)).not.toContain('hardware-changed');
      await held.query('COMMIT');
    } finally {
      await held.end();
    }
    await evaluateThroughEvents(api);
    expect((await unresolved(early.id)).map((a) => a.rule_key)).toContain('hardware-changed');
    expect((await unresolved(late.id)).map((a) => a.rule_key)).toContain('hardware-changed');
  });

  it('a replayed backlog opens and resolves nothing', async () => {
    const d = await device(await place('Replay Co'), 'rp-1');
    const old = new Date(Date.now() - 3600_000).toISOString();
    await beat(d, { sentAt: old, metrics: metrics(99, [['/', 99]]) });
    expect(await conditionsOf(d.id)).toEqual([]);
    await evaluate(301);
    expect((await unresolved(d.id)).filter((a) => a.kind === 'metric')).toEqual([]);
  });

  it('the most specific rule of a key wins: organization over global, a disabled device rule mutes it', async () => {
    const where = await place('Scope Co');
    const a = await device(where, 'sc-a');
    const b = await device(where, 'sc-b');
    const create = (body: object) => api.request('POST', 'alert-rules', { token: admin, body });
    const org = await create({
      key: 'cpu-high',
      name: 'CPU busy (Scope Co)',
      kind: 'metric',
      params: { metric: 'cpu', threshold: 50, clearBelow: 40, forSeconds: 0 },
      severity: 'critical',
      scope: { kind: 'organization', id: where.organizationId },
    });
    expect(org.status).toBe(201);
    const mute = await create({
      key: 'cpu-high',
      name: 'CPU busy (sc-b muted)',
      kind: 'metric',
      params: { metric: 'cpu', threshold: 50, forSeconds: 0 },
      severity: 'critical',
      enabled: false,
      scope: { kind: 'device', id: b.id },
    });
    expect(mute.status).toBe(201);
    await beat(a, { metrics: metrics(60) });
    await beat(b, { metrics: metrics(60) });
    await evaluate();
    expect((await unresolved(a.id)).map((x) => [x.rule_key, x.severity])).toEqual([['cpu-high', 'critical']]);
    expect(await unresolved(b.id)).toEqual([]);
    // The organization's rule removed: the global one (90 %) is in force again, and 60 % does not breach it.
    expect((await api.request('DELETE', `alert-rules/${org.body.id}`, { token: admin })).status).toBe(200);
    await api.sql.query(`UPDATE alert_rules SET updated_at = now() WHERE key = 'cpu-high' AND scope_kind = 'global'`);
    await new Promise((r) => setTimeout(r, 5_100)); // the rule book's refresh interval
    await beat(a, { metrics: metrics(60) });
    await evaluate();
    expect(await unresolved(a.id)).toEqual([]);
  });

  it('a silence records the alert without delivering it; ending it delivers what is still open', async () => {
    const where = await place('Silence Co');
    const d = await device(where, 'si-1');
    const target = await api.request('POST', 'alert-targets', {
      token: admin,
      body: {
        kind: 'webhook',
        name: 'Silence hook',
        routing: { severities: ['critical', 'warning', 'info'], organizationIds: [where.organizationId], includeFleet: false },
        allowPrivateAddress: true,
        config: { url: 'http://127.0.0.1:9/never' },
        secret: 'silence-secret-123',
      },
    });
    expect(target.status).toBe(201);
    const deliveries = async () =>
      (await api.sql.query(`SELECT kind FROM alert_deliveries WHERE target_id = $1 ORDER BY id`, [target.body.id])).rows.map((r) => r.kind);
    const silence = await api.request('POST', 'silences', {
      token: admin,
      body: {
        scope: { kind: 'site', id: where.siteId },
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
        reason: 'disk swap',
      },
    });
    expect(silence.status).toBe(201);
    await beat(d, { metrics: metrics(99) });
    await evaluate(301);
    const [alert] = await unresolved(d.id);
    expect(alert).toMatchObject({ rule_key: 'cpu-high', silenced: true });
    expect(await deliveries()).toEqual([]);
    const ended = await api.request('DELETE', `silences/${silence.body.id}`, { token: admin });
    expect(ended.status).toBe(200);
    expect(ended.body.active).toBe(false);
    expect((await unresolved(d.id))[0].silenced).toBe(false);
    // Both held-back alerts of the site (cpu-high and the device-offline the clock move caused).
    expect(await deliveries()).toEqual(['create', 'create']);
    expect((await api.request('DELETE', `silences/${silence.body.id}`, { token: admin })).body.code).toBe('SILENCE_ENDED');
    expect((await api.request('DELETE', `alert-targets/${target.body.id}`, { token: admin })).status).toBe(200);
  });

  it('fleet share offline raises at its threshold and clears below the clear level', async () => {
    const where = await place('Fleet Co');
    const devices = [];
    for (let i = 0; i < 5; i++) devices.push(await device(where, `fl-${i}`));
    const rule = await api.request('POST', 'alert-rules', {
      token: admin,
      body: {
        key: 'fleet-co-offline',
        name: 'Fleet Co offline',
        kind: 'fleet_offline',
        params: { sharePercent: 40, clearBelowPercent: 20, minDevices: 5 },
        severity: 'critical',
        scope: { kind: 'organization', id: where.organizationId },
      },
    });
    expect(rule.status).toBe(201);
    const fleetAlert = async () =>
      (await api.sql.query(`SELECT state, title FROM alerts WHERE rule_key = 'fleet-co-offline' ORDER BY opened_at DESC LIMIT 1`)).rows[0];
    await new Promise((r) => setTimeout(r, 5_100)); // the rule book's refresh interval
    await api.sql.query(`UPDATE devices SET last_heartbeat_at = now() - interval '10 minutes' WHERE id = ANY($1::uuid[])`, [
      devices.slice(0, 2).map((d) => d.id),
    ]);
    await evaluate();
    expect(await fleetAlert()).toMatchObject({ state: 'open' });
    expect((await fleetAlert()).title).toContain('2 of 5');
    // 1 of 5 (20 %) is not below the clear level: still open.
    await beat(devices[0]!, { metrics: metrics(5) });
    await evaluate();
    expect(await fleetAlert()).toMatchObject({ state: 'open' });
    await beat(devices[1]!, { metrics: metrics(5) });
    await evaluate();
    expect(await fleetAlert()).toMatchObject({ state: 'resolved' });
  });

  it('acknowledge and resolve: notes, audit, live-safe states, internal alerts for Super Admins only', async () => {
    const internal = await place('Internal Ops', 'internal');
    const d = await device(internal, 'int-1');
    await beat(d, { metrics: metrics(99) });
    await evaluate(301);
    const [alert] = await unresolved(d.id);
    const soc = await api.createUser(admin, 'soc_operator');
    const socToken = await api.tokenFor(soc.email);
    const ro = await api.createUser(admin, 'read_only');
    const roToken = await api.tokenFor(ro.email);
    expect((await api.request('POST', `alerts/${alert.id}/ack`, { token: roToken, body: {} })).status).toBe(403);
    const refused = await api.request('POST', `alerts/${alert.id}/ack`, { token: socToken, body: {} });
    expect(refused.body.code).toBe('AUTH_INTERNAL_READ_ONLY');
    const ack = await api.request('POST', `alerts/${alert.id}/ack`, { token: admin, body: { note: 'looking' } });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({
      state: 'acknowledged',
      acknowledgeNote: 'looking',
      deviceName: 'int-1',
      organizationName: 'Internal Ops',
    });
    expect((await api.request('POST', `alerts/${alert.id}/ack`, { token: admin, body: {} })).body.code).toBe('ALERT_ALREADY_ACKNOWLEDGED');
    const noNote = await api.request('POST', `alerts/${alert.id}/resolve`, { token: admin, body: {} });
    expect(noNote.status).toBe(400);
    const resolved = await api.request('POST', `alerts/${alert.id}/resolve`, { token: admin, body: { note: 'runaway scan stopped' } });
    expect(resolved.body).toMatchObject({ state: 'resolved', resolution: 'manual', resolveNote: 'runaway scan stopped' });
    expect((await api.request('POST', `alerts/${alert.id}/resolve`, { token: admin, body: { note: 'again' } })).body.code).toBe(
      'ALERT_ALREADY_RESOLVED',
    );
    const audit = await api.auditRows(`action IN ('alert.acknowledge', 'alert.resolve') AND resource_id = '${alert.id}'`);
    expect(audit.map((r: { action: string; result: string }) => `${r.action} ${r.result}`)).toEqual(
      expect.arrayContaining(['alert.acknowledge success', 'alert.resolve success', 'alert.acknowledge failure']),
    );
    // Still breaching after a manual resolve: a new alert opens (the old one is closed history).
    await beat(d, { metrics: metrics(99) });
    await evaluate(301);
    expect(await unresolved(d.id)).toHaveLength(1);
    const list = await api.request('GET', `alerts?deviceId=${d.id}&state=resolved`, { token: roToken });
    expect(list.body.total).toBe(1);
    const counts = await api.request('GET', 'alerts/counts', { token: roToken });
    expect(counts.body.unresolved).toBeGreaterThanOrEqual(1);
  });

  it('the worker job evaluates as the API does: a held condition becomes an alert', async () => {
    const d = await device(await place('Worker Co'), 'wk-1');
    const rule = await api.request('POST', 'alert-rules', {
      token: admin,
      body: {
        key: 'disk-critical',
        name: 'Disk almost full (at once)',
        kind: 'metric',
        params: { metric: 'disk', threshold: 95, forSeconds: 0 },
        severity: 'critical',
        scope: { kind: 'device', id: d.id },
      },
    });
    expect(rule.status).toBe(201);
    await new Promise((r) => setTimeout(r, 5_100)); // the API's rule book refresh interval
    await beat(d, { metrics: metrics(5, [['/srv', 99]]) });
    // disk-high (global, 300 s) and this device's disk-critical (at once) both breach.
    expect(await conditionsOf(d.id)).toEqual([{ subject: '/srv' }, { subject: '/srv' }]);
    const result = await runMaintenanceJob<{ skipped: boolean; opened: number }>(api, 'maintenance.evaluate-alerts');
    expect(result.skipped).toBe(false);
    expect(result.opened).toBeGreaterThanOrEqual(1);
    expect((await unresolved(d.id)).map((a) => [a.rule_key, a.subject, a.severity])).toEqual([['disk-critical', '/srv', 'critical']]);
  });

  it('bad rule and silence input gets a clear 400 and changes nothing', async () => {
    const before = (await api.sql.query('SELECT count(*)::int AS n FROM alert_rules')).rows[0].n;
    const rule = (params: object, extra: object = {}) =>
      api.request('POST', 'alert-rules', {
        token: admin,
        body: { key: 'bad-rule', name: 'Bad', kind: 'metric', params, severity: 'warning', scope: { kind: 'global' }, ...extra },
      });
    const cases: Array<[Awaited<ReturnType<typeof rule>>, string]> = [
      [await rule({ metric: 'cpu', threshold: 150, forSeconds: 0 }), 'body.params.threshold'],
      [await rule({ metric: 'gpu', threshold: 50, forSeconds: 0 }), 'body.params.metric'],
      [await rule({ metric: 'cpu', threshold: 50, clearBelow: 60, forSeconds: 0 }), 'body.params.clearBelow'],
      [await rule({ metric: 'cpu', threshold: 50, forSeconds: -1 }), 'body.params.forSeconds'],
      [await rule({ metric: 'cpu', threshold: 50, forSeconds: 0 }, { kind: 'telepathy' }), 'body.kind'],
      [await rule({ metric: 'cpu', threshold: 50, forSeconds: 0 }, { key: 'Bad Key' }), 'body.key'],
    ];
    for (const [r, path] of cases) {
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const unknownOrg = await rule(
      { metric: 'cpu', threshold: 50, forSeconds: 0 },
      { scope: { kind: 'organization', id: '00000000-0000-4000-8000-000000000000' } },
    );
    expect(unknownOrg.status).toBe(404);
    const kindClash = await rule({ afterSeconds: 60 }, { key: 'cpu-high', kind: 'offline' });
    expect(kindClash.body.code).toBe('ALERT_RULE_KIND_MISMATCH');
    expect((await api.sql.query('SELECT count(*)::int AS n FROM alert_rules')).rows[0].n).toBe(before);
    const builtIn = (await api.sql.query(`SELECT id FROM alert_rules WHERE key = 'cpu-high' AND scope_kind = 'global'`)).rows[0].id;
    const patch = (body: object) => api.request('PATCH', `alert-rules/${builtIn}`, { token: admin, body });
    const badPatch = await patch({ params: { metric: 'cpu', threshold: 500, forSeconds: 0 } });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.errors.map((e: { path: string }) => e.path)).toContain('body.params.threshold');
    expect((await patch({})).status).toBe(400);
    expect((await patch({ kind: 'unit' })).status).toBe(400);
    expect((await api.sql.query(`SELECT params FROM alert_rules WHERE id = $1`, [builtIn])).rows[0].params.threshold).toBe(90);
    expect((await api.request('GET', 'alerts?state=bogus', { token: admin })).status).toBe(400);
    expect((await api.request('POST', 'alerts/00000000-0000-4000-8000-000000000000/ack', { token: admin, body: {} })).body.code).toBe(
      'ALERT_NOT_FOUND',
    );
    expect((await api.request('DELETE', `alert-rules/${builtIn}`, { token: admin })).body.code).toBe('ALERT_RULE_BUILT_IN');
    const where = await place('Bad Silence Co');
    const silence = (body: object) =>
      api.request('POST', 'silences', {
        token: admin,
        body: {
          scope: { kind: 'site', id: where.siteId },
          startsAt: new Date().toISOString(),
          endsAt: new Date(Date.now() + 60_000).toISOString(),
          reason: 'x',
          ...body,
        },
      });
    const endBeforeStart = await silence({ startsAt: new Date(Date.now() + 3600_000).toISOString() });
    expect(endBeforeStart.status).toBe(400);
    expect(endBeforeStart.body.errors[0]).toMatchObject({ path: 'body.endsAt', message: 'must be after startsAt' });
    expect((await silence({ reason: '' })).status).toBe(400);
    expect((await silence({ scope: { kind: 'planet', id: where.siteId } })).status).toBe(400);
    expect((await silence({ endsAt: new Date(Date.now() + 100 * 86_400_000).toISOString() })).status).toBe(400);
    expect((await silence({ scope: { kind: 'device', id: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);
    expect((await api.sql.query(`SELECT count(*)::int AS n FROM alert_silences WHERE scope_id = $1`, [where.siteId])).rows[0].n).toBe(0);
  });
});
