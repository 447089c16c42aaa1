/**
 * The offline journal: every heartbeat is written here (and fsync'd) before it is first sent,
 * and stays until the API acknowledges it. While the API cannot be reached the heartbeats pile
 * up and are replayed oldest first, in batches, once it answers.
 *
 * Layout, in `<state dir>/journal/`:
 * - `heartbeats.jsonl`: one heartbeat per line (JSON), append-only, in sequence order. Each
 *   append is fsync'd (and the directory, when the file is created). A crash mid-write leaves
 *   a torn last line: it is ignored on load and the file is rewritten without it.
 * - `meta.json` (written atomically): `{ acknowledged, gap }`. `acknowledged` is the ack
 *   pointer: lines with a sequence ≤ it are done and skipped on load. `gap` is the range of
 *   unacknowledged heartbeats dropped because the journal was full; it rides along (as
 *   `journalGap`) on the oldest heartbeat of every batch until a batch carrying it is
 *   acknowledged.
 *
 * Acknowledged lines are removed by compaction (temp file, fsync, rename, fsync directory:
 * see atomic-file.ts) once they are worth it, and before the size bound is enforced. The size
 * bound counts the file's bytes; when a new heartbeat does not fit, the OLDEST unacknowledged
 * heartbeats are dropped (the gap is persisted before they go), never the new one.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { HeartbeatSchema, JournalGapSchema, type Heartbeat } from '@xspectre/contracts';
import { ensureDirectory, replaceFileAtomic, syncDirectory, writeFileAtomic } from './atomic-file.js';
import { AgentError, ExitCode } from './errors.js';

export type JournalGap = z.infer<typeof JournalGapSchema>;

export const JOURNAL_DIR = 'journal';
export const JOURNAL_FILE = 'heartbeats.jsonl';
export const JOURNAL_META_FILE = 'meta.json';
/** Disk budget of the journal file. */
export const DEFAULT_JOURNAL_MAX_BYTES = 20 * 1024 * 1024;
/** One batch stays well under the API's 1 MiB body limit. */
export const BATCH_MAX_BYTES = 256 * 1024;
/** The contract's HeartbeatBatchSchema maximum. */
export const BATCH_MAX_COUNT = 1000;
/** Acknowledged lines are compacted away once they take at least this much (and at least the live part). */
const COMPACT_MIN_BYTES = 256 * 1024;
/** `{"heartbeats":[` … `]}` around a batch. */
const BATCH_OVERHEAD_BYTES = 16;

const JournalMetaSchema = z.object({
  acknowledged: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  gap: JournalGapSchema.nullable(),
});
export type JournalMeta = z.infer<typeof JournalMetaSchema>;
const INITIAL_META: JournalMeta = Object.freeze({ acknowledged: 0, gap: null });

/**
 * Where one unacknowledged heartbeat lies in the journal file. Only this index stays in
 * memory: the heartbeats themselves are read back from the file when a batch goes out, so a
 * full journal costs the agent kilobytes, not the tens of megabytes its parsed objects would.
 */
export interface JournalEntry {
  sequence: number;
  /** Byte offset of the line in the file. */
  offset: number;
  /** UTF-8 length of the line without its newline. */
  length: number;
  /** `length` + 1: what the line takes in the file and in a batch. */
  bytes: number;
}

export interface JournalIndex {
  /** Valid heartbeats above `acknowledged`, ascending by sequence; of a duplicate, the last copy. */
  entries: JournalEntry[];
  /** Lines that are not a valid heartbeat (a torn last line after a crash, or damage). */
  invalidLines: number;
  /** The file does not end with a newline (the last write was torn). */
  tornTail: boolean;
}

const NEWLINE = 0x0a;

/**
 * Indexes the journal file, given as consecutive chunks. Every line is validated, then only its
 * place is kept; one line is held at a time. Never throws: bad lines are counted and skipped.
 */
export async function indexJournal(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, acknowledged: number): Promise<JournalIndex> {
  const bySequence = new Map<number, JournalEntry>();
  let invalidLines = 0;
  const take = (raw: Buffer, offset: number) => {
    const text = raw.toString('utf8');
    if (text.trim() === '') return;
    const sequence = parseLine(text)?.sequence;
    if (sequence === undefined) invalidLines++;
    else if (sequence > acknowledged) bySequence.set(sequence, { sequence, offset, length: raw.length, bytes: raw.length + 1 });
  };
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  for await (const chunk of chunks) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      take(data.subarray(start, nl), carryOffset + start);
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start)); // a copy: the chunk is not pinned
    carryOffset += start;
  }
  const tornTail = carry.length > 0;
  if (tornTail) take(carry, carryOffset);
  const entries = [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
  return { entries, invalidLines, tornTail };
}

function parseLine(raw: string): Heartbeat | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = HeartbeatSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** How many of the leading entries (by line size) fit in one batch: at most `maxCount`, at least one. */
export function batchSize(sizes: readonly number[], maxBytes: number, maxCount: number): number {
  let total = BATCH_OVERHEAD_BYTES;
  let count = 0;
  for (const size of sizes) {
    if (count >= maxCount) break;
    if (count > 0 && total + size > maxBytes) break;
    total += size;
    count++;
  }
  return count;
}

