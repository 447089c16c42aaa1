import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

/** The first line of an asciicast v2 file. */
export interface AsciicastHeader {
  width: number;
  height: number;
  /** Unix seconds of the session's start. */
  timestamp: number;
  title: string;
}

export interface AsciicastLimits {
  /** Above this many bytes not yet on disk the writer reports `congested` (the session pauses the device). */
  highWaterBytes: number;
  /** Above this the record would be lost: the writer refuses further events and reports the overflow. */
  maxQueuedBytes: number;
}

export const DEFAULT_ASCIICAST_LIMITS: AsciicastLimits = { highWaterBytes: 1024 * 1024, maxQueuedBytes: 8 * 1024 * 1024 };

/**
 * Writes one terminal session as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/ is
 * the format; api/docs/remote-access.md describes how it is used here): a header line, then one
 * `[seconds, code, text]` line per event. Terminal bytes are decoded with one streaming UTF-8
 * decoder per direction, so a character split across SSH packets is recorded whole.
 *
 * Appends are queued and written in order by one loop; the SHA-256 covers exactly the bytes
 * handed to the file. The queue is bounded: past `highWaterBytes` the owner should stop the
 * source (`congested`), and past `maxQueuedBytes` the writer stops recording and calls
 * `onFailure`, so a slow disk ends the session rather than losing the record silently.
 */
export class AsciicastWriter {
  private readonly hash: Hash = createHash('sha256');
  private readonly decoders = { o: new TextDecoder('utf-8'), i: new TextDecoder('utf-8') };
  private readonly startedAt: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writtenBytes = 0;
  private writing: Promise<void> | null = null;
  private failure: Error | null = null;
  private finished: Promise<{ bytes: number; sha256: string }> | null = null;
  private drainListeners: Array<() => void> = [];

  private constructor(
    private readonly handle: FileHandle,
    private readonly limits: AsciicastLimits,
    private readonly onFailure: (error: Error) => void,
    startedAtMs: number,
  ) {
    this.startedAt = startedAtMs;
  }

  /** Creates `path` (0600, never an existing file) and queues the header. */
  static async create(
    path: string,
    header: AsciicastHeader,
    onFailure: (error: Error) => void,
    limits: AsciicastLimits = DEFAULT_ASCIICAST_LIMITS,
    startedAtMs = Date.now(),
  ): Promise<AsciicastWriter> {
    const handle = await open(path, 'wx', 0o600);
    const writer = new AsciicastWriter(handle, limits, onFailure, startedAtMs);
    writer.enqueue(
      JSON.stringify({
        version: 2,
        width: header.width,
        height: header.height,
        timestamp: header.timestamp,
        env: { TERM: 'xterm-256color' },
        title: header.title,
      }),
    );
    return writer;
  }

  /** Device output. */
  output(bytes: Uint8Array, at = Date.now()): void {
    this.event(at, 'o', this.decoders.o.decode(bytes, { stream: true }));
  }

  /** Keystrokes (the owner decides whether input is recorded at all). */
  input(bytes: Uint8Array, at = Date.now()): void {
    this.event(at, 'i', this.decoders.i.decode(bytes, { stream: true }));
  }

  resize(cols: number, rows: number, at = Date.now()): void {
    this.event(at, 'r', `${cols}x${rows}`);
  }

  /** Bytes accepted but not yet written: the owner pauses its source above highWaterBytes. */
  get congested(): boolean {
    return this.queuedBytes >= this.limits.highWaterBytes;
  }

  /** Calls `listener` once the queue is below highWaterBytes again (at once when it is). */
  onceUncongested(listener: () => void): void {
    if (!this.congested) return listener();
    this.drainListeners.push(listener);
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Flushes the decoders' remainders, writes everything queued and closes the file: its size and SHA-256. */
  finish(at = Date.now()): Promise<{ bytes: number; sha256: string }> {
    this.finished ??= (async () => {
      const tailOut = this.decoders.o.decode();
      const tailIn = this.decoders.i.decode();
      if (tailOut) this.event(at, 'o', tailOut);
      if (tailIn) this.event(at, 'i', tailIn);
      while (this.writing) await this.writing;
      await this.handle.close().catch(() => undefined);
      return { bytes: this.writtenBytes, sha256: this.hash.digest('hex') };
    })();
    return this.finished;
  }

  private event(at: number, code: 'o' | 'i' | 'r', text: string): void {
    if (text === '') return;
    const seconds = Math.max(0, (at - this.startedAt) / 1000);
    this.enqueue(JSON.stringify([Number(seconds.toFixed(6)), code, text]));
  }

  private enqueue(line: string): void {
    if (this.failure || this.finished) return;
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    if (this.queuedBytes + bytes.length > this.limits.maxQueuedBytes) {
      this.fail(new Error(`the recording fell more than ${this.limits.maxQueuedBytes} bytes behind (the disk is too slow)`));
      return;
    }
    this.hash.update(bytes);
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.writing ??= this.pump();
  }

  /** One writer at a time, in order; everything queued meanwhile goes in the next write. */
  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
        this.queue = [];
        let offset = 0;
        while (offset < batch.length) {
          const { bytesWritten } = await this.handle.write(batch, offset, batch.length - offset);
          offset += bytesWritten;
        }
        this.writtenBytes += batch.length;
        this.queuedBytes -= batch.length;
        if (!this.congested) this.wakeDrainListeners();
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.writing = null;
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.queue = [];
    this.queuedBytes = 0;
    this.wakeDrainListeners();
    this.onFailure(error);
  }

  private wakeDrainListeners(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener();
  }
}
