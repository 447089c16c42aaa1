import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { AppError } from '../../common/errors/app-error.js';
import { toFileError } from './sftp-errors.js';

/**
 * Like ssh2's fastGet and OpenSSH's sftp: many reads in flight, so throughput is not one round
 * trip per chunk. Reads are as large as the server allows (OpenSSH announces 255 KiB through
 * limits@openssh.com; 32 KiB without it, the size every server must accept), up to about 4 MiB
 * outstanding: measured against a local sftp-server, 255 KiB reads roughly doubled throughput
 * over 32 KiB ones at the same bytes in flight.
 */
export const MIN_READ_BYTES = 32 * 1024;
export const MAX_READ_BYTES = 255 * 1024;
export const BYTES_IN_FLIGHT = 4 * 1024 * 1024;

/** The read size for this SFTP session: ssh2 keeps the server's announced limit (lib/protocol/SFTP.js, `_maxReadLen`). */
export function readChunkBytes(sftp: SFTPWrapper): number {
  const announced = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
  return typeof announced === 'number' && announced > 0 ? Math.max(MIN_READ_BYTES, Math.min(MAX_READ_BYTES, announced)) : MIN_READ_BYTES;
}

interface Slot {
  offset: number;
  length: number;
  data: Buffer | null;
}

/**
 * A file on the device as a stream of exactly `size` bytes: up to BYTES_IN_FLIGHT of reads
 * outstanding, pushed in file order, and no new reads while the consumer (the
 * HTTP response) is behind. SHA-256 and the byte count are kept on the way; `handle` is closed
 * when the stream ends or is destroyed.
 */
export class SftpReadStream extends Readable {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private nextOffset = 0;
  private readonly slots: Slot[] = [];
  private wanted = false;
  private readonly chunk: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    readonly size: number,
    private readonly path: string,
  ) {
    const chunk = readChunkBytes(sftp);
    super({ highWaterMark: chunk * 4 });
    this.chunk = chunk;
    this.maxInFlight = Math.max(8, Math.floor(BYTES_IN_FLIGHT / chunk));
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sftp.close(this.handle, () => callback(error));
  }

  private pump(): void {
    while (this.wanted && !this.destroyed && this.slots.length < this.maxInFlight && this.nextOffset < this.size) {
      const slot: Slot = { offset: this.nextOffset, length: Math.min(this.chunk, this.size - this.nextOffset), data: null };
      this.nextOffset += slot.length;
      this.slots.push(slot);
      this.readSlot(slot, Buffer.allocUnsafe(slot.length), 0);
    }
    if (this.slots.length === 0 && this.nextOffset >= this.size && !this.destroyed) this.push(null);
  }

  /** One read; a short answer (the server may send less) asks again for the rest. */
  private readSlot(slot: Slot, buffer: Buffer, filled: number): void {
    try {
      this.sftp.read(this.handle, buffer, filled, slot.length - filled, slot.offset + filled, (error, bytesRead) => {
        if (this.destroyed) return;
        if (error) return this.destroy(toFileError(error, this.path));
        if (bytesRead === 0)
          return this.destroy(
            new AppError(
              'REMOTE_FILE_FAILED',
              `${this.path} became shorter while it was being read (${slot.offset + filled} of ${this.size} bytes)`,
            ),
          );
        if (filled + bytesRead < slot.length) return this.readSlot(slot, buffer, filled + bytesRead);
        slot.data = buffer;
        this.deliver();
      });
    } catch (error) {
      this.destroy(toFileError(error, this.path));
    }
  }

  private deliver(): void {
    while (this.slots[0]?.data) {
      const data = this.slots.shift()!.data!;
      this.hash.update(data);
      this.bytes += data.length;
      if (!this.push(data)) this.wanted = false;
    }
    this.pump();
  }
}
