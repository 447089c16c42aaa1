import { describe, expect, it } from 'vitest';
import { parseSfdiskJson } from './disk-info.js';

describe('parseSfdiskJson', () => {
  it('reads a GPT table into bytes', () => {
    const json = JSON.stringify({
      partitiontable: {
        label: 'gpt',
        id: 'A1B2C3D4-0000-4000-8000-000000000001',
        device: '/dev/vda',
        unit: 'sectors',
        sectorsize: 512,
        partitions: [
          { node: '/dev/vda1', start: 2048, size: 1048576, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', uuid: 'U1', name: 'EFI' },
          { node: '/dev/vda2', start: 1050624, size: 2097152, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: 'U2' },
        ],
      },
    });
    expect(parseSfdiskJson(json)).toEqual({
      type: 'gpt',
      id: 'A1B2C3D4-0000-4000-8000-000000000001',
      partitions: [
        { number: 1, startBytes: 1048576, sizeBytes: 536870912, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', label: 'EFI', uuid: 'U1' },
        { number: 2, startBytes: 537919488, sizeBytes: 1073741824, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: 'U2' },
      ],
    });
  });

  it('maps dos to mbr and treats anything unexpected as unknown, bounded and printable', () => {
    const dos = parseSfdiskJson(
      JSON.stringify({
        partitiontable: { label: 'dos', id: '0x1234', partitions: [{ node: '/dev/sda5', start: 63, size: 10, type: '83' }] },
      }),
    );
    expect(dos).toEqual({ type: 'mbr', id: '0x1234', partitions: [{ number: 5, startBytes: 63 * 512, sizeBytes: 5120, type: '83' }] });
    expect(parseSfdiskJson('not json')).toEqual({ type: 'unknown', partitions: [] });
    expect(parseSfdiskJson('null')).toEqual({ type: 'unknown', partitions: [] });
    const hostile = parseSfdiskJson(
      JSON.stringify({
        partitiontable: {
          label: 'gpt',
          partitions: [
            { node: 'x', start: -1, size: 1 },
            { node: 'y', start: 1, size: 1, name: `\u001b[31m${'n'.repeat(500)}` },
          ],
        },
      }),
    );
    expect(hostile.partitions).toHaveLength(1);
    expect(hostile.partitions[0]?.label).toMatch(/^\[31mn+$/);
    expect(hostile.partitions[0]?.label?.length).toBe(128);
  });
});
