import type { FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import { AppError } from '../../common/errors/app-error.js';
import { toFileError, type FailureMeaning } from './sftp-errors.js';
import { entryOf, type SftpAttrs } from './sftp-listing.js';
import { baseName, joinPath } from './sftp-names.js';
import type { RemoteFileEntry } from '@xspectre/contracts';

/** Beyond this, a directory listing stops with an error instead of holding the whole directory in memory. */
export const MAX_DIRECTORY_ENTRIES = 100_000;

/** Runs one ssh2 SFTP call, its error mapped to the catalog (path named, what the device said). */
export function call<T>(
  path: string,
  run: (done: (error: Error | null | undefined, value?: T) => void) => void,
  failureMeans?: FailureMeaning,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      run((error, value) => (error ? reject(toFileError(error, path, failureMeans)) : resolve(value as T)));
    } catch (error) {
      // ssh2 throws synchronously when the channel is gone.
      reject(toFileError(error, path, failureMeans));
    }
  });
}

export const lstat = (sftp: SFTPWrapper, path: string) => call<Stats>(path, (done) => sftp.lstat(path, done));
export const stat = (sftp: SFTPWrapper, path: string) => call<Stats>(path, (done) => sftp.stat(path, done));
export const readlink = (sftp: SFTPWrapper, path: string) => call<string>(path, (done) => sftp.readlink(path, done));

/** lstat, or null when the path does not exist. */
export async function lstatOrNull(sftp: SFTPWrapper, path: string): Promise<Stats | null> {
  try {
    return await lstat(sftp, path);
  } catch (error) {
    if (error instanceof AppError && error.code === 'REMOTE_FILE_NOT_FOUND') return null;
    throw error;
  }
}

/** The entry of one path (lstat: a symlink is reported as such, with its target). */
export async function entryAt(sftp: SFTPWrapper, path: string): Promise<RemoteFileEntry> {
  const attrs = await lstat(sftp, path);
  const entry = entryOf(path, path === '/' ? '/' : baseName(path), attrs as SftpAttrs);
  if (entry.type === 'symlink') entry.linkTarget = await readlink(sftp, path).catch(() => null);
  return entry;
}

/**
 * Every entry of a directory, read with opendir/readdir in a loop (the server sends ~100 names a
 * round trip) and refused beyond MAX_DIRECTORY_ENTRIES. Symlink targets are not read here: only
 * for the page that is returned.
 */
export async function readDirectory(sftp: SFTPWrapper, path: string): Promise<RemoteFileEntry[]> {
  const handle = await call<Buffer>(path, (done) => sftp.opendir(path, done));
  const entries: RemoteFileEntry[] = [];
  try {
    for (;;) {
      const list = await new Promise<FileEntryWithStats[] | null>((resolve, reject) =>
        sftp.readdir(handle, (error, names) => {
          if ((error as { code?: number } | undefined)?.code === 1) return resolve(null);
          if (error) return reject(toFileError(error, path));
          resolve(names);
        }),
      );
      if (!list) break;
      for (const item of list) {
        if (item.filename === '.' || item.filename === '..') continue;
        entries.push(entryOf(joinPath(path, item.filename), item.filename, item.attrs as SftpAttrs, item.longname));
      }
      if (entries.length > MAX_DIRECTORY_ENTRIES)
        throw new AppError(
          'REMOTE_FILE_FAILED',
          `${path} holds more than ${MAX_DIRECTORY_ENTRIES} entries: too many to list; open a subdirectory or use the terminal`,
        );
    }
  } finally {
    sftp.close(handle, () => undefined);
  }
  return entries;
}

/** Deletes a directory and everything under it, depth first, without following symlinks. */
export async function removeTree(sftp: SFTPWrapper, path: string, limit = { left: MAX_DIRECTORY_ENTRIES }): Promise<void> {
  for (const entry of await readDirectory(sftp, path)) {
    if (--limit.left < 0)
      throw new AppError('REMOTE_FILE_FAILED', `more than ${MAX_DIRECTORY_ENTRIES} entries under ${path}: delete it from the terminal`);
    if (entry.type === 'directory') await removeTree(sftp, entry.path, limit);
    else await call<void>(entry.path, (done) => sftp.unlink(entry.path, done));
  }
  await call<void>(path, (done) => sftp.rmdir(path, done), 'not_empty');
}
