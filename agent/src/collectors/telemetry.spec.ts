import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeartbeatSchema, type Heartbeat } from '@xspectre/contracts';
import { sampleAck, sampleConfig } from '../../test/fixtures.js';
import { buildHeartbeat } from '../heartbeat.js';
import { ApiUnreachableError } from '../http.js';
import { jsonLogger } from '../log.js';
import { heartbeatLoop } from '../run.js';
import { INITIAL_STATE, StateStore } from '../state.js';
import { DockerCollector } from './docker.js';
import { InventoryTracker } from './inventory.js';
import { ServicesCollector } from './services.js';
import { SystemCollector } from './system.js';
import { telemetrySource } from './telemetry.js';

describe('telemetry in heartbeats', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-tel-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a contract-valid heartbeat from the real collectors', async () => {
    const log = jsonLogger(() => undefined);
    const source = telemetrySource(
      {
        metrics: new SystemCollector(),
        services: new ServicesCollector(['ssh.service'], log),
        docker: new DockerCollector(join(dir, 'no-docker.sock')),
        inventory: new InventoryTracker(dir),
      },
      log,
    );
    const { telemetry } = await source.collect();
    const heartbeat = buildHeartbeat(sampleConfig().deviceId, 1, new Date(), 10, telemetry);
    expect(HeartbeatSchema.parse(heartbeat)).toEqual(heartbeat);
    expect(heartbeat.metrics?.memory.totalBytes).toBeGreaterThan(0);
    expect(Array.isArray(heartbeat.services)).toBe(true);
    expect(heartbeat.docker).toEqual({ status: 'not_installed' });
    expect(heartbeat.inventory?.cpu.cores).toBeGreaterThan(0);
  });

  it('leaves out a collector that throws or hangs, logs it, and still sends', async () => {
    const lines: string[] = [];
    const log = jsonLogger((l) => lines.push(l));
    const source = telemetrySource(
      {
        metrics: { collect: () => Promise.reject(new Error('proc unreadable')) },
        services: { collect: () => new Promise(() => undefined) },
        docker: { collect: () => Promise.resolve({ status: 'not_installed' as const }) },
      },
      log,
      50,
    );
    const store = new StateStore(dir);
    const shutdown = new AbortController();
    const sent: Heartbeat[] = [];
    await heartbeatLoop({
      config: sampleConfig(),
      store,
      state: INITIAL_STATE,
      log,
      shutdown: shutdown.signal,
      now: () => new Date(),
      uptimeSeconds: () => 5,
      telemetry: source,
      sleep: () => Promise.resolve(),
      send: (_config, hb) => {
        sent.push(hb);
        shutdown.abort();
        return Promise.resolve(sampleAck({ lastSequence: hb.sequence }));
      },
    });
    expect(sent).toHaveLength(1);
    expect(HeartbeatSchema.safeParse(sent[0]).success).toBe(true);
    expect(sent[0]).not.toHaveProperty('metrics');
    expect(sent[0]).not.toHaveProperty('services');
    expect(sent[0]?.docker).toEqual({ status: 'not_installed' });
    const failures = lines
      .map((l) => JSON.parse(l) as { msg: string; collector?: string })
      .filter((l) => l.msg.startsWith('collector failed'));
    expect(failures.map((f) => f.collector).sort()).toEqual(['metrics', 'services']);
  });

  it('records the inventory only after the heartbeat carrying it was acknowledged', async () => {
    const log = jsonLogger(() => undefined);
    const inventory = new InventoryTracker(dir);
    const source = telemetrySource({ inventory }, log);
    const store = new StateStore(dir);
    const shutdown = new AbortController();
    const sent: Heartbeat[] = [];
    let calls = 0;
    await heartbeatLoop({
      config: sampleConfig(),
      store,
      state: INITIAL_STATE,
      log,
      shutdown: shutdown.signal,
      now: () => new Date(),
      uptimeSeconds: () => 5,
      telemetry: source,
      sleep: () => Promise.resolve(),
      send: (_config, hb) => {
        sent.push(hb);
        calls++;
        if (calls === 3) shutdown.abort();
        if (calls === 1) return Promise.reject(new ApiUnreachableError('http://10.10.0.1:3000/api/v1/agent/heartbeats', 'ECONNREFUSED'));
        return Promise.resolve(sampleAck({ lastSequence: hb.sequence }));
      },
    });
    // the first was not delivered, so the second carries it again; the third does not
    expect(sent.map((hb) => hb.inventory !== undefined)).toEqual([true, true, false]);
  });
});
