import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type Heartbeat, type ScannerStats } from '@xspectre/contracts';
import { sampleAck, sampleConfig } from '../../test/fixtures.js';
import { telemetrySource } from '../collectors/telemetry.js';
import { ApiUnreachableError } from '../http.js';
import { jsonLogger } from '../log.js';
import { heartbeatLoop } from '../run.js';
import { INITIAL_STATE, StateStore } from '../state.js';
import { parseListedContainers } from './discovery.js';
import { coreContainersOf, currentScannerIntegrator, ScannerIntegrator, scannerStatsKey, watchedProject } from './integrator.js';

const PROJECT = 'greenbone-community-edition';
const listed = (
  service: string,
  opts: { project?: string; state?: string; id?: string; mounts?: { Source: string; Destination: string }[] } = {},
) => ({
  Id: opts.id ?? `${service}-${opts.project ?? PROJECT}`,
  Names: [`/${opts.project ?? PROJECT}-${service}-1`],
  Image: `greenbone/${service}`,
  State: opts.state ?? 'running',
  Labels: { 'com.docker.compose.project': opts.project ?? PROJECT, 'com.docker.compose.service': service },
  Mounts: opts.mounts ?? [],
});

const base = (): ScannerStats =>
  ScannerStatsSchema.parse({
    collectedAt: '2026-12-04T10:00:00.000Z',
    gmp: { reachable: true, error: null, latencyMs: 12, version: '22.5', features: null },
    feeds: [],
    feedOwnerSet: true,
    scanners: [],
    tasks: [],
    tasksTruncated: false,
    totals: { tasks: 0, targets: 0, credentials: 0, reports: 0 },
  });

describe('scannerStatsKey', () => {
  it('ignores the collection time and GMP latency, and nothing else', () => {
    const a = base();
    expect(scannerStatsKey({ ...a, collectedAt: '2026-12-04T10:10:00.000Z', gmp: { ...a.gmp, latencyMs: 900 } })).toBe(scannerStatsKey(a));
    expect(scannerStatsKey({ ...a, gmp: { ...a.gmp, version: '22.6' } })).not.toBe(scannerStatsKey(a));
    expect(scannerStatsKey({ ...a, feedOwnerSet: false })).not.toBe(scannerStatsKey(a));
    expect(scannerStatsKey({ ...a, hostMemoryBytes: 1 })).not.toBe(scannerStatsKey(a));
  });
});

describe('the watched compose project', () => {
  const containers = parseListedContainers([
    listed('gvmd', { id: 'gvmd-old', state: 'exited' }),
    listed('gvmd', { id: 'gvmd-new' }),
    listed('redis-server', { id: 'redis-old', state: 'exited' }),
    listed('redis-server', { id: 'redis-new' }),
    listed('ospd-openvas', { project: 'lone' }),
  ]);

  it("is discovery's project; without gvmd found, the project with most core services; none for a systemd gvmd", () => {
    const compose = {
      method: 'compose' as const,
      composeProject: 'x',
      gvmd: 'g',
      gvmdContainerId: 'g',
      socketPath: '/s',
      coreContainers: new Map(),
    };
    expect(watchedProject(compose, containers)).toBe('x');
    expect(watchedProject(null, containers)).toBe(PROJECT);
    expect(watchedProject({ ...compose, method: 'configured', composeProject: null }, containers)).toBe(PROJECT);
    expect(watchedProject({ ...compose, method: 'systemd', composeProject: null }, containers)).toBeNull();
    expect(watchedProject(null, [])).toBeNull();
  });

  it("takes discovery's gvmd container and otherwise a running container over a stopped one", () => {
    const found = coreContainersOf(containers, PROJECT, 'gvmd-old');
    expect(found.get('gvmd')?.id).toBe('gvmd-old');
    expect(found.get('redis-server')?.id).toBe('redis-new');
    expect(found.has('ospd-openvas')).toBe(false);
    expect(coreContainersOf(containers, PROJECT, null).get('gvmd')?.id).toBe('gvmd-new');
  });
});

