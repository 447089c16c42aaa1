import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HeartbeatBatchSchema, type Heartbeat } from '@xspectre/contracts';
import { sampleAck, sampleConfig } from '../test/fixtures.js';
import { buildHeartbeat } from './heartbeat.js';
import { ApiUnreachableError } from './http.js';
import {
  batchSize,
  DEFAULT_JOURNAL_MAX_BYTES,
  entriesToDrop,
  HeartbeatJournal,
  JOURNAL_DIR,
  JOURNAL_FILE,
  mergeGaps,
  indexJournal,
} from './journal.js';
import { jsonLogger } from './log.js';
import { heartbeatLoop, journalMaxBytes } from './run.js';
import { StateStore } from './state.js';

const DEVICE = sampleConfig().deviceId;
const hb = (sequence: number): Heartbeat => buildHeartbeat(DEVICE, sequence, new Date('2025-03-04T05:06:07.000Z'), 100);
const line = (sequence: number) => `${JSON.stringify(hb(sequence))}\n`;
const LINE_BYTES = Buffer.byteLength(line(1000)); // sequences 1000..9999 have the same size

describe('journal helpers', () => {
  it('indexJournal skips acknowledged and unreadable lines, keeps the last copy of a duplicate and reports a torn tail', async () => {
    const torn = line(4).slice(0, 30);
    const text = line(1) + line(3) + line(2) + '{"nope":1}\n\n' + line(3) + torn;
    const file = Buffer.from(text);
    // Whole, and in 7-byte chunks (lines cross chunk boundaries): the same index.
    const chunked = Array.from({ length: Math.ceil(file.length / 7) }, (_, i) => file.subarray(i * 7, i * 7 + 7));
    for (const chunks of [[file], chunked]) {
      const index = await indexJournal(chunks, 1);
      expect(index.entries.map((e) => e.sequence)).toEqual([2, 3]);
      const [two, three] = index.entries;
      expect(file.subarray(two!.offset, two!.offset + two!.bytes).toString()).toBe(line(2));
      expect(two!.length).toBe(Buffer.byteLength(line(2)) - 1);
      expect(three!.offset).toBe(text.lastIndexOf(line(3)));
      expect(index.invalidLines).toBe(2);
      expect(index.tornTail).toBe(true);
    }
    expect(await indexJournal([], 0)).toEqual({ entries: [], invalidLines: 0, tornTail: false });
    // A last line complete but for its newline is a heartbeat (compaction adds the newline).
    const whole = await indexJournal([Buffer.from(line(5) + line(6).trimEnd())], 0);
    expect(whole.entries.map((e) => e.sequence)).toEqual([5, 6]);
    expect(whole.tornTail).toBe(true);
  });

  it('batchSize bounds a batch by bytes and count, but always takes one', () => {
    expect(batchSize([], 100, 10)).toBe(0);
    expect(batchSize([40, 40, 40], 100, 10)).toBe(2); // 16 + 40 + 40 ≤ 100
    expect(batchSize([40, 40, 40], 1000, 2)).toBe(2);
    expect(batchSize([5000, 10], 100, 10)).toBe(1);
  });

  it('entriesToDrop drops the oldest until the new one fits', () => {
    expect(entriesToDrop([10, 10, 10], 10, 40)).toBe(0);
    expect(entriesToDrop([10, 10, 10], 15, 40)).toBe(1);
    expect(entriesToDrop([10, 10, 10], 100, 40)).toBe(3);
  });

  it('mergeGaps covers both ranges and adds the counts', () => {
    const a = { fromSequence: 1, toSequence: 5, droppedCount: 5 };
    expect(mergeGaps(null, a)).toEqual(a);
    expect(mergeGaps(a, { fromSequence: 6, toSequence: 7, droppedCount: 2 })).toEqual({ fromSequence: 1, toSequence: 7, droppedCount: 7 });
  });
});

