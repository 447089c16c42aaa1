import { DEVICE_ID } from '../request-target.js';

/**
 * Parser of `zfs get -Hp -r -o name,property,value <props> <dataset>` (tab-separated, exact
 * numbers). `zfs list -p` and `zfs get -t` are missing from zfs-fuse's old ZFS; this form
 * works there and on OpenZFS.
 */
export interface ZfsDatasetProps {
  name: string;
  type: 'filesystem' | 'snapshot' | 'volume';
  used: number;
  /** undefined for snapshots ("-"). */
  available?: number;
  /** 0 = none; undefined for snapshots. */
  quota?: number;
  /** Seconds since the epoch. */
  creation: number;
}

export const ZFS_GET_PROPERTIES = ['type', 'used', 'available', 'quota', 'creation'] as const;

export function parseZfsGet(output: string): ZfsDatasetProps[] {
  const byName = new Map<string, Partial<ZfsDatasetProps> & { name: string }>();
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    if (fields.length !== 3) throw new Error(`unexpected zfs get line: ${line.slice(0, 200)}`);
    const [name, property, value] = fields as [string, string, string];
    const entry = byName.get(name) ?? { name };
    byName.set(name, entry);
    const number = value === '-' || value === 'none' ? undefined : Number(value);
    switch (property) {
      case 'type':
        if (value !== 'filesystem' && value !== 'snapshot' && value !== 'volume') throw new Error(`unexpected zfs type ${value}`);
        entry.type = value;
        break;
      case 'used':
      case 'available':
      case 'quota':
      case 'creation':
        if (number !== undefined && !Number.isSafeInteger(number)) throw new Error(`unexpected zfs ${property} ${value.slice(0, 40)}`);
        entry[property] = number;
        break;
    }
  }
  return [...byName.values()].map((entry) => {
    if (!entry.type || entry.used === undefined || entry.creation === undefined)
      throw new Error(`zfs get lacks properties of ${entry.name}`);
    return entry as ZfsDatasetProps;
  });
}

/** The device id of `<parent>/<device>`, or undefined for any other name. */
export function deviceOfDataset(parent: string, name: string): string | undefined {
  if (!name.startsWith(`${parent}/`)) return undefined;
  const rest = name.slice(parent.length + 1);
  return DEVICE_ID.test(rest) ? rest : undefined;
}
