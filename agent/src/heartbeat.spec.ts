import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeartbeatSchema, MAX_UPTIME_SECONDS, type Heartbeat } from '@xspectre/contracts';
import { CREDENTIAL, sampleAck, sampleConfig } from '../test/fixtures.js';
import { buildHeartbeat, HeartbeatRejectedError, jitteredDelayMs } from './heartbeat.js';
import { ApiUnreachableError } from './http.js';
import { jsonLogger } from './log.js';
import { heartbeatLoop } from './run.js';
import { INITIAL_STATE, StateStore } from './state.js';
import { AGENT_VERSION } from './version.js';

describe('buildHeartbeat', () => {
  it('builds a contract-valid heartbeat', () => {
    const hb = buildHeartbeat(sampleConfig().deviceId, 42, new Date('2025-03-04T05:06:07.089Z'), 1234.9);
    expect(HeartbeatSchema.parse(hb)).toEqual({
      protocolVersion: 1,
      deviceId: sampleConfig().deviceId,
      sequence: 42,
      sentAt: '2025-03-04T05:06:07.089Z',
      agentVersion: AGENT_VERSION,
      uptimeSeconds: 1234,
    });
  });

  it('bounds the uptime as the API does (a clock gone wild must not get every heartbeat refused)', () => {
    expect(buildHeartbeat(sampleConfig().deviceId, 1, new Date(), 1e300).uptimeSeconds).toBe(MAX_UPTIME_SECONDS);
  });
});

describe('jitteredDelayMs', () => {
  it('stays within ±10 % of the interval', () => {
    expect(jitteredDelayMs(30, () => 0)).toBe(27_000);
    expect(jitteredDelayMs(30, () => 0.5)).toBe(30_000);
    expect(jitteredDelayMs(30, () => 0.999999)).toBeLessThanOrEqual(33_000);
    for (let i = 0; i < 100; i++) {
      const delay = jitteredDelayMs(60);
      expect(delay).toBeGreaterThanOrEqual(54_000);
      expect(delay).toBeLessThanOrEqual(66_000);
    }
  });
  it('clamps the interval to 5..3600 s', () => {
    expect(jitteredDelayMs(1, () => 0.5)).toBe(5000);
    expect(jitteredDelayMs(100_000, () => 0.5)).toBe(3_600_000);
  });
});

describe('heartbeatLoop', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-loop-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the loop with a fake transport; `plan` answers heartbeat i (0-based) and the loop stops after the last. */
  async function runLoop(plan: ((hb: Heartbeat) => Promise<ReturnType<typeof sampleAck>>)[], startSequence = 0) {
    const store = new StateStore(dir);
    if (startSequence > 0) await store.save({ sequence: startSequence, lastAck: null });
    const shutdown = new AbortController();
    const sent: { heartbeat: Heartbeat; persistedSequence: number }[] = [];
    const lines: string[] = [];
    const delays: number[] = [];
    const final = await heartbeatLoop({
      config: sampleConfig({ heartbeatIntervalSeconds: 5 }),
      store,
      state: (await store.load()).state,
      log: jsonLogger((line) => lines.push(line)),
      shutdown: shutdown.signal,
      now: () => new Date(),
      uptimeSeconds: () => 100,
      random: () => 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
      send: async (_config, heartbeat) => {
        const persisted = JSON.parse(await readFile(store.file, 'utf8')) as { sequence: number };
        sent.push({ heartbeat, persistedSequence: persisted.sequence });
        const answer = plan[sent.length - 1];
        if (sent.length >= plan.length) shutdown.abort(); // stop instead of sleeping
        if (!answer) throw new Error('unplanned heartbeat');
        return answer(heartbeat);
      },
    });
    return { sent, lines, final, store, delays };
  }

  const ack = (hb: Heartbeat) => Promise.resolve(sampleAck({ lastSequence: hb.sequence, heartbeatIntervalSeconds: 5 }));

  it('persists each sequence number before sending it and records the acknowledgement', async () => {
    const { sent, final, lines } = await runLoop([ack]);
    expect(sent).toEqual([{ heartbeat: expect.objectContaining({ sequence: 1 }), persistedSequence: 1 }]);
    expect(final.lastAck?.sequence).toBe(1);
    const persisted = (await new StateStore(dir).load()).state;
    expect(persisted).toEqual(final);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['agent started', 'heartbeat acknowledged', 'agent stopped']);
    expect(lines.join('')).not.toContain(CREDENTIAL);
  });

  it('goes on after failures and never reuses a sequence number', async () => {
    const unreachable = () => Promise.reject(new ApiUnreachableError('http://10.10.0.1:3000/api/v1/agent/heartbeats', 'ECONNREFUSED'));
    const rejected = () => Promise.reject(new HeartbeatRejectedError(401, 'AUTH_INVALID_CREDENTIAL', 'bad credential'));
    const first = await runLoop([unreachable, ack], 10);
    expect(first.sent.map((s) => [s.heartbeat.sequence, s.persistedSequence])).toEqual([
      [11, 11],
      [12, 12],
    ]);
    expect(first.lines.map((l) => JSON.parse(l).msg)).toContain('heartbeat not delivered: API unreachable');
    expect(first.delays[0]).toBe(4500); // 5 s −10 % (random 0)

    const second = await runLoop([rejected]);
    expect(second.sent[0]?.heartbeat.sequence).toBe(13);
    expect(second.final.lastAck?.sequence).toBe(12);
    expect(second.lines.some((l) => JSON.parse(l).code === 'AUTH_INVALID_CREDENTIAL')).toBe(true);
  });

  it('stops at once when shut down before the first heartbeat', async () => {
    const shutdown = new AbortController();
    shutdown.abort();
    const final = await heartbeatLoop({
      config: sampleConfig(),
      store: new StateStore(dir),
      state: INITIAL_STATE,
      log: jsonLogger(() => undefined),
      shutdown: shutdown.signal,
      now: () => new Date(),
      uptimeSeconds: () => 1,
      send: () => Promise.reject(new Error('must not send')),
    });
    expect(final).toEqual(INITIAL_STATE);
  });
});
