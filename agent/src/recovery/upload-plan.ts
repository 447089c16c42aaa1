/**
 * Resume bookkeeping of one buffered chunk: the chunk covers [start, start + length) of the
 * compressed stream and stays in memory until a PATCH that carries its end succeeds. After a
 * failure the server's offset (HEAD) says what to do.
 */
export type ResumeStep =
  /** The server has the whole chunk (the answer was lost, not the bytes). */
  | { kind: 'done' }
  /** Send the chunk's tail from `offset` (the server kept a prefix). */
  | { kind: 'resend'; offset: number; skip: number }
  /** The server has less than the chunk's start: bytes it acknowledged are gone (a crash before its fsync). */
  | { kind: 'behind'; reason: string }
  /** The server's offset is not a byte count or is more than was ever sent. */
  | { kind: 'lost'; reason: string };

export function resumeStep(start: number, length: number, serverOffset: number): ResumeStep {
  const end = start + length;
  if (!Number.isSafeInteger(serverOffset) || serverOffset < 0)
    return { kind: 'lost', reason: `the server's offset ${serverOffset} is not a byte count` };
  if (serverOffset < start)
    return { kind: 'behind', reason: `the server holds ${serverOffset} bytes but had acknowledged ${start}: acknowledged bytes were lost` };
  if (serverOffset > end) return { kind: 'lost', reason: `the server holds ${serverOffset} bytes, more than the ${end} sent` };
  if (serverOffset === end) return { kind: 'done' };
  return { kind: 'resend', offset: serverOffset, skip: serverOffset - start };
}

/**
 * Collects a stream of buffers into chunks of `size` bytes (the last one shorter), copying into
 * buffers from `allocate`. A chunk handed out stays untouched until it is given back with
 * `recycle` (sent and hashed); the next chunk fills a recycled buffer where there is one, so a
 * pipeline with one chunk in flight settles at three buffers and allocates no more.
 */
export class ChunkBuilder {
  private buffer: Buffer;
  private filled = 0;
  private readonly free: Buffer[] = [];

  constructor(
    private readonly size: number,
    private readonly allocate: (size: number) => Buffer = (n) => Buffer.allocUnsafe(n),
  ) {
    this.buffer = allocate(size);
  }

  /** Appends `data`; returns the chunks it completed (each exactly `size` bytes, owned by the caller until recycled). */
  push(data: Buffer): Buffer[] {
    const full: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      const n = Math.min(this.size - this.filled, data.length - at);
      data.copy(this.buffer, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.size) {
        full.push(this.buffer);
        this.buffer = this.free.pop() ?? this.allocate(this.size);
        this.filled = 0;
      }
    }
    return full;
  }

  /** Gives a chunk from `push` back for reuse (its bytes are no longer needed). */
  recycle(chunk: Buffer): void {
    if (chunk.length === this.size && chunk !== this.buffer && !this.free.includes(chunk)) this.free.push(chunk);
  }

  /** The partial last chunk (may be empty). */
  rest(): Buffer {
    const out = this.buffer.subarray(0, this.filled);
    this.filled = 0;
    return out;
  }
}
