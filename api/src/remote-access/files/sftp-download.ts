import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { AppError } from '../../common/errors/app-error.js';
import { toFileError } from './sftp-errors.js';

/** Like ssh2's fastGet and OpenSSH's sftp: many reads in flight, so throughput is not one round trip per chunk. */
export const READ_CHUNK_BYTES = 32 * 1024;
export const READS_IN_FLIGHT = 64;

interface Slot {
  offset: number;
  length: number;
  data: Buffer | null;
}

/**
 * A file on the device as a stream of exactly `size` bytes: up to READS_IN_FLIGHT reads of
 * READ_CHUNK_BYTES outstanding, pushed in file order, and no new reads while the consumer (the
 * HTTP response) is behind. SHA-256 and the byte count are kept on the way; `handle` is closed
 * when the stream ends or is destroyed.
 */
export class SftpReadStream extends Readable {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private nextOffset = 0;
  private readonly slots: Slot[] = [];
  private wanted = false;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
    readonly size: number,
    private readonly path: string,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES * 8 });
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sftp.close(this.handle, () => callback(error));
  }

  private pump(): void {
    while (this.wanted && !this.destroyed && this.slots.length < READS_IN_FLIGHT && this.nextOffset < this.size) {
      const slot: Slot = { offset: this.nextOffset, length: Math.min(READ_CHUNK_BYTES, this.size - this.nextOffset), data: null };
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