describe('HeartbeatJournal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = () => join(dir, JOURNAL_DIR, JOURNAL_FILE);
  const seqs = (batch: Heartbeat[]) => batch.map((h) => h.sequence);

  it('keeps unacknowledged heartbeats across a reopen, in order, and drops acknowledged ones', async () => {
    const { journal } = await HeartbeatJournal.open(dir);
    for (const s of [1, 2, 3, 4, 5]) await journal.append(hb(s));
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(seqs(journal.pending())).toEqual([1, 2, 3, 4, 5]);
    expect(seqs(journal.pending(1_000_000, 2))).toEqual([1, 2]);
    expect(await journal.acknowledge(2)).toBe(2);
    expect(journal.pending()[0]).toEqual(hb(3));

    const reopened = await HeartbeatJournal.open(dir); // a restart
    expect(reopened.warnings).toEqual([]);
    expect(seqs(reopened.journal.pending())).toEqual([3, 4, 5]);
    expect(reopened.journal.highestSequence).toBe(5);
    await expect(reopened.journal.append(hb(5))).rejects.toThrow(/not above 5/);
    await reopened.journal.acknowledge(99);
    expect(reopened.journal.pending()).toEqual([]);
    expect(reopened.journal.highestSequence).toBe(99);
    expect((await HeartbeatJournal.open(dir)).journal.count).toBe(0);
  });

  it('ignores a torn last line and appends cleanly after it', async () => {
    const { journal } = await HeartbeatJournal.open(dir);
    await journal.append(hb(1));
    await journal.append(hb(2));
    await appendFile(file(), line(3).slice(0, 25)); // crash mid-write
    const reopened = await HeartbeatJournal.open(dir);
    expect(reopened.warnings.join()).toMatch(/torn/);
    expect(seqs(reopened.journal.pending())).toEqual([1, 2]);
    await reopened.journal.append(hb(3));
    expect(seqs((await HeartbeatJournal.open(dir)).journal.pending())).toEqual([1, 2, 3]);
    expect(await readFile(file(), 'utf8')).toBe(line(1) + line(2) + line(3));
  });

  it('reads heartbeats back from where they lie: duplicates and disorder in the file, before and after a repair', async () => {
    await HeartbeatJournal.open(dir); // creates the directory
    await appendFile(file(), line(3) + line(1) + line(2) + line(1));
    const unordered = (await HeartbeatJournal.open(dir)).journal;
    expect(unordered.pending()).toEqual([hb(1), hb(2), hb(3)]);
    expect(unordered.pending(1_000_000, 1)).toEqual([hb(1)]);

    await appendFile(file(), '{"damaged":\n');
    const repaired = await HeartbeatJournal.open(dir);
    expect(repaired.warnings.join()).toMatch(/1 unreadable line/);
    expect(await readFile(file(), 'utf8')).toBe(line(1) + line(2) + line(3));
    expect(repaired.journal.pending()).toEqual([hb(1), hb(2), hb(3)]);
    await repaired.journal.append(hb(4));
    expect(await repaired.journal.acknowledge(2)).toBe(2);
    expect(repaired.journal.pending()).toEqual([hb(3), hb(4)]);
  });

  it('when full drops the oldest, reports the gap on the next batch and clears it once acknowledged', async () => {
    const { journal } = await HeartbeatJournal.open(dir, { maxBytes: LINE_BYTES * 3 });
    for (let s = 1000; s < 1005; s++) await journal.append(hb(s));
    expect(journal.bytes).toBeLessThanOrEqual(LINE_BYTES * 3);
    const gap = { fromSequence: 1000, toSequence: 1001, droppedCount: 2 };
    expect(journal.gap).toEqual(gap);
    const batch = journal.pending();
    expect(seqs(batch)).toEqual([1002, 1003, 1004]);
    expect(batch[0]?.journalGap).toEqual(gap);
    expect(batch[1]?.journalGap).toBeUndefined();
    expect(() => HeartbeatBatchSchema.parse({ heartbeats: batch })).not.toThrow();

    // The gap is persisted: a restart still reports it; more drops widen it.
    const reopened = (await HeartbeatJournal.open(dir, { maxBytes: LINE_BYTES * 3 })).journal;
    expect(reopened.gap).toEqual(gap);
    await reopened.append(hb(1005));
    expect(reopened.gap).toEqual({ fromSequence: 1000, toSequence: 1002, droppedCount: 3 });
    expect(reopened.pending()[0]).toMatchObject({ sequence: 1003, journalGap: reopened.gap });

    await reopened.acknowledge(1003);
    expect(reopened.gap).toBeNull();
    expect(reopened.pending()[0]?.journalGap).toBeUndefined();
    expect((await HeartbeatJournal.open(dir)).journal.gap).toBeNull();
  });

  it('compacts acknowledged lines away before dropping anything', async () => {
    const { journal } = await HeartbeatJournal.open(dir, { maxBytes: LINE_BYTES * 3 });
    for (let s = 1000; s < 1003; s++) await journal.append(hb(s));
    await journal.acknowledge(1002);
    for (let s = 1003; s < 1006; s++) await journal.append(hb(s));
    expect(journal.gap).toBeNull();
    expect(seqs(journal.pending())).toEqual([1003, 1004, 1005]);
    expect(await readFile(file(), 'utf8')).toBe(line(1003) + line(1004) + line(1005));
  });
});

