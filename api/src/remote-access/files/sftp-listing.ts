import type { ListRemoteFilesQuery, RemoteFileEntry } from '@xspectre/contracts';

/** What ssh2 reports of a file (its Stats / readdir attrs). */
export interface SftpAttrs {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export function fileTypeOf(mode: number): RemoteFileEntry['type'] {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return 'directory';
    case S_IFREG:
      return 'file';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

/**
 * Owner and group from an SFTP v3 longname (`ls -l` style, which OpenSSH's sftp-server fills:
 * `drwxr-xr-x    2 root     root         4096 Jan  1 00:00 bin`). Null when the server left it
 * out or it does not look like one; a purely numeric column is an id, not a name.
 */
export function ownerFromLongname(longname: string | undefined): { owner: string | null; group: string | null } {
  const columns = longname?.trim().split(/\s+/) ?? [];
  if (columns.length < 4 || !/^[-bcdlpsDw?][-rwxsStTl+.@]{9}/.test(columns[0]!)) return { owner: null, group: null };
  const name = (value: string | undefined) => (value && !/^\d+$/.test(value) ? value : null);
  return { owner: name(columns[2]), group: name(columns[3]) };
}

export function entryOf(
  path: string,
  name: string,
  attrs: SftpAttrs,
  longname?: string,
  linkTarget: string | null = null,
): RemoteFileEntry {
  const { owner, group } = ownerFromLongname(longname);
  return {
    name,
    path,
    type: fileTypeOf(attrs.mode),
    size: Math.max(0, Math.trunc(attrs.size ?? 0)),
    mode: (attrs.mode ?? 0) & 0o7777,
    uid: attrs.uid ?? 0,
    gid: attrs.gid ?? 0,
    owner,
    group,
    modifiedAt: new Date((attrs.mtime ?? 0) * 1000).toISOString(),
    linkTarget,
  };
}

const TYPE_ORDER: Record<RemoteFileEntry['type'], number> = { directory: 0, file: 1, symlink: 2, other: 3 };
const byName = (a: RemoteFileEntry, b: RemoteFileEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Directories first (whatever the order), then by the asked key in the asked order, ties by
 * name: the same query always gives the same order, so pages with limit/offset neither repeat
 * nor skip entries. Names compare by code unit (like `ls` in the C locale).
 */
export function sortEntries(
  entries: RemoteFileEntry[],
  sort: ListRemoteFilesQuery['sort'],
  order: ListRemoteFilesQuery['order'],
): RemoteFileEntry[] {
  const sign = order === 'desc' ? -1 : 1;
  const key = (a: RemoteFileEntry, b: RemoteFileEntry): number => {
    switch (sort) {
      case 'size':
        return a.size - b.size;
      case 'modifiedAt':
        return a.modifiedAt < b.modifiedAt ? -1 : a.modifiedAt > b.modifiedAt ? 1 : 0;
      case 'type':
        return TYPE_ORDER[a.type] - TYPE_ORDER[b.type];
      default:
        return 0;
    }
  };
  return [...entries].sort((a, b) => {
    const dirs = Number(b.type === 'directory') - Number(a.type === 'directory');
    if (dirs !== 0) return dirs;
    return sign * (key(a, b) || byName(a, b));
  });
}

export function pageOf<T>(items: T[], limit: number, offset: number): T[] {
  return items.slice(offset, offset + limit);
}