describe('ScannerIntegrator without Docker or gvmd', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-integrator-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const make = (clock: { now: Date }, memory: { bytes: number }, configuredSocket?: string) =>
    new ScannerIntegrator({
      stateDir: dir,
      dockerSocket: join(dir, 'no-docker.sock'),
      configuredSocket,
      log: jsonLogger(() => undefined),
      now: () => clock.now,
      systemctl: () => Promise.reject(new Error('no systemd here')),
      hostMemoryBytes: () => memory.bytes,
    });

  it('reports why there is no session: no install found, or the configured socket missing', async () => {
    const clock = { now: new Date('2026-12-04T10:00:00Z') };
    const none = await make(clock, { bytes: 1000 }).poll();
    expect(none.discovery).toBeNull();
    expect(none.gmp).toMatchObject({ reachable: false, error: { code: 'socket_missing' } });
    expect(none.coreContainers).toBeUndefined();
    expect(none.hostMemoryBytes).toBe(1000);

    const configured = await make(clock, { bytes: 1000 }, join(dir, 'gvmd.sock')).poll();
    expect(configured.discovery).toEqual({ method: 'configured', composeProject: null, gvmd: null });
    expect(configured.account).toBe('none');
    expect(configured.defaultAdminPassword).toBeNull();
    expect(configured.gmp).toMatchObject({ reachable: false, error: { code: 'socket_missing' } });
    expect(ScannerStatsSchema.parse(configured)).toEqual(configured);
  });

  it('is due when changed, after refreshNow, or 10 minutes after the last acknowledgement, never before a poll', async () => {
    const clock = { now: new Date('2026-12-04T10:00:00Z') };
    const memory = { bytes: 1000 };
    const integrator = make(clock, memory);
    expect(integrator.due()).toBeNull();
    await integrator.poll();
    const first = integrator.due();
    expect(first).not.toBeNull();
    // not acknowledged: still due
    expect(integrator.due()?.key).toBe(first!.key);
    integrator.acknowledged(first!.key);
    expect(integrator.due()).toBeNull();

    clock.now = new Date('2026-12-04T10:05:00Z');
    await integrator.poll(); // unchanged (only collectedAt differs)
    expect(integrator.due()).toBeNull();
    memory.bytes = 2000;
    await integrator.poll();
    const changed = integrator.due();
    expect(changed?.scannerStats.hostMemoryBytes).toBe(2000);
    integrator.acknowledged(changed!.key);
    expect(integrator.due()).toBeNull();

    await integrator.refreshNow();
    expect(integrator.due()?.key).toBe(changed!.key); // unchanged, yet due: refreshed on request
    integrator.acknowledged(changed!.key);
    expect(integrator.due()).toBeNull();

    clock.now = new Date('2026-12-04T10:14:59Z');
    expect(integrator.due()).toBeNull();
    clock.now = new Date('2026-12-04T10:15:00Z');
    expect(integrator.due()?.key).toBe(changed!.key);
  });

  it('run() polls at once, then per interval; refreshNow() polls and restarts the wait without a second poll', async () => {
    let polls = 0;
    const integrator = new ScannerIntegrator({
      stateDir: dir,
      dockerSocket: join(dir, 'no-docker.sock'),
      log: jsonLogger(() => undefined),
      systemctl: () => Promise.reject(new Error('no systemd here')),
      hostMemoryBytes: () => ++polls,
      pollIntervalMs: 1000,
    });
    expect(currentScannerIntegrator()).toBeNull();
    const stop = new AbortController();
    const running = integrator.run(stop.signal);
    await new Promise((r) => setTimeout(r, 100));
    expect(polls).toBe(1);
    expect(currentScannerIntegrator()).toBe(integrator);
    const refreshed = await integrator.refreshNow();
    expect(refreshed.hostMemoryBytes).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(polls).toBe(2); // woken, but waits a whole interval again
    await new Promise((r) => setTimeout(r, 900));
    expect(polls).toBe(3);
    stop.abort();
    await running;
    expect(currentScannerIntegrator()).toBeNull();
  });

  it('rides on heartbeats: kept while a heartbeat is not acknowledged, then not re-sent unchanged', async () => {
    const clock = { now: new Date('2026-12-04T10:00:00Z') };
    const integrator = make(clock, { bytes: 1000 });
    await integrator.poll();
    const log = jsonLogger(() => undefined);
    const shutdown = new AbortController();
    const sent: Heartbeat[] = [];
    let calls = 0;
    await heartbeatLoop({
      config: sampleConfig(),
      store: new StateStore(dir),
      state: INITIAL_STATE,
      log,
      shutdown: shutdown.signal,
      now: () => clock.now,
      uptimeSeconds: () => 5,
      telemetry: telemetrySource({ scanner: integrator }, log),
      sleep: () => Promise.resolve(),
      send: (_config, hb) => {
        sent.push(hb);
        calls++;
        if (calls === 3) shutdown.abort();
        if (calls === 1) return Promise.reject(new ApiUnreachableError('http://10.10.0.1:3000/api/v1/agent/heartbeats', 'ECONNREFUSED'));
        return Promise.resolve(sampleAck({ lastSequence: hb.sequence }));
      },
    });
    expect(sent.map((hb) => hb.scannerStats !== undefined)).toEqual([true, true, false]);
    expect(sent[1]?.scannerStats).toEqual(integrator.latest());
  });
});
