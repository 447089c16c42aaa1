import { describe, expect, it } from 'vitest';
import {
  BackupTokenOpSchema,
  DiskImageListSchema,
  DiskImageMetadataSchema,
  DiskImageUploadCompleteSchema,
  DiskImageUploadCreateSchema,
  type DiskImageMetadata,
} from './backup-server.js';
import { AgentBackupTokenRequestSchema } from './backups.js';

const SHA = 'a'.repeat(64);
const metadata = (overrides: Partial<DiskImageMetadata> = {}): DiskImageMetadata => ({
  deviceId: '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001',
  imageName: '2026-12-05T030000Z',
  disks: [
    {
      name: 'nvme0n1',
      model: 'Samsung SSD 980',
      serial: 'S64DNX0R123456',
      sizeBytes: 500_107_862_016,
      partitionTable: {
        type: 'gpt',
        id: '3f1c2a9e-0000-4000-8000-000000000001',
        partitions: [
          { number: 1, startBytes: 1_048_576, sizeBytes: 536_870_912, type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', filesystem: 'vfat' },
        ],
      },
      sha256Raw: SHA,
    },
  ],
  sha256Compressed: 'b'.repeat(64),
  compressedBytes: 120_000_000_000,
  rawBytes: 500_107_862_016,
  startedAt: '2026-12-05T03:00:00Z',
  finishedAt: '2026-12-05T04:10:00Z',
  durationSeconds: 4200,
  tools: { zstd: 'v1.5.4', agent: 'xspectre-recovery 0.1.0', compressionLevel: 3 },
  ...overrides,
});

describe('disk-image contract', () => {
  it('accepts a complete metadata record and refuses unbounded or inconsistent ones', () => {
    expect(DiskImageMetadataSchema.parse(metadata())).toEqual(metadata());
    const bad: Array<[string, unknown]> = [
      ['raw size not the sum of the disks', metadata({ rawBytes: 1 })],
      ['finished before started', metadata({ finishedAt: '2026-12-05T02:00:00Z' })],
      ['bad image name', metadata({ imageName: '../../etc' })],
      ['no disk', metadata({ disks: [] })],
      ['too many disks', metadata({ disks: Array.from({ length: 17 }, () => metadata().disks[0]!), rawBytes: 17 * 500_107_862_016 })],
      ['control characters', metadata({ tools: { zstd: 'v1\n', agent: 'x' } })],
      ['a long model', metadata({ disks: [{ ...metadata().disks[0]!, model: 'x'.repeat(129) }] })],
      ['a bad disk name', metadata({ disks: [{ ...metadata().disks[0]!, name: '../sda' }] })],
      ['an infinite duration', metadata({ durationSeconds: Infinity })],
      ['an unsafe size', metadata({ compressedBytes: 2 ** 60 })],
      ['an upper-case hash', metadata({ sha256Compressed: 'B'.repeat(64) })],
      ['an unknown field', { ...metadata(), extra: 1 }],
    ];
    for (const [what, value] of bad) expect(DiskImageMetadataSchema.safeParse(value).success, what).toBe(false);
  });

  it('checks the upload messages', () => {
    expect(DiskImageUploadCreateSchema.safeParse({ imageName: '2026-12-05T030000Z', expectedRawBytes: 10 }).success).toBe(true);
    expect(DiskImageUploadCreateSchema.safeParse({ imageName: '2026-12-05T03:00:00Z' }).success).toBe(false);
    const m = metadata();
    expect(
      DiskImageUploadCompleteSchema.safeParse({ sha256Compressed: m.sha256Compressed, compressedBytes: m.compressedBytes, metadata: m })
        .success,
    ).toBe(true);
    // The request's hash and length must be the metadata's.
    expect(
      DiskImageUploadCompleteSchema.safeParse({ sha256Compressed: SHA, compressedBytes: m.compressedBytes, metadata: m }).success,
    ).toBe(false);
    expect(DiskImageListSchema.safeParse({ images: [{ imageName: m.imageName, compressedBytes: 1, metadata: m }] }).success).toBe(true);
  });

  it('keeps image operations out of what an agent may ask the API for', () => {
    expect(BackupTokenOpSchema.options).toEqual(['append', 'read', 'prune']);
    const runId = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f002';
    expect(AgentBackupTokenRequestSchema.safeParse({ runId, op: 'append' }).success).toBe(true);
    expect(AgentBackupTokenRequestSchema.safeParse({ runId, op: 'image-read' }).success).toBe(false);
  });
});