/** How many of the oldest entries must go so that `incoming` more bytes fit in `maxBytes` (never the incoming one). */
export function entriesToDrop(sizes: readonly number[], incoming: number, maxBytes: number): number {
  let total = sizes.reduce((sum, size) => sum + size, 0) + incoming;
  let count = 0;
  while (total > maxBytes && count < sizes.length) total -= sizes[count++]!;
  return count;
}

/** One gap covering both (the API records the whole range as missing). */
export function mergeGaps(previous: JournalGap | null, next: JournalGap): JournalGap {
  if (!previous) return next;
  return {
    fromSequence: Math.min(previous.fromSequence, next.fromSequence),
    toSequence: Math.max(previous.toSequence, next.toSequence),
    droppedCount: previous.droppedCount + next.droppedCount,
  };
}

export interface JournalOptions {
  /** Disk budget (default 20 MiB). */
  maxBytes?: number;
}

export class HeartbeatJournal {
  readonly dir: string;
  readonly file: string;
  readonly metaFile: string;
  readonly maxBytes: number;
  /** Unacknowledged heartbeats, ascending by sequence. */
  private entries: JournalEntry[] = [];
  private liveBytes = 0;
  /** Bytes in the file, including acknowledged lines not compacted yet. */
  private fileBytes = 0;
  private fileExists = false;
  private meta: JournalMeta = INITIAL_META;

  private constructor(stateDir: string, options: JournalOptions) {
    this.dir = join(stateDir, JOURNAL_DIR);
    this.file = join(this.dir, JOURNAL_FILE);
    this.metaFile = join(this.dir, JOURNAL_META_FILE);
    this.maxBytes = options.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
  }

  /** Opens (creating when missing) the journal in `<stateDir>/journal`. Damage is repaired and reported in `warnings`. */
  static async open(stateDir: string, options: JournalOptions = {}): Promise<{ journal: HeartbeatJournal; warnings: string[] }> {
    const journal = new HeartbeatJournal(stateDir, options);
    const warnings = await journal.load();
    return { journal, warnings };
  }

  private async load(): Promise<string[]> {
    const warnings: string[] = [];
    await ensureDirectory(dirname(this.dir));
    await ensureDirectory(this.dir);
    const metaText = await readOptional(this.metaFile);
    if (metaText !== undefined) {
      const parsed = JournalMetaSchema.safeParse(safeJson(metaText));
      if (parsed.success) this.meta = parsed.data;
      // Acknowledged heartbeats may be sent again: the API counts them as duplicates.
      else warnings.push(`${this.metaFile} was unreadable; starting from the oldest journaled heartbeat`);
    }
    const handle = await openOptional(this.file);
    if (handle === undefined) return warnings;
    let parsed: JournalIndex;
    const size = { bytes: 0 };
    try {
      parsed = await indexJournal(readChunks(handle, size), this.meta.acknowledged);
    } finally {
      await handle.close();
    }
    this.fileExists = true;
    this.entries = parsed.entries;
    this.liveBytes = sum(this.entries);
    this.fileBytes = size.bytes;
    if (parsed.invalidLines > 0 || parsed.tornTail) {
      warnings.push(`journal: ignored ${parsed.invalidLines} unreadable line(s)${parsed.tornTail ? ' (torn last write)' : ''}`);
      await this.compact(); // appending after a torn line would glue the next heartbeat onto it
    }
    return warnings;
  }

  /** Unacknowledged heartbeats in the journal. */
  get count(): number {
    return this.entries.length;
  }

  /** Bytes the journal file takes. */
  get bytes(): number {
    return this.fileBytes;
  }

  /** The gap not acknowledged yet, if heartbeats were dropped. */
  get gap(): JournalGap | null {
    return this.meta.gap;
  }

  /** The highest sequence the journal has seen (a new heartbeat must be above it). */
  get highestSequence(): number {
    return Math.max(this.meta.acknowledged, this.entries.at(-1)?.sequence ?? 0);
  }

