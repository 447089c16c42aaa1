import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sampleAck, sampleConfig } from '../test/fixtures.js';
import { jitteredDelayMs } from './heartbeat.js';
import { jsonLogger } from './log.js';
import { heartbeatLoop } from './run.js';
import { StateStore } from './state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xspectre-interval-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("an interval set by settings.apply (managed.json) wins over the ack's from the next wait on", async () => {
  const store = new StateStore(dir);
  const shutdown = new AbortController();
  const delays: number[] = [];
  let override: number | undefined;
  let sent = 0;
  await heartbeatLoop({
    config: sampleConfig({ heartbeatIntervalSeconds: 30 }),
    store,
    state: (await store.load()).state,
    log: jsonLogger(() => undefined),
    shutdown: shutdown.signal,
    now: () => new Date(),
    uptimeSeconds: () => 1,
    random: () => 0.5,
    intervalOverride: () => override,
    sleep: (ms) => {
      delays.push(ms);
      // The command arrives between the second and the third heartbeat.
      if (delays.length === 2) override = 600;
      return Promise.resolve();
    },
    send: (_config, heartbeat) => {
      if (++sent >= 4) shutdown.abort();
      return Promise.resolve(sampleAck({ lastSequence: heartbeat.sequence, heartbeatIntervalSeconds: 45 }));
    },
  });
  const at = (seconds: number) => jitteredDelayMs(seconds, () => 0.5);
  expect(delays).toEqual([at(45), at(45), at(600), at(600)]);
});
