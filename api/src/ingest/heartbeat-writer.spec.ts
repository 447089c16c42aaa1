import { describe, expect, it } from 'vitest';
import { QueryFailedError } from 'typeorm';
import type { Heartbeat } from '@xspectre/contracts';
import type { AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { buildBatchRows, latestRowsJson, outcomesOf, type HeartbeatSubmission } from './heartbeat-batch.js';
import { TelemetryDocumentCache } from './telemetry-document-cache.js';
import type { HeartbeatStore, StoredBatch } from './heartbeat-store.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { STALE_DOCUMENT_CLAIM } from './heartbeat-batch.repository.js';

// Unit tests of the group-commit mechanics and row building (pure logic). The database path is
// covered end to end in api/test/heartbeat-ingestion.spec.ts.

const hb = (deviceId: string, sequence: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({
  protocolVersion: 1,
  deviceId,
  sequence,
  sentAt: new Date().toISOString(),
  agentVersion: '0.1.0',
  uptimeSeconds: 1,
  ...extra,
});

/** A store that records the batches it is given; `fail` decides per batch. */
function recordingStore(fail: (submissions: HeartbeatSubmission[]) => unknown = () => undefined) {
  const batches: HeartbeatSubmission[][] = [];
  const forgotten: string[] = [];
  const store = {
    forgetDocuments(submissions: HeartbeatSubmission[]) {
      forgotten.push(...submissions.map((s) => s.deviceId));
    },
    async write(submissions: HeartbeatSubmission[]): Promise<StoredBatch> {
      batches.push(submissions);
      const error = fail(submissions);
      if (error) throw error;
      const inserted = new Set(submissions.flatMap((s) => s.heartbeats.map((h) => `${s.deviceId}:${h.sequence}`)));
      return {
        outcomes: outcomesOf(submissions, inserted, new Map()),
        receivedAt: new Date(),
        cameOnline: [],
        events: [],
        newest: new Map(),
        becameLatest: new Set(),
      };
    },
  };
  return { store: store as unknown as HeartbeatStore, batches, forgotten };
}

const config = (batchMax = 500, queueMax = 10_000, writers = 1) =>
  ({ API_HEARTBEAT_BATCH_MAX: batchMax, API_HEARTBEAT_QUEUE_MAX: queueMax, API_HEARTBEAT_WRITERS: writers }) as AppConfig;
const listener = { committed: () => undefined };
const sqlError = (code: string) => Object.assign(new QueryFailedError('INSERT', [], new Error(code)), { driverError: { code } });
const dataError = () => Object.assign(new QueryFailedError('INSERT', [], new Error('bad')), { driverError: { code: '22003' } });

describe('HeartbeatWriter (group commit)', () => {
  it('writes requests submitted in the same turn as one batch, bounded by the batch size', async () => {
    const { store, batches } = recordingStore();
    const writer = new HeartbeatWriter(config(3), store, listener);
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((d, i) => writer.submit({ deviceId: d, heartbeats: [hb(d, i + 1)] })));
    expect(results.map((r) => r?.accepted)).toEqual([1, 1, 1, 1, 1]);
    expect(batches.map((b) => b.map((s) => s.deviceId))).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('runs a second writer only when a backlog exists, never more than configured', async () => {
    let inFlight = 0;
    let most = 0;
    const base = recordingStore();
    const store = {
      async write(submissions: HeartbeatSubmission[]) {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        return (base.store as unknown as { write: (s: HeartbeatSubmission[]) => Promise<StoredBatch> }).write(submissions);
      },
    } as unknown as HeartbeatStore;
    const single = new HeartbeatWriter(config(1, 10_000, 2), store, listener);
    await single.submit({ deviceId: 'a', heartbeats: [hb('a', 1)] });
    expect(most).toBe(1);
    const busy = new HeartbeatWriter(config(1, 10_000, 2), store, listener);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => busy.submit({ deviceId: `d${i}`, heartbeats: [hb(`d${i}`, 1)] })),
    );
    expect(results.every((r) => r?.accepted === 1)).toBe(true);
    expect(most).toBe(2);
  });

  it('isolates a submission whose data the database refuses; its neighbours are stored', async () => {
    const { store } = recordingStore((subs) => (subs.some((s) => s.deviceId === 'poison') ? dataError() : undefined));
    const writer = new HeartbeatWriter(config(), store, listener);
    const results = await Promise.allSettled(['ok1', 'poison', 'ok2'].map((d) => writer.submit({ deviceId: d, heartbeats: [hb(d, 1)] })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as AppError).code).toBe('VALIDATION_FAILED');
  });

  it('answers 503 with a retry hint when the database is down, for every waiting request', async () => {
    const { store } = recordingStore(() => new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const writer = new HeartbeatWriter(config(), store, listener);
    const results = await Promise.allSettled(['a', 'b'].map((d) => writer.submit({ deviceId: d, heartbeats: [hb(d, 1)] })));
    for (const r of results) {
      const error = (r as PromiseRejectedResult).reason as AppError;
      expect(error.code).toBe('SERVICE_UNAVAILABLE');
      expect(error.extra.retryAfterSeconds).toBe(5);
    }
  });

  it('retries a deadlock and then succeeds', async () => {
    let calls = 0;
    const { store } = recordingStore(() =>
      ++calls === 1
        ? Object.assign(new QueryFailedError('UPDATE', [], new Error('deadlock')), { driverError: { code: '40P01' } })
        : undefined,
    );
    const writer = new HeartbeatWriter(config(), store, listener);
    expect(await writer.submit({ deviceId: 'a', heartbeats: [hb('a', 1)] })).toMatchObject({ accepted: 1 });
    expect(calls).toBe(2);
  });

  it('gives up on a deadlock after three writes with a 503', async () => {
    const { store, batches } = recordingStore(() => sqlError('40001'));
    const writer = new HeartbeatWriter(config(), store, listener);
    await expect(writer.submit({ deviceId: 'a', heartbeats: [hb('a', 1)] })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(batches).toHaveLength(3);
  });

  it('writes the batch again with every document in full when a document claim went stale, once', async () => {
    let calls = 0;
    const { store, forgotten } = recordingStore(() => (++calls === 1 ? sqlError(STALE_DOCUMENT_CLAIM) : undefined));
    const writer = new HeartbeatWriter(config(), store, listener);
    expect(await writer.submit({ deviceId: 'a', heartbeats: [hb('a', 1)] })).toMatchObject({ accepted: 1 });
    expect(forgotten).toEqual(['a']);

    const { store: stale } = recordingStore(() => sqlError(STALE_DOCUMENT_CLAIM));
    const again = new HeartbeatWriter(config(), stale, listener);
    await expect(again.submit({ deviceId: 'a', heartbeats: [hb('a', 1)] })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('tells the injected listener about each committed batch; a failing listener fails no request', async () => {
    const committed: number[] = [];
    const { store } = recordingStore();
    const writer = new HeartbeatWriter(config(), store, {
      committed: (batch) => {
        committed.push(batch.outcomes.length);
        throw new Error('listener down');
      },
    });
    const results = await Promise.all(['a', 'b'].map((d) => writer.submit({ deviceId: d, heartbeats: [hb(d, 1)] })));
    expect(results.map((r) => r?.accepted)).toEqual([1, 1]);
    expect(committed).toEqual([2]);
  });

  it('refuses with HEARTBEAT_QUEUE_FULL when the backlog is over the bound', async () => {
    const { store } = recordingStore();
    const writer = new HeartbeatWriter(config(500, 2), store, listener);
    expect(() => writer.submit({ deviceId: 'a', heartbeats: [hb('a', 1), hb('a', 2), hb('a', 3)] })).toThrow(
      expect.objectContaining({ code: 'HEARTBEAT_QUEUE_FULL' }),
    );
  });
});

describe('buildBatchRows / outcomesOf', () => {
  const metrics = {
    cpuPercent: 5,
    load: [0.1, 0.1, 0.1] as [number, number, number],
    memory: { totalBytes: 100, usedBytes: 50, swapTotalBytes: 0, swapUsedBytes: 0 },
    mounts: [],
    network: [],
  };

  it('deduplicates a sequence sent twice in one batch, keeps one latest row per device and lists sample days', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const rows = buildBatchRows(
      [
        { deviceId: 'a', heartbeats: [hb('a', 1, { metrics }), hb('a', 2, { metrics })] },
        { deviceId: 'a', heartbeats: [hb('a', 2, { metrics })] },
        { deviceId: 'b', heartbeats: [hb('b', 7, { sentAt: '2026-11-22T23:59:00Z', metrics })] },
      ],
      now,
      new Date('2026-09-01T00:00:00Z'),
    );
    expect(rows.heartbeats.map((h) => `${h.d}:${h.s}`)).toEqual(['a:1', 'a:2', 'b:7']);
    expect(rows.latest.map((l) => `${l.d}:${l.s}`)).toEqual(['a:2', 'b:7']);
    expect(rows.devices).toEqual([
      { d: 'a', s: 2, ver: '0.1.0' },
      { d: 'b', s: 7, ver: '0.1.0' },
    ]);
    expect(rows.sampleDays).toEqual(['2026-11-22', '2026-11-23']);
  });

  it('leaves out samples older than the retention but keeps their heartbeats', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const rows = buildBatchRows(
      [{ deviceId: 'a', heartbeats: [hb('a', 1, { sentAt: '2026-11-01T00:00:00Z', metrics })] }],
      now,
      new Date('2026-11-10T00:00:00Z'),
    );
    expect(rows.heartbeats).toHaveLength(1);
    expect(rows.samples).toHaveLength(0);
  });

  it('credits a sequence inserted once to the first submission that carried it', () => {
    const subs = [
      { deviceId: 'a', heartbeats: [hb('a', 1)] },
      { deviceId: 'a', heartbeats: [hb('a', 1), hb('a', 2)] },
    ];
    expect(outcomesOf(subs, new Set(['a:1', 'a:2']), new Map([['a', 2]]))).toEqual([
      { accepted: 1, duplicates: 0, lastSequence: 2 },
      { accepted: 1, duplicates: 1, lastSequence: 2 },
    ]);
  });

  it('sends a document this instance wrote before as a claim on its sequence, the container numbers always', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const services = [{ unit: 'a.service', activeState: 'active', subState: 'running', since: null, watched: true }];
    const container = { id: 'c', name: 'n', image: 'i', state: 'running', health: null, restartCount: 0 };
    const docker = (cpu: number) => ({ status: 'ok' as const, containers: [{ ...container, cpuPercent: cpu, memoryBytes: 10 }] });
    const documents = new TelemetryDocumentCache();
    const first = buildBatchRows([{ deviceId: 'a', heartbeats: [hb('a', 1, { services, docker: docker(1) })] }], now, now, documents);
    expect(first.latest[0]).toMatchObject({ servicesClaim: null, dockerClaim: null, containerStats: '[[1,10]]' });
    expect(JSON.parse(first.latest[0]!.docker!)).toEqual({ status: 'ok', containers: [container] });
    for (const [kind, hash] of Object.entries(first.latest[0]!.written)) documents.remember('a', kind as 'services', { hash, sequence: 1 });

    const next = buildBatchRows([{ deviceId: 'a', heartbeats: [hb('a', 2, { services, docker: docker(2) })] }], now, now, documents);
    expect(next.latest[0]).toMatchObject({ services: null, servicesClaim: 1, docker: null, dockerClaim: 1, containerStats: '[[2,10]]' });
    expect(JSON.parse(latestRowsJson(next.latest))).toEqual([
      { d: 'a', s: 2, t: now.toISOString(), metrics: null, services: null, services_seq: 1, docker: null, docker_seq: 1, stats: [[2, 10]] },
    ]);

    const changed = buildBatchRows(
      [{ deviceId: 'a', heartbeats: [hb('a', 3, { services: [{ ...services[0]!, activeState: 'failed' }] })] }],
      now,
      now,
      documents,
    );
    expect(changed.latest[0]).toMatchObject({ servicesClaim: null, docker: null, dockerClaim: null, containerStats: null });
    expect(JSON.parse(changed.latest[0]!.services!)[0].activeState).toBe('failed');
  });
});
