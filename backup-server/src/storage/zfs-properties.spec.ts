import { describe, expect, it } from 'vitest';
import { deviceOfDataset, parseZfsGet } from './zfs-properties.js';

// Output of zfs-fuse's `zfs get -Hp -r -o name,property,value type,used,available,quota,creation`.
const OUTPUT = [
  'p/file-backups\ttype\tfilesystem',
  'p/file-backups\tused\t237568',
  'p/file-backups\tavailable\t94703616',
  'p/file-backups\tquota\t0',
  'p/file-backups\tcreation\t1796356553',
  'p/file-backups/dev1\ttype\tfilesystem',
  'p/file-backups/dev1\tused\t114688',
  'p/file-backups/dev1\tavailable\t10371072',
  'p/file-backups/dev1\tquota\t10485760',
  'p/file-backups/dev1\tcreation\t1796356553',
  'p/file-backups/dev1@xs-hourly-1\ttype\tsnapshot',
  'p/file-backups/dev1@xs-hourly-1\tused\t0',
  'p/file-backups/dev1@xs-hourly-1\tavailable\t-',
  'p/file-backups/dev1@xs-hourly-1\tquota\t-',
  'p/file-backups/dev1@xs-hourly-1\tcreation\t1796356553',
  '',
].join('\n');

describe('zfs get parsing', () => {
  it('groups the properties per dataset', () => {
    expect(parseZfsGet(OUTPUT)).toEqual([
      { name: 'p/file-backups', type: 'filesystem', used: 237568, available: 94703616, quota: 0, creation: 1796356553 },
      { name: 'p/file-backups/dev1', type: 'filesystem', used: 114688, available: 10371072, quota: 10485760, creation: 1796356553 },
      { name: 'p/file-backups/dev1@xs-hourly-1', type: 'snapshot', used: 0, available: undefined, quota: undefined, creation: 1796356553 },
    ]);
  });

  it('throws on output it does not understand', () => {
    expect(() => parseZfsGet('a b c')).toThrow(/unexpected zfs get line/);
    expect(() => parseZfsGet('x\ttype\tbookmark')).toThrow(/unexpected zfs type/);
    expect(() => parseZfsGet('x\tused\t12K')).toThrow(/unexpected zfs used/);
    expect(() => parseZfsGet('x\ttype\tfilesystem')).toThrow(/lacks properties/);
  });

  it('names the device of a direct child dataset only', () => {
    const dev = '6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';
    expect(deviceOfDataset('p/fb', `p/fb/${dev}`)).toBe(dev);
    for (const name of ['p/fb', `p/fb/${dev}/x`, `p/fb/${dev}@s`, `p/fbx/${dev}`, 'p/fb/other'])
      expect(deviceOfDataset('p/fb', name), name).toBeUndefined();
  });
});
