import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader (or a crash) sees either the old or the new
 * content, never a mix: temp file in the same directory, fsync, rename, fsync the directory.
 * The file is created with `mode` (the temp file never has wider permissions).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  options: { validate?: (tempPath: string) => Promise<void> } = {},
): Promise<void> {
  await replaceFileAtomic(path, mode, (handle) => handle.writeFile(data, 'utf8'), options);
}

/**
 * As writeFileAtomic, with the content written by `write` (for content too large to hold as one
 * string). `validate(tempPath)` checks the complete temp file before it replaces `path` (e.g.
 * `visudo -cf`): a rejected file never takes effect. Temp names start with a dot and contain
 * dots, which sudo's includedir skips.
 */
export async function replaceFileAtomic(
  path: string,
  mode: number,
  write: (handle: FileHandle) => Promise<void>,
  options: { validate?: (tempPath: string) => Promise<void> } = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await write(handle);
    await handle.chmod(mode); // the umask may have narrowed it further; make it exact
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await options.validate?.(temp);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

/** Creates `dir` (and its parents) when missing; a new directory gets `mode`. */
export async function ensureDirectory(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
}

/** fsyncs a directory, so a file created or renamed in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