describe('journalMaxBytes', () => {
  it('reads XSPECTRE_JOURNAL_MAX_BYTES (at least 64 KiB), else 20 MiB', () => {
    expect(journalMaxBytes({})).toBe(DEFAULT_JOURNAL_MAX_BYTES);
    expect(journalMaxBytes({ XSPECTRE_JOURNAL_MAX_BYTES: '1048576' })).toBe(1048576);
    expect(journalMaxBytes({ XSPECTRE_JOURNAL_MAX_BYTES: '100' })).toBe(DEFAULT_JOURNAL_MAX_BYTES);
    expect(journalMaxBytes({ XSPECTRE_JOURNAL_MAX_BYTES: 'lots' })).toBe(DEFAULT_JOURNAL_MAX_BYTES);
  });
});

describe('heartbeatLoop with the journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xspectre-journal-loop-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `answers[i]` decides request i: 'down', or the API's stored-sequence answer. The loop stops after `ticks` ticks. */
  async function run(ticks: number, answer: (batch: readonly Heartbeat[], stored: Set<number>) => 'down' | 'ok') {
    const store = new StateStore(dir);
    const { journal } = await HeartbeatJournal.open(dir);
    const shutdown = new AbortController();
    const requests: number[][] = [];
    const stored = new Set<number>();
    let tick = 0;
    const lines: string[] = [];
    await heartbeatLoop({
      config: sampleConfig({ heartbeatIntervalSeconds: 5 }),
      store,
      state: (await store.load()).state,
      journal,
      log: jsonLogger((l) => lines.push(l)),
      shutdown: shutdown.signal,
      now: () => new Date(),
      uptimeSeconds: () => 1,
      batchMaxCount: 3,
      maxBatchesPerTick: 2,
      sleep: async () => {
        if (++tick >= ticks) shutdown.abort();
      },
      send: () => Promise.reject(new Error('batches only')),
      sendBatch: async (_config, batch) => {
        requests.push(batch.map((h) => h.sequence));
        if (answer(batch, stored) === 'down') throw new ApiUnreachableError('http://api/agent/heartbeats', 'ECONNREFUSED');
        for (const h of batch) stored.add(h.sequence);
        return sampleAck({ lastSequence: Math.max(...stored), heartbeatIntervalSeconds: 5 });
      },
    });
    return { requests, journal, stored, lines };
  }

  it('journals while the API is down, then replays oldest first in bounded batches', async () => {
    const down = await run(4, () => 'down');
    expect(down.journal.count).toBe(4);
    expect(down.requests).toEqual([[1], [1, 2], [1, 2, 3], [1, 2, 3]]);

    // Restart: tick 1 sends two batches (of 3), tick 2 the rest; nothing twice.
    const up = await run(2, () => 'ok');
    expect(up.requests).toEqual([[1, 2, 3], [4, 5], [6]]);
    expect(up.journal.count).toBe(0);
    expect((await new StateStore(dir).load()).state).toMatchObject({ sequence: 6, lastAck: { sequence: 6 } });
  });

  it('acknowledges only up to what was sent when the API holds higher sequences', async () => {
    // The API already stores 1..50 (say, from an older installation): lastSequence 50 must not drop unsent ones.
    const result = await run(1, (_batch, stored) => {
      for (let s = 1; s <= 50; s++) stored.add(s);
      return 'ok';
    });
    expect(result.requests).toEqual([[1]]);
    expect(result.journal.count).toBe(0);
    // The next heartbeat jumps past the API's lastSequence.
    const next = await run(1, () => 'ok');
    expect(next.requests).toEqual([[51]]);
  });
});
