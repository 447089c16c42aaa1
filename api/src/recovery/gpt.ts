import { crc32 } from 'node:zlib';

/**
 * A small, strict reader of a GUID partition table (UEFI spec 2.x, chapter 5.3) on a disk image
 * with 512-byte sectors: the primary header at LBA 1, its partition entry array, CRCs checked.
 * Personalisation (recovery-image.ts) uses it to find the recovery stick's CONFIG partition by its
 * GPT name; anything unexpected is refused, never guessed.
 */

export const SECTOR_BYTES = 512;
const SIGNATURE = 'EFI PART';
const REVISION_1_0 = 0x0001_0000;
const MAX_ENTRIES = 1024;

export class GptError extends Error {}

export interface GptHeader {
  currentLba: bigint;
  backupLba: bigint;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
  entriesCrc32: number;
}

export interface GptPartition {
  /** 1-based, as `sgdisk` and the kernel number them. */
  number: number;
  typeGuid: string;
  name: string;
  firstLba: bigint;
  lastLba: bigint;
  /** Byte offset of the partition in the image, and its length. */
  offsetBytes: number;
  sizeBytes: number;
}

function guidAt(buf: Buffer, at: number): string {
  const hex = (start: number, end: number, reverse: boolean) => {
    const bytes = [...buf.subarray(at + start, at + end)];
    return (reverse ? bytes.reverse() : bytes).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-').toUpperCase();
}

/** The primary header: `sector` is LBA 1 of the image (512 bytes). */
export function parseGptHeader(sector: Buffer, diskBytes: number): GptHeader {
  if (sector.length < SECTOR_BYTES) throw new GptError('the image is too small for a GPT header');
  if (sector.toString('latin1', 0, 8) !== SIGNATURE) throw new GptError('no GPT header at LBA 1 (signature "EFI PART" missing)');
  const revision = sector.readUInt32LE(8);
  if (revision !== REVISION_1_0) throw new GptError(`unexpected GPT revision 0x${revision.toString(16)}`);
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < 92 || headerSize > SECTOR_BYTES) throw new GptError(`unexpected GPT header size ${headerSize}`);
  const copy = Buffer.from(sector.subarray(0, headerSize));
  const storedCrc = copy.readUInt32LE(16);
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== storedCrc) throw new GptError('GPT header CRC32 mismatch');
  const header: GptHeader = {
    currentLba: sector.readBigUInt64LE(24),
    backupLba: sector.readBigUInt64LE(32),
    firstUsableLba: sector.readBigUInt64LE(40),
    lastUsableLba: sector.readBigUInt64LE(48),
    entriesLba: sector.readBigUInt64LE(72),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc32: sector.readUInt32LE(88),
  };
  const sectors = BigInt(Math.floor(diskBytes / SECTOR_BYTES));
  if (header.currentLba !== 1n) throw new GptError(`the primary GPT header names LBA ${header.currentLba}, not 1`);
  if (header.entrySize < 128 || header.entrySize > 4096 || header.entrySize % 8 !== 0)
    throw new GptError(`unexpected GPT entry size ${header.entrySize}`);
  if (header.entryCount < 1 || header.entryCount > MAX_ENTRIES) throw new GptError(`unexpected GPT entry count ${header.entryCount}`);
  if (header.entriesLba < 2n || header.entriesLba >= sectors) throw new GptError('the GPT entry array lies outside the image');
  if (header.firstUsableLba > header.lastUsableLba || header.lastUsableLba >= sectors)
    throw new GptError('the GPT usable range lies outside the image');
  return header;
}

/** Bytes of the partition entry array (read them at `entriesLba * 512`). */
export function entryArrayBytes(header: GptHeader): number {
  return header.entryCount * header.entrySize;
}

/** The used entries of the array (type GUID not zero), checked against the header's CRC and the usable range. */
export function parseGptEntries(entries: Buffer, header: GptHeader): GptPartition[] {
  const length = entryArrayBytes(header);
  if (entries.length < length) throw new GptError('the GPT entry array is truncated');
  if (crc32(entries.subarray(0, length)) !== header.entriesCrc32) throw new GptError('GPT entry array CRC32 mismatch');
  const partitions: GptPartition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const at = i * header.entrySize;
    if (entries.subarray(at, at + 16).every((b) => b === 0)) continue;
    const firstLba = entries.readBigUInt64LE(at + 32);
    const lastLba = entries.readBigUInt64LE(at + 40);
    if (firstLba > lastLba || firstLba < header.firstUsableLba || lastLba > header.lastUsableLba)
      throw new GptError(`GPT partition ${i + 1} lies outside the usable range`);
    const nameBytes = entries.subarray(at + 56, at + 128);
    let end = 0;
    while (end < nameBytes.length && (nameBytes[end] !== 0 || nameBytes[end + 1] !== 0)) end += 2;
    const offset = firstLba * BigInt(SECTOR_BYTES);
    const size = (lastLba - firstLba + 1n) * BigInt(SECTOR_BYTES);
    if (offset + size > BigInt(Number.MAX_SAFE_INTEGER)) throw new GptError(`GPT partition ${i + 1} is too large`);
    partitions.push({
      number: i + 1,
      typeGuid: guidAt(entries, at),
      name: nameBytes.subarray(0, end).toString('utf16le'),
      firstLba,
      lastLba,
      offsetBytes: Number(offset),
      sizeBytes: Number(size),
    });
  }
  return partitions;
}

/** Exactly one partition with this GPT name, or GptError. */
export function partitionNamed(partitions: GptPartition[], name: string): GptPartition {
  const found = partitions.filter((p) => p.name === name);
  if (found.length !== 1) throw new GptError(`expected one GPT partition named ${name}, found ${found.length}`);
  return found[0]!;
}
