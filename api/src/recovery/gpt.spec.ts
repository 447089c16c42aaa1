import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GptError, SECTOR_BYTES, entryArrayBytes, parseGptEntries, parseGptHeader, partitionNamed } from './gpt.js';

const DISK_SECTORS = 4096;

/** A GPT as sgdisk writes it: header at LBA 1, 128 entries of 128 bytes at LBA 2. */
function buildGpt(partitions: Array<{ name: string; first: number; last: number }>) {
  const entries = Buffer.alloc(128 * 128);
  partitions.forEach((p, i) => {
    const at = i * 128;
    entries.fill(0x11 + i, at, at + 16); // type GUID (not zero = used)
    entries.fill(0x21 + i, at + 16, at + 32); // unique GUID
    entries.writeBigUInt64LE(BigInt(p.first), at + 32);
    entries.writeBigUInt64LE(BigInt(p.last), at + 40);
    entries.write(p.name, at + 56, 72, 'utf16le');
  });
  const header = Buffer.alloc(SECTOR_BYTES);
  header.write('EFI PART', 0, 'latin1');
  header.writeUInt32LE(0x0001_0000, 8);
  header.writeUInt32LE(92, 12);
  header.writeBigUInt64LE(1n, 24);
  header.writeBigUInt64LE(BigInt(DISK_SECTORS - 1), 32);
  header.writeBigUInt64LE(34n, 40);
  header.writeBigUInt64LE(BigInt(DISK_SECTORS - 34), 48);
  header.writeBigUInt64LE(2n, 72);
  header.writeUInt32LE(128, 80);
  header.writeUInt32LE(128, 84);
  header.writeUInt32LE(crc32(entries), 88);
  const sealHeader = () => {
    header.writeUInt32LE(0, 16);
    header.writeUInt32LE(crc32(header.subarray(0, 92)), 16);
  };
  sealHeader();
  return { header, entries, sealHeader };
}

const LAYOUT = [
  { name: 'BIOS-BOOT', first: 2048, last: 2999 },
  { name: 'XS-RECOVERY-CFG', first: 3000, last: 4000 },
];
const DISK_BYTES = DISK_SECTORS * SECTOR_BYTES;

describe('GPT reader', () => {
  it('finds a partition by its UTF-16LE name with its byte offset and size', () => {
    const { header, entries } = buildGpt(LAYOUT);
    const parsed = parseGptHeader(header, DISK_BYTES);
    expect(entryArrayBytes(parsed)).toBe(128 * 128);
    const partitions = parseGptEntries(entries, parsed);
    expect(partitions.map((p) => [p.number, p.name])).toEqual([
      [1, 'BIOS-BOOT'],
      [2, 'XS-RECOVERY-CFG'],
    ]);
    const cfg = partitionNamed(partitions, 'XS-RECOVERY-CFG');
    expect(cfg.offsetBytes).toBe(3000 * 512);
    expect(cfg.sizeBytes).toBe(1001 * 512);
    expect(cfg.typeGuid).toBe('12121212-1212-1212-1212-121212121212');
  });

  it('refuses a missing signature, a wrong header or entry CRC, a bad revision and odd sizes', () => {
    expect(() => parseGptHeader(Buffer.alloc(SECTOR_BYTES), DISK_BYTES)).toThrow(/signature/);
    expect(() => parseGptHeader(Buffer.alloc(100), DISK_BYTES)).toThrow(GptError);

    const crc = buildGpt(LAYOUT);
    crc.header.writeUInt8(crc.header.readUInt8(40) ^ 1, 40);
    expect(() => parseGptHeader(crc.header, DISK_BYTES)).toThrow(/header CRC32/);

    const revision = buildGpt(LAYOUT);
    revision.header.writeUInt32LE(0x0002_0000, 8);
    revision.sealHeader();
    expect(() => parseGptHeader(revision.header, DISK_BYTES)).toThrow(/revision/);

    const entrySize = buildGpt(LAYOUT);
    entrySize.header.writeUInt32LE(100, 84);
    entrySize.sealHeader();
    expect(() => parseGptHeader(entrySize.header, DISK_BYTES)).toThrow(/entry size/);

    const count = buildGpt(LAYOUT);
    count.header.writeUInt32LE(100_000, 80);
    count.sealHeader();
    expect(() => parseGptHeader(count.header, DISK_BYTES)).toThrow(/entry count/);

    const entries = buildGpt(LAYOUT);
    const parsed = parseGptHeader(entries.header, DISK_BYTES);
    entries.entries.writeUInt8(entries.entries.readUInt8(56) ^ 1, 56);
    expect(() => parseGptEntries(entries.entries, parsed)).toThrow(/entry array CRC32/);
    expect(() => parseGptEntries(entries.entries.subarray(0, 100), parsed)).toThrow(/truncated/);
  });

  it('refuses a header that does not fit the image and a partition outside the usable range', () => {
    const { header } = buildGpt(LAYOUT);
    expect(() => parseGptHeader(header, 20 * SECTOR_BYTES)).toThrow(GptError);

    const outside = buildGpt([{ name: 'XS-RECOVERY-CFG', first: 10, last: 100 }]);
    expect(() => parseGptEntries(outside.entries, parseGptHeader(outside.header, DISK_BYTES))).toThrow(/outside the usable range/);

    const backwards = buildGpt([{ name: 'XS-RECOVERY-CFG', first: 3000, last: 2500 }]);
    expect(() => parseGptEntries(backwards.entries, parseGptHeader(backwards.header, DISK_BYTES))).toThrow(/outside the usable range/);
  });

  it('wants exactly one partition of the name', () => {
    const none = buildGpt([{ name: 'XS-RECOVERY', first: 2048, last: 3000 }]);
    const noneParts = parseGptEntries(none.entries, parseGptHeader(none.header, DISK_BYTES));
    expect(() => partitionNamed(noneParts, 'XS-RECOVERY-CFG')).toThrow(/found 0/);
    const two = buildGpt([
      { name: 'XS-RECOVERY-CFG', first: 2048, last: 2999 },
      { name: 'XS-RECOVERY-CFG', first: 3000, last: 4000 },
    ]);
    const twoParts = parseGptEntries(two.entries, parseGptHeader(two.header, DISK_BYTES));
    expect(() => partitionNamed(twoParts, 'XS-RECOVERY-CFG')).toThrow(/found 2/);
  });
});
