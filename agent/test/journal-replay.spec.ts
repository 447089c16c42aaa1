/**
 * The built agent against the contract-speaking fake API while the API is down: heartbeats go
 * to the journal, survive a SIGKILL, and are replayed in order, in batches, exactly once.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatJournal, JOURNAL_DIR, JOURNAL_FILE } from '../src/journal.js';
import { startFakeApi, type FakeApi } from './fake-api.js';
import { PRIVATE_KEY, SSH_HOST_KEY, buildAgent, killAgents, startAgent, waitFor } from './built-agent.js';

describe('offline journal against the fake API', () => {
  let api: FakeApi;
  let work: string;

  beforeAll(async () => {
    buildAgent();
    api = await startFakeApi();
    work = await mkdtemp(join(tmpdir(), 'xspectre-journal-it-'));
  });

  afterAll(async () => {
    await api.close();
    await rm(work, { recursive: true, force: true });
  });

  afterEach(() => {
    killAgents();
  });

  it('keeps heartbeats while the API is down, across a SIGKILL, and delivers each exactly once, in order, in batches', async () => {
    const key = join(work, 'wg0.key');
    const ssh = join(work, 'ssh.pub');
    const config = join(work, 'agent.conf');
    const state = join(work, 'state');
    await writeFile(key, `${PRIVATE_KEY}\n`, { mode: 0o600 });
    await writeFile(ssh, `${SSH_HOST_KEY}\n`);
    const enrolled = await startAgent([
      'enroll',
      '--claim',
      api.addClaimCode(),
      '--api',
      api.url,
      '--wg-private-key-file',
      key,
      '--ssh-host-key-file',
      ssh,
      '--wg-config-out',
      join(work, 'wg0.conf'),
      '--config',
      config,
      '--state-dir',
      state,
    ]).exited;
    expect(enrolled.stderr).toBe('');
    expect(enrolled.code).toBe(0);
    const env = { XSPECTRE_CONFIG: config, XSPECTRE_STATE_DIR: state };
    const journaled = async () =>
      (await readFile(join(state, JOURNAL_DIR, JOURNAL_FILE), 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { sequence: number }).sequence);

    // The API is down (connections dropped): heartbeats pile up in the journal.
    api.refuseHeartbeats = 'close';
    const first = startAgent(['run'], env);
    await waitFor('two journaled heartbeats', async () => (await journaled()).length >= 2 && api.refusedHeartbeats >= 2, 20_000);
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toContain('heartbeat not delivered: API unreachable');
    const beforeRestart = await journaled();
    expect(beforeRestart).toEqual([...beforeRestart].sort((a, b) => a - b));
    expect(api.heartbeats).toEqual([]);

    // Restarted while still down (a 503 this time): the sequence goes on, nothing is lost.
    api.refuseHeartbeats = 503;
    const refusedBefore = api.refusedHeartbeats;
    const second = startAgent(['run'], env);
    await waitFor(
      'the restarted agent to journal and try',
      async () => (await journaled()).length > beforeRestart.length && api.refusedHeartbeats > refusedBefore,
      20_000,
    );
    const backlog = await journaled();
    expect(backlog.slice(0, beforeRestart.length)).toEqual(beforeRestart);
    expect(backlog.at(-1)).toBe(beforeRestart.at(-1)! + 1);

    // The API answers: the backlog is replayed, in order, in batches, each sequence once.
    api.refuseHeartbeats = false;
    await waitFor('the backlog delivered', () => api.heartbeats.length > backlog.length, 30_000);
    second.child.kill('SIGTERM');
    const stopped = await second.exited;
    expect(stopped.code).toBe(0);

    const delivered = api.heartbeats.map((hb) => hb.sequence);
    expect(delivered.slice(0, backlog.length)).toEqual(backlog);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered[0]).toBe(1);
    expect(delivered.at(-1)).toBe(delivered.length); // 1..n: no gap
    expect(api.heartbeatRequests.some((r) => r.length > 1)).toBe(true);
    expect(api.heartbeatRequests.flat()).toEqual(delivered); // nothing sent twice
    expect(api.heartbeats.some((hb) => hb.journalGap)).toBe(false);
    const reopened = await HeartbeatJournal.open(state);
    expect(reopened.journal.count).toBe(0);
    expect(reopened.warnings).toEqual([]);
  }, 90_000);
});
