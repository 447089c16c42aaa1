import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The key store cannot be used as it is on disk; the message says what to fix (never key material). */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * Refuses a directory or file that group or others may access, as ssh refuses an unprotected
 * private key: a key readable by another account is no longer the API's alone.
 */
export async function assertPrivate(path: string, kind: 'directory' | 'file'): Promise<void> {
  const info = await stat(path);
  if (kind === 'directory' ? !info.isDirectory() : !info.isFile()) throw new KeyStoreError(`${path} is not a ${kind}`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new KeyStoreError(
      `${path} is accessible by group or others (mode ${mode}); the key store refuses it: chmod ${kind === 'directory' ? '700' : '600'} ${path}`,
    );
  }
}

/** Creates `dir` with mode 0700 when missing (its parents with the usual mode), then checks it. */
export async function ensurePrivateDirectory(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir, { mode: 0o700 });
    await chmod(dir, 0o700); // the umask may have narrowed it: make it exact
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
  }
  await assertPrivate(dir, 'directory');
}

/** A fully written, fsync'd 0600 file next to `path`, under a name no one else uses. */
async function writeTemp(path: string, data: string): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.chmod(0o600);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return temp;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path`: readers (and a crash) see the old or the new content, never a mix. */
export async function replaceFileAtomic(path: string, data: string): Promise<void> {
  const temp = await writeTemp(path, data);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Creates `path` with `data` unless it exists: false when another process got there first.
 * link(2) of a complete temp file is both exclusive (like O_EXCL) and atomic (no reader ever
 * sees a half-written file, which O_EXCL on the target itself would allow).
 */
export async function createFileExclusive(path: string, data: string): Promise<boolean> {
  const temp = await writeTemp(path, data);
  try {
    await link(temp, path);
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
  return true;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 25;

/**
 * Runs `work` while holding `lockPath` (created with O_EXCL, removed afterwards), so that
 * read-modify-write of a file is serialised across processes and hosts sharing the directory.
 * A lock left by a crashed process is not broken automatically: the error names the file.
 */
export async function withLockFile<T>(lockPath: string, work: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`, 'utf8');
      await handle.close();
      break;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      if (Date.now() >= deadline) {
        throw new KeyStoreError(
          `${lockPath} has been held for more than ${waitMs / 1000} s: another instance is changing the keys, or one crashed while doing so (then remove the file)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