  /** Writes `heartbeat` durably (fsync). When the journal is full, the oldest heartbeats are dropped first and the gap recorded. */
  async append(heartbeat: Heartbeat): Promise<void> {
    const valid = HeartbeatSchema.parse(heartbeat);
    if (valid.sequence <= this.highestSequence) {
      throw new AgentError(ExitCode.LOCAL_ERROR, `journal: sequence ${valid.sequence} is not above ${this.highestSequence}`);
    }
    const line = `${JSON.stringify(valid)}\n`;
    const lineBytes = Buffer.byteLength(line);

    if (this.fileBytes + lineBytes > this.maxBytes) {
      const drop = entriesToDrop(
        this.entries.map((e) => e.bytes),
        lineBytes,
        this.maxBytes,
      );
      if (drop > 0) {
        const dropped = this.entries.slice(0, drop);
        const gap = {
          fromSequence: dropped[0]!.sequence,
          toSequence: dropped.at(-1)!.sequence,
          droppedCount: drop,
        };
        // The gap is on disk before the heartbeats go: a crash in between over-reports, never hides.
        await this.saveMeta({ ...this.meta, gap: mergeGaps(this.meta.gap, gap) });
        this.entries = this.entries.slice(drop);
        this.liveBytes = sum(this.entries);
      }
      await this.compact();
    }

    const created = !this.fileExists;
    const handle = await open(this.file, 'a', 0o600);
    let offset: number;
    try {
      // The file's real size, not our count: a failed earlier write may have left a torn line.
      offset = (await handle.stat()).size;
      await handle.write(line);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (created) await syncDirectory(this.dir);
    this.fileExists = true;
    this.entries.push({ sequence: valid.sequence, offset, length: lineBytes - 1, bytes: lineBytes });
    this.liveBytes += lineBytes;
    this.fileBytes = offset + lineBytes;
  }

  /**
   * The oldest unacknowledged heartbeats, in sequence order, at most `maxCount` and (but for a
   * single oversized one) `maxBytes` as a batch. The first carries the pending gap, if any.
   */
  pending(maxBytes = BATCH_MAX_BYTES, maxCount = BATCH_MAX_COUNT): Heartbeat[] {
    const count = batchSize(
      this.entries.map((e) => e.bytes),
      maxBytes,
      maxCount,
    );
    const batch = this.read(this.entries.slice(0, count));
    const gap = this.meta.gap;
    if (gap && batch[0]) batch[0] = { ...batch[0], journalGap: gap };
    return batch;
  }

  /** Drops every heartbeat with a sequence ≤ `upToSequence` (durably). Returns how many went. */
  async acknowledge(upToSequence: number): Promise<number> {
    let count = 0;
    while (count < this.entries.length && this.entries[count]!.sequence <= upToSequence) count++;
    if (count === 0) return 0;
    // The oldest entry carried the gap (see pending()): acknowledged, so the API has it.
    await this.saveMeta({ acknowledged: Math.max(this.meta.acknowledged, upToSequence), gap: null });
    this.entries = this.entries.slice(count);
    this.liveBytes = sum(this.entries);
    const garbage = this.fileBytes - this.liveBytes;
    if (garbage >= COMPACT_MIN_BYTES && garbage >= this.liveBytes) await this.compact();
    return count;
  }

  /**
   * Reads heartbeats back from the file (synchronously: a batch is at most 256 KiB of local
   * disk, and `pending()` stays a plain call). They were validated when written or loaded.
   */
  private read(entries: readonly JournalEntry[]): Heartbeat[] {
    if (entries.length === 0) return [];
    const fd = openSync(this.file, 'r');
    try {
      return entries.map((e) => JSON.parse(readLine(fd, e, this.file).toString('utf8')) as Heartbeat);
    } finally {
      closeSync(fd);
    }
  }

  /** Rewrites the file with the unacknowledged heartbeats only, in sequence order (atomic rename). */
  private async compact(): Promise<void> {
    const source = this.fileExists && this.entries.length > 0 ? await open(this.file, 'r') : undefined;
    const moved: JournalEntry[] = [];
    try {
      await replaceFileAtomic(this.file, 0o600, async (target) => {
        let offset = 0;
        for (const entry of this.entries) {
          const line = Buffer.allocUnsafe(entry.bytes);
          const { bytesRead } = await source!.read(line, 0, entry.length, entry.offset);
          if (bytesRead !== entry.length) throw shorterThanIndex(this.file, entry);
          line[entry.length] = NEWLINE; // also ends a torn last line that was whole but for its newline
          await target.write(line, 0, entry.bytes);
          moved.push({ ...entry, offset });
          offset += entry.bytes;
        }
      });
    } finally {
      await source?.close();
    }
    this.entries = moved;
    this.fileExists = true;
    this.fileBytes = this.liveBytes;
  }

  private async saveMeta(meta: JournalMeta): Promise<void> {
    await writeFileAtomic(this.metaFile, `${JSON.stringify(JournalMetaSchema.parse(meta))}\n`, 0o600);
    this.meta = meta;
  }
}

function sum(entries: readonly JournalEntry[]): number {
  return entries.reduce((total, e) => total + e.bytes, 0);
}

function readLine(fd: number, entry: JournalEntry, file: string): Buffer {
  const line = Buffer.allocUnsafe(entry.length);
  if (readSync(fd, line, 0, entry.length, entry.offset) !== entry.length) throw shorterThanIndex(file, entry);
  return line;
}

function shorterThanIndex(file: string, entry: JournalEntry): AgentError {
  return new AgentError(ExitCode.LOCAL_ERROR, `journal: ${file} changed under the agent (sequence ${entry.sequence} is gone)`);
}

/** The file in 1 MiB chunks; `size.bytes` ends as the file's length. */
async function* readChunks(handle: FileHandle, size: { bytes: number }): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, size.bytes);
    if (bytesRead === 0) return;
    size.bytes += bytesRead;
    yield chunk.subarray(0, bytesRead);
  }
}

async function openOptional(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError(ExitCode.LOCAL_ERROR, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  const handle = await openOptional(path);
  if (!handle) return undefined;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
