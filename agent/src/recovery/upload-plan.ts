/**
 * Resume bookkeeping of one buffered chunk: the chunk covers [start, start + length) of the
 * compressed stream and stays in memory until a PATCH that carries its end succeeds. After a
 * failure the server's offset (HEAD) says what to do.
 */
export type ResumeStep =
  /** The server has the whole chunk (the answer was lost, not the bytes). */
  | { kind: 'done' }
  /** Send the chunk's tail from `offset` (the server kept a prefix, fsync'd). */
  | { kind: 'resend'; offset: number; skip: number }
  /** The server has less than the chunk's start (bytes it acknowledged are gone) or more than was ever sent. */
  | { kind: 'lost'; reason: string };

export function resumeStep(start: number, length: number, serverOffset: number): ResumeStep {
  const end = start + length;
  if (!Number.isSafeInteger(serverOffset) || serverOffset < 0)
    return { kind: 'lost', reason: `the server's offset ${serverOffset} is not a byte count` };
  if (serverOffset < start)
    return { kind: 'lost', reason: `the server holds ${serverOffset} bytes but had acknowledged ${start}: acknowledged bytes were lost` };
  if (serverOffset > end) return { kind: 'lost', reason: `the server holds ${serverOffset} bytes, more than the ${end} sent` };
  if (serverOffset === end) return { kind: 'done' };
  return { kind: 'resend', offset: serverOffset, skip: serverOffset - start };
}

/**
 * Collects a stream of buffers into chunks of `size` bytes (the last one shorter). Copies into
 * one preallocated buffer per chunk: memory is one chunk being filled plus the one in flight.
 */
export class ChunkBuilder {
  private buffer: Buffer;
  private filled = 0;

  constructor(private readonly size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  /** Appends `data`; returns the chunks it completed (each a fresh buffer of exactly `size` bytes). */
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
        this.buffer = Buffer.allocUnsafe(this.size);
        this.filled = 0;
      }
    }
    return full;
  }

  /** The partial last chunk (may be empty). */
  rest(): Buffer {
    const out = this.buffer.subarray(0, this.filled);
    this.filled = 0;
    return out;
  }
}
