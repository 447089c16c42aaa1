import { describe, expect, it } from 'vitest';
import type { RemoteFileEntry } from '@xspectre/contracts';
import { AppError } from '../../common/errors/app-error.js';
import { toFileError } from './sftp-errors.js';
import { entryOf, fileTypeOf, ownerFromLongname, pageOf, sortEntries } from './sftp-listing.js';
import { baseName, contentDisposition, isTempUploadName, parentOf, tempUploadName } from './sftp-names.js';

const entry = (name: string, type: RemoteFileEntry['type'], size = 0, mtime = 0): RemoteFileEntry => ({
  name,
  path: `/d/${name}`,
  type,
  size,
  mode: 0o644,
  uid: 0,
  gid: 0,
  owner: null,
  group: null,
  modifiedAt: new Date(mtime * 1000).toISOString(),
  linkTarget: null,
});

describe('sortEntries and pageOf', () => {
  const items = [
    entry('b.txt', 'file', 30, 3),
    entry('zdir', 'directory', 4096, 1),
    entry('a.txt', 'file', 10, 5),
    entry('adir', 'directory', 4096, 9),
    entry('link', 'symlink', 5, 2),
  ];

  it('puts directories first, then sorts by name', () => {
    expect(sortEntries(items, 'name', 'asc').map((e) => e.name)).toEqual(['adir', 'zdir', 'a.txt', 'b.txt', 'link']);
  });

  it('keeps directories first in descending order too', () => {
    expect(sortEntries(items, 'name', 'desc').map((e) => e.name)).toEqual(['zdir', 'adir', 'link', 'b.txt', 'a.txt']);
  });

  it('sorts by size and by modification time, ties by name', () => {
    expect(sortEntries(items, 'size', 'asc').map((e) => e.name)).toEqual(['adir', 'zdir', 'link', 'a.txt', 'b.txt']);
    expect(sortEntries(items, 'modifiedAt', 'desc').map((e) => e.name)).toEqual(['adir', 'zdir', 'a.txt', 'b.txt', 'link']);
    expect(sortEntries(items, 'type', 'asc').map((e) => e.name)).toEqual(['adir', 'zdir', 'a.txt', 'b.txt', 'link']);
  });

  it('does not change its input', () => {
    const before = items.map((e) => e.name);
    sortEntries(items, 'size', 'desc');
    expect(items.map((e) => e.name)).toEqual(before);
  });

  it('pages without repeating or skipping', () => {
    const sorted = sortEntries(items, 'name', 'asc');
    const pages = [pageOf(sorted, 2, 0), pageOf(sorted, 2, 2), pageOf(sorted, 2, 4), pageOf(sorted, 2, 6)];
    expect(pages.flat()).toEqual(sorted);
    expect(pages[3]).toEqual([]);
  });
});

describe('ownerFromLongname', () => {
  it('reads owner and group from an OpenSSH longname', () => {
    expect(ownerFromLongname('drwxr-xr-x    2 root     adm          4096 Jan  1 00:00 bin')).toEqual({ owner: 'root', group: 'adm' });
    expect(ownerFromLongname('-rw-r-----    1 syslog   adm        120 Dec  4 20:01 auth log')).toEqual({ owner: 'syslog', group: 'adm' });
  });

  it('gives null for numeric ids, missing or odd longnames', () => {
    expect(ownerFromLongname('-rw-r--r--    1 1001     1001        12 Jan  1 00:00 x')).toEqual({ owner: null, group: null });
    expect(ownerFromLongname(undefined)).toEqual({ owner: null, group: null });
    expect(ownerFromLongname('x')).toEqual({ owner: null, group: null });
    expect(ownerFromLongname('name with spaces and more')).toEqual({ owner: null, group: null });
  });
});

describe('entryOf', () => {
  it('splits type and permission bits and converts mtime', () => {
    const e = entryOf(
      '/etc/passwd',
      'passwd',
      { mode: 0o100644, uid: 0, gid: 0, size: 1234, mtime: 1_700_000_000 },
      '-rw-r--r-- 1 root root 1234 Nov 14 2023 passwd',
    );
    expect(e).toMatchObject({
      type: 'file',
      mode: 0o644,
      size: 1234,
      owner: 'root',
      group: 'root',
      modifiedAt: '2023-11-14T22:13:20.000Z',
    });
    expect(fileTypeOf(0o040755)).toBe('directory');
    expect(fileTypeOf(0o120777)).toBe('symlink');
    expect(fileTypeOf(0o020666)).toBe('other');
    expect(entryOf('/x', 'x', { mode: 0o104755, uid: 0, gid: 0, size: 1, mtime: 0 }).mode).toBe(0o4755);
  });
});

describe('toFileError', () => {
  const sftpError = (code: number, message = 'Failure') => Object.assign(new Error(message), { code });

  it('maps SFTP statuses to catalog codes naming the path', () => {
    expect(toFileError(sftpError(2, 'No such file'), '/a')).toMatchObject({ code: 'REMOTE_FILE_NOT_FOUND' });
    expect(toFileError(sftpError(2), '/a').message).toContain('/a');
    expect(toFileError(sftpError(3, 'Permission denied'), '/a')).toMatchObject({ code: 'REMOTE_FILE_PERMISSION_DENIED' });
  });

  it('reads FAILURE by what the operation can fail with', () => {
    expect(toFileError(sftpError(4), '/a', 'exists')).toMatchObject({ code: 'REMOTE_FILE_EXISTS' });
    expect(toFileError(sftpError(4), '/a', 'not_empty')).toMatchObject({ code: 'REMOTE_FILE_NOT_EMPTY' });
    const failed = toFileError(sftpError(4, 'disk full'), '/a');
    expect(failed.code).toBe('REMOTE_FILE_FAILED');
    expect(failed.message).toContain('disk full');
  });

  it('passes coded errors through and wraps anything else as REMOTE_FILE_FAILED', () => {
    const coded = new AppError('REMOTE_FILE_TOO_LARGE');
    expect(toFileError(coded, '/a')).toBe(coded);
    expect(toFileError(new Error('No response from server'), '/a')).toMatchObject({ code: 'REMOTE_FILE_FAILED' });
  });
});

describe('names', () => {
  it('makes a hidden temporary name in the same directory', () => {
    expect(tempUploadName('/root/x.bin', 'abc')).toBe('/root/.x.bin.xspectre-upload-abc');
    expect(tempUploadName('/x.bin', 'abc')).toBe('/.x.bin.xspectre-upload-abc');
    expect(parentOf(tempUploadName('/var/lib/data/f'))).toBe('/var/lib/data');
    expect(isTempUploadName(baseName(tempUploadName('/a/b')))).toBe(true);
    expect(tempUploadName('/a/b')).not.toBe(tempUploadName('/a/b'));
  });

  it('keeps a temporary name of a long name within 255 bytes, whole characters only', () => {
    const long = `/d/${'é'.repeat(127)}`;
    const name = baseName(tempUploadName(long));
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name).not.toContain('\uFFFD');
    expect(name.endsWith(baseName(name).slice(-16))).toBe(true);
  });

  it('splits paths', () => {
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect(baseName('/a/b/c')).toBe('c');
  });

  it('names a download in content-disposition (UTF-8 and an ASCII fallback)', () => {
    expect(contentDisposition('report.txt')).toBe(`attachment; filename="report.txt"; filename*=UTF-8''report.txt`);
    expect(contentDisposition('été "x".log')).toBe(`attachment; filename="_t_ _x_.log"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.log`);
  });
});
