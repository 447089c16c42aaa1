import type { DiskImageMetadata } from '@xspectre/contracts';
import { runProcess } from '../commands/run-process.js';

type PartitionTable = DiskImageMetadata['disks'][number]['partitionTable'];

const short = (value: unknown, max: number): string | undefined => {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value)
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, max);
  return text === '' ? undefined : text;
};

/** `sfdisk --json` output → the metadata's partition table (bounded; anything unexpected → `unknown`). */
export function parseSfdiskJson(text: string): PartitionTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { type: 'unknown', partitions: [] };
  }
  const table = (parsed as { partitiontable?: Record<string, unknown> } | null)?.partitiontable;
  if (!table || typeof table !== 'object') return { type: 'unknown', partitions: [] };
  const type = table.label === 'gpt' ? 'gpt' : table.label === 'dos' ? 'mbr' : 'unknown';
  const sector = typeof table.sectorsize === 'number' && table.sectorsize > 0 ? table.sectorsize : 512;
  const rows = Array.isArray(table.partitions) ? (table.partitions as Array<Record<string, unknown>>).slice(0, 256) : [];
  const partitions = rows.flatMap((row, index) => {
    const start = Number(row.start);
    const size = Number(row.size);
    if (!Number.isSafeInteger(start * sector) || !Number.isSafeInteger(size * sector) || start < 0 || size < 0) return [];
    const numberMatch = typeof row.node === 'string' ? /(\d+)$/.exec(row.node) : null;
    const number = Math.min(256, Math.max(1, numberMatch ? Number(numberMatch[1]) : index + 1));
    const typeText = short(row.type, 64);
    const label = short(row.name, 128);
    const uuid = short(row.uuid, 64);
    return [
      {
        number,
        startBytes: start * sector,
        sizeBytes: size * sector,
        ...(typeText ? { type: typeText } : {}),
        ...(label ? { label } : {}),
        ...(uuid ? { uuid } : {}),
      },
    ];
  });
  const id = short(table.id, 64);
  return { type, ...(id ? { id } : {}), partitions };
}

/** The disk's partition table, read with `sfdisk --json` (works on a block device and on an image file). */
export async function readPartitionTable(path: string, sfdisk = 'sfdisk'): Promise<PartitionTable> {
  const result = await runProcess(sfdisk, ['--json', path], { timeoutMs: 30_000, maxBytes: 1024 * 1024 });
  if (result.code !== 0) {
    // No table at all: sfdisk says "does not contain a recognized partition table".
    return /does not contain a recognized partition table/.test(result.stderr.toString())
      ? { type: 'none', partitions: [] }
      : { type: 'unknown', partitions: [] };
  }
  return parseSfdiskJson(result.stdout.toString('utf8'));
}

/** `zstd --version` → `v1.5.4` (or `unknown`). */
export async function zstdVersion(zstd = 'zstd'): Promise<string> {
  const result = await runProcess(zstd, ['--version'], { timeoutMs: 10_000, maxBytes: 4096 });
  return /\bv(\d+\.\d+\.\d+)/.exec(result.stdout.toString())?.[0] ?? 'unknown';
}
